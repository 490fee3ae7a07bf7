"""Benchmark "dashboards" (B5): the managers' dashboards at a million incidents with SLA clocks.

Works in its own database, ``itsm_bench_dashboards``. Seeding (a Django subprocess, fixed seeds):

* the million incidents of ``bench.incidents`` (its reference data and COPY loader, reused as is:
  two years, 10% open, realistic priorities, groups, services, channels, a fifth with a CI);
* ten organisations for the callers; a 24x7 calendar and one policy per priority;
* SLA clocks for every incident (response and resolution), and two or three status periods each,
  written set-based (``INSERT ... SELECT`` from the incidents): met within or after the target,
  running, paused (on hold awaiting the user), breached by the sweep - about 2.0 M clocks;
* 5% of resolutions rated (CSAT), portal visits and self-help records for the two years;
* the dashboards' summary table built from all of it (``facts_refresh(full=True)``, timed).

Measured (every statement capped at 30 s):

* in process: each widget (``dashboards.queries``) with the default filters (last 30 days) and with
  each filter (group, service, priority, organisation, a year, two years): the first call (cold: a
  new process, its caches empty) and p50/p95 of the next ``REPEAT`` (warm); the incremental refresh
  of 1,000 changed incidents and a full rebuild; query counts per page;
* over HTTP on 127.0.0.1 at concurrency 1: each page and API endpoint with the default filters
  and with each filter, first request (cold) and p50/p95 of the following ones.

Environment: ``BENCH_DASHBOARDS_SCALE`` (default 1.0; 0.02 for a quick check),
``BENCH_DASHBOARDS_RESEED=1`` (load the incidents again), ``BENCH_DASHBOARDS_REBUILD=1`` (rebuild
the facts even when complete), ``BENCH_DASHBOARDS_SKIP_IN_PROCESS=1`` (HTTP only),
``BENCH_DASHBOARDS_RESULT`` (the JSON's name under bench/results/, default ``dashboards``),
``DASHBOARDS_CACHE_SECONDS=0`` (measure without the result cache: every request computes, so p50/p95
are cold figures too). With the cache (the default) the first request of each page and filter is cold
(nothing here pre-warms: beat does, ``queries.prewarm``, timed in process) and the next ones warm; an
API request after its page reads the page's cached tables.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from urllib.parse import urlencode

from bench.incidents import _load_paths, _unavailable
from bench.runner import BASE_DIR, call_in_django, login, probe, use_database

DATABASE = "itsm_bench_dashboards"
MANAGER, MANAGER_PASSWORD = "bench-manager", "bench-password"
STATEMENT_TIMEOUT_MS = 30_000
REPEAT = 4
PAGE_REQUESTS, PAGE_SECONDS = 8, 10.0
ORGANISATIONS = 10
PAGES = ("sla", "backlog", "trends", "satisfaction", "events")
_ENV: dict[str, str] = {}


def _log(message: str) -> None:
    print(f"[dashboards] {message}", flush=True)


def scale() -> float:
    return float(os.environ.get("BENCH_DASHBOARDS_SCALE", "1.0"))


# ------------------------------------------------------------------------------ inside Django: seeding

CLOCKS_SQL = """
INSERT INTO servicelevels_clock (content_type_id, object_id, target, policy_id, calendar_id, target_seconds,
    state, started_at, running_since, elapsed_seconds, deadline, breached_at, stopped_at, next_check_at,
    group_id, priority, version)
