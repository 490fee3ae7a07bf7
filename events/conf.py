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
