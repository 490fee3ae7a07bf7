"""Choices of event management: source kinds, severities, event and alert states, classes."""

from django.db import models


class SourceKind(models.TextChoices):
    GENERIC = "generic", "Generic (our JSON format)"
    ALERTMANAGER = "alertmanager", "Prometheus Alertmanager webhook"


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    MAJOR = "major", "Major"
    MINOR = "minor", "Minor"
    WARNING = "warning", "Warning"
    INFO = "info", "Informational"


# Most severe first; used to keep the worst severity an alert has seen and to rank groups.
SEVERITY_RANK = {value: rank for rank, value in enumerate(Severity.values)}

# Words monitoring tools use for severities, mapped to ours (Alertmanager labels, Nagios, Zabbix...).
SEVERITY_ALIASES = {
    "critical": Severity.CRITICAL,
    "crit": Severity.CRITICAL,
    "disaster": Severity.CRITICAL,
    "fatal": Severity.CRITICAL,
    "emergency": Severity.CRITICAL,
    "page": Severity.CRITICAL,
    "major": Severity.MAJOR,
    "high": Severity.MAJOR,
    "error": Severity.MAJOR,
    "minor": Severity.MINOR,
    "average": Severity.MINOR,
    "medium": Severity.MINOR,
    "warning": Severity.WARNING,
    "warn": Severity.WARNING,
    "low": Severity.WARNING,
    "info": Severity.INFO,
    "information": Severity.INFO,
    "informational": Severity.INFO,
    "notice": Severity.INFO,
    "ok": Severity.INFO,
    "none": Severity.INFO,
}


class EventState(models.TextChoices):
    FIRING = "firing", "Firing"
    CLEAR = "clear", "Clear"


class Classification(models.TextChoices):
    """Seed 5.2.7: informational (record only), warning (act before impact), exception (a breach)."""

    INFORMATIONAL = "informational", "Informational"
    WARNING = "warning", "Warning"
    EXCEPTION = "exception", "Exception"


# The class an event gets from its severity when no rule classifies it.
DEFAULT_CLASSIFICATION = {
    Severity.CRITICAL: Classification.EXCEPTION,
    Severity.MAJOR: Classification.EXCEPTION,
    Severity.MINOR: Classification.WARNING,
    Severity.WARNING: Classification.WARNING,
    Severity.INFO: Classification.INFORMATIONAL,
}

# Severity -> incident urgency (1 critical .. 4 low); the CI's or service's criticality is the impact.
URGENCY_FOR_SEVERITY = {
    Severity.CRITICAL: 1,
    Severity.MAJOR: 2,
    Severity.MINOR: 3,
    Severity.WARNING: 4,
    Severity.INFO: 4,
}


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class RawEventOutcome(models.TextChoices):
    PENDING = "", "Not processed yet"
    RECORDED = "recorded", "Recorded"
    DROPPED = "dropped", "Dropped by a rule"
    INVALID = "invalid", "Invalid"


class CheckKind(models.TextChoices):
    HTTP = "http", "HTTP(S): GET a URL, expect a status"
    TCP = "tcp", "TCP: connect to host:port"
