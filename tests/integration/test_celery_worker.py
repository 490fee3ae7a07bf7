"""A real Celery worker process, real Redis, real PostgreSQL: a task runs and its write commits."""

import time

import pytest
from django.db import transaction

from itsm.celery import app
from itsm.health import BEAT_HEARTBEAT_KEY
from itsm.models import KernelState
from itsm.tasks import beat_heartbeat

pytestmark = pytest.mark.integration


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_worker_answers_ping_and_runs_a_task_that_commits(celery_worker_process):
    queue = celery_worker_process
    replies = app.control.ping(timeout=2)
    mine = [answer for reply in replies for name, answer in reply.items() if name.startswith(f"{queue}-")]
    assert mine and "ok" in mine[0]
    assert not KernelState.objects.filter(key=BEAT_HEARTBEAT_KEY).exists()

    beat_heartbeat.apply_async(queue=queue)

    assert _wait_for(lambda: KernelState.objects.filter(key=BEAT_HEARTBEAT_KEY).exists()), (
        "the task's write never appeared"
    )


def test_task_enqueued_on_commit_is_not_sent_when_the_transaction_rolls_back(celery_worker_process):
    queue = celery_worker_process
    with pytest.raises(RuntimeError), transaction.atomic():
        transaction.on_commit(lambda: beat_heartbeat.apply_async(queue=queue))
        raise RuntimeError("roll back")
    assert not _wait_for(lambda: KernelState.objects.filter(key=BEAT_HEARTBEAT_KEY).exists(), timeout=3)
    with transaction.atomic():
        KernelState.objects.create(key="marker", value={})
        transaction.on_commit(lambda: beat_heartbeat.apply_async(queue=queue))
    assert _wait_for(lambda: KernelState.objects.filter(key=BEAT_HEARTBEAT_KEY).exists())


def test_worker_runs_with_acks_late_and_connection_reuse():
    from celery.fixups.django import DjangoWorkerFixup

    assert DjangoWorkerFixup(app).db_reuse_max >= 1
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_serializer == "json"
    assert app.conf["CELERY_DB_REUSE_MAX"] >= 1
