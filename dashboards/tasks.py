"""Celery beat keeps the dashboards' summary table fresh (``DASHBOARDS_REFRESH_SECONDS``, default 60)."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def refresh_facts() -> dict:
    from dashboards.services import facts_refresh

    result = facts_refresh()
    return {"rows": result.rows, "seconds": round(result.seconds, 3)}
