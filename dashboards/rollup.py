"""The daily rollup (``DailyRollup``): the facts summed per local day, group, priority and security
flag, so a year reads ~35,000 rows instead of ~500,000 facts.

It stays exact because it is never adjusted, only recomputed: every measure is a sum over facts
(``MEASURES``: one SQL expression per fact and the instant whose local day it counts on), and the
refresh rewrites the whole rollup of every day a written fact counted on before or after its write
(``recompute``), from the facts, under a lock that orders concurrent refreshes. The same expressions
projected over the facts (``projection``) are the widgets' source when a filter the rollup does not
hold applies (service, organisation), so both paths aggregate the same rows the same way.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

# pg_advisory_xact_lock key: one rollup writer at a time ("dashrlup").
LOCK = 0x6461736872_6C7570

CREATED, RESOLVED, DONE = "created_at", "resolved_at", "done_at"


@dataclass(frozen=True)
class Measure:
    name: str
    on: str  # the fact's instant whose local day the measure counts on
    sql: str  # per fact (alias ``f``)
    seconds: bool = False


def _state(target: str, state: str) -> str:
    return f"(f.{target}_state = '{state}')::int"


def _numeric(expr: str) -> str:
    return f"COALESCE(({expr})::numeric(24, 3), 0)"


MEASURES = [
    Measure("logged", CREATED, "1"),
    *[
        Measure(f"{t}_{s}", CREATED, _state(t, s))
        for t in ("response", "resolution")
        for s in ("met", "breached", "running")
    ],
    Measure("resolved_now", CREATED, "(f.status IN ('resolved', 'closed'))::int"),
    Measure("first_contact", CREATED, "f.first_contact_resolution::int"),
    Measure("reopened", CREATED, "(f.reopen_count > 0)::int"),
    Measure("problem_linked", CREATED, "f.has_problem::int"),
    Measure("portal", CREATED, "(f.channel = 'portal')::int"),
    *[Measure(f"hops_{n}", CREATED, f"(f.reassignment_count = {n})::int") for n in range(5)],
    Measure("hops_5", CREATED, "(f.reassignment_count >= 5)::int"),
    *[
        Measure(f"seconds_{s}", CREATED, _numeric(f"f.seconds_{s}"), True)
        for s in ("new", "in_progress", "on_hold")
    ],
    Measure("responded", CREATED, "(f.responded_at IS NOT NULL)::int"),
    Measure("respond_seconds", CREATED, _numeric("EXTRACT(EPOCH FROM f.responded_at - f.created_at)"), True),
    Measure(
        "response_clocked",
        CREATED,
        "(f.responded_at IS NOT NULL AND f.response_business_seconds IS NOT NULL)::int",
    ),
    Measure(
        "response_business",
        CREATED,
        _numeric("CASE WHEN f.responded_at IS NOT NULL THEN f.response_business_seconds END"),
        True,
    ),
    Measure("resolved", RESOLVED, "1"),
    Measure("resolve_seconds", RESOLVED, _numeric("EXTRACT(EPOCH FROM f.resolved_at - f.created_at)"), True),
    Measure("resolution_clocked", RESOLVED, "(f.resolution_business_seconds IS NOT NULL)::int"),
    Measure("resolution_business", RESOLVED, _numeric("f.resolution_business_seconds"), True),
    Measure("done", DONE, "1"),
]
NAMES = [m.name for m in MEASURES]
KEYS = ("day", "group_id", "priority", "is_security")


def time_zone() -> str:
    return timezone.get_current_timezone_name()


def local_start(day: datetime.date) -> datetime.datetime:
    """The instant the local ``day`` begins (in the current time zone)."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_current_timezone())


def _days_join(on: str) -> str:
    """Joins the facts whose ``on`` instant falls in one of the day ranges ``starts``..``ends``."""
    return f"JOIN unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]) d(lo, hi) ON f.{on} >= d.lo AND f.{on} < d.hi"


