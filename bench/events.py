"""Benchmark "events" (B1, B1b, B2): event ingestion, deduplication, one worker's drain, a storm.

Works in its own database, ``itsm_bench_events``, with its own Redis server on a private socket (the
broker and cache of gunicorn and of the worker), so a backlog of tasks disturbs nobody.
``python -m bench.events`` runs it under the runner's ``BenchLock`` without touching ``itsm_bench``;
``python -m bench events`` works too.

Seeding (a Django subprocess, fixed seed): the events, alerts, groups, incidents and CIs of a previous
run are emptied (TRUNCATE); three generic event sources (``B1``, ``B1b``, ``B2``; tokens answered
once); a support group; for B2 a service map imported through ``configuration.imports.import_items``
(the CMDB's bulk import): ``STORM_TECH`` technical services, ``STORM_HOSTS`` servers each
``depends-on`` one of them (so hosts depend on services, 20 per service) and ``STORM_BUSINESS``
business services each ``depends-on`` 10 hosts.

Measured:

* **B1 ingestion** - ``B1_EVENTS`` events per phase, 90 % duplicates over ``B1_KEYS`` dedup keys
  (resource x check; every event its own ``occurred_at``, so none is a replay), severity warning.
  Phases: single-event requests at 1, 16 and 64 connections (each bounded by ``B1_SINGLE_SECONDS``),
  then batches of ``B1_BATCH`` events at 1, 16 and 64 connections. During the phases no worker runs
  (the tasks wait in Redis): the rate is the web tier's. After the single phases and after the
  batch phases one worker is started and the backlog's drain is timed (events/s). Then, exactly:
  raw events = events = sum of the alerts' counts = events accepted (202 ``accepted``), nothing
  unprocessed, alerts = keys.
* **B1b** - ``B1B_ROUNDS`` rounds of 50 concurrent first events with one new key (50 threads behind
  a barrier), the worker running: exactly one alert with count 50, one group, one incident per round;
  request latencies and the time from the first POST to the last event processed.
* **B2 storm** - ``STORM_FIRING_TECH`` technical services fire first (one critical event each);
  then, over ``STORM_SECONDS`` s, ``STORM_HOSTS`` hosts x ``STORM_CHECKS`` checks = 10,000 alerts:
  each host fails at a random moment of the storm (before its last ``STORM_SPREAD_S`` s), its checks
  first fire within ``STORM_SPREAD_S`` s of that and repeat every ``STORM_REPEAT_S`` s; posted in
  ~100 ms batches by 8 senders. Expected: the hosts depending on a firing service join its group as symptoms, every
  other host opens its own group and incident: groups = incidents = firing services + other hosts.
  Latency: for each group with an incident, incident ``created_at`` - the ``received_at`` of the
  group's first event (p50/p95/p99, target p95 <= 2 s).

The worker: ``celery -A itsm worker -Q events --concurrency BENCH_EVENTS_WORKER_CONCURRENCY`` (default
2, prefork), one process group. Environment: ``BENCH_EVENTS_B1_EVENTS`` (default 100,000),
``BENCH_EVENTS_SINGLE_SECONDS`` (default 40), ``BENCH_EVENTS_STORM_SECONDS`` (default 60).
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.loadgen import _percentile
from bench.runner import BASE_DIR, RESULTS_DIR, _connect, call_in_django, use_database
from bench.sla import _Redis

SEED = 20261127
DATABASE = "itsm_bench_events"
B1_EVENTS = int(os.environ.get("BENCH_EVENTS_B1_EVENTS", "100000"))
B1_KEYS = 10_000
B1_BATCH = 1000
B1_SINGLE_SECONDS = float(os.environ.get("BENCH_EVENTS_SINGLE_SECONDS", "40"))
B1_CONCURRENCIES = (1, 16, 64)
B1B_ROUNDS, B1B_THREADS = 5, 50
STORM_TECH, STORM_FIRING_TECH, STORM_HOSTS, STORM_BUSINESS, STORM_CHECKS = 25, 5, 500, 50, 20
STORM_SECONDS = float(os.environ.get("BENCH_EVENTS_STORM_SECONDS", "60"))
STORM_REPEAT_S = 20.0
STORM_SPREAD_S = 10.0
STORM_TICK_S = 0.1
STORM_SENDERS = 8
WORKER_CONCURRENCY = int(os.environ.get("BENCH_EVENTS_WORKER_CONCURRENCY", "2"))
URL = "/api/v1/events/"
GUNICORN = (2, 4)  # processes, threads
EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _log(message: str) -> None:
    print(f"[events] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ inside Django: seed


def seed_events() -> dict:
    """Empty what a previous run left, then sources, a support group and the storm's service map."""
    from django.db import connection, transaction

    from configuration.imports import import_items
    from configuration.models import ConfigurationItem
    from events import services
    from people.models import SupportGroup, User

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE events_event, events_rawevent, events_alert, events_alertgroup, events_eventsource, "
            "incidents_incident, configuration_configurationitem, itsm_notification CASCADE"
        )
    tokens = {}
    with transaction.atomic():
        for name in ("B1", "B1b", "B2"):
            source, token = services.source_create(
                actor=None, fields={"name": f"bench {name}", "max_batch_size": 1000}
            )
            tokens[name] = token
        group, _ = SupportGroup.objects.get_or_create(name="Bench storm ops")
        for index in range(3):
            user, _ = User.objects.get_or_create(
                username=f"bench-ev-op-{index}", defaults={"email": "", "first_name": "Operator"}
            )
            group.members.add(user)
    rng = random.Random(SEED)  # noqa: S311 - repeatable data
    tech = [
        {"class": "technical-service", "name": f"Storage cluster {i:02d}", "criticality": 2}
        for i in range(STORM_TECH)
    ]
    hosts = [
        {
            "class": "server",
            "name": f"storm-host-{i:03d}",
            "identifiers": {"hostname": f"storm-host-{i:03d}"},
            "criticality": rng.choice([2, 3, 3, 4]),
            "owner_group": group.name,
        }
        for i in range(STORM_HOSTS)
    ]
    report = import_items(actor=None, source="bench-events", items=tech)
    numbers = dict(
        ConfigurationItem.objects.filter(name__startswith="Storage cluster ").values_list("name", "number")
    )
    for i, host in enumerate(hosts):  # host i depends on technical service i % STORM_TECH
        host["relationships"] = [
            {"type": "depends-on", "target": numbers[f"Storage cluster {i % STORM_TECH:02d}"]}
        ]
    report_hosts = import_items(actor=None, source="bench-events", items=hosts)
    business = [
        {
            "class": "business-service",
            "name": f"Business service {b:02d}",
            "criticality": rng.choice([1, 2, 3]),
            "relationships": [
                {"type": "depends-on", "target": f"hostname=storm-host-{h:03d}"}
                for h in range(b * (STORM_HOSTS // STORM_BUSINESS), (b + 1) * (STORM_HOSTS // STORM_BUSINESS))
            ],
        }
        for b in range(STORM_BUSINESS)
    ]
    report_business = import_items(actor=None, source="bench-events", items=business)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    imported = [r.as_dict() for r in (report, report_hosts, report_business)]
    return {
        "tokens": tokens,
        "tech_numbers": [numbers[f"Storage cluster {i:02d}"] for i in range(STORM_TECH)],
        "cmdb_import": [{k: v for k, v in r.items() if not isinstance(v, list)} for r in imported],
        "cis": ConfigurationItem.objects.count(),
    }


# ------------------------------------------------------------------------------ outside Django


class _Db:
    """A plain psycopg2 connection to the bench database, for counts while the load runs."""

    def __init__(self, url: str):
        self.connection = _connect(url)
        self.connection.autocommit = True

    def one(self, sql: str, params=None):
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params or [])
            return cursor.fetchone()

    def all(self, sql: str, params=None):
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params or [])
            return cursor.fetchall()

    def close(self) -> None:
        self.connection.close()


