"""Read side of event management: what the console and the API show."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet

from events.choices import AlertState
from events.models import Alert, AlertGroup, Event, Rule
from events.normalise import Normalised
from events.pipeline import Item
from events.rules import RuleSet

CONSOLE_GROUPS = 100


def open_groups(user) -> QuerySet:
    """Open alert groups (worst and newest first) with their open alerts, CI, service and incident:
    three queries whatever the number of groups."""
    alerts = (
        Alert.objects.filter(state=AlertState.OPEN)
        .select_related("source", "ci")
        .order_by("-last_seen_at", "-id")
    )
    return (
        AlertGroup.objects.visible_to(user)
        .filter(state=AlertState.OPEN)
        .select_related("ci", "service", "incident", "acknowledged_by")
        .prefetch_related(Prefetch("alerts", queryset=alerts))
        .order_by("-last_alert_at", "-id")
    )


def console_groups(user) -> QuerySet:
    """Alert groups for the console (filtered by ``AlertGroupFilterSet``), worst and newest activity
    first, with all their alerts (open first), CI, service, incident and assignment: three queries
    whatever the number of groups."""
    alerts = Alert.objects.select_related("source", "ci").order_by("-state", "-last_seen_at", "-id")
    return (
        AlertGroup.objects.visible_to(user)
        .select_related("ci", "service", "incident", "acknowledged_by", "assignee", "assignment_group")
        .prefetch_related(Prefetch("alerts", queryset=alerts))
        .order_by("-last_alert_at", "-id")
    )


RAW_SHOWN = 200


def alert_events(alert: Alert) -> QuerySet:
    """The events behind an alert, newest first, with the raw events they came from (one query)."""
    return Event.objects.filter(alert=alert).select_related("raw", "rule").order_by("-occurred_at", "-id")


PREVIEW_DEFAULT = 200
PREVIEW_MAX = 2000
PREVIEW_SHOWN = 50


@dataclass
class RulePreview:
    """What one (unsaved) rule would do to the most recent events."""

    examined: int = 0
    matched: int = 0
    examples: list[dict] = field(default_factory=list)


def rule_preview(rule: Rule, user, *, limit: int = PREVIEW_DEFAULT) -> RulePreview:
    """Try ``rule`` alone on the ``limit`` most recent events ``user`` may see: how many it matches
    and, for the first ``PREVIEW_SHOWN``, the severity, class and dedup key it would give them or
    that it would drop them. Nothing is written."""
    rules = RuleSet([rule])
    events = list(
        Event.objects.visible_to(user)
        .select_related("source", "ci")
        .order_by("-id")[: max(1, min(limit, PREVIEW_MAX))]
    )
    preview = RulePreview(examined=len(events))
    for stored in events:
        item = Item(
            raw=None,
            source=stored.source,
            ci=stored.ci,
            event=Normalised(
                resource=stored.resource,
                ci_ref=stored.ci.number if stored.ci else "",
                check_name=stored.check_name,
                severity=stored.severity,
                state=stored.state,
                value=stored.value,
                message=stored.message,
                labels=stored.labels or {},
                occurred_at=stored.occurred_at,
                dedup_key=stored.dedup_key,
                idempotency_key="",
            ),
        )
        if not rules.matches(rule, item):
            continue
        preview.matched += 1
        if len(preview.examples) >= PREVIEW_SHOWN:
            continue
        rules.apply(item)
        preview.examples.append(
            {
                "event": stored.pk,
                "resource": stored.resource,
                "check_name": stored.check_name,
                "occurred_at": stored.occurred_at,
                "severity": stored.severity,
                "classification": stored.classification,
                "dedup_key": stored.dedup_key,
                "dropped": item.dropped,
                "new_severity": item.event.severity,
                "new_classification": item.classification or stored.classification,
                "new_dedup_key": item.event.dedup_key,
            }
        )
    return preview
