"""Celery beat keeps the dashboards' summary table fresh (``DASHBOARDS_REFRESH_SECONDS``, default 60),
then caches the default dashboards of the managers signed in lately (``DASHBOARDS_PREWARM_DAYS``)."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def refresh_facts() -> dict:
    from dashboards.queries import prewarm
    from dashboards.services import facts_refresh

    result = facts_refresh()
    tables = prewarm(result.refreshed_at)
    return {"rows": result.rows, "seconds": round(result.seconds, 3), "prewarmed_tables": tables}