def projection(measures: list[str], where: str, ranges: dict[str, tuple[str, str]] | None = None) -> str:
    """The facts as rollup-shaped rows (``KEYS`` + ``measures``): one row per fact and instant a
    measure counts on, zeros elsewhere. ``where`` filters the facts (alias ``f``); ``ranges`` maps an
    instant to SQL bounds ``(low, high)`` (either may be empty), or a join over day ranges (``"days"``).
    Parameters: ``tz`` and whatever ``where`` and ``ranges`` name."""
    by_name = {m.name: m for m in MEASURES}
    wanted = [by_name[name] for name in measures]  # in the caller's order: UNION ALL is positional
    branches = []
    for on in (CREATED, RESOLVED, DONE):
        if not any(m.on == on for m in wanted):
            continue
        cols = ", ".join(
            f"{m.sql if m.on == on else ('0::numeric(24, 3)' if m.seconds else '0')} AS {m.name}"
            for m in wanted
        )
        conditions = [where, f"f.{on} IS NOT NULL"]
        join = ""
        if ranges == "days":
            join = _days_join(on)
        elif ranges:
            low, high = ranges.get(on, ("", ""))
            conditions += [f"f.{on} >= {low}"] if low else []
            conditions += [f"f.{on} < {high}"] if high else []
        select = (
            f"SELECT (f.{on} AT TIME ZONE %(tz)s)::date AS day, f.group_id, f.priority, f.is_security, {cols}"
        )
        branches.append(f"{select} FROM dashboards_incidentfact f {join} WHERE {' AND '.join(conditions)}")
    return " UNION ALL ".join(branches)


def _insert(source: str) -> str:
    sums = ", ".join(f"SUM({name})" for name in NAMES)
    keys = ", ".join(KEYS)
    return f"INSERT INTO dashboards_dailyrollup ({keys}, {', '.join(NAMES)}) SELECT {keys}, {sums} FROM ({source}) p GROUP BY {keys}"  # noqa: S608 - our SQL


VOLUMES = {"category": "category_id", "service": "service_id"}
# What DailyVolume counts per category or service (incidents logged that day): a subset of MEASURES.
VOLUME_MEASURES = ["logged", "response_met", "response_breached", "resolution_met", "resolution_breached"]
_VOLUME_SQL = {m.name: m.sql for m in MEASURES if m.name in VOLUME_MEASURES}
_VOLUME = (
    f"INSERT INTO dashboards_dailyvolume (day, dimension, key_id, is_security, {', '.join(VOLUME_MEASURES)})"  # noqa: S608 - our SQL
    " SELECT (f.created_at AT TIME ZONE %(tz)s)::date, v.dimension, v.key_id, f.is_security, "
    + ", ".join(f"SUM({_VOLUME_SQL[name]})" for name in VOLUME_MEASURES)
    + " FROM dashboards_incidentfact f {join}"
    " CROSS JOIN LATERAL (VALUES ('category', f.category_id), ('service', f.service_id)) v(dimension, key_id)"
    " GROUP BY 1, 2, 3, 4"
)


