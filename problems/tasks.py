"""Problem management's Celery tasks (beat): thin wrappers over services, safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError


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


@shared_task(
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def candidate_from_alert(alert_id: int, count: int) -> int | None:
    """Propose (or update) the candidate of a repeated alert, after the event batch that repeated it
    committed (``receivers``). Idempotent: a retry or a second delivery changes nothing more."""
    from problems.detection import candidate_from_alert as run

    candidate = run(alert_id=alert_id, count=count)
    return candidate.pk if candidate is not None else None


@shared_task(ignore_result=True)
def candidate_digest() -> int:
    """Beat, every ``PROBLEMS_CANDIDATE_DIGEST_MINUTES``: first the repeated alerts whose task never
    ran (``sweep_repeated_alerts``), then one digest to the problem managers of the new candidates."""
    from problems.detection import send_candidate_digest, sweep_repeated_alerts

    sweep_repeated_alerts()
    return send_candidate_digest()


@shared_task(ignore_result=True)
def refresh_trends() -> dict:
    """Beat, every ``PROBLEMS_TRENDS_REFRESH_MINUTES``: rebuild the trend page's weekly rollup."""
    from problems.trends import refresh_rollup

    return refresh_rollup()
