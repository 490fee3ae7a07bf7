"""The only writer of the dashboards' summary table (``IncidentFact``).

``facts_refresh`` is incremental and idempotent: it rewrites the facts of the incidents queued by
the ``incident_changed`` receiver, of those whose live SLA clock passed its deadline since the last
run (a breach changes no incident row), and of those newly linked to a problem; ``full=True``
rewrites every incident (after a bulk load, or from ``manage.py dashboards_refresh --all``). Each
batch is one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` computed from the current rows, so a
second run, a retry or two workers at once write the same values. In the same transaction it
recomputes the daily rollup (``dashboards.rollup``) of every day those facts counted on before or
after the write.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone

from dashboards import rollup
from dashboards.models import RefreshState

BATCH = 20_000
MEDIANS_EVERY = datetime.timedelta(minutes=10)
# Incidents whose clocks passed a deadline shortly before the last run are looked at again: a
# transaction that committed late is still seen.
OVERLAP = datetime.timedelta(minutes=5)

UPSERT = """
WITH ids AS (SELECT unnest(%(ids)s::bigint[]) AS id)
INSERT INTO dashboards_incidentfact (
    incident_id, created_at, responded_at, resolved_at, done_at, status, priority, group_id, assignee_id,
    service_id, category_id, caller_id, organisation_id, channel, is_major, is_security, reopen_count,
    reassignment_count, first_contact_resolution, has_problem,
    response_state, response_due, response_business_seconds,
    resolution_state, resolution_due, resolution_business_seconds,
    seconds_new, seconds_in_progress, seconds_on_hold, respond_seconds, resolve_seconds, refreshed_at
)
SELECT
    i.id, i.created_at, i.responded_at, i.resolved_at,
    CASE WHEN i.status IN ('resolved', 'closed', 'cancelled') THEN COALESCE(i.resolved_at, i.closed_at) END,
    i.status, i.priority, i.assignment_group_id, i.assignee_id, i.service_id, i.category_id, i.caller_id,
    u.organisation_id, i.channel, i.is_major, i.is_security, i.reopen_count, i.reassignment_count,
    i.first_contact_resolution,
    EXISTS (SELECT 1 FROM problems_problemincident pi WHERE pi.incident_id = i.id)
      OR EXISTS (SELECT 1 FROM itsm_recordlink l WHERE l.source_type_id = %(incident_type)s
                 AND l.source_id = i.id AND l.target_type_id = %(problem_type)s)
      OR EXISTS (SELECT 1 FROM itsm_recordlink l WHERE l.target_type_id = %(incident_type)s
                 AND l.target_id = i.id AND l.source_type_id = %(problem_type)s),
    {state_rs}, CASE WHEN rs.state IN ('running', 'paused') THEN rs.deadline END,
    CASE WHEN rs.state = 'met' THEN rs.elapsed_seconds END,
    {state_rv}, CASE WHEN rv.state IN ('running', 'paused') THEN rv.deadline END,
    CASE WHEN rv.state = 'met' THEN rv.elapsed_seconds END,
    COALESCE(sp.new, 0), COALESCE(sp.in_progress, 0), COALESCE(sp.on_hold, 0),
    EXTRACT(EPOCH FROM i.responded_at - i.created_at), EXTRACT(EPOCH FROM i.resolved_at - i.created_at), %(now)s
