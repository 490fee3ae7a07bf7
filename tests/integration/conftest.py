"""Start real Celery worker processes against the test database and the real Redis."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url_for_tests() -> str:
    """A DATABASE_URL naming the test database this pytest process uses."""
    db = connection.settings_dict
    host = quote(db["HOST"] or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


def start_worker(queue: str, *, log_path: Path, redis_url: str | None = None, concurrency: int = 1):
    """Start `celery -A itsm worker` on ``queue`` against the test database; wait until it answers
    ping (through ``redis_url``, default the suite's Redis). Returns the process (own session)."""
    from celery import Celery

    redis_url = redis_url or settings.REDIS_URL
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CELERY_SKIP_CHECKS": "1",
    }
    with open(log_path, "a") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "itsm",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                str(concurrency),
                "--pool",
                "prefork",
                "-Q",
                queue,
                "--hostname",
                f"{queue}-{uuid.uuid4().hex[:4]}@%h",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    from itsm.settings import _kombu_url

    control = Celery(broker=_kombu_url(redis_url))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"the Celery worker exited with {process.returncode}:\n{log_path.read_text()[-3000:]}"
            )
        replies = control.control.ping(timeout=0.5)
        if any(name.startswith(f"{queue}-") for reply in replies for name in reply):
            return process
    process.kill()
    pytest.fail("the Celery worker did not answer ping within 60 s")


def stop_worker(process, *, kill: bool = False) -> None:
    """Stop a worker started by ``start_worker``: SIGTERM (warm shutdown), or SIGKILL of its whole
    process group (the parent and its pool children at once)."""
    if process.poll() is not None:
        return
    if kill:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        return
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A `celery -A itsm worker` subprocess on a private queue; yields the queue name."""
    queue = f"itest-{uuid.uuid4().hex[:8]}"
    process = start_worker(queue, log_path=tmp_path / f"{queue}.log")
    try:
        yield queue
    finally:
        stop_worker(process)
