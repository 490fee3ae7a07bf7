"""The audit process: CIs their feed stopped reporting, records never or long ago verified, and
undocumented items discovered by feeds."""

from __future__ import annotations

import datetime

from django.db.models import Q
from django.utils import timezone

from configuration.choices import CIStatus
from configuration.models import ConfigurationItem, DiscoveredItem

AUDIT_LIMIT = 500


def _ci_row(ci: ConfigurationItem) -> dict:
    return {
        "id": ci.pk,
        "number": ci.number,
        "name": ci.name,
        "ci_class": ci.ci_class.name,
        "source": ci.source,
        "status": ci.status,
        "last_seen_at": ci.last_seen_at.isoformat() if ci.last_seen_at else None,
        "last_verified_at": ci.last_verified_at.isoformat() if ci.last_verified_at else None,
        "url": ci.get_absolute_url(),
    }


def audit_report(*, not_seen_days: int = 7, verify_days: int = 90, limit: int = AUDIT_LIMIT) -> dict:
    """What needs attention. Retired CIs are left out; each list is capped at ``limit`` rows."""
    not_seen_days = max(1, int(not_seen_days))
    verify_days = max(1, int(verify_days))
    now = timezone.now()
    live = (
        ConfigurationItem.objects.exclude(status=CIStatus.RETIRED)
        .select_related("ci_class")
        .defer("search_vector", "search_text", "attributes")
    )
    not_seen = (
        live.exclude(source="manual")
        .filter(
            Q(last_seen_at__lt=now - datetime.timedelta(days=not_seen_days)) | Q(last_seen_at__isnull=True)
        )
        .order_by("last_seen_at", "pk")
    )
    never = live.filter(last_verified_at__isnull=True).order_by("pk")
    overdue = live.filter(last_verified_at__lt=now - datetime.timedelta(days=verify_days)).order_by(
        "last_verified_at"
    )
    undocumented = DiscoveredItem.objects.filter(resolved_ci__isnull=True).order_by("-last_seen_at")
    return {
        "generated_at": now.isoformat(),
        "not_seen_days": not_seen_days,
        "verify_days": verify_days,
        "not_seen": [_ci_row(ci) for ci in not_seen[:limit]],
        "never_verified": [_ci_row(ci) for ci in never[:limit]],
        "verification_overdue": [_ci_row(ci) for ci in overdue[:limit]],
        "undocumented": [
            {
                "id": item.pk,
                "source": item.source,
                "identifiers": item.identifiers,
                "reason": item.reason,
                "first_seen_at": item.first_seen_at.isoformat(),
                "last_seen_at": item.last_seen_at.isoformat(),
            }
            for item in undocumented[:limit]
        ],
        "counts": {
            "not_seen": not_seen.count(),
            "never_verified": never.count(),
            "verification_overdue": overdue.count(),
            "undocumented": undocumented.count(),
        },
    }