FROM ids
JOIN incidents_incident i ON i.id = ids.id
LEFT JOIN people_user u ON u.id = i.caller_id
LEFT JOIN LATERAL (
    SELECT c.* FROM servicelevels_clock c
    WHERE c.content_type_id = %(incident_type)s AND c.object_id = i.id AND c.target = 'response'
      AND c.state <> 'cancelled'
    ORDER BY c.started_at DESC, c.id DESC LIMIT 1
) rs ON true
LEFT JOIN LATERAL (
    SELECT c.* FROM servicelevels_clock c
    WHERE c.content_type_id = %(incident_type)s AND c.object_id = i.id AND c.target = 'resolution'
      AND c.state <> 'cancelled'
    ORDER BY c.started_at DESC, c.id DESC LIMIT 1
) rv ON true
LEFT JOIN LATERAL (
    SELECT
        SUM(EXTRACT(EPOCH FROM COALESCE(p.ended_at, %(now)s) - p.started_at)) FILTER (WHERE p.status = 'new') AS new,
        SUM(EXTRACT(EPOCH FROM COALESCE(p.ended_at, %(now)s) - p.started_at)) FILTER (WHERE p.status = 'in_progress') AS in_progress,
        SUM(EXTRACT(EPOCH FROM COALESCE(p.ended_at, %(now)s) - p.started_at)) FILTER (WHERE p.status = 'on_hold') AS on_hold
    FROM incidents_statusperiod p WHERE p.incident_id = i.id
) sp ON true
ON CONFLICT (incident_id) DO UPDATE SET
    created_at = EXCLUDED.created_at, responded_at = EXCLUDED.responded_at,
    resolved_at = EXCLUDED.resolved_at, done_at = EXCLUDED.done_at, status = EXCLUDED.status,
    priority = EXCLUDED.priority, group_id = EXCLUDED.group_id, assignee_id = EXCLUDED.assignee_id,
    service_id = EXCLUDED.service_id, category_id = EXCLUDED.category_id, caller_id = EXCLUDED.caller_id,
    organisation_id = EXCLUDED.organisation_id, channel = EXCLUDED.channel, is_major = EXCLUDED.is_major,
    is_security = EXCLUDED.is_security, reopen_count = EXCLUDED.reopen_count,
    reassignment_count = EXCLUDED.reassignment_count,
    first_contact_resolution = EXCLUDED.first_contact_resolution, has_problem = EXCLUDED.has_problem,
    response_state = EXCLUDED.response_state, response_due = EXCLUDED.response_due,
    response_business_seconds = EXCLUDED.response_business_seconds,
    resolution_state = EXCLUDED.resolution_state, resolution_due = EXCLUDED.resolution_due,
    resolution_business_seconds = EXCLUDED.resolution_business_seconds,
    seconds_new = EXCLUDED.seconds_new, seconds_in_progress = EXCLUDED.seconds_in_progress,
    seconds_on_hold = EXCLUDED.seconds_on_hold, respond_seconds = EXCLUDED.respond_seconds,
    resolve_seconds = EXCLUDED.resolve_seconds, refreshed_at = EXCLUDED.refreshed_at
