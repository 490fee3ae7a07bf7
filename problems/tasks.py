"""Problem management's Celery tasks (beat): thin wrappers over services, safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def reassessments_due() -> int:
    """Tell owners of known errors due for re-assessment, once per due date (beat, hourly)."""
    from problems.services import reassessments_due as run

    return run()


@shared_task(ignore_result=True)
def detect_recurring() -> int:
    """Propose problems from recurring similar incidents (beat, hourly)."""
    from problems.detection import detect_recurring as run

    return run().proposed
