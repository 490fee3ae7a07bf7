"""Health checks of the services the application depends on."""

from __future__ import annotations

import time

from django.db import connection
from django.utils import timezone

BEAT_HEARTBEAT_KEY = "beat_heartbeat"


def check_database() -> dict:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}
    except Exception as error:  # noqa: BLE001 - any failure means "down", reported with its message
        return {"ok": False, "error": str(error)[:200]}


_redis_clients: dict[str, object] = {}


def _redis_client(url: str):
    """One pooled client per URL, so a health check is a PING, not a new connection (3.6 ms)."""
    import redis

    client = _redis_clients.get(url)
    if client is None:
        if url.startswith("redis+socket://"):
            path, _, query = url[len("redis+socket://") :].partition("?")
            db = dict(part.split("=", 1) for part in query.split("&") if "=" in part).get("virtual_host", "0")
            client = redis.Redis(
                unix_socket_path=path, db=int(db), socket_timeout=2, socket_connect_timeout=2
            )
        else:
            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        _redis_clients[url] = client
    return client


def check_broker() -> dict:
    """PING the Celery broker (Redis) over a pooled connection."""
    from itsm.celery import app

    started = time.monotonic()
    url = app.conf.broker_url
    try:
        if url.startswith(("redis://", "rediss://", "redis+socket://", "unix://")):
            _redis_client(url).ping()
        else:  # another kombu transport: open and close a connection
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}
    except Exception as error:  # noqa: BLE001
        return {"ok": False, "error": str(error)[:200]}


def beat_status() -> dict:
    """When Celery beat last ran its heartbeat task (informational: not a reason to report down)."""
    from itsm.models import KernelState

    try:
        state = KernelState.objects.filter(key=BEAT_HEARTBEAT_KEY).first()
    except Exception:  # noqa: BLE001
        return {"seen": False}
    if state is None:
        return {"seen": False}
    age = (timezone.now() - state.updated_at).total_seconds()
    return {"seen": True, "last_seen": state.updated_at.isoformat(), "age_s": round(age, 1), "ok": age < 120}


def report() -> tuple[bool, dict]:
    database = check_database()
    broker = check_broker()
    healthy = database["ok"] and broker["ok"]
    return healthy, {
        "status": "ok" if healthy else "down",
        "database": database,
        "broker": broker,
        "beat": beat_status() if database["ok"] else {"seen": False},
    }