def _source_id(db: _Db, name: str) -> int:
    return db.one("SELECT id FROM events_eventsource WHERE name = %s", [f"bench {name}"])[0]


def _pending(db: _Db, source_id: int | None = None) -> int:
    if source_id is None:
        return db.one("SELECT count(*) FROM events_rawevent WHERE processed_at IS NULL")[0]
    return db.one(
        "SELECT count(*) FROM events_rawevent WHERE processed_at IS NULL AND source_id = %s", [source_id]
    )[0]


class _Worker:
    """One Celery worker process (its own process group) on the events queue."""

    def __init__(self, env: dict[str, str], log: Path, concurrency: int = WORKER_CONCURRENCY):
        self.env, self.log, self.concurrency = env, log, concurrency
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        """Start and wait until it answers ping; returns the seconds that took."""
        from celery import Celery

        began = time.perf_counter()
        args = [sys.executable, "-m", "celery", "-A", "itsm", "worker", "--loglevel", "WARNING"]
        args += ["--concurrency", str(self.concurrency), "--pool", "prefork", "-Q", "events"]
        args += ["--hostname", f"bench-events-{os.getpid()}@%h", "--without-mingle", "--without-gossip"]
        with open(self.log, "a") as handle:
            self.process = subprocess.Popen(
                args,
                cwd=BASE_DIR,
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        control = Celery(broker=_kombu(self.env["REDIS_URL"]))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited with {self.process.returncode}; see {self.log}")
            if control.control.ping(timeout=0.5):
                return time.perf_counter() - began
        raise RuntimeError(f"the worker did not answer ping within 90 s; see {self.log}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)  # warm shutdown: running tasks finish
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _queued(env: dict[str, str]) -> int:
    """Tasks waiting in the private broker's ``events`` queue."""
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"])
    try:
        return client.llen("events")
    finally:
        client.close()


def _kombu(url: str) -> str:
    if url.startswith("unix://"):
        path = url[len("unix://") :].partition("?")[0]
        return f"redis+socket://{path}?virtual_host=0"
    return url


def _summary(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {
        "mean_ms": round(sum(ordered) / len(ordered) * 1000, 3) if ordered else 0.0,
        "p50_ms": _percentile(ordered, 0.50),
        "p95_ms": _percentile(ordered, 0.95),
        "p99_ms": _percentile(ordered, 0.99),
        "max_ms": round(ordered[-1] * 1000, 3) if ordered else 0.0,
    }


def _post_all(
    port: int, token: str, bodies: list[bytes], concurrency: int, max_seconds: float, warmup: list[bytes] = ()
) -> dict:
    """POST each body (in order, claimed by ``concurrency`` keep-alive connections) until all are sent
    or ``max_seconds`` passed. Counts the ``accepted`` of every 202."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    lock = threading.Lock()
    state = {"next": 0, "accepted": 0, "events_sent": 0}
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    barrier = threading.Barrier(concurrency, action=lambda: state.setdefault("start", time.perf_counter()))

    def loop(warm: list[bytes]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine, accepted = [], 0
        try:
            for body in warm:
                connection.request("POST", URL, body=body, headers=headers)
                accepted += json.loads(connection.getresponse().read()).get("accepted", 0)
            barrier.wait()
            while True:
                with lock:
                    index = state["next"]
                    if index >= len(bodies) or time.perf_counter() > state["start"] + max_seconds:
                        break
                    state["next"] += 1
                began = time.perf_counter()
                try:
                    connection.request("POST", URL, body=bodies[index], headers=headers)
                    response = connection.getresponse()
                    data = response.read()
                    status = str(response.status)
                    if response.status == 202:
                        accepted += json.loads(data)["accepted"]
                except (OSError, http.client.HTTPException) as error:
                    connection.close()
                    status = type(error).__name__
                mine.append((time.perf_counter() - began, status))
        finally:
            connection.close()
            with lock:
                state["accepted"] += accepted
                for latency, status in mine:
                    latencies.append(latency)
                    statuses[status] = statuses.get(status, 0) + 1
                state.setdefault("finished", []).append(time.perf_counter())

    per_thread = [list(warmup[i::concurrency]) for i in range(concurrency)]
    threads = [threading.Thread(target=loop, args=(per_thread[i],), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = max(state["finished"]) - state["start"]
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "errors": len(latencies) - statuses.get("202", 0),
        "duration_s": round(duration, 3),
        "rate_per_s": round(len(latencies) / duration, 1) if duration else 0.0,
        "sent_bodies": state["next"],
        "accepted_including_warmup": state["accepted"],
        "statuses": dict(sorted(statuses.items())),
        **_summary(latencies),
    }


def _b1_event(phase: int, index: int) -> dict:
    key = index % B1_KEYS
    return {
        "resource": f"b1-host-{key % 1000:03d}",
        "check": f"check-{key // 1000}",
        "severity": "warning",
        "value": float(index % 97),
        "message": "disk usage above threshold",
        "labels": {"env": "bench", "phase": str(phase)},
        # Every event its own moment: duplicates of a key, never replays of an event.
        "occurred_at": (EPOCH + datetime.timedelta(milliseconds=phase * 10_000_000 + index)).isoformat(),
    }


def _drain(env: dict[str, str], db: _Db, source_id: int, name: str) -> dict:
    """Start one worker on the backlog and time until nothing of the source is unprocessed."""
    backlog = _pending(db, source_id)
    worker = _Worker(env, RESULTS_DIR / "events.worker.log")
    _log(f"{name}: draining {backlog:,} raw events with one worker (concurrency {worker.concurrency}) ...")
    try:
        startup = worker.start()
        at_ready = _pending(db, source_id)
        began = time.perf_counter()
        deadline = began + 1800
        while _pending(db, source_id) and time.perf_counter() < deadline:
            time.sleep(0.2)
        seconds = time.perf_counter() - began
        left = _pending(db, source_id)
        # The tasks still queued find nothing left (their events were taken by earlier batches).
        queued = _queued(env)
        while _queued(env) and time.perf_counter() < deadline:
            time.sleep(0.2)
        queue_empty = time.perf_counter() - began
    finally:
        worker.stop()
    rate = round(at_ready / seconds, 1) if seconds else None
    _log(f"{name}: {at_ready:,} drained in {seconds:.1f} s ({rate} events/s); {left} left")
    return {
        "name": name,
        "backlog_events": backlog,
        "pending_when_worker_ready": at_ready,
        "worker_startup_s": round(startup, 2),
        "worker_concurrency": worker.concurrency,
        "seconds": round(seconds, 2),
        "drain_events_per_s": rate,
        "left_unprocessed": left,
        "tasks_queued_when_drained": queued,
        "task_queue_empty_after_s": round(queue_empty, 2),
    }


def run_b1(port: int, env: dict[str, str], token: str, db: _Db) -> list[dict]:
    source_id = _source_id(db, "B1")
    results, phase, accepted = [], 0, 0
    for mode in os.environ.get("BENCH_EVENTS_B1_MODES", "single,batch").split(","):
        for concurrency in B1_CONCURRENCIES:
            phase += 1
            events = [_b1_event(phase, i) for i in range(B1_EVENTS)]
            if mode == "single":
                bodies = [json.dumps(e).encode() for e in events]
                warm = [json.dumps(_b1_event(100 + phase, i)).encode() for i in range(concurrency * 2)]
                limit = B1_SINGLE_SECONDS
            else:
                bodies = [
                    json.dumps(events[i : i + B1_BATCH]).encode() for i in range(0, len(events), B1_BATCH)
                ]
                warm = [json.dumps([_b1_event(100 + phase, i) for i in range(10)]).encode()]
                limit = 600.0
            _log(f"B1 {mode} at {concurrency} connections ...")
            figures = _post_all(port, token, bodies, concurrency, limit, warm)
            per_request = 1 if mode == "single" else B1_BATCH
            events_sent = figures["requests"] * per_request
            accepted += figures["accepted_including_warmup"]
            figures.update(
                name=f"b1_{mode}",
                events_per_request=per_request,
                events_sent=events_sent,
                events_per_s=round(events_sent / figures["duration_s"], 1) if figures["duration_s"] else 0,
                target_events_per_s=600 if mode == "single" else 20_000,
            )
            figures["target_met"] = figures["events_per_s"] >= figures["target_events_per_s"]
            _log(
                f"  {events_sent:,} events in {figures['duration_s']} s: {figures['events_per_s']:,} events/s, "
                f"p95 {figures['p95_ms']} ms, errors {figures['errors']}"
            )
            results.append(figures)
        results.append(_drain(env, db, source_id, f"b1_drain_after_{mode}"))
    raw, events_n, unprocessed = db.one(
        "SELECT count(*), count(*) FILTER (WHERE outcome = 'recorded'), count(*) FILTER (WHERE processed_at IS NULL) "
        "FROM events_rawevent WHERE source_id = %s",
        [source_id],
    )
    alerts, counted, open_alerts = db.one(
        "SELECT count(*), coalesce(sum(count), 0), count(*) FILTER (WHERE state = 'open') FROM events_alert "
        "WHERE source_id = %s",
        [source_id],
    )
    event_rows = db.one("SELECT count(*) FROM events_event WHERE source_id = %s", [source_id])[0]
    results.append(
        {
            "name": "b1_exact_counts",
            "accepted_202": accepted,
            "raw_events": raw,
            "recorded": events_n,
            "events": event_rows,
            "unprocessed": unprocessed,
            "alerts": alerts,
            "open_alerts": open_alerts,
            "sum_of_alert_counts": counted,
            "keys": B1_KEYS,
            "zero_loss": accepted == raw == event_rows == counted and unprocessed == 0,
            "alerts_equal_keys": alerts == B1_KEYS,
        }
    )
    _log(f"B1 exact counts: {results[-1]}")
    return results


def _b1b_post(connection, index, resource, barrier, headers, started, latencies, statuses) -> None:
    """One of B1b's 50 racing first events (its own connection, released by the barrier)."""
    body = json.dumps(
        {
            "resource": resource,
            "check": "http",
            "severity": "critical",
            "occurred_at": (EPOCH + datetime.timedelta(seconds=index)).isoformat(),
        }
    ).encode()
    barrier.wait()
    began = time.perf_counter()
    started.append(began)
    connection.request("POST", URL, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    latencies.append(time.perf_counter() - began)
    statuses.append(response.status)
    connection.close()


def run_b1b(port: int, token: str, db: _Db) -> dict:
    """50 concurrent first events with one new key, ``B1B_ROUNDS`` times (the worker running)."""
    source_id = _source_id(db, "B1b")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies, to_processed, rounds = [], [], []
    for round_ in range(B1B_ROUNDS):
        resource = f"b1b-new-{round_}-{random.Random(SEED + round_).randrange(10**9)}"  # noqa: S311
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(B1B_THREADS)]
        for connection in connections:  # connect before the barrier: only the POSTs race
            connection.connect()
        barrier = threading.Barrier(B1B_THREADS)
        statuses: list[int] = []
        started: list[float] = []

        threads = [
            threading.Thread(
                target=_b1b_post,
                args=(connection, index, resource, barrier, headers, started, latencies, statuses),
            )
            for index, connection in enumerate(connections)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        first = min(started)
        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline:
            left = db.one(
                "SELECT count(*) FROM events_rawevent WHERE source_id = %s AND processed_at IS NULL "
                "AND payload->>'resource' = %s",
                [source_id, resource],
            )[0]
            if not left:
                break
            time.sleep(0.05)
        processed_after = time.perf_counter() - first
        time.sleep(0.5)  # let a concurrent batch's incident commit before counting
        alerts, count = db.one(
            "SELECT count(*), coalesce(sum(count), 0) FROM events_alert WHERE source_id = %s AND resource = %s",
            [source_id, resource],
        )
        groups, incidents = db.one(
            "SELECT count(DISTINCT g.id), count(DISTINCT g.incident_id) FROM events_alertgroup g "
            "JOIN events_alert a ON a.group_id = g.id WHERE a.source_id = %s AND a.resource = %s",
            [source_id, resource],
        )
        to_processed.append(processed_after)
        rounds.append(
            {
                "accepted_202": statuses.count(202),
                "alerts": alerts,
                "count": count,
                "groups": groups,
                "incidents": incidents,
                "all_processed_s": round(processed_after, 3),
                "ok": statuses.count(202) == B1B_THREADS
                and alerts == 1
                and count == B1B_THREADS
                and groups == 1
                and incidents == 1,
            }
        )
        _log(f"B1b round {round_}: {rounds[-1]}")
    return {
        "name": "b1b_same_new_key",
        "threads": B1B_THREADS,
        "rounds": rounds,
        "requests": len(latencies),
        "errors": sum(B1B_THREADS - r["accepted_202"] for r in rounds),
        **_summary(latencies),
        "first_post_to_all_processed_s": {
            "p50": round(sorted(to_processed)[len(to_processed) // 2], 3),
            "max": round(max(to_processed), 3),
        },
        "exactly_one_alert_every_round": all(r["alerts"] == 1 and r["count"] == B1B_THREADS for r in rounds),
        "target_met": all(r["ok"] for r in rounds),
    }


def _storm_schedule() -> list[tuple[float, dict]]:
    rng = random.Random(SEED + 2)  # noqa: S311
    schedule = []
    for host in range(STORM_HOSTS):
        # The failure spreads: each host fails at its own moment of the storm, and its checks fire
        # over the next STORM_SPREAD_S seconds (then repeat, as monitoring tools re-send).
        fails_at = rng.uniform(0, STORM_SECONDS - STORM_SPREAD_S)
        for check in range(STORM_CHECKS):
            at = fails_at + rng.uniform(0, STORM_SPREAD_S)
            while at < STORM_SECONDS:
                schedule.append(
                    (
                        at,
                        {
                            "resource": f"storm-host-{host:03d}",
                            "check": f"storm-check-{check:02d}",
                            "severity": rng.choice(["critical", "major", "major"]),
                            "message": "storm",
                        },
                    )
                )
                at += STORM_REPEAT_S
    schedule.sort(key=lambda row: row[0])
    return schedule


def run_b2(port: int, token: str, seeded: dict, db: _Db) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    source_id = _source_id(db, "B2")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    local = threading.local()
    latencies, statuses, lock = [], {}, threading.Lock()
    accepted = [0]

    def send(batch: list[dict]) -> None:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        began = time.perf_counter()
        try:
            connection.request("POST", URL, body=json.dumps(batch).encode(), headers=headers)
            response = connection.getresponse()
            data = response.read()
            status = str(response.status)
            got = json.loads(data)["accepted"] if response.status == 202 else 0
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            status, got = type(error).__name__, 0
        with lock:
            latencies.append(time.perf_counter() - began)
            statuses[status] = statuses.get(status, 0) + 1
            accepted[0] += got

    rng = random.Random(SEED + 3)  # noqa: S311
    firing = sorted(rng.sample(range(STORM_TECH), STORM_FIRING_TECH))
    first_at = datetime.datetime.now(tz=datetime.UTC)
    send(
        [
            {"ci": seeded["tech_numbers"][i], "resource": f"Storage cluster {i:02d}", "check": "cluster-health",
             "severity": "critical", "occurred_at": first_at.isoformat()}
            for i in firing
        ]
    )  # fmt: skip
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline and db.one(
        "SELECT count(*) FROM events_alertgroup g JOIN events_alert a ON a.id = g.probable_cause_id "
        "WHERE a.source_id = %s AND g.incident_id IS NOT NULL",
        [source_id],
    )[0] < len(firing):
        time.sleep(0.1)
    schedule = _storm_schedule()
    _log(
        f"B2 storm: {len(schedule):,} events for {STORM_HOSTS * STORM_CHECKS:,} alerts over {STORM_SECONDS:.0f} s ..."
    )
    start = time.perf_counter()
    epoch = datetime.datetime.now(tz=datetime.UTC)
    position = 0
    with ThreadPoolExecutor(STORM_SENDERS) as pool:
        tick = 0
        while position < len(schedule):
            tick += 1
            until = tick * STORM_TICK_S
            batch = []
            while position < len(schedule) and schedule[position][0] < until:
                at, event = schedule[position]
                batch.append({**event, "occurred_at": (epoch + datetime.timedelta(seconds=at)).isoformat()})
                position += 1
            for i in range(0, len(batch), 1000):
                pool.submit(send, batch[i : i + 1000])
            pause = start + until - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
    sent_seconds = time.perf_counter() - start
    _log(f"B2: sent in {sent_seconds:.1f} s; waiting for the worker ...")
    deadline = time.perf_counter() + 600
    while _pending(db, source_id) and time.perf_counter() < deadline:
        time.sleep(0.2)
    drained_after = time.perf_counter() - start
    time.sleep(1.0)
    expected_symptom_hosts = [h for h in range(STORM_HOSTS) if h % STORM_TECH in firing]
    expected_groups = len(firing) + STORM_HOSTS - len(expected_symptom_hosts)
    groups, incidents = db.one(
        "SELECT count(*), count(incident_id) FROM events_alertgroup g WHERE EXISTS "
        "(SELECT 1 FROM events_alert a WHERE a.group_id = g.id AND a.source_id = %s)",
        [source_id],
    )
    distinct_incidents = db.one(
        "SELECT count(DISTINCT g.incident_id) FROM events_alertgroup g JOIN events_alert a ON a.group_id = g.id "
        "WHERE a.source_id = %s",
        [source_id],
    )[0]
    alerts, counted, symptoms, ungrouped = db.one(
        "SELECT count(*), coalesce(sum(count), 0), count(*) FILTER (WHERE is_symptom), "
        "count(*) FILTER (WHERE group_id IS NULL) FROM events_alert WHERE source_id = %s",
        [source_id],
    )
    raw, unprocessed = db.one(
        "SELECT count(*), count(*) FILTER (WHERE processed_at IS NULL) FROM events_rawevent WHERE source_id = %s",
        [source_id],
    )
    rows = db.all(
        """
        SELECT extract(epoch FROM i.created_at - min(e.received_at))
        FROM events_alertgroup g
        JOIN incidents_incident i ON i.id = g.incident_id
        JOIN events_alert a ON a.group_id = g.id
        JOIN events_event e ON e.alert_id = a.id
        WHERE a.source_id = %s
        GROUP BY g.id, i.created_at
        """,
        [source_id],
    )
    latency = sorted(float(r[0]) for r in rows)
    # Where the time goes: waiting for a worker (received -> its batch started), then the batch.
    waits = sorted(
        float(r[0])
        for r in db.all(
            "SELECT extract(epoch FROM processed_at - received_at) FROM events_rawevent WHERE source_id = %s",
            [source_id],
        )
    )

    def pct(p: float) -> float | None:
        return round(latency[min(len(latency) - 1, int(p * len(latency)))], 3) if latency else None

    result = {
        "name": "b2_storm",
        "storm_seconds": STORM_SECONDS,
        "hosts": STORM_HOSTS,
        "firing_services": len(firing),
        "events_posted": len(schedule) + len(firing),
        "requests": len(latencies),
        "errors": len(latencies) - statuses.get("202", 0),
        "statuses": statuses,
        "accepted_202": accepted[0],
        "sent_in_s": round(sent_seconds, 2),
        "all_processed_after_s": round(drained_after, 2),
        "request_latency": _summary(latencies),
        "raw_events": raw,
        "unprocessed": unprocessed,
        "alerts": alerts,
        "expected_alerts": STORM_HOSTS * STORM_CHECKS + len(firing),
        "sum_of_alert_counts": counted,
        "symptom_alerts": symptoms,
        "expected_symptom_alerts": len(expected_symptom_hosts) * STORM_CHECKS,
        "ungrouped_alerts": ungrouped,
        "groups": groups,
        "incidents": distinct_incidents,
        "groups_with_incident": incidents,
        "expected_groups": expected_groups,
        "received_to_batch_start_s": {
            "p50": round(waits[len(waits) // 2], 3) if waits else None,
            "p95": round(waits[int(0.95 * len(waits))], 3) if waits else None,
            "max": round(waits[-1], 3) if waits else None,
        },
        "event_to_incident_s": {
            "count": len(latency),
            "p50": pct(0.50),
            "p95": pct(0.95),
            "p99": pct(0.99),
            "max": round(latency[-1], 3) if latency else None,
        },
    }
    result["exact_counts_ok"] = (
        groups == expected_groups == distinct_incidents == incidents
        and alerts == result["expected_alerts"]
        and counted == accepted[0] == raw
        and symptoms == result["expected_symptom_alerts"]
        and unprocessed == 0
    )
    result["target_met"] = result["exact_counts_ok"] and (pct(0.95) or 99) <= 2.0
    _log(f"B2: {json.dumps({k: v for k, v in result.items() if k not in ('statuses',)})}")
    return result


# ------------------------------------------------------------------------------ the runner's hooks

_REDIS: list = []


def seed(env: dict[str, str]) -> dict:
    """Own database and own Redis (gunicorn and the worker use both), then the data."""
    use_database(env, DATABASE)
    redis = _Redis()
    redis.start()
    _REDIS.append(redis)
    env["REDIS_URL"] = redis.url
    env["CACHE_KEY_PREFIX"] = "bench-events"
    seeded = call_in_django(env, "bench.events:seed_events", timeout=1800)
    seeded["env"] = dict(env)
    seeded["database"] = DATABASE
    _log(f"seeded: {seeded['cis']} CIs; sources B1, B1b, B2")
    return seeded


def run(port: int, seeded: dict) -> list[dict]:
    env = seeded.pop("env")
    tokens = seeded.pop("tokens")
    db = _Db(env["DATABASE_URL"])
    results: list[dict] = []
    try:
        only = set(filter(None, os.environ.get("BENCH_EVENTS_ONLY", "").split(",")))
        if not only or "b1" in only:
            results += run_b1(port, env, tokens["B1"], db)
        worker = _Worker(env, RESULTS_DIR / "events.worker.log")
        worker.start()
        try:
            if not only or "b1b" in only:
                results.append(run_b1b(port, tokens["B1b"], db))
            if not only or "b2" in only:
                results.append(run_b2(port, tokens["B2"], seeded, db))
        finally:
            worker.stop()
    finally:
        db.close()
        while _REDIS:
            _REDIS.pop().remove()
    return results


def main() -> int:
    """``python -m bench.events``: the runner's steps without touching ``itsm_bench``, under its lock."""
    from bench.runner import standalone, write_results

    try:
        # The image's configuration (Dockerfile: gthread, 4 threads; WEB_CONCURRENCY 2 processes).
        document = standalone("events", sys.modules[__name__], workers=GUNICORN[0], threads=GUNICORN[1])
    finally:
        while _REDIS:
            _REDIS.pop().remove()
    if document is None:
        return 3
    document["gunicorn"] = {"workers": GUNICORN[0], "threads": GUNICORN[1]}
    document["worker_concurrency"] = WORKER_CONCURRENCY
    write_results(document, os.environ.get("BENCH_EVENTS_OUTPUT"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
