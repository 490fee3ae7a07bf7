"""Choices of problem management: the problem lifecycle and sources, known-error states, workaround
outcomes, fix options, re-assessment decisions and candidate states."""

from django.db import models


class Status(models.TextChoices):
    NEW = "new", "New"
    UNDER_INVESTIGATION = "under_investigation", "Under investigation (problem control)"
    KNOWN_ERROR = "known_error", "Known error (error control)"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (Status.NEW, Status.UNDER_INVESTIGATION, Status.KNOWN_ERROR)

# The lifecycle. services.problem_transition() is the only place a status changes; an illegal request
# gets 409 naming the allowed targets. "resolved -> under investigation" is a reopen (the fix did not
# hold); a problem not worth analysing is closed from new with a closure note.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.UNDER_INVESTIGATION, Status.CLOSED}),
    Status.UNDER_INVESTIGATION: frozenset({Status.KNOWN_ERROR, Status.RESOLVED, Status.CLOSED}),
    Status.KNOWN_ERROR: frozenset({Status.UNDER_INVESTIGATION, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.UNDER_INVESTIGATION, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


class Source(models.TextChoices):
    TREND_ANALYSIS = "trend_analysis", "Trend analysis"
    RECURRING_INCIDENTS = "recurring_incidents", "Recurring incidents"
    MAJOR_INCIDENT = "major_incident", "Major incident"
    SUPPLIER = "supplier", "Supplier or partner"
    DEVELOPERS = "developers", "Developers, testers, projects"
    EVENT_REPETITION = "event_repetition", "Repeated monitoring events"
    PROACTIVE = "proactive", "Proactive (other)"


class RiskScale(models.TextChoices):
    IMPACT = "impact", "Impact"
    PROBABILITY = "probability", "Probability"


# The scales every installation starts with (value, label); editable in the admin.
DEFAULT_SCALES = {
    RiskScale.IMPACT: [(1, "Negligible"), (2, "Minor"), (3, "Moderate"), (4, "Major"), (5, "Severe")],
    RiskScale.PROBABILITY: [
        (1, "Rare"),
        (2, "Unlikely"),
        (3, "Possible"),
        (4, "Likely"),
        (5, "Almost certain"),
    ],
}


class KnownErrorStatus(models.TextChoices):
    ACTIVE = "active", "Active (workaround in use)"
    FIX_PLANNED = "fix_planned", "Permanent fix proposed"
    RESOLVED = "resolved", "Resolved (fixed)"
    RETIRED = "retired", "Retired (no longer relevant)"


KE_OPEN_STATUSES = (KnownErrorStatus.ACTIVE, KnownErrorStatus.FIX_PLANNED)
KE_TRANSITIONS: dict[str, frozenset[str]] = {
    KnownErrorStatus.ACTIVE: frozenset(
        {KnownErrorStatus.FIX_PLANNED, KnownErrorStatus.RESOLVED, KnownErrorStatus.RETIRED}
    ),
    KnownErrorStatus.FIX_PLANNED: frozenset(
        {KnownErrorStatus.ACTIVE, KnownErrorStatus.RESOLVED, KnownErrorStatus.RETIRED}
    ),
    KnownErrorStatus.RESOLVED: frozenset({KnownErrorStatus.ACTIVE}),
    KnownErrorStatus.RETIRED: frozenset({KnownErrorStatus.ACTIVE}),
}


class Outcome(models.TextChoices):
    PENDING = "pending", "Not known yet"
    WORKED = "worked", "Worked"
    PARTLY = "partly", "Partly worked"
    FAILED = "failed", "Did not work"


RATED_OUTCOMES = (Outcome.WORKED, Outcome.PARTLY, Outcome.FAILED)


class FixRisk(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class FixOptionStatus(models.TextChoices):
    CANDIDATE = "candidate", "Candidate"
    CHOSEN = "chosen", "Chosen"
    REJECTED = "rejected", "Rejected"


class FixProposalStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed (awaiting a change request)"
    CONVERTED = "converted", "Converted to a change request"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Decision(models.TextChoices):
    KEEP_WORKAROUND = "keep_workaround", "Keep the workaround (fix not justified)"
    PURSUE_FIX = "pursue_fix", "Pursue a permanent fix"
    IMPROVE_WORKAROUND = "improve_workaround", "Improve the workaround"
    RETIRE = "retire", "Retire the known error"


class CandidateStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    ACCEPTED = "accepted", "Accepted (problem raised)"
    DISMISSED = "dismissed", "Dismissed"


class CandidateRule(models.TextChoices):
    CI_TEXT = "ci_text", "Same CI or service, similar text"
    CATEGORY_CLASS = "category_class", "Same category and CI class"
    EVENTS = "events", "Repeated monitoring alert"
    REVIEW = "review", "Major incident review asked for a problem"


class ImprovementStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    APPROVED = "approved", "Approved"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    REJECTED = "rejected", "Rejected"


class Level(models.IntegerChoices):
    LOW = 1, "Low"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High"
