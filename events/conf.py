"""Event management's settings, read from Django settings or the environment with safe defaults."""

from __future__ import annotations

import os

from django.conf import settings


def _number(name: str, default: float) -> float:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return float(value)


def batch_size() -> int:
    """Raw events one task processes (one upsert): ~1 KB each in memory."""
    return max(1, int(_number("EVENTS_BATCH_SIZE", 500)))


def sweep_age_seconds() -> float:
    """The sweeper leaves raw events younger than this to their own task."""
    return _number("EVENTS_SWEEP_AGE_SECONDS", 30)


def sweep_seconds() -> float:
    return _number("EVENTS_SWEEP_SECONDS", 60)


def retention_days() -> int:
    """Days informational events (and dropped or invalid raw events) are kept for analysis."""
    return max(1, int(_number("EVENTS_RETENTION_DAYS", 30)))


def repeat_threshold() -> int:
    """How many occurrences of one open alert make it "repeated" (``signals.alert_repeated``)."""
    return max(2, int(_number("EVENTS_REPEAT_THRESHOLD", 10)))


def check_source_name() -> str:
    """The event source active checks' results are recorded under."""
    value = getattr(settings, "EVENTS_CHECK_SOURCE", None) or os.environ.get("EVENTS_CHECK_SOURCE")
    return value or "active-checks"


def check_batch_size() -> int:
    """Checks one runner claims at a time (probed concurrently, ``EVENTS_CHECK_THREADS`` at once)."""
    return max(1, int(_number("EVENTS_CHECK_BATCH_SIZE", 50)))


def check_threads() -> int:
    return max(1, int(_number("EVENTS_CHECK_THREADS", 25)))


def check_run_seconds() -> float:
    """A runner claims no new batch after this long (the task's time limit is 240 s)."""
    return _number("EVENTS_CHECK_RUN_SECONDS", 60)


def raw_retention_days() -> int:
    """Days the raw events (as posted) of recorded events are kept; their normalised events stay."""
    return max(1, int(_number("EVENTS_RAW_RETENTION_DAYS", 90)))


def expiry_batch() -> int:
    """Rows deleted per transaction by the retention task (short transactions, bounded memory)."""
    return max(1, int(_number("EVENTS_EXPIRY_BATCH", 10000)))


def check_tick_seconds() -> float:
    """Beat's period for the checks (``events-run-checks``): the most a due check waits."""
    return _number("EVENTS_CHECK_TICK_SECONDS", 10)