SELECT %(ct)s, i.id, t.target, p.policy_id, %(calendar)s, t.seconds,
    CASE WHEN t.stop IS NOT NULL THEN 'met'
         WHEN i.status = 'on_hold' AND i.hold_reason = 'awaiting_user' THEN 'paused' ELSE 'running' END,
    i.created_at,
    CASE WHEN t.stop IS NULL AND NOT (i.status = 'on_hold' AND i.hold_reason = 'awaiting_user') THEN i.created_at END,
    CASE WHEN t.stop IS NOT NULL THEN EXTRACT(EPOCH FROM t.stop - i.created_at)
         WHEN i.status = 'on_hold' AND i.hold_reason = 'awaiting_user'
           THEN LEAST(EXTRACT(EPOCH FROM now() - i.created_at) / 2, t.seconds * 0.9) ELSE 0 END,
    CASE WHEN t.stop IS NULL AND NOT (i.status = 'on_hold' AND i.hold_reason = 'awaiting_user')
         THEN i.created_at + make_interval(secs => t.seconds) END,
    CASE WHEN COALESCE(t.stop, now()) > i.created_at + make_interval(secs => t.seconds)
          AND NOT (t.stop IS NULL AND i.status = 'on_hold' AND i.hold_reason = 'awaiting_user')
         THEN i.created_at + make_interval(secs => t.seconds) END,
    t.stop,
    CASE WHEN t.stop IS NULL THEN i.created_at + make_interval(secs => t.seconds) END,
    i.assignment_group_id, i.priority, 1
FROM incidents_incident i
JOIN (SELECT unnest(%(priorities)s::int[]) AS priority, unnest(%(policies)s::bigint[]) AS policy_id) p
  ON p.priority = i.priority
