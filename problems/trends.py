"""Trend analysis for problem identification [PRB-2]: weekly incident counts by CI, category and
service (PostgreSQL ``date_trunc('week')`` and ``GROUP BY``, one query per dimension), the top
recurring groups, and the recent incidents not linked to any problem. Everything reads through
``Incident.objects.visible_to(user)``."""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db.models import Count
from django.db.models.functions import TruncWeek
from django.utils import timezone

from incidents.models import Incident
from problems.choices import CandidateStatus
from problems.models import ProblemCandidate

TOP = 10


def _weeks(since: datetime.datetime, count: int) -> list[datetime.date]:
    start = since.date()
    return [start + datetime.timedelta(weeks=index) for index in range(count)]


def _series(rows, key: str, label: str, weeks: list[datetime.date]) -> list[dict]:
    """Rows of (week, key, label, n) as the top entities with one count per week, busiest first."""
    counts: dict[object, dict[datetime.date, int]] = defaultdict(dict)
    labels = {}
    for row in rows:
        if row[key] is None:
            continue
        week = row["week"].date() if isinstance(row["week"], datetime.datetime) else row["week"]
        counts[row[key]][week] = counts[row[key]].get(week, 0) + row["n"]
        labels[row[key]] = row[label]
    ranked = sorted(counts, key=lambda k: -sum(counts[k].values()))[:TOP]
    return [
        {
            "id": k,
            "label": labels[k],
            "total": sum(counts[k].values()),
            "weeks": [counts[k].get(week, 0) for week in weeks],
        }
        for k in ranked
    ]


def trend_report(user, *, weeks: int = 8, now: datetime.datetime | None = None) -> dict:
    from problems.queries import linked_to_a_problem

    now = now or timezone.now()
    local = timezone.localtime(now)
    monday = (local - datetime.timedelta(days=local.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    since = monday - datetime.timedelta(weeks=weeks - 1)
    week_list = _weeks(since, weeks)
    recent = (
        Incident.objects.visible_to(user).filter(created_at__gte=since).annotate(week=TruncWeek("created_at"))
    )
    by_ci = recent.values("week", "cis", "cis__name").annotate(n=Count("id")).order_by()
    by_category = recent.values("week", "category", "category__name").annotate(n=Count("id")).order_by()
    by_service = recent.values("week", "service", "service__name").annotate(n=Count("id")).order_by()
    totals = {
        row["week"].date(): row["n"] for row in recent.values("week").annotate(n=Count("id")).order_by()
    }
    unlinked = Incident.objects.visible_to(user).filter(created_at__gte=since).exclude(linked_to_a_problem())
    top_pairs = list(
        unlinked.exclude(category__isnull=True)
        .values("category__name", "subcategory__name", "service__name")
        .annotate(n=Count("id"))
        .filter(n__gte=2)
        .order_by("-n")[:TOP]
    )
    return {
        "week_list": week_list,
        "totals": [totals.get(week, 0) for week in week_list],
        "by_ci": _series(by_ci, "cis", "cis__name", week_list),
        "by_category": _series(by_category, "category", "category__name", week_list),
        "by_service": _series(by_service, "service", "service__name", week_list),
        "top_recurring": top_pairs,
        "candidates": list(
            ProblemCandidate.objects.filter(status=CandidateStatus.PROPOSED).order_by(
                "-incident_count", "-id"
            )[:TOP]
        ),
        "unlinked_count": unlinked.count(),
        "unlinked": list(
            unlinked.select_related("service", "category")
            .only(
                "id", "number", "short_description", "status", "created_at", "service__name", "category__name"
            )
            .order_by("-id")[:20]
        ),
    }
