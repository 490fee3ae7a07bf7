"""The dashboards' aggregates, computed in PostgreSQL over the summary table ``IncidentFact``, its
daily rollup and volumes (``dashboards.rollup``: sums; medians stay on the facts) and over the small
tables of the other practices.

Each function takes the user and a ``Scope`` and returns ``Table``s whose cells carry the link to
the incident list that produces the number (the queue's FilterSet, ``incidents/filters.py``).
docs/dashboards.md says what each number means exactly.
"""

from __future__ import annotations

import datetime

from django.db.models import Avg, Count, F, Q, Sum
from django.db.models.functions import Extract, TruncDay, TruncMonth, TruncWeek
from django.urls import reverse
from django.utils import timezone

from configuration.models import ConfigurationItem
from dashboards import rollup
from dashboards.filters import Scope
from dashboards.models import OPEN, IncidentFact, RefreshState
from dashboards.tables import Cell, Column, Table, incident_list
from incidents.choices import Priority
from incidents.models import Category, Incident, SatisfactionResponse
from people.models import SupportGroup, User
from servicelevels import queries as sla
from servicelevels.models import Clock, ClockState
from servicelevels.queries import Median

HOUR = 3600.0
TARGETS = (("response", "Response"), ("resolution", "Resolution"))
PRIORITY_LABELS = dict(Priority.choices)


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _mean(total, n) -> float | None:
    return float(total) / n if n else None


# From this many values a median is read as the middle rows of an index ordered by the value
# (models.RANKED; an index-only scan), below it as PERCENTILE_CONT over the rows (a sort).
RANK_FROM = 100_000


def _medians(rows, counts: dict[str, int]) -> dict[str, float | None]:
    """The exact medians of the fields of ``counts`` over ``rows`` (each with how many rows have it,
    from the rollup's counts), as PERCENTILE_CONT(0.5) gives them: the middle value, or the two
    middle ones interpolated. Under ``RANK_FROM`` values, PERCENTILE_CONT in one query; from it, the
    middle rows of the field's rank index, one query each."""
    sorted_ = [field for field, n in counts.items() if n < max(RANK_FROM, 1)]
    # No "IS NOT NULL" for PERCENTILE_CONT (it skips nulls): it would let the planner scan a whole
    # partial rank index for a month's rows (170 ms instead of 25 at a million).
    medians = rows.aggregate(**{field: Median(field) for field in sorted_}) if sorted_ else {}
    for field, n in counts.items():
        if field not in medians:
            medians[field] = _ranked_median(rows.filter(**{f"{field}__isnull": False}), field, n)
    return medians