def days_of(ids: list[int]) -> set[datetime.date]:
    """The local days the facts of ``ids`` count on now (call before and after writing them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT unnest(ARRAY[(created_at AT TIME ZONE %(tz)s)::date, (resolved_at AT TIME ZONE %(tz)s)::date,"
            " (done_at AT TIME ZONE %(tz)s)::date]) FROM dashboards_incidentfact WHERE incident_id = ANY(%(ids)s)",
            {"tz": time_zone(), "ids": ids},
        )
        return {row[0] for row in cursor.fetchall() if row[0] is not None}


def _lock(cursor) -> None:
    # Held to the end of the caller's transaction: a second refresh recomputes after this one
    # committed, so it reads this one's facts as well as its own.
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK])


def recompute(days: set[datetime.date]) -> None:
    """Rewrite the rollup of ``days`` from the facts (inside the transaction that wrote them)."""
    if not days:
        return
    ordered = sorted(days)
    starts = [local_start(d) for d in ordered]
    ends = [local_start(d + datetime.timedelta(days=1)) for d in ordered]
    with connection.cursor() as cursor:
        _lock(cursor)
        params = {"tz": time_zone(), "starts": starts, "ends": ends}
        cursor.execute("DELETE FROM dashboards_dailyrollup WHERE day = ANY(%s::date[])", [ordered])
        cursor.execute(_insert(projection(NAMES, "true", "days")), params)
        cursor.execute("DELETE FROM dashboards_dailyvolume WHERE day = ANY(%s::date[])", [ordered])
        cursor.execute(_VOLUME.format(join=_days_join(CREATED)), params)


def rebuild() -> None:
    """Rewrite the whole rollup from the facts (after a full rebuild, or a new TIME_ZONE)."""
    with connection.cursor() as cursor:
        _lock(cursor)
        cursor.execute("DELETE FROM dashboards_dailyrollup")
        cursor.execute(_insert(projection(NAMES, "true")), {"tz": time_zone()})
        cursor.execute("DELETE FROM dashboards_dailyvolume")
        cursor.execute(_VOLUME.format(join=""), {"tz": time_zone()})
        cursor.execute("ANALYZE dashboards_dailyrollup")
        cursor.execute("ANALYZE dashboards_dailyvolume")


BUCKETS = {
    None: None,
    "priority": "s.priority",
    "group": "s.group_id",
    "day": "s.day",
    "week": "date_trunc('week', s.day::timestamp)::date",
    "month": "date_trunc('month', s.day::timestamp)::date",
}


# The stored rows count in the time zone of this request (a new TIME_ZONE rebuilds them).
_CURRENT = "%(tz)s = (SELECT rollup_time_zone FROM dashboards_refreshstate WHERE id = 1)"


def _dims(scope) -> dict:
    """The facts' columns of the scope's group, priority, service and organisation filters that apply."""
    return {
        column: value
        for column, value in (
            ("group_id", scope.group_id),
            ("priority", scope.priority),
            ("service_id", scope.service_id),
            ("organisation_id", scope.organisation_id),
        )
        if value is not None
    }


def _union(user, stored: str | None, facts, where: list[str]) -> str:
    """One UNION ALL of the stored rows (``stored``: a SELECT from a table aliased ``r`` ending in
    its WHERE; None when they do not hold the filters) and of the facts (``facts(where)``) they do not
    cover: all of them in another time zone, and the user's own security incidents (the stored rows
    hold only the others for whoever lacks the security role)."""
    from itsm import roles

    security = roles.has_role(user, roles.SECURITY)
    branches = []
    if stored is not None:
        branches.append(f"{stored} AND {_CURRENT}" + ("" if security else " AND NOT r.is_security"))
        if not security:  # one's own security incidents, from the facts
            branches.append(
                facts(" AND ".join([*where, "f.is_security", "f.caller_id = %(user)s", _CURRENT]))
            )
        where = [*where, f"NOT COALESCE({_CURRENT}, false)"]
    if not security:
        where = [*where, "(NOT f.is_security OR f.caller_id = %(user)s)"]
    branches.append(facts(" AND ".join(where) or "true"))
    return " UNION ALL ".join(branches)


def covers(scope) -> bool:
    """The rollup holds the filters of ``scope`` (date range, group, priority)."""
    return scope.service_id is None and scope.organisation_id is None


def sums(
    user,
    scope,
    measures: list[str],
    *,
    by: str | None = None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> dict:
    """``measures`` summed over the local days ``since``..``until`` (default: the scope's; ``since``
    None: from the beginning) within the scope's other filters and what ``user`` may see, per
    ``by`` (``BUCKETS``; None: one row). From the rollup when it covers the filters and counts in
    the current time zone, otherwise from the facts, in one query either way. Returns {key: {measure: sum}}."""
    if not set(measures) <= set(NAMES):
        raise ValueError(f"not rollup measures: {set(measures) - set(NAMES)}")
    since, until = (scope.since, scope.until) if since is None and until is None else (since, until)
    dims = _dims(scope)
    params = {
        "tz": time_zone(),
        "user": user.pk,
        "since": since,
        "until": until,
        "start": local_start(since) if since else None,
        "end": local_start(until + datetime.timedelta(days=1)),
        **dims,
    }
    bounds = ("%(start)s" if since else "", "%(end)s")
    ranges = {CREATED: bounds, RESOLVED: bounds, DONE: bounds}
    stored = None
    if covers(scope):
        where = [f"r.{column} = %({column})s" for column in dims] + ["r.day <= %(until)s"]
        where += ["r.day >= %(since)s"] if since else []
        stored = f"SELECT {', '.join(KEYS)}, {', '.join(measures)} FROM dashboards_dailyrollup r WHERE {' AND '.join(where)}"  # noqa: S608 - our SQL
    union = _union(
        user,
        stored,
        lambda condition: projection(measures, condition, ranges),
        [f"f.{column} = %({column})s" for column in dims],
    )
    key = BUCKETS[by]
    select = ", ".join(f"COALESCE(SUM({m}), 0) AS {m}" for m in measures)
    sql = f"SELECT {key or 'NULL'} AS key, {select} FROM ({union}) s"  # noqa: S608 - our SQL
    sql += f" GROUP BY {key}" if key else ""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return {row[0]: dict(zip(names[1:], row[1:], strict=True)) for row in cursor.fetchall()}


def volumes(user, scope, dimension: str, by: str | None, measures: list[str]) -> dict:
    """``measures`` (``VOLUME_MEASURES``) summed per category or service (``dimension``, None for
    incidents without one) and day (week, month: ``by``; None: the whole scope) of the scope, that
    ``user`` may see: from ``DailyVolume`` without group, priority, service and organisation filters
    (and in the current time zone), from the facts otherwise; one query.
    Returns {(key, bucket): {measure: sum}}."""
    if not set(measures) <= set(VOLUME_MEASURES):
        raise ValueError(f"not volume measures: {set(measures) - set(VOLUME_MEASURES)}")
    dims = _dims(scope)
    params = {
        "tz": time_zone(),
        "user": user.pk,
        "dimension": dimension,
        "since": scope.since,
        "until": scope.until,
        "start": scope.start,
        "end": scope.end,
        **dims,
    }
    cols = ", ".join(f"{_VOLUME_SQL[name]} AS {name}" for name in measures)
    facts = f"SELECT (f.created_at AT TIME ZONE %(tz)s)::date AS day, f.{VOLUMES[dimension]} AS key_id, {cols} FROM dashboards_incidentfact f WHERE "  # noqa: S608 - our SQL
    stored = None
    if not dims:
        stored = (
            f"SELECT r.day, r.key_id, {', '.join(measures)} FROM dashboards_dailyvolume r"  # noqa: S608 - our SQL
            " WHERE r.dimension = %(dimension)s AND r.day >= %(since)s AND r.day <= %(until)s"
        )
    fact_where = ["f.created_at >= %(start)s", "f.created_at < %(end)s"]
    union = _union(
        user,
        stored,
        lambda condition: facts + condition,
        fact_where + [f"f.{column} = %({column})s" for column in dims],
    )
    bucket = BUCKETS[by] or "NULL::date"
    sums = ", ".join(f"SUM(s.{name})" for name in measures)
    sql = f"SELECT s.key_id, {bucket}, {sums} FROM ({union}) s GROUP BY 1, 2"  # noqa: S608 - our SQL
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(row[0], row[1]): dict(zip(measures, row[2:], strict=True)) for row in cursor.fetchall()}