CROSS JOIN LATERAL (VALUES
    ('response', (ARRAY[900, 3600, 14400, 28800, 86400])[i.priority], i.responded_at),
    ('resolution', (ARRAY[14400, 28800, 259200, 432000, 864000])[i.priority], i.resolved_at)
) AS t(target, seconds, stop)
WHERE i.status <> 'cancelled' AND i.id BETWEEN %(low)s AND %(high)s
"""

PERIODS_SQL = """
INSERT INTO incidents_statusperiod (incident_id, status, hold_reason, assignment_group_id, started_at, ended_at)
SELECT i.id, s.status, s.reason, i.assignment_group_id, s.started, s.ended
FROM incidents_incident i
CROSS JOIN LATERAL (VALUES
    ('new', '', i.created_at, COALESCE(i.responded_at, CASE WHEN i.status <> 'new' THEN i.status_changed_at END)),
    ('in_progress', '', i.responded_at, CASE WHEN i.status = 'on_hold' THEN i.status_changed_at
                                           ELSE COALESCE(i.resolved_at, i.closed_at) END),
    ('on_hold', i.hold_reason, CASE WHEN i.status = 'on_hold' THEN i.status_changed_at END, NULL::timestamptz),
    ('resolved', '', i.resolved_at, i.closed_at)
) AS s(status, reason, started, ended)
WHERE s.started IS NOT NULL AND i.id BETWEEN %(low)s AND %(high)s
"""


def seed_dashboards() -> dict:
    """The incidents (bench.incidents), then clocks, status periods, CSAT, portal data and facts."""
    import datetime

    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.utils import timezone

    from bench import incidents as bench_incidents
    from dashboards.models import IncidentFact
    from dashboards.services import facts_refresh
    from incidents.models import Incident
    from itsm.models import KernelState
    from people.models import Organisation, User
    from servicelevels.models import Calendar, Clock, SLAPolicy

    os.environ["BENCH_INCIDENTS_SCALE"] = str(scale())
    if os.environ.get("BENCH_DASHBOARDS_RESEED") == "1":
        os.environ["BENCH_INCIDENTS_RESEED"] = "1"
    seeded = bench_incidents.seed_incidents()
    total = seeded["counts"]["incidents"]
    state = (KernelState.objects.filter(key="bench_dashboards").first() or KernelState(value={})).value
    with transaction.atomic():
        manager, _ = User.objects.get_or_create(
            username=MANAGER, defaults={"first_name": "Bench", "last_name": "Manager"}
        )
        manager.password = make_password(MANAGER_PASSWORD)
        manager.save()
        manager.groups.add(Group.objects.get(name="manager"))
        orgs = [
            Organisation.objects.get_or_create(
                name=f"Bench organisation {n}", defaults={"code": f"BENCH{n}"}
            )[0].pk
            for n in range(ORGANISATIONS)
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE people_user SET organisation_id = (%s::bigint[])[1 + id %% %s]"
                " WHERE username LIKE 'bench-inc-caller-%%' AND organisation_id IS NULL",
                [orgs, ORGANISATIONS],
            )
        calendar, _ = Calendar.objects.get_or_create(name="bench dashboards 24x7", defaults={"is_24x7": True})
        policies = {}
        for priority in range(1, 6):
            policy, _ = SLAPolicy.objects.get_or_create(
                name=f"bench dashboards P{priority}",
                defaults={
                    "calendar": calendar,
                    "priorities": [priority],
                    "order": priority,
                    "response_minutes": 60,
                    "resolution_minutes": 480,
                },
            )
            policies[priority] = policy.pk
    ct = ContentType.objects.get_for_model(Incident).pk
    clocks = Clock.objects.filter(content_type_id=ct).count()
    fresh = state.get("loaded_at") != seeded.get("loaded_at") or state.get("total") != total or not clocks
    figures = dict(state.get("figures", {}))
    if fresh:
        _log("writing SLA clocks and status periods ...")
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM servicelevels_clockevent")
            cursor.execute("DELETE FROM servicelevels_clock WHERE content_type_id = %s", [ct])
            cursor.execute("TRUNCATE incidents_statusperiod")
            cursor.execute("SELECT min(id), max(id) FROM incidents_incident")
            low, high = cursor.fetchone()
        step = 100_000
        for start in range(low, high + 1, step):
            with transaction.atomic(), connection.cursor() as cursor:
                params = {"ct": ct, "calendar": calendar.pk, "priorities": list(policies), "policies": list(policies.values()),
                          "low": start, "high": start + step - 1}  # fmt: skip
                cursor.execute(CLOCKS_SQL, params)
                cursor.execute(PERIODS_SQL, params)
            _log(f"  clocks and periods up to id {start + step - 1:,}")
        figures["clocks_seconds"] = round(time.perf_counter() - began, 1)
        _log("CSAT answers, portal visits and self-help ...")
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM incidents_satisfactionresponse")
            cursor.execute(
                "INSERT INTO incidents_satisfactionresponse (incident_id, respondent_id, resolved_at, rating, comment,"
                " assignment_group_id, service_id, created_at)"
                " SELECT id, caller_id, resolved_at, 1 + (id * 7919 % 5 + id % 3) % 5, '', assignment_group_id,"
                " service_id, resolved_at + interval '1 hour' FROM incidents_incident"
                " WHERE resolved_at IS NOT NULL AND id % 20 = 0"
            )
            cursor.execute("DELETE FROM knowledge_portalvisit")
            cursor.execute(
                "INSERT INTO knowledge_portalvisit (user_id, organisation_id, day, hits, first_seen_at, last_seen_at)"
                " SELECT u.id, u.organisation_id, d::date, 1 + (u.id + extract(doy FROM d)::int) % 7, d, d + interval '10 min'"
                " FROM generate_series(now() - interval '730 days', now(), interval '1 day') d"
                " JOIN people_user u ON u.username LIKE 'bench-inc-caller-%'"
                " AND (u.id + extract(doy FROM d)::int) % 40 = 0"
            )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        state = {"loaded_at": seeded.get("loaded_at"), "total": total, "figures": figures}
    if fresh or IncidentFact.objects.count() != total or os.environ.get("BENCH_DASHBOARDS_REBUILD") == "1":
        _log("building the dashboards' facts (full rebuild) ...")
        began = time.perf_counter()
        result = facts_refresh(full=True, now=timezone.now())
        figures["facts_full_rebuild_seconds"] = round(time.perf_counter() - began, 1)
        figures["facts_rows"] = result.rows
    else:
        _log("facts complete; kept (an incremental refresh brings them up to date)")
        facts_refresh(now=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE dashboards_incidentfact")
    state["figures"] = figures
    KernelState.objects.update_or_create(key="bench_dashboards", defaults={"value": state})
    counts = {
        "incidents": total,
        "clocks": Clock.objects.filter(content_type_id=ct).count(),
        "breached_clocks": Clock.objects.filter(content_type_id=ct, breached_at__isnull=False).count(),
        "facts": IncidentFact.objects.count(),
        "groups": len(seeded["groups"]),
    }
    now = timezone.now()
    return {
        "counts": counts,
        "figures": figures,
        "group": seeded["groups"][0],
        "service": seeded["services"][0],
        "organisation": orgs[0],
        "loaded_at": seeded.get("loaded_at"),
        "until": now.date().isoformat(),
        "year_ago": (now - datetime.timedelta(days=364)).date().isoformat(),
        "two_years_ago": (now - datetime.timedelta(days=729)).date().isoformat(),
    }


def _variants(seeded: dict) -> list[tuple[str, dict]]:
    return [
        ("default", {}),
        ("group", {"group": seeded["group"]}),
        ("service", {"service": seeded["service"]}),
        ("priority", {"priority": 2}),
        ("organisation", {"organisation": seeded["organisation"]}),
        ("year", {"since": seeded["year_ago"], "until": seeded["until"]}),
        ("two_years", {"since": seeded["two_years_ago"], "until": seeded["until"]}),
    ]


def _ms(values: list[float]) -> dict:
    ordered = sorted(values)

    def pick(fraction):
        return round(
            ordered[max(0, min(len(ordered) - 1, int(round(fraction * len(ordered) + 0.5)) - 1))] * 1000, 1
        )

    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": pick(0.95),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def in_process() -> dict:
    """Each widget, cold (first call) and warm (p50/p95 of ``REPEAT``), per filter; refresh costs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from dashboards import queries
    from dashboards.filters import DashboardFilterForm, Scope
    from dashboards.models import PendingFact
    from dashboards.services import facts_refresh
    from people.models import User

    seeded = json.loads(os.environ["BENCH_DASHBOARDS_SEEDED"])
    user = User.objects.get(username=MANAGER)
    widgets = {
        "sla_attainment": lambda s: queries.sla_attainment(user, s),
        "sla_by_priority": lambda s: queries.sla_by(user, s, "priority"),
        "sla_by_group": lambda s: queries.sla_by(user, s, "group"),
        "sla_by_service": lambda s: queries.sla_by(user, s, "service"),
        "sla_by_month": lambda s: queries.sla_by_month(user, s),
        "time_in_status": lambda s: queries.time_in_status(user, s),
        "breaches": lambda s: queries.breaches(user, s),
        "predicted": lambda s: queries.predicted(user, s),
        "flow": lambda s: queries.flow(user, s),
        "age_buckets": lambda s: queries.age_buckets(user, s),
        "backlog_by_group": lambda s: queries.backlog_by_group(user, s),
        "backlog_by_assignee": lambda s: queries.backlog_by_assignee(user, s),
        "times": lambda s: queries.times(user, s),
        "quality": lambda s: queries.quality(user, s),
        "hops": lambda s: queries.hops(user, s),
        "volume_by_category": lambda s: queries.volume_by(user, s, "category"),
        "volume_by_service": lambda s: queries.volume_by(user, s, "service"),
        "top_cis": lambda s: queries.top_cis(user, s),
        "major_incidents": lambda s: queries.major_incidents(user, s),
        "problem_links": lambda s: queries.problem_links(user, s),
        "self_help": lambda s: queries.self_help(user, s),
        "self_help_by_period": lambda s: queries.self_help_by_period(user, s),
        "csat": lambda s: queries.csat(user, s),
        "csat_by_group": lambda s: queries.csat_by(user, s, "group"),
        "events": lambda s: queries.events(user, s),
    }
    results = []
    for variant, params in _variants(seeded):
        form = DashboardFilterForm({k: str(v) for k, v in params.items()})
        assert form.is_valid(), form.errors
        scope = Scope.from_form(form)
        for name, widget in widgets.items():
            began = time.perf_counter()
            widget(scope)
            cold = time.perf_counter() - began
            times = []
            for _ in range(REPEAT):
                began = time.perf_counter()
                widget(scope)
                times.append(time.perf_counter() - began)
            results.append(
                {"name": f"widget_{name}", "variant": variant, "cold_ms": round(cold * 1000, 1), **_ms(times)}
            )
            _log(
                f"  {variant:12} {name:22} cold {cold * 1000:7.1f} ms, warm p95 {results[-1]['p95_ms']:7.1f} ms"
            )
    # Query counts of a whole dashboard (must not depend on the data; see the tests).
    scope = Scope.default()
    query_counts = {}
    for page in PAGES:
        with CaptureQueriesContext(connection) as captured:
            queries.dashboard(page, user, scope)
        query_counts[page] = len(captured)
    # The incremental refresh of 1,000 changed incidents (what beat does every minute), and a no-op run.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO dashboards_pendingfact (incident_id, queued_at) SELECT id, now() FROM incidents_incident"
            " ORDER BY id DESC LIMIT 1000 ON CONFLICT DO NOTHING"
        )
    began = time.perf_counter()
    incremental = facts_refresh(now=timezone.now())
    incremental_s = time.perf_counter() - began
    began = time.perf_counter()
    idle = facts_refresh(now=timezone.now())
    idle_s = time.perf_counter() - began
    assert not PendingFact.objects.exists()
    # What beat does after each refresh: the default dashboards of the managers signed in lately.
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    began = time.perf_counter()
    prewarmed = queries.prewarm(queries.freshness()["refreshed_at"])
    prewarm_s = time.perf_counter() - began
    return {
        "widgets": results,
        "query_counts": query_counts,
        "refresh": {
            "incremental_rows": incremental.rows,
            "incremental_seconds": round(incremental_s, 2),
            "idle_rows": idle.rows,
            "idle_seconds": round(idle_s, 2),
            "prewarm_tables": prewarmed,
            "prewarm_seconds_one_manager": round(prewarm_s, 2),
        },
    }


