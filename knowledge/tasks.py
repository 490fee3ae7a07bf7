"""The knowledge base's Celery tasks (beat): thin wrappers over services, safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def reviews_due() -> int:
    """Tell owners of published articles due for review, once per review date (beat, hourly)."""
    from knowledge.services import reviews_due as run

    return run()
