"""Test data for event management: sources through the service (so they have a token), payloads."""

from __future__ import annotations

import datetime

from django.utils import timezone

from events import services
from events.choices import SourceKind
from events.models import Rule


def make_source(name: str = "prometheus", kind: str = SourceKind.GENERIC, **fields):
    """(source, token): a source created as an admin would, with its one-time token."""
    return services.source_create(actor=None, fields={"name": name, "kind": kind, **fields})


def make_rule(**fields) -> Rule:
    fields.setdefault("name", f"Rule {Rule.objects.count() + 1}")
    return Rule.objects.create(**fields)


def at(minutes: int = 0) -> str:
    base = datetime.datetime(2026, 11, 27, 9, 0, tzinfo=datetime.UTC)
    return (base + datetime.timedelta(minutes=minutes)).isoformat()


def event(**fields) -> dict:
    """An event in our format (firing, critical, on web-01 by default)."""
    body = {
        "resource": "web-01",
        "check": "http",
        "severity": "critical",
        "state": "firing",
        "occurred_at": at(),
    }
    body.update(fields)
    return body


def am_alert(
    status: str = "firing", *, alertname="InstanceDown", instance="web-01:9100", fingerprint="f1", **extra
):
    alert = {
        "status": status,
        "labels": {"alertname": alertname, "instance": instance, "severity": "critical", "job": "node"},
        "annotations": {"summary": f"{instance} is down"},
        "startsAt": at(),
        "endsAt": at(5) if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": fingerprint,
    }
    alert.update(extra)
    return alert


def am_payload(*alerts, status="firing") -> dict:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="InstanceDown"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "itsm",
        "groupLabels": {"alertname": "InstanceDown"},
        "commonLabels": {"alertname": "InstanceDown"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def now():
    return timezone.now()