def seed(env: dict[str, str]) -> dict:
    use_database(env, DATABASE)
    seeded = call_in_django(env, "bench.dashboards:seed_dashboards", timeout=5400)
    _log(f"seeded: {seeded['counts']}; {seeded['figures']}")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=BASE_DIR, env=env, check=True, timeout=600,
    )  # fmt: skip
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c statement_timeout={STATEMENT_TIMEOUT_MS}".strip()
    seeded["database"] = DATABASE
    inner = {**env, "BENCH_DASHBOARDS_SEEDED": json.dumps(seeded), "HTTPS_ONLY": "0", "DEBUG": "0",
             "ALLOWED_HOSTS": "127.0.0.1,testserver"}  # fmt: skip
    if os.environ.get("BENCH_DASHBOARDS_SKIP_IN_PROCESS") != "1":
        seeded["in_process"] = call_in_django(inner, "bench.dashboards:in_process", timeout=3600)
    _ENV.clear()
    _ENV.update(env)
    return seeded


def run(port: int, seeded: dict) -> list[dict]:
    results = []
    session = {"Cookie": login(port, MANAGER, MANAGER_PASSWORD), "Accept": "text/html"}
    api = {**session, "Accept": "application/json"}
    for page in PAGES:
        for variant, params in _variants(seeded):
            query = f"?{urlencode(params)}" if params else ""
            for kind, path, headers in (
                ("page", f"/dashboards/{page}/{query}", session),
                ("api", f"/api/v1/dashboards/{page}/{query}", api),
            ):
                label = f"{kind}_{page}_{variant}"
                began = time.perf_counter()
                status, body = probe(port, path, headers, timeout=120)
                cold = time.perf_counter() - began
                if status != 200:
                    print(f"  {label}: GET {path} answered {status}; skipped", flush=True)
                    results.append(_unavailable(label, path, status, body))
                    continue
                figures = _load_paths(port, [path], headers, 1, PAGE_REQUESTS, PAGE_SECONDS, warmup=1)
                results.append({"name": label, "path": path, "cold_ms": round(cold * 1000, 1),
                                "response_bytes": len(body), **figures})  # fmt: skip
                print(
                    f"  {label}: cold {cold * 1000:.0f} ms, p50 {figures['p50_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms",
                    flush=True,
                )
    return results


def main() -> int:
    """``python -m bench.dashboards``: seed, in-process figures, then HTTP under gunicorn."""
    from bench.runner import standalone, write_results

    document = standalone("dashboards", sys.modules[__name__])
    if document is None:
        return 3
    document["cache_seconds"] = int(os.environ.get("DASHBOARDS_CACHE_SECONDS", "300"))
    write_results(document, os.environ.get("BENCH_DASHBOARDS_RESULT"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
