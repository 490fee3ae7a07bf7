"""Read side of event management: what the console and the API show."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from events.choices import AlertState
from events.models import Alert, AlertGroup

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
