"""Problem management listens to lower apps' signals (it is never called by them):

* ``incidents.signals.incident_changed``: a resolved or reopened incident records how well the
  known-error workarounds applied to it worked;
* ``events.signals.alert_repeated``: a repeated alert proposes a problem candidate, in a Celery task
  (``problems.tasks.candidate_from_alert``) sent once the event batch commits: the batch itself does
  no more than register an on-commit callback;
* ``post_save`` of a post-incident review that asks for a problem proposes one (source: major incident).

The first and the last run inside the sender's transaction, so what they write commits or rolls back
with it.
"""

from __future__ import annotations

import functools
import logging

from django.db import transaction
from django.db.models.signals import post_save

from events.signals import alert_repeated
from incidents.models import PostIncidentReview
from incidents.signals import incident_changed

logger = logging.getLogger(__name__)


def _incident_changed(sender, incident, actor, fields, **kwargs) -> None:
    from problems.services import record_outcomes

    record_outcomes(incident, fields)


def _alert_repeated(sender, alert_id, count, **kwargs) -> None:
    # Inside event processing: nothing here but the callback; the task does the work after commit
    # (and nothing is sent if the batch rolls back).
    transaction.on_commit(functools.partial(enqueue_alert_candidate, alert_id, count))


def enqueue_alert_candidate(alert_id: int, count: int) -> None:
    """Send the candidate task (after the event batch committed). A broker that is down loses nothing:
    the digest task's sweep (``detection.sweep_repeated_alerts``) proposes it within a period."""
    from problems.tasks import candidate_from_alert

    try:
        candidate_from_alert.delay(alert_id, count)
    except Exception:  # noqa: BLE001 - never raise into the committing event batch
        logger.warning("Broker unavailable: the candidate of alert %s waits for the digest's sweep", alert_id)


def _review_saved(sender, instance, **kwargs) -> None:
    from problems.detection import candidate_from_review

    if not instance.problem_requested:
        return
    try:
        with transaction.atomic():
            candidate_from_review(instance)
    except Exception:  # noqa: BLE001 - the review is saved whatever happens here
        logger.exception("Could not propose a problem for the review of incident %s", instance.incident_id)


def connect() -> None:
    incident_changed.connect(_incident_changed, dispatch_uid="problems.workaround_outcomes")
    alert_repeated.connect(_alert_repeated, dispatch_uid="problems.alert_candidates")
    # The review's own model signal: incidents sends no signal for reviews, and problems may import it.
    post_save.connect(_review_saved, sender=PostIncidentReview, dispatch_uid="problems.review_candidates")