def _ranked_median(rows, field: str, n: int) -> float | None:
    low = (n - 1) // 2
    values = list(rows.order_by(field).values_list(field, flat=True)[low : n // 2 + 1])
    if len(values) != 2 - n % 2:  # a refresh committed since ``n`` was counted
        return rows.aggregate(median=Median(field))["median"]
    return values[0] + 0.5 * (values[-1] - values[0])


def _hours(seconds) -> float | None:
    return None if seconds is None else round(seconds / HOUR, 1)


def freshness() -> dict:
    """When the summary table was last brought up to date (shown on every page)."""
    state = RefreshState.objects.filter(pk=1).only("refreshed_at", "rows_last_run").first()
    refreshed = state.refreshed_at if state else None
    return {
        "refreshed_at": refreshed,
        "age_seconds": (timezone.now() - refreshed).total_seconds() if refreshed else None,
        "rows_last_run": state.rows_last_run if state else 0,
    }


def _bucket(scope: Scope) -> tuple[str, type, datetime.timedelta | None]:
    """Days up to two months, weeks up to a year and a bit, then months."""
    if scope.days <= 62:
        return "day", TruncDay, datetime.timedelta(days=1)
    if scope.days <= 400:
        return "week", TruncWeek, datetime.timedelta(days=7)
    return "month", TruncMonth, None


def _bucket_end(start: datetime.datetime, step: datetime.timedelta | None) -> datetime.datetime:
    tz = timezone.get_current_timezone()
    if step is not None:
        local = start.astimezone(tz).replace(tzinfo=None) + step
        return local.replace(tzinfo=tz)
    local = start.astimezone(tz)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime.datetime(year, month, 1, tzinfo=tz)


def _clamp(scope: Scope, start, end) -> tuple[datetime.datetime, datetime.datetime]:
    return max(start, scope.start), min(end, scope.end)


# -- SLA -------------------------------------------------------------------------------------------


SLA_MEASURES = [f"{t}_{s}" for t, _ in TARGETS for s in ("met", "breached")]


def sla_attainment(user, scope: Scope, now=None) -> Table:
    """Met, breached and running from the rollup; due within 24 h (it moves with the clock) from
    the facts' running clocks due next (partial indexes on the deadlines)."""
    now = now or timezone.now()
    counts = rollup.sums(user, scope, [*SLA_MEASURES, "response_running", "resolution_running"])[None]
    due = {
        target: Q(
            **{
                f"{target}_state": "running",
                f"{target}_due__gte": now,
                f"{target}_due__lt": now + sla.AT_RISK_WINDOW,
            }
        )
        for target, _ in TARGETS
    }
    counts |= (
        scope.created(user)
        .filter(due["response"] | due["resolution"])
        .aggregate(**{f"{target}_at_risk": Count("pk", filter=q) for target, q in due.items()})
    )
    table = Table(
        "sla_attainment",
        "SLA attainment",
        [
            Column("target", "Target", "text"),
            Column("met", "Met"),
            Column("breached", "Breached"),
            Column("running", "Running"),
            Column("at_risk", "Due within 24 h"),
            Column("attainment", "Attainment %", "percent"),
        ],
        chart={"type": "bar", "label": "target", "series": ["met", "breached", "running"], "stacked": True},
        note="Incidents logged in the period, by the outcome of their SLA clock; attainment = met / (met + breached).",
    )
    base = scope.created_params()
    for target, label in TARGETS:
        met, breached = counts[f"{target}_met"], counts[f"{target}_breached"]
        table.add(
            label,
            Cell(met, incident_list({**base, "sla": f"{target}_met"})),
            Cell(breached, incident_list({**base, "sla": f"{target}_breached"})),
            Cell(counts[f"{target}_running"], incident_list({**base, "sla": f"{target}_running"})),
            Cell(counts[f"{target}_at_risk"], incident_list({**base, "sla": f"{target}_at_risk"})),
            _pct(met, met + breached),
        )
    return table


def _sla_columns(first: Column) -> list[Column]:
    return [
        first,
        Column("response_met", "Response met"),
        Column("response_breached", "Response breached"),
        Column("response_attainment", "Response %", "percent"),
        Column("resolution_met", "Resolution met"),
        Column("resolution_breached", "Resolution breached"),
        Column("resolution_attainment", "Resolution %", "percent"),
    ]


def _sla_row(table: Table, label, row: dict, params: dict | None) -> None:
    cells = [label]
    for target, _ in TARGETS:
        met, breached = row[f"{target}_met"], row[f"{target}_breached"]
        cells += [
            Cell(met, incident_list({**params, "sla": f"{target}_met"}) if params is not None else None),
            Cell(
                breached,
                incident_list({**params, "sla": f"{target}_breached"}) if params is not None else None,
            ),
            _pct(met, met + breached),
        ]
    table.add(*cells)


def sla_by(user, scope: Scope, dimension: str) -> Table:
    """SLA attainment per priority, group or service (incidents logged in the period)."""
    field = {"priority": "priority", "group": "group_id", "service": "service_id"}[dimension]
    if dimension == "service":  # from the volumes per service
        rows = [
            {field: key, **row}
            for (key, _), row in rollup.volumes(user, scope, "service", None, SLA_MEASURES).items()
        ]
    else:
        rows = [
            {field: key, **row} for key, row in rollup.sums(user, scope, SLA_MEASURES, by=dimension).items()
        ]
    title = {"priority": "SLA by priority", "group": "SLA by group", "service": "SLA by service"}[dimension]
    table = Table(
        f"sla_by_{dimension}",
        title,
        _sla_columns(Column(dimension, dimension.capitalize(), "text")),
        chart={"type": "bar", "label": dimension, "series": ["response_attainment", "resolution_attainment"]},
    )
    names = _names(dimension, [row[field] for row in rows])
    base = scope.created_params()
    for row in sorted(rows, key=lambda r: (r[field] is None, names.get(r[field], ""))):
        value = row[field]
        params = {**base, dimension: value} if value is not None else None
        _sla_row(table, names.get(value, "(none)"), row, params)
    return table


def _names(dimension: str, ids) -> dict:
    ids = [pk for pk in ids if pk is not None]
    if dimension == "priority":
        return {pk: PRIORITY_LABELS.get(pk, str(pk)) for pk in ids}
    if dimension == "group":
        return dict(SupportGroup.objects.filter(pk__in=ids).values_list("pk", "name"))
    if dimension == "service":
        return dict(ConfigurationItem.objects.filter(pk__in=ids).values_list("pk", "name"))
    if dimension == "category":
        return {c.pk: c.name for c in Category.objects.filter(pk__in=ids)}
    if dimension == "assignee":
        return {
            u.pk: u.get_full_name() or u.username
            for u in User.objects.filter(pk__in=ids).only("username", "first_name", "last_name")
        }
    raise ValueError(dimension)


def sla_by_month(user, scope: Scope) -> Table:
    tz = timezone.get_current_timezone()
    rows = [
        {"month": rollup.local_start(month), **row}
        for month, row in sorted(rollup.sums(user, scope, SLA_MEASURES, by="month").items())
    ]
    table = Table(
        "sla_by_month",
        "SLA by month",
        _sla_columns(Column("month", "Month", "text")),
        chart={"type": "line", "label": "month", "series": ["response_attainment", "resolution_attainment"]},
    )
    for row in rows:
        start, end = _clamp(scope, row["month"], _bucket_end(row["month"], None))
        params = {**scope.dims(), "created_after": start, "created_before": end}
        _sla_row(table, row["month"].astimezone(tz).strftime("%Y-%m"), row, params)
    return table


def breaches(user, scope: Scope, limit: int = 50) -> Table:
    """The latest breached incidents of the period, with what was going on when they breached."""
    facts = list(
        scope.created(user)
        .filter(Q(response_state="breached") | Q(resolution_state="breached"))
        .order_by("-created_at")
        .values(
            "incident_id",
            "priority",
            "group_id",
            "response_state",
            "resolution_state",
            "reassignment_count",
            "seconds_on_hold",
            "status",
        )[:limit]
    )
    ids = [row["incident_id"] for row in facts]
    numbers = dict(Incident.objects.filter(pk__in=ids).values_list("pk", "number"))
    clocks = {}
    for clock in (
        Clock.objects.filter(
            content_type__app_label="incidents",
            content_type__model="incident",
            object_id__in=ids,
            target__in=["response", "resolution"],
        )
        .exclude(state=ClockState.CANCELLED)
        .only("object_id", "target", "breached_at", "deadline", "stopped_at", "state")
    ):
        clocks[(clock.object_id, clock.target)] = clock
    from incidents.models import StatusPeriod

    periods: dict[int, list] = {}
    for period in StatusPeriod.objects.filter(incident_id__in=ids).only(
        "incident_id", "status", "hold_reason", "assignment_group_id", "started_at", "ended_at"
    ):
        periods.setdefault(period.incident_id, []).append(period)
    groups = _names(
        "group",
        {row["group_id"] for row in facts} | {p.assignment_group_id for ps in periods.values() for p in ps},
    )
    table = Table(
        "breaches",
        "Breaches",
        [
            Column("incident", "Incident", "text"),
            Column("target", "Breached", "text"),
            Column("priority", "Priority", "text"),
            Column("group", "Group now", "text"),
            Column("breached_at", "Breached at", "datetime"),
            Column("cause", "When it breached", "text"),
        ],
        note=f"The {limit} most recently logged incidents of the period that breached a target.",
    )
    for row in facts:
        pk = row["incident_id"]
        targets = [t for t, _ in TARGETS if row[f"{t}_state"] == "breached"]
        clock = clocks.get((pk, targets[-1]))
        at = None
        if clock is not None:
            at = clock.breached_at or (clock.deadline if clock.state != ClockState.MET else clock.stopped_at)
        cause = _cause(periods.get(pk, []), at, groups)
        cause += f"; {row['reassignment_count']} reassignment(s), {_hours(row['seconds_on_hold'])} h on hold"
        table.add(
            Cell(numbers.get(pk, pk), reverse("incidents:detail", args=[pk])),
            ", ".join(targets),
            PRIORITY_LABELS.get(row["priority"], ""),
            groups.get(row["group_id"], "—"),
            at,
            cause,
        )
    return table


def _cause(periods, at, groups) -> str:
    if at is None:
        return "—"
    for period in periods:
        if period.started_at <= at and (period.ended_at is None or period.ended_at > at):
            where = period.get_status_display().lower()
            if period.hold_reason:
                where += f" ({period.get_hold_reason_display().lower()})"
            group = groups.get(period.assignment_group_id, "no group")
            return f"{where} with {group}"
    return "—"


def time_in_status(user, scope: Scope) -> Table:
    """Means from the rollup's sums; medians (not additive) from the facts."""
    sums = rollup.sums(user, scope, ["logged", "seconds_new", "seconds_in_progress", "seconds_on_hold"])[None]
    keys = ("new", "in_progress", "on_hold")
    medians = _medians(scope.created(user), {f"seconds_{key}": sums["logged"] for key in keys})
    agg = {"n": sums["logged"]}
    for key in keys:
        agg[key] = _mean(sums[f"seconds_{key}"], sums["logged"])
        agg[f"{key}_median"] = medians[f"seconds_{key}"]
    table = Table(
        "time_in_status",
        "Time in each status",
        [
            Column("status", "Status", "text"),
            Column("incidents", "Incidents"),
            Column("mean_hours", "Mean hours", "hours"),
            Column("median_hours", "Median hours", "hours"),
        ],
        chart={"type": "bar", "label": "status", "series": ["mean_hours", "median_hours"]},
        note="Wall-clock time per incident logged in the period, from its status periods (open ones up to the last refresh).",
    )
    link = incident_list(scope.created_params())
    for key, label in (("new", "New"), ("in_progress", "In progress"), ("on_hold", "On hold")):
        table.add(label, Cell(agg["n"], link), _hours(agg[key]), _hours(agg[f"{key}_median"]))
    return table


PREDICTION_SCAN = 200


def predicted(user, scope: Scope, now=None, limit: int = 20) -> Table:
    """Open incidents whose resolution clock is likely to breach, by the rule of
    ``servicelevels.queries.predict`` (the group's median business time for the priority over 90 days,
    and how many of the group's clocks are due first), over the 200 running clocks due first.

    The candidates are a prefix by deadline, so a candidate's clocks "due first" in its group are
    candidates too: their count is each one's place in its group among the candidates, not a read of
    every running clock."""
    now = now or timezone.now()
    candidates = list(
        scope.facts(user)
        .filter(status__in=OPEN, resolution_state="running", resolution_due__gte=now)
        .order_by("resolution_due", "incident_id")
        .values("incident_id", "group_id", "priority", "resolution_due")[:PREDICTION_SCAN]
    )
    ahead_in_group: dict = {}
    for row in candidates:
        row["ahead"] = ahead_in_group.get(row["group_id"], 0)
        ahead_in_group[row["group_id"]] = row["ahead"] + 1
    state = RefreshState.objects.filter(pk=1).only("resolution_medians").first()
    medians = state.resolution_medians if state else {}
    wanted = [
        r
        for r in candidates
        if r["group_id"] and medians.get(f"{r['group_id']}:{r['priority']}", (0, 0))[1] >= sla.MIN_SAMPLES
    ]
    clocks = {
        clock.object_id: clock
        for clock in Clock.objects.filter(
            content_type__app_label="incidents",
            content_type__model="incident",
            object_id__in=[r["incident_id"] for r in wanted],
            target="resolution",
            state=ClockState.RUNNING,
        ).select_related("calendar")
    }
    from servicelevels import calendars

    likely = []
    for row in wanted:
        clock = clocks.get(row["incident_id"])
        if clock is None:
            continue
        median, samples = medians[f"{row['group_id']}:{row['priority']}"]
        elapsed = clock.elapsed_at(now, calendars.schedule_for(clock.calendar))
        remaining = clock.target_seconds - elapsed
        needed = max(median - elapsed, 0.1 * median) * (1 + row["ahead"] / 10)
        if remaining > 0 and needed > remaining:
            why = (
                f"This group resolved P{row['priority']} in a median {sla._duration(median)} of business time "
                f"({samples} in the last {sla.HISTORY_DAYS} days); {sla._duration(elapsed)} used so far and {row['ahead']} of its "
                f"clocks are due first, so about {sla._duration(needed)} more is likely needed with {sla._duration(remaining)} left."
            )
            likely.append((row, clock, why))
        if len(likely) >= limit:
            break
    numbers = dict(
        Incident.objects.filter(pk__in=[r["incident_id"] for r, _, _ in likely]).values_list("pk", "number")
    )
    groups = _names("group", {r["group_id"] for r, _, _ in likely})
    table = Table(
        "predicted",
        "Predicted to breach",
        [
            Column("incident", "Incident", "text"),
            Column("priority", "Priority", "text"),
            Column("group", "Group", "text"),
            Column("deadline", "Deadline", "datetime"),
            Column("why", "Why", "text"),
        ],
        note="Open incidents whose resolution clock is likely to breach, judged from the group's median business time "
        "for the priority over 90 days and the clocks due before it.",
    )
    for row, clock, why in likely:
        pk = row["incident_id"]
        table.add(
            Cell(numbers.get(pk, pk), reverse("incidents:detail", args=[pk])),
            PRIORITY_LABELS.get(row["priority"], ""),
            groups.get(row["group_id"], "—"),
            clock.deadline,
            why,
        )
    return table


# -- backlog and flow ------------------------------------------------------------------------------


def flow(user, scope: Scope) -> Table:
    """Created, resolved and open at the end of each day (week, month) of the period."""
    name, _, step = _bucket(scope)
    tz = timezone.get_current_timezone()
    counts = {
        rollup.local_start(day): row
        for day, row in rollup.sums(user, scope, ["logged", "resolved", "done"], by=name).items()
    }
    if rollup.covers(scope):
        before = rollup.sums(user, scope, ["logged", "done"], until=scope.since - datetime.timedelta(days=1))[
            None
        ]
        open_at_start = before["logged"] - before["done"]
    else:  # the facts' indexes on (service or organisation, created) find these faster
        open_at_start = (
            scope.facts(user)
            .filter(created_at__lt=scope.start)
            .filter(Q(done_at__isnull=True) | Q(done_at__gte=scope.start))
            .count()
        )
    table = Table(
        "flow",
        f"Created, resolved and open per {name}",
        [
            Column("period", name.capitalize(), "text"),
            Column("created", "Created"),
            Column("resolved", "Resolved"),
            Column("open", "Open at the end"),
        ],
        chart={"type": "line", "label": "period", "series": ["created", "resolved", "open"]},
        note="Open at the end: logged before the end of the period and not resolved, closed or cancelled by then.",
    )
    now = timezone.now()
    bucket = _first_bucket(scope, name)
    backlog = open_at_start
    dims = scope.dims()
    while bucket < scope.end:
        end = _bucket_end(bucket, step)
        lo, hi = _clamp(scope, bucket, end)
        row = counts.get(bucket, {})
        c, r, d = row.get("logged", 0), row.get("resolved", 0), row.get("done", 0)
        backlog += c - d
        # The period still running ends at the last refresh: its backlog is what is open now.
        open_params = {**dims, "open_at": hi} if hi <= now else {**dims, "open": True}
        table.add(
            bucket.astimezone(tz).strftime("%Y-%m-%d" if name != "month" else "%Y-%m"),
            Cell(c, incident_list({**dims, "created_after": lo, "created_before": hi})),
            Cell(r, incident_list({**dims, "resolved_after": lo, "resolved_before": hi})),
            Cell(backlog, incident_list(open_params)),
        )
        bucket = end
    return table


def _first_bucket(scope: Scope, name: str) -> datetime.datetime:
    tz = timezone.get_current_timezone()
    day = scope.since
    if name == "week":
        day = day - datetime.timedelta(days=day.weekday())
    elif name == "month":
        day = day.replace(day=1)
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)


AGES = [
    ("under_1d", "Under a day", None, datetime.timedelta(days=1)),
    ("1_3d", "1-3 days", datetime.timedelta(days=1), datetime.timedelta(days=3)),
    ("3_7d", "3-7 days", datetime.timedelta(days=3), datetime.timedelta(days=7)),
    ("7_30d", "7-30 days", datetime.timedelta(days=7), datetime.timedelta(days=30)),
    ("over_30d", "Over 30 days", datetime.timedelta(days=30), None),
]


def age_buckets(user, scope: Scope, now=None) -> Table:
    now = now or timezone.now()
    conditions = {}
    for key, _, young, old in AGES:
        q = Q()
        if young is not None:
            q &= Q(created_at__lt=now - young)
        if old is not None:
            q &= Q(created_at__gte=now - old)
        conditions[key] = q
    counts = (
        scope.facts(user)
        .filter(status__in=OPEN)
        .aggregate(**{key: Count("pk", filter=q) for key, q in conditions.items()})
    )
    table = Table(
        "age_buckets",
        "Open incidents by age",
        [Column("age", "Age", "text"), Column("open", "Open")],
        chart={"type": "bar", "label": "age", "series": ["open"]},
        note="Incidents open now (any logging date), by time since they were logged.",
    )
    for key, label, young, old in AGES:
        params = {**scope.dims(), "open": True}
        if young is not None:
            params["created_before"] = now - young
        if old is not None:
            params["created_after"] = now - old
        table.add(label, Cell(counts[key], incident_list(params)))
    return table


def backlog_by_group(user, scope: Scope) -> Table:
    rows = list(
        scope.facts(user)
        .filter(status__in=OPEN)
        .values("group_id")
        .annotate(total=Count("pk"), **{f"p{p}": Count("pk", filter=Q(priority=p)) for p in Priority.values})
        .order_by("-total")
    )
    table = Table(
        "backlog_by_group",
        "Open incidents by group and priority",
        [
            Column("group", "Group", "text"),
            *[Column(f"p{p}", f"P{p}") for p in Priority.values],
            Column("total", "Total"),
        ],
        chart={
            "type": "bar",
            "label": "group",
            "series": [f"p{p}" for p in Priority.values],
            "stacked": True,
        },
    )
    names = _names("group", [row["group_id"] for row in rows])
    for row in rows:
        pk = row["group_id"]
        params = {**scope.dims(), "open": True, "group": pk} if pk is not None else None

        def link(extra, params=params):
            return incident_list({**params, **extra}) if params is not None else None

        table.add(
            names.get(pk, "(no group)"),
            *[Cell(row[f"p{p}"], link({"priority": p})) for p in Priority.values],
            Cell(row["total"], link({})),
        )
    return table


def backlog_by_assignee(user, scope: Scope, limit: int = 25) -> Table:
    rows = list(
        scope.facts(user)
        .filter(status__in=OPEN)
        .values("assignee_id")
        .annotate(total=Count("pk"), breached=Count("pk", filter=Q(resolution_state="breached")))
        .order_by("-total", "assignee_id")[:limit]
    )
    names = _names("assignee", [row["assignee_id"] for row in rows])
    table = Table(
        "backlog_by_assignee",
        "Open incidents by assignee",
        [
            Column("assignee", "Assignee", "text"),
            Column("total", "Open"),
            Column("breached", "Resolution breached"),
        ],
        chart={"type": "bar", "label": "assignee", "series": ["total", "breached"]},
        note=f"The {limit} assignees holding most open incidents, and the unassigned ones.",
    )
    for row in rows:
        pk = row["assignee_id"]
        params = {**scope.dims(), "open": True, **({"assignee": pk} if pk else {"unassigned": True})}
        table.add(
            names.get(pk, "(unassigned)"),
            Cell(row["total"], incident_list(params)),
            Cell(row["breached"], incident_list({**params, "sla": "resolution_breached"})),
        )
    return table


TIMES_MEASURES = [
    "responded",
    "respond_seconds",
    "response_clocked",
    "response_business",
    "resolved",
    "resolve_seconds",
    "resolution_clocked",
    "resolution_business",
]


def times(user, scope: Scope) -> Table:
    """Mean and median time to respond and to resolve, wall-clock and business (from the clocks).
    Counts and means from the rollup's sums; medians (not additive) from the facts."""
    sums = rollup.sums(user, scope, TIMES_MEASURES)[None]
    responded_rows = scope.created(user).filter(responded_at__isnull=False)
    resolved_rows = scope.facts(user).filter(resolved_at__gte=scope.start, resolved_at__lt=scope.end)
    responded, resolved = {}, {}
    for agg, rows, n, seconds, target in (
        (responded, responded_rows, "responded", "respond_seconds", "response"),
        (resolved, resolved_rows, "resolved", "resolve_seconds", "resolution"),
    ):
        agg["n"], agg["clocked"] = sums[n], sums[f"{target}_clocked"]
        agg["mean"] = _mean(sums[seconds], sums[n])
        agg["business_mean"] = _mean(sums[f"{target}_business"], sums[f"{target}_clocked"])
        business = f"{target}_business_seconds"
        medians = _medians(rows, {seconds: sums[n], business: sums[f"{target}_clocked"]})
        agg["median"], agg["business_median"] = medians[seconds], medians[business]
    table = Table(
        "times",
        "Time to respond and to resolve",
        [
            Column("measure", "Measure", "text"),
            Column("incidents", "Incidents"),
            Column("mean_hours", "Mean hours", "hours"),
            Column("median_hours", "Median hours", "hours"),
            Column("with_clock", "With an SLA clock"),
            Column("business_mean_hours", "Mean business hours", "hours"),
            Column("business_median_hours", "Median business hours", "hours"),
        ],
        chart={
            "type": "bar",
            "label": "measure",
            "series": ["mean_hours", "median_hours", "business_mean_hours", "business_median_hours"],
        },
        note="Respond: incidents logged in the period that were responded to. Resolve: incidents resolved in the period. "
        "Business hours are the SLA clock's counted time (pauses and the calendar's closed hours excluded).",
    )
    respond_params = {**scope.created_params(), "responded": True}
    resolve_params = {**scope.dims(), "resolved_after": scope.start, "resolved_before": scope.end}
    for label, agg, params, target in (
        ("Time to respond", responded, respond_params, "response"),
        ("Time to resolve", resolved, resolve_params, "resolution"),
    ):
        table.add(
            label,
            Cell(agg["n"], incident_list(params)),
            _hours(agg["mean"]),
            _hours(agg["median"]),
            Cell(agg["clocked"], incident_list({**params, "sla": f"{target}_finished"})),
            _hours(agg["business_mean"]),
            _hours(agg["business_median"]),
        )
    return table


def quality(user, scope: Scope) -> Table:
    """First-contact resolution and reopen rates [INC-11], of incidents logged in the period."""
    sums = rollup.sums(user, scope, ["logged", "resolved_now", "first_contact", "reopened"])[None]
    agg = {
        "logged": sums["logged"],
        "resolved": sums["resolved_now"],
        "fcr": sums["first_contact"],
        "reopened": sums["reopened"],
    }
    base = scope.created_params()
    table = Table(
        "quality",
        "First contact and reopens",
        [
            Column("measure", "Measure", "text"),
            Column("incidents", "Incidents"),
            Column("rate", "% of resolved", "percent"),
        ],
        note="Of the incidents logged in the period: resolved = resolved or closed now; rates are shares of those.",
    )
    table.add("Logged", Cell(agg["logged"], incident_list(base)), None)
    table.add(
        "Resolved",
        Cell(agg["resolved"], incident_list({**base, "status": ["resolved", "closed"]})),
        100.0 if agg["resolved"] else None,
    )
    table.add(
        "First-contact resolution",
        Cell(agg["fcr"], incident_list({**base, "first_contact": True})),
        _pct(agg["fcr"], agg["resolved"]),
    )
    table.add(
        "Reopened at least once",
        Cell(agg["reopened"], incident_list({**base, "reopened": True})),
        _pct(agg["reopened"], agg["resolved"]),
    )
    return table


HOPS = [f"hops_{n}" for n in range(6)]  # hops_5: five or more


def hops(user, scope: Scope) -> Table:
    """Reassignments ("hops") per incident: the distribution (the rollup's counts per number of hops), with each
    count's share."""
    sums = rollup.sums(user, scope, ["logged", *HOPS])[None]
    rows = [
        {"reassignment_count": n, "n": sums[key], "total": sums["logged"]}
        for n, key in enumerate(HOPS)
        if sums[key]
    ]
    table = Table(
        "hops",
        "Reassignments per incident",
        [
            Column("hops", "Reassignments", "text"),
            Column("incidents", "Incidents"),
            Column("share", "Share %", "percent"),
        ],
        chart={"type": "bar", "label": "hops", "series": ["incidents"]},
    )
    base = scope.created_params()
    over = [row for row in rows if row["reassignment_count"] >= 5]
    for row in rows:
        if row["reassignment_count"] >= 5:
            continue
        table.add(
            str(row["reassignment_count"]),
            Cell(row["n"], incident_list({**base, "reassignments": row["reassignment_count"]})),
            _pct(row["n"], row["total"]),
        )
    if over:
        n = sum(row["n"] for row in over)
        table.add(
            "5 or more", Cell(n, incident_list({**base, "reassignments_min": 5})), _pct(n, over[0]["total"])
        )
    return table


# -- trends ----------------------------------------------------------------------------------------


def volume_by(user, scope: Scope, dimension: str, top: int = 8) -> Table:
    """Incidents logged per month (week, day) for the ``top`` categories or services of the period
    (``rollup.volumes``: one query; the leaders are picked here, most incidents first, then by id)."""
    name, _, step = _bucket(scope)
    tz = timezone.get_current_timezone()
    counts = {
        key: row["logged"] for key, row in rollup.volumes(user, scope, dimension, name, ["logged"]).items()
    }
    totals: dict[int, int] = {}
    for (pk, _day), n in counts.items():
        if pk is not None:
            totals[pk] = totals.get(pk, 0) + n
    ids = sorted(totals, key=lambda pk: (-totals[pk], pk))[:top]
    cells = {(pk, rollup.local_start(day)): n for (pk, day), n in counts.items()}
    buckets = []
    bucket = _first_bucket(scope, name)
    while bucket < scope.end:
        buckets.append(bucket)
        bucket = _bucket_end(bucket, step)
    names = _names(dimension, ids)
    label_format = "%Y-%m" if name == "month" else "%Y-%m-%d"
    table = Table(
        f"volume_by_{dimension}",
        f"Volume by {dimension} per {name}",
        [
            Column("period", name.capitalize(), "text"),
            *[Column(f"{dimension}_{pk}", names.get(pk, str(pk))) for pk in ids],
        ],
        chart={
            "type": "bar",
            "label": "period",
            "series": [f"{dimension}_{pk}" for pk in ids],
            "stacked": True,
        },
        note=f"The {top} {dimension if dimension != 'category' else 'categorie'}s with most incidents logged in the period.",
    )
    for bucket in buckets:
        lo, hi = _clamp(scope, bucket, _bucket_end(bucket, step))
        table.add(
            bucket.astimezone(tz).strftime(label_format),
            *[
                Cell(
                    cells.get((pk, bucket), 0),
                    incident_list({**scope.dims(), dimension: pk, "created_after": lo, "created_before": hi}),
                )
                for pk in ids
            ],
        )
    return table


def top_cis(user, scope: Scope, limit: int = 10) -> Table:
    """The CIs affected by most incidents logged in the period (recurring trouble spots)."""
    through = Incident.cis.through
    rows = list(
        through.objects.filter(incident_id__in=scope.created(user).values("incident_id"))
        .values("configurationitem_id")
        .annotate(n=Count("incident_id", distinct=True))
        .order_by("-n", "configurationitem_id")[:limit]
    )
    cis = {
        ci.pk: ci
        for ci in ConfigurationItem.objects.filter(pk__in=[r["configurationitem_id"] for r in rows]).only(
            "number", "name"
        )
    }
    table = Table(
        "top_cis",
        "Top recurring CIs",
        [Column("ci", "CI", "text"), Column("incidents", "Incidents")],
        chart={"type": "bar", "label": "ci", "series": ["incidents"]},
    )
    for row in rows:
        ci = cis.get(row["configurationitem_id"])
        table.add(
            f"{ci.number} {ci.name}" if ci else row["configurationitem_id"],
            Cell(row["n"], incident_list({**scope.created_params(), "ci": row["configurationitem_id"]})),
        )
    return table


def major_incidents(user, scope: Scope, limit: int = 50) -> Table:
    ids = list(
        scope.created(user)
        .filter(is_major=True)
        .order_by("-created_at")
        .values_list("incident_id", flat=True)[:limit]
    )
    rows = (
        Incident.objects.filter(pk__in=ids)
        .only("number", "short_description", "created_at", "major_declared_at", "resolved_at", "status")
        .order_by("-created_at")
    )
    now = timezone.now()
    table = Table(
        "major_incidents",
        "Major incidents",
        [
            Column("incident", "Incident", "text"),
            Column("title", "Short description", "text"),
            Column("declared_at", "Declared", "datetime"),
            Column("resolved_at", "Resolved", "datetime"),
            Column("hours", "Duration (hours)", "hours"),
        ],
        chart={"type": "bar", "label": "incident", "series": ["hours"]},
        note="Duration: from the declaration (or logging) to resolution, or to now while it runs.",
    )
    for incident in rows:
        start = incident.major_declared_at or incident.created_at
        table.add(
            Cell(incident.number, incident.get_absolute_url()),
            incident.short_description,
            start,
            incident.resolved_at,
            _hours(((incident.resolved_at or now) - start).total_seconds()),
        )
    return table


def problem_links(user, scope: Scope) -> Table:
    sums = rollup.sums(user, scope, ["logged", "problem_linked"])[None]
    agg = {"linked": sums["problem_linked"], "unlinked": sums["logged"] - sums["problem_linked"]}
    table = Table(
        "problem_links",
        "Incidents linked to problems",
        [
            Column("link", "Incidents", "text"),
            Column("incidents", "Count"),
            Column("share", "Share %", "percent"),
        ],
        chart={"type": "doughnut", "label": "link", "series": ["incidents"]},
        note="Linked through a problem's incident list or a link from the incident's page.",
    )
    total = agg["linked"] + agg["unlinked"]
    base = scope.created_params()
    table.add(
        "Linked to a problem",
        Cell(agg["linked"], incident_list({**base, "problem": True})),
        _pct(agg["linked"], total),
    )
    table.add(
        "Not linked",
        Cell(agg["unlinked"], incident_list({**base, "problem": False})),
        _pct(agg["unlinked"], total),
    )
    return table


PROBLEM_AGES = [
    ("under_30d", "Under 30 days", 0, 30),
    ("30_90d", "30-90 days", 30, 90),
    ("90_180d", "90-180 days", 90, 180),
    ("over_180d", "Over 180 days", 180, None),
]


def problem_aging(user, now=None) -> Table:
    from problems.choices import OPEN_STATUSES as PROBLEM_OPEN
    from problems.models import Problem

    now = now or timezone.now()
    conditions = {}
    for key, _, young, old in PROBLEM_AGES:
        q = Q(created_at__lt=now - datetime.timedelta(days=young))
        if old is not None:
            q &= Q(created_at__gte=now - datetime.timedelta(days=old))
        conditions[key] = q
    counts = (
        Problem.objects.visible_to(user)
        .filter(status__in=PROBLEM_OPEN)
        .aggregate(**{key: Count("pk", filter=q) for key, q in conditions.items()})
    )
    table = Table(
        "problem_aging",
        "Open problems by age",
        [Column("age", "Age", "text"), Column("problems", "Problems")],
        chart={"type": "bar", "label": "age", "series": ["problems"]},
    )
    for key, label, _, _ in PROBLEM_AGES:
        table.add(label, Cell(counts[key], reverse("problems:list")))
    return table


def workaround_effectiveness(user, limit: int = 15) -> Table:
    from problems import queries as problems

    rows = list(problems.known_errors(user).filter(use_count__gt=0).order_by("-use_count", "id")[:limit])
    table = Table(
        "workaround_effectiveness",
        "Known-error workarounds: how well they worked",
        [
            Column("known_error", "Known error", "text"),
            Column("uses", "Uses"),
            Column("worked", "Worked"),
            Column("partly", "Partly"),
            Column("failed", "Failed"),
            Column("effectiveness", "Worked %", "percent"),
        ],
        chart={
            "type": "bar",
            "label": "known_error",
            "series": ["worked", "partly", "failed"],
            "stacked": True,
        },
        note="Each recorded use of a known error's workaround on an incident, with its outcome; worked % of the rated uses.",
    )
    for ke in rows:
        rated = ke.worked_count + ke.partly_count + ke.failed_count
        url = reverse("problems:known-error", args=[ke.pk])
        table.add(
            Cell(f"{ke.number} {ke.title}", url),
            Cell(ke.use_count, url),
            ke.worked_count,
            ke.partly_count,
            ke.failed_count,
            _pct(ke.worked_count, rated),
        )
    return table


# -- self-help and satisfaction ----------------------------------------------------------------------


def self_help(user, scope: Scope) -> Table:
    from knowledge.models import PortalVisit, SelfHelpResolution

    visits = PortalVisit.objects.visible_to(user).filter(day__gte=scope.since, day__lte=scope.until)
    solved = SelfHelpResolution.objects.visible_to(user).filter(
        created_at__gte=scope.start, created_at__lt=scope.end
    )
    if scope.organisation_id is not None:
        visits = visits.filter(organisation_id=scope.organisation_id)
        solved = solved.filter(organisation_id=scope.organisation_id)
    v = visits.aggregate(visitors=Count("user_id", distinct=True), visits=Count("pk"), hits=Sum("hits"))
    n_solved = solved.count()
    portal = rollup.sums(user, scope, ["portal"])[None]["portal"]
    table = Table(
        "self_help",
        "Portal and self-help",
        [Column("measure", "Measure", "text"), Column("value", "Value")],
        tiles=True,
        note="Visitors: distinct people who opened the portal; deflection rate = self-help resolutions / "
        "(self-help resolutions + incidents raised in the portal). Group, service and priority filter only the incidents.",
    )
    table.add("Portal visitors", v["visitors"])
    table.add("Visits (person-days)", v["visits"])
    table.add("Page views", v["hits"] or 0)
    table.add("Self-help resolutions", n_solved)
    table.add(
        "Incidents raised in the portal",
        Cell(portal, incident_list({**scope.created_params(), "channel": "portal"})),
    )
    table.add("Deflection rate %", _pct(n_solved, n_solved + portal))
    return table


def self_help_by_period(user, scope: Scope) -> Table:
    from knowledge.models import PortalVisit, SelfHelpResolution

    name, trunc, step = _bucket(scope)
    tz = timezone.get_current_timezone()
    visits = PortalVisit.objects.visible_to(user).filter(day__gte=scope.since, day__lte=scope.until)
    solved = SelfHelpResolution.objects.visible_to(user).filter(
        created_at__gte=scope.start, created_at__lt=scope.end
    )
    if scope.organisation_id is not None:
        visits = visits.filter(organisation_id=scope.organisation_id)
        solved = solved.filter(organisation_id=scope.organisation_id)
    day_trunc = {"day": "day", "week": "week", "month": "month"}[name]
    from django.db.models.functions import Trunc

    visitors = {
        row["b"]: row["n"]
        for row in visits.annotate(b=Trunc("day", day_trunc))
        .values("b")
        .annotate(n=Count("user_id", distinct=True))
    }
    deflected = dict(
        solved.annotate(b=trunc("created_at", tzinfo=tz))
        .values("b")
        .annotate(n=Count("pk"))
        .values_list("b", "n")
    )
    portal = {
        rollup.local_start(day): row["portal"]
        for day, row in rollup.sums(user, scope, ["portal"], by=name).items()
    }
    table = Table(
        "self_help_by_period",
        f"Self-help per {name}",
        [
            Column("period", name.capitalize(), "text"),
            Column("visitors", "Portal visitors"),
            Column("self_help", "Self-help resolutions"),
            Column("portal_incidents", "Portal incidents"),
        ],
        chart={"type": "line", "label": "period", "series": ["visitors", "self_help", "portal_incidents"]},
    )
    bucket = _first_bucket(scope, name)
    while bucket < scope.end:
        end = _bucket_end(bucket, step)
        lo, hi = _clamp(scope, bucket, end)
        day = bucket.astimezone(tz).date()
        table.add(
            day.strftime("%Y-%m" if name == "month" else "%Y-%m-%d"),
            visitors.get(day, 0),
            deflected.get(bucket, 0),
            Cell(
                portal.get(bucket, 0),
                incident_list(
                    {**scope.dims(), "channel": "portal", "created_after": lo, "created_before": hi}
                ),
            ),
        )
        bucket = end
    return table


def _answers(user, scope: Scope):
    rows = SatisfactionResponse.objects.visible_to(user).filter(
        created_at__gte=scope.start, created_at__lt=scope.end
    )
    # The incident's security flag, priority and caller's organisation from its facts: the narrow
    # rows (joining the incidents read a million wide rows for two years, 270 ms).
    if not _is_security(user):
        hidden = IncidentFact.objects.filter(is_security=True).exclude(caller_id=user.pk)
        rows = rows.exclude(incident_id__in=hidden.values("incident_id"))
    if scope.group_id is not None:
        rows = rows.filter(assignment_group_id=scope.group_id)
    if scope.service_id is not None:
        rows = rows.filter(service_id=scope.service_id)
    facts = {}
    if scope.priority is not None:
        facts["priority"] = scope.priority
    if scope.organisation_id is not None:
        facts["organisation_id"] = scope.organisation_id
    if facts:
        rows = rows.filter(incident_id__in=IncidentFact.objects.filter(**facts).values("incident_id"))
    return rows


def _is_security(user) -> bool:
    from itsm import roles

    return roles.has_role(user, roles.SECURITY)


def csat(user, scope: Scope) -> Table:
    # Per rating, the incidents rated so in the period (one incident rated twice alike counts once):
    # what the linked list shows.
    agg = _answers(user, scope).aggregate(
        n=Count("pk"),
        mean=Avg("rating"),
        **{f"r{n}": Count("incident_id", distinct=True, filter=Q(rating=n)) for n in range(1, 6)},
    )
    table = Table(
        "csat",
        "Satisfaction (CSAT)",
        [
            Column("rating", "Rating", "text"),
            Column("answers", "Incidents rated"),
            Column("share", "Share %", "percent"),
        ],
        chart={"type": "bar", "label": "rating", "series": ["answers"]},
        note=f"Answers given in the period: {agg['n']}, average {round(agg['mean'], 2) if agg['mean'] else '—'} of 5; "
        "per rating, the incidents rated so in the period (rated twice alike: once). "
        "Group and service are those of the incident when the caller answered (filtered by them, no list link).",
    )
    rated = sum(agg[f"r{n}"] for n in range(1, 6))
    for n in range(1, 6):
        params = {**scope.dims(), "rating": n, "rated_after": scope.start, "rated_before": scope.end}
        # The answer's group and service are copied when it is given; the list filters the incident's now.
        link = incident_list(params) if scope.group_id is None and scope.service_id is None else None
        table.add(f"{n} of 5", Cell(agg[f"r{n}"], link), _pct(agg[f"r{n}"], rated))
    return table


def csat_by(user, scope: Scope, dimension: str) -> Table:
    field = {"group": "assignment_group_id", "service": "service_id"}[dimension]
    rows = list(
        _answers(user, scope)
        .values(field)
        .annotate(n=Count("pk"), mean=Avg("rating"), satisfied=Count("pk", filter=Q(rating__gte=4)))
        .order_by("-n")
    )
    names = _names(dimension, [row[field] for row in rows])
    table = Table(
        f"csat_by_{dimension}",
        f"Satisfaction by {dimension}",
        [
            Column(dimension, dimension.capitalize(), "text"),
            Column("answers", "Answers"),
            Column("average", "Average (1-5)", "hours"),
            Column("satisfied", "Satisfied (4-5) %", "percent"),
        ],
        chart={"type": "bar", "label": dimension, "series": ["average"]},
    )
    for row in rows:
        table.add(
            names.get(row[field], "(none)"),
            row["n"],
            round(row["mean"], 2) if row["mean"] is not None else None,
            _pct(row["satisfied"], row["n"]),
        )
    return table


# -- events ----------------------------------------------------------------------------------------


def events(user, scope: Scope) -> list[Table]:
    """Events in, alerts, alert groups and incidents opened from them: the events app's own
    statistics (events.stats), shown here with the dashboards' date range."""
    from events import stats

    # The events statistics cover at most stats.MAX_DAYS: a longer range shows its most recent days.
    since = max(scope.since, scope.until - datetime.timedelta(days=stats.MAX_DAYS - 1))
    figures = stats.statistics(user, since=since, until=scope.until)
    link = reverse("events:statistics") + f"?since={since.isoformat()}&until={scope.until.isoformat()}"
    totals = Table(
        "events_totals",
        "Events and noise reduction",
        [Column("measure", "Measure", "text"), Column("value", "Value")],
        tiles=True,
        note="From the events statistics (docs/events.md): events received, alerts, alert groups, incidents opened from them. "
        "Group, service, priority and organisation do not apply."
        + (
            f" The range is longer than {stats.MAX_DAYS} days: these are its last {stats.MAX_DAYS}."
            if since != scope.since
            else ""
        ),
    )
    totals.add("Events received", Cell(figures.total.events, link))
    totals.add("Alerts", Cell(figures.total.alerts, link))
    totals.add("Alert groups", Cell(figures.total.groups, link))
    totals.add("Incidents opened", Cell(figures.total.incidents, link))
    totals.add("Events per incident", figures.total.noise_reduction)
    by_day = Table(
        "events_by_day",
        "Events per day",
        [
            Column("day", "Day", "text"),
            Column("events", "Events"),
            Column("alerts", "Alerts"),
            Column("groups", "Alert groups"),
            Column("incidents", "Incidents"),
        ],
        chart={"type": "line", "label": "day", "series": ["events", "alerts", "groups", "incidents"]},
    )
    for day, f in figures.by_day:
        day_link = reverse("events:statistics") + f"?since={day.isoformat()}&until={day.isoformat()}"
        by_day.add(day.isoformat(), Cell(f.events, day_link), f.alerts, f.groups, f.incidents)
    sources = Table(
        "noisy_sources",
        "Noisiest sources",
        [
            Column("source", "Source", "text"),
            Column("events", "Events"),
            Column("alerts", "Alerts"),
            Column("incidents", "Incidents"),
            Column("per_incident", "Events per incident", "hours"),
        ],
        chart={"type": "bar", "label": "source", "series": ["events", "alerts"]},
    )
    for source, f in sorted(figures.by_source, key=lambda pair: -pair[1].events)[:10]:
        src_link = (
            reverse("events:statistics")
            + f"?since={scope.since.isoformat()}&until={scope.until.isoformat()}&source={source.pk}"
        )
        sources.add(source.name, Cell(f.events, src_link), f.alerts, f.incidents, f.noise_reduction)
    return [totals, by_day, sources]


# -- an agent's own work -----------------------------------------------------------------------------


def my_work(user, now=None) -> list[Table]:
    """The signed-in person's own work: open incidents by priority, their SLA, what they resolved
    in the last 30 days and how satisfied its callers were. Nobody else's."""
    now = now or timezone.now()
    since = now - datetime.timedelta(days=30)
    scope = Scope.default()
    mine = scope.facts(user).filter(assignee_id=user.pk)
    open_counts = mine.filter(status__in=OPEN).aggregate(
        total=Count("pk"),
        breached=Count("pk", filter=Q(resolution_state="breached")),
        at_risk=Count(
            "pk",
            filter=Q(
                resolution_state="running",
                resolution_due__gte=now,
                resolution_due__lt=now + sla.AT_RISK_WINDOW,
            ),
        ),
        **{f"p{p}": Count("pk", filter=Q(priority=p)) for p in Priority.values},
    )
    wall = Extract(F("resolved_at") - F("created_at"), "epoch")
    resolved = mine.filter(resolved_at__gte=since).aggregate(
        n=Count("pk"), median=Median(wall), business=Median("resolution_business_seconds")
    )
    rating = SatisfactionResponse.objects.filter(incident__assignee=user, created_at__gte=since).aggregate(
        n=Count("pk"), mean=Avg("rating")
    )
    base = {"assignee": user.pk, "open": True}
    tiles = Table(
        "my_work", "My work", [Column("measure", "Measure", "text"), Column("value", "Value")], tiles=True
    )
    tiles.add("Open, assigned to me", Cell(open_counts["total"], incident_list(base)))
    tiles.add(
        "Resolution breached",
        Cell(open_counts["breached"], incident_list({**base, "sla": "resolution_breached"})),
    )
    tiles.add(
        "Due within 24 h", Cell(open_counts["at_risk"], incident_list({**base, "sla": "resolution_at_risk"}))
    )
    tiles.add(
        "Resolved in 30 days",
        Cell(resolved["n"], incident_list({"assignee": user.pk, "resolved_after": since})),
    )
    tiles.add("Median hours to resolve", _hours(resolved["median"]))
    tiles.add("Median business hours to resolve", _hours(resolved["business"]))
    tiles.add("Satisfaction (30 days, of 5)", round(rating["mean"], 2) if rating["mean"] else None)
    by_priority = Table(
        "my_open_by_priority",
        "My open incidents by priority",
        [Column("priority", "Priority", "text"), Column("open", "Open")],
        chart={"type": "bar", "label": "priority", "series": ["open"]},
    )
    for p in Priority.values:
        by_priority.add(
            PRIORITY_LABELS[p], Cell(open_counts[f"p{p}"], incident_list({**base, "priority": p}))
        )
    return [tiles, by_priority]


# -- the pages ---------------------------------------------------------------------------------------

DASHBOARDS = {
    "sla": "SLA",
    "backlog": "Backlog and flow",
    "trends": "Trends",
    "satisfaction": "Self-help and satisfaction",
    "events": "Events",
}


def _widgets(name: str, user, scope: Scope) -> list[tuple[str, object]]:
    """(key, function computing the table) of each widget of a dashboard, in page order."""
    if name == "sla":
        return [
            ("sla_attainment", lambda: sla_attainment(user, scope)),
            ("sla_by_priority", lambda: sla_by(user, scope, "priority")),
            ("sla_by_group", lambda: sla_by(user, scope, "group")),
            ("sla_by_service", lambda: sla_by(user, scope, "service")),
            ("sla_by_month", lambda: sla_by_month(user, scope)),
            ("time_in_status", lambda: time_in_status(user, scope)),
            ("breaches", lambda: breaches(user, scope)),
            ("predicted", lambda: predicted(user, scope)),
        ]
    if name == "backlog":
        return [
            ("flow", lambda: flow(user, scope)),
            ("age_buckets", lambda: age_buckets(user, scope)),
            ("backlog_by_group", lambda: backlog_by_group(user, scope)),
            ("backlog_by_assignee", lambda: backlog_by_assignee(user, scope)),
            ("times", lambda: times(user, scope)),
            ("quality", lambda: quality(user, scope)),
            ("hops", lambda: hops(user, scope)),
        ]
    if name == "trends":
        return [
            ("volume_by_category", lambda: volume_by(user, scope, "category")),
            ("volume_by_service", lambda: volume_by(user, scope, "service")),
            ("top_cis", lambda: top_cis(user, scope)),
            ("major_incidents", lambda: major_incidents(user, scope)),
            ("problem_links", lambda: problem_links(user, scope)),
            ("problem_aging", lambda: problem_aging(user)),
            ("workaround_effectiveness", lambda: workaround_effectiveness(user)),
        ]
    if name == "satisfaction":
        return [
            ("self_help", lambda: self_help(user, scope)),
            ("self_help_by_period", lambda: self_help_by_period(user, scope)),
            ("csat", lambda: csat(user, scope)),
            ("csat_by_group", lambda: csat_by(user, scope, "group")),
            ("csat_by_service", lambda: csat_by(user, scope, "service")),
        ]
    if name == "events":
        return [("events", lambda: events(user, scope))]
    raise KeyError(name)


def _cache_prefix(name: str, user, scope: Scope, refreshed_at) -> str:
    """Results are kept until the summary table's next refresh (its instant is in the key) and per
    person (security visibility and one's own security incidents depend on who asks)."""
    stamp = refreshed_at.isoformat() if refreshed_at else "never"
    filters = ",".join(f"{k}={v}" for k, v in sorted(scope.as_query().items()))
    return f"dashboards:{name}:{user.pk}:{stamp}:{filters}"


def dashboard(name: str, user, scope: Scope, *, refreshed_at=None) -> list[Table]:
    """Every table of one dashboard. With ``DASHBOARDS_CACHE_SECONDS`` (default 300) the tables are
    cached until the facts are refreshed again: the figures only change then (``refreshed_at``
    names the refresh; the caller passes what it shows as "Figures as of")."""
    from django.conf import settings
    from django.core.cache import cache

    widgets = _widgets(name, user, scope)
    seconds = getattr(settings, "DASHBOARDS_CACHE_SECONDS", 300)
    prefix = _cache_prefix(name, user, scope, refreshed_at)
    keys = {key: f"{prefix}:{key}" for key, _ in widgets}
    found = cache.get_many(list(keys.values())) if seconds else {}
    computed, tables = {}, []
    for key, fn in widgets:
        table = found.get(keys[key])
        if table is None:
            table = computed[keys[key]] = fn()
        tables.extend(table if isinstance(table, list) else [table])
    if computed and seconds:
        cache.set_many(computed, seconds)
    return tables


def prewarm(refreshed_at, *, now=None) -> int:
    """Compute and cache the default-filter dashboards of the managers who signed in during the last
    ``DASHBOARDS_PREWARM_DAYS``, under the key of the refresh that just ran (``refreshed_at``): the
    very tables their first request would compute, so it is served warm. Returns the tables cached."""
    from django.conf import settings

    from itsm import roles

    days = getattr(settings, "DASHBOARDS_PREWARM_DAYS", 1)
    if not days or not getattr(settings, "DASHBOARDS_CACHE_SECONDS", 300):
        return 0
    now = now or timezone.now()
    managers = User.objects.filter(
        is_active=True,
        groups__name__in=[roles.MANAGER, roles.ADMIN],
        last_login__gte=now - datetime.timedelta(days=days),
    ).distinct()
    scope, cached = Scope.default(), 0
    for user in managers:
        for name in DASHBOARDS:
            cached += len(dashboard(name, user, scope, refreshed_at=refreshed_at))
    return cached
