"""Trend analysis for problem identification [PRB-2]: weekly incident counts by CI, category and
service, the top recurring groups, and the recent incidents not linked to any problem.

Complete weeks come from a rollup table (``IncidentWeekCount``), rebuilt by ``refresh_rollup``
(beat ``problems-refresh-trends``, every ``PROBLEMS_TRENDS_REFRESH_MINUTES``); the current week, and
any week the rollup does not hold yet, are counted from the incidents (PostgreSQL
``date_trunc('week')`` and ``GROUP BY``). Both go through the same aggregation (``_aggregate``), so
the page shows the same figures either way (a test compares them). Visibility: the rollup splits
security incidents apart; staff outside the security team read the other rows plus their own
security incidents counted live, as ``Incident.objects.visible_to(user)`` would give them. The
linked/unlinked split of rolled-up weeks is as of the last refresh.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterator

from django.db import transaction
from django.db.models import BooleanField, Case, Count, DateField, ExpressionWrapper, F, Q, Sum, Value, When
from django.db.models.functions import TruncWeek
from django.utils import timezone

from configuration.models import ConfigurationItem
from incidents.models import Category, Incident
from itsm import roles
from problems.choices import CandidateStatus
from problems.models import IncidentWeekCount, ProblemCandidate
from problems.queries import linked_to_a_problem

TOP = 10
ROLLUP_WEEKS = 26  # the longest period the page offers


def _monday(now: datetime.datetime) -> datetime.datetime:
    local = timezone.localtime(now)
    return (local - datetime.timedelta(days=local.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )


def _weeks(since: datetime.datetime, count: int) -> list[datetime.date]:
    start = since.date()
    return [start + datetime.timedelta(weeks=index) for index in range(count)]


def _day(value) -> datetime.date | None:
    return value.date() if isinstance(value, datetime.datetime) else value


class _Counts:
    """Counts of one set of incidents, the same whether read from the rollup or counted live."""

    def __init__(self):
        self.totals: Counter = Counter()  # week -> n
        self.unlinked = 0
        self.series: dict[str, dict[int, Counter]] = {
            name: defaultdict(Counter) for name in ("ci", "category", "service")
        }
        self.pairs: Counter = Counter()  # (category, subcategory, service) -> n (unlinked incidents)

    def add(self, dimension: str, week, key_a, key_b, key_c, unlinked: bool, n: int) -> None:
        week = _day(week)
        if dimension == "all":
            self.totals[week] += n
            if unlinked:
                self.unlinked += n
        elif dimension == "pair":
            self.pairs[(key_a, key_b, key_c)] += n
        elif key_a is not None:
            self.series[dimension][key_a][week] += n

    def add_rows(self, rows) -> None:
        """Add rows of ``_aggregate``."""
        for dimension, week, a, b, c, _is_security, unlinked, n in rows:
            self.add(dimension, week, a, b, c, unlinked, n)


def _aggregate(incidents, *, split_security: bool = False) -> Iterator[tuple]:
    """The counts of ``incidents`` (a queryset) by week and dimension, as rows
    ``(dimension, week, a, b, c, is_security, unlinked, n)``: what the rollup stores and what
    ``_Counts.add_rows`` adds up. Five queries."""
    base = incidents.annotate(
        week=TruncWeek("created_at"),
        linked=ExpressionWrapper(linked_to_a_problem(), output_field=BooleanField()),
    )
    security = ["is_security"] if split_security else []

    def collect(dimension, queryset, fields, keys):
        for row in queryset.values("week", *security, *fields).annotate(n=Count("id")).order_by():
            a, b, c = (row[key] if key else None for key in keys)
            unlinked = not row["linked"] if "linked" in row else True
            yield (dimension, _day(row["week"]), a, b, c, row.get("is_security", False), unlinked, row["n"])

    yield from collect("all", base, ["linked"], (None, None, None))
    yield from collect("ci", base, ["cis"], ("cis", None, None))
    yield from collect("category", base, ["category"], ("category", None, None))
    yield from collect("service", base, ["service"], ("service", None, None))
    yield from collect(
        "pair",
        base.filter(linked=False, category__isnull=False),
        ["category", "subcategory", "service"],
        ("category", "subcategory", "service"),
    )


def refresh_rollup(*, now: datetime.datetime | None = None, weeks: int = ROLLUP_WEEKS) -> dict:
    """Rebuild the rollup of the incidents created from the Monday ``weeks`` weeks ago until now (the
    current week so far included), in one transaction: the page reads either the old rows or the new
    ones, each stamped with the instant they count up to (``refreshed_at``). Beat."""
    now = now or timezone.now()
    since = _monday(now) - datetime.timedelta(weeks=weeks)
    with transaction.atomic():
        rows = list(
            _aggregate(
                Incident.objects.filter(created_at__gte=since, created_at__lt=now), split_security=True
            )
        )
        IncidentWeekCount.objects.all().delete()
        marks = [("week", week, None, None, None, False, True, 0) for week in _weeks(since, weeks + 1)]
        IncidentWeekCount.objects.bulk_create(
            [
                IncidentWeekCount(
                    dimension=d,
                    week=w,
                    key_a=a,
                    key_b=b,
                    key_c=c,
                    is_security=s,
                    unlinked=u,
                    n=n,
                    refreshed_at=now,
                )
                for d, w, a, b, c, s, u, n in rows + marks
            ],
            batch_size=5000,
        )
    return {"weeks": weeks, "rows": len(rows), "since": since.date().isoformat(), "until": now.isoformat()}


def _stored(user, since: datetime.datetime):
    """The rollup rows ``user`` may count from ``since`` (security incidents for the security team
    only), or None for a user who is not staff."""
    held = roles.roles_of(user)
    if not held & roles.STAFF_ROLES:
        return None
    stored = IncidentWeekCount.objects.filter(week__gte=since.date())
    return stored if roles.SECURITY in held else stored.filter(is_security=False)


def _from_rollup(user, visible, since: datetime.datetime, counts: _Counts) -> datetime.datetime | None:
    """Add the rollup's counts from ``since`` to ``counts``; the instant they count up to, or None when
    the rollup does not reach back to ``since`` (then everything is counted live).

    One query, summed in SQL: totals and the unlinked per week, each CI, category and service over
    all the weeks (its row's week is None; ``_fill_weeks`` spreads the shown ones over the weeks),
    each unlinked pair over all the weeks. Plus the user's own security incidents, counted live."""
    stored = _stored(user, since)
    if stored is None:
        return None
    week = Case(
        When(dimension__in=["all", "week"], then=F("week")), default=Value(None), output_field=DateField()
    )
    summed = (
        stored.annotate(at=week)
        .values_list("dimension", "at", "key_a", "key_b", "key_c", "unlinked", "refreshed_at")
        .annotate(total=Sum("n"))
        .order_by()
    )
    rows = list(summed)
    if not any(row[0] == "week" and row[1] == since.date() for row in rows):
        return None
    until = rows[0][6]
    for dimension, at, a, b, c, unlinked, _, total in rows:
        if dimension != "week":
            counts.add(dimension, at, a, b, c, unlinked, total)
    if roles.SECURITY not in roles.roles_of(user):
        # Their own security incidents, which visible_to gives them (caller: the index to use).
        counts.add_rows(
            _aggregate(
                visible.filter(is_security=True, caller=user, created_at__gte=since, created_at__lt=until)
            )
        )
    return until


def _fill_weeks(user, since: datetime.datetime, counts: _Counts, until: datetime.datetime) -> bool:
    """Spread the rollup's totals of the CIs, categories and services the page shows over the weeks
    (one query); False when a refresh committed since ``_from_rollup`` read the rollup."""
    shown = Q()
    for dimension in ("ci", "category", "service"):
        keys = _ranked(counts, dimension)
        if keys:
            shown |= Q(dimension=dimension, key_a__in=keys)
    if not shown:
        return True
    rows = (
        _stored(user, since)
        .filter(shown)
        .values_list("dimension", "week", "key_a", "refreshed_at")
        .annotate(total=Sum("n"))
        .order_by()
    )
    for dimension, week, key, refreshed_at, total in rows:
        if refreshed_at != until:
            return False
        counts.series[dimension][key][week] += total
        counts.series[dimension][key][None] -= total
    return True


def _ranked(counts: _Counts, dimension: str) -> list[int]:
    by_key = counts.series[dimension]
    return sorted(by_key, key=lambda k: (-sum(by_key[k].values()), k))[:TOP]


def _series(counts: _Counts, dimension: str, names: dict[int, str], weeks: list[datetime.date]) -> list[dict]:
    by_key = counts.series[dimension]
    return [
        {
            "id": key,
            "label": names.get(key, str(key)),
            "total": sum(by_key[key].values()),
            "weeks": [by_key[key].get(week, 0) for week in weeks],
        }
        for key in _ranked(counts, dimension)
    ]


def _top_pairs(counts: _Counts) -> list[tuple]:
    ranked = sorted(counts.pairs.items(), key=lambda item: (-item[1], tuple(k or 0 for k in item[0])))
    return [(key, n) for key, n in ranked if n >= 2][:TOP]


def trend_report(user, *, weeks: int = 8, now: datetime.datetime | None = None) -> dict:
    now = now or timezone.now()
    monday = _monday(now)
    since = monday - datetime.timedelta(weeks=weeks - 1)
    week_list = _weeks(since, weeks)
    visible = Incident.objects.visible_to(user)
    for _attempt in range(2):
        # The rollup up to its last refresh, then the incidents created since counted live.
        counts = _Counts()
        until = _from_rollup(user, visible, since, counts)
        counts.add_rows(_aggregate(visible.filter(created_at__gte=until or since)))
        if until is None or _fill_weeks(user, since, counts, until):
            break
    else:  # refreshed twice while we read: count everything live
        counts, until = _Counts(), None
        counts.add_rows(_aggregate(visible.filter(created_at__gte=since)))

    ci_ids = set(counts.series["ci"]) | set(counts.series["service"])
    pairs = _top_pairs(counts)
    ci_ids |= {key[2] for key, _ in pairs if key[2]}
    category_ids = set(counts.series["category"]) | {k for key, _ in pairs for k in key[:2] if k}
    ci_names = dict(ConfigurationItem.objects.filter(pk__in=ci_ids).values_list("pk", "name"))
    category_names = dict(Category.objects.filter(pk__in=category_ids).values_list("pk", "name"))
    unlinked = visible.filter(created_at__gte=since).exclude(linked_to_a_problem())
    return {
        "week_list": week_list,
        "totals": [counts.totals.get(week, 0) for week in week_list],
        "by_ci": _series(counts, "ci", ci_names, week_list),
        "by_category": _series(counts, "category", category_names, week_list),
        "by_service": _series(counts, "service", ci_names, week_list),
        "top_recurring": [
            {
                "category__name": category_names.get(category),
                "subcategory__name": category_names.get(subcategory),
                "service__name": ci_names.get(service),
                "n": n,
            }
            for (category, subcategory, service), n in pairs
        ],
        "candidates": list(
            ProblemCandidate.objects.filter(status=CandidateStatus.PROPOSED).order_by(
                "-incident_count", "-id"
            )[:TOP]
        ),
        "unlinked_count": counts.unlinked,
        "unlinked": list(
            unlinked.select_related("service", "category")
            .only(
                "id", "number", "short_description", "status", "created_at", "service__name", "category__name"
            )
            .order_by("-id")[:20]
        ),
        "rollup_until": until,
    }