"""


def _state(alias: str) -> str:
    # The same rule as servicelevels.queries.breached_q (what the incident list's ``sla`` filter uses).
    return f"""CASE
        WHEN {alias}.id IS NULL THEN ''
        WHEN {alias}.breached_at IS NOT NULL
          OR ({alias}.state = 'met' AND {alias}.elapsed_seconds > {alias}.target_seconds)
          OR ({alias}.state = 'running' AND {alias}.deadline < %(now)s)
          OR ({alias}.state = 'paused' AND {alias}.elapsed_seconds >= {alias}.target_seconds) THEN 'breached'
        WHEN {alias}.state = 'met' THEN 'met'
        ELSE 'running' END"""


SQL = UPSERT.format(state_rs=_state("rs"), state_rv=_state("rv"))


@dataclass
class RefreshResult:
    rows: int
    seconds: float
    refreshed_at: datetime.datetime


def _types() -> dict:
    from incidents.models import Incident
    from problems.models import Problem

    return {
        "incident_type": ContentType.objects.get_for_model(Incident).pk,
        "problem_type": ContentType.objects.get_for_model(Problem).pk,
    }


def _write(ids: list[int], now: datetime.datetime, types: dict, *, days: bool = True) -> int:
    """Rewrite the facts of ``ids`` and (``days``) the rollup of the days they count on."""
    if not ids:
        return 0
    before = rollup.days_of(ids) if days else set()
    with connection.cursor() as cursor:
        cursor.execute(SQL, {"ids": ids, "now": now, **types})
        written = cursor.rowcount
    if days:
        rollup.recompute(before | rollup.days_of(ids))
    return written


def facts_forget(*, incident_id: int) -> None:
    """Take a deleted incident out of the figures: its facts go and the rollup of the days they
    counted on is recomputed without them (in the caller's transaction, before the incident row
    goes: the cascade would drop the facts too, but only after their days could be read)."""
    days = rollup.days_of([incident_id])
    if not days:
        return
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM dashboards_incidentfact WHERE incident_id = %s", [incident_id])
    rollup.recompute(days)


def resolution_medians(now: datetime.datetime) -> dict:
    """Median business seconds to resolve and sample size per ``"group:priority"``, over the facts
    resolved in the last 90 days (the rule of ``servicelevels.queries.predict``)."""
    from django.db.models import Count

    from dashboards.models import IncidentFact
    from servicelevels.queries import HISTORY_DAYS, Median

    rows = (
        IncidentFact.objects.filter(
            resolved_at__gte=now - datetime.timedelta(days=HISTORY_DAYS),
            resolution_business_seconds__isnull=False,
            group_id__isnull=False,
        )
        .values("group_id", "priority")
        .annotate(median=Median("resolution_business_seconds"), samples=Count("pk"))
        .order_by()
    )
    return {f"{r['group_id']}:{r['priority']}": [r["median"], r["samples"]] for r in rows}


def facts_refresh(*, full: bool = False, now: datetime.datetime | None = None) -> RefreshResult:
    """Bring ``IncidentFact`` up to date (see the module docstring). Returns how many rows were written."""
    started = time.monotonic()
    now = now or timezone.now()
    types = _types()
    state, _ = RefreshState.objects.get_or_create(pk=1)
    written = 0
    if full:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM dashboards_pendingfact WHERE queued_at <= %s", [now])
            cursor.execute("SELECT id FROM incidents_incident ORDER BY id")
            ids = [row[0] for row in cursor.fetchall()]
        for start in range(0, len(ids), BATCH):
            with transaction.atomic():
                written += _write(ids[start : start + BATCH], now, types, days=False)
        state.full_rebuild_at = now
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE dashboards_incidentfact")
        with transaction.atomic():
            rollup.rebuild()
    else:
        since = (state.refreshed_at or now - datetime.timedelta(days=1)) - OVERLAP
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                # Take a batch of queued incidents; SKIP LOCKED lets a second worker take another.
                cursor.execute(
                    "DELETE FROM dashboards_pendingfact WHERE incident_id IN ("
                    " SELECT incident_id FROM dashboards_pendingfact ORDER BY incident_id"
                    " LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING incident_id",
                    [BATCH],
                )
                ids = sorted(row[0] for row in cursor.fetchall())
                written += _write(ids, now, types)
            if len(ids) < BATCH:
                break
        with connection.cursor() as cursor:
            # Live clocks whose deadline passed since the last run: now breached.
            cursor.execute(
                "SELECT DISTINCT object_id FROM servicelevels_clock WHERE content_type_id = %s"
                " AND state IN ('running', 'paused') AND deadline >= %s AND deadline < %s",
                [types["incident_type"], since, now],
            )
            ids = {row[0] for row in cursor.fetchall()}
            cursor.execute("SELECT incident_id FROM problems_problemincident WHERE linked_at >= %s", [since])
            ids |= {row[0] for row in cursor.fetchall()}
            cursor.execute(
                "SELECT source_id FROM itsm_recordlink WHERE created_at >= %(since)s AND source_type_id = "
                "%(incident_type)s UNION SELECT target_id FROM itsm_recordlink WHERE created_at >= %(since)s"
                " AND target_type_id = %(incident_type)s",
                {"since": since, **types},
            )
            ids |= {row[0] for row in cursor.fetchall()}
        ids_list = sorted(ids)
        for start in range(0, len(ids_list), BATCH):
            with transaction.atomic():
                written += _write(ids_list[start : start + BATCH], now, types)
        if state.rollup_time_zone != rollup.time_zone():
            with transaction.atomic():
                rollup.rebuild()
    medians = {}
    if full or state.medians_at is None or state.medians_at < now - MEDIANS_EVERY:
        medians = {"resolution_medians": resolution_medians(now), "medians_at": now}
    seconds = time.monotonic() - started
    RefreshState.objects.filter(pk=1).update(
        **medians,
        refreshed_at=now,
        full_rebuild_at=state.full_rebuild_at,
        rows_last_run=written,
        rollup_time_zone=rollup.time_zone(),
        seconds_last_run=seconds,
    )
    return RefreshResult(rows=written, seconds=seconds, refreshed_at=now)
