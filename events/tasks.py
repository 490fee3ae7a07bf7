"""Event processing on Celery (queue "events"): thin wrappers around ``events.services``."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError


# A deadlock or a lost connection rolls the whole batch back; the raw events stay unprocessed, so a
# retry (or, once retries run out, the sweeper) processes them exactly once.
@shared_task(ignore_result=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def process_raw_events(raw_ids: list[int]) -> dict:
    from events.services import process_pending

    result = process_pending(list(raw_ids))
    return {"raw": result.raw, "events": result.events, "incidents_opened": result.incidents_opened}


@shared_task(ignore_result=True)
def sweep_unprocessed() -> int:
    """Beat: process raw events no task took (e.g. accepted while the broker was down), and end the
    storms that are over."""
    from events.services import sweep_unprocessed as sweep
    from events.storm import end_quiet

    done = sweep()
    end_quiet()  # storms whose source has calmed down (also checked when the source sends again)
    return done


@shared_task(ignore_result=True)
def expire_old() -> int:
    """Beat, daily: informational events and unused raw events past their retention."""
    from events.services import expire_old as expire

    return expire()


def enqueue(raw_ids: list[int]) -> None:
    """Send one batch to the workers (a plain function, so tests can point it at another broker)."""
    process_raw_events.delay(raw_ids)


@shared_task(ignore_result=True)
def run_checks() -> dict:
    """Beat, every ``EVENTS_CHECK_TICK_SECONDS``: run the active checks that are due."""
    from events.checks import run_due_checks

    result = run_due_checks()
    return {"checks": result.checks, "failed": result.failed, "events": result.events}
