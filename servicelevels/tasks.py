"""The SLA sweep on Celery beat (every ``SLA_SWEEP_SECONDS``); safe to run on several workers at once."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def sweep_clocks() -> dict:
    from servicelevels.services import sweep

    result = sweep()
    return {"clocks": result.clocks, "events": result.events, "notifications": result.notifications}
