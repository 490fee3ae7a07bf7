"""Problem management listens to lower apps' signals (it is never called by them):

* ``incidents.signals.incident_changed``: a resolved or reopened incident records how well the
  known-error workarounds applied to it worked;
* ``events.signals.alert_repeated``: a repeated alert proposes a problem candidate;
* ``post_save`` of a post-incident review that asks for a problem proposes one (source: major incident).

All run inside the sender's transaction, so what they write commits or rolls back with it.
"""

from __future__ import annotations

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
    from problems.detection import candidate_from_alert

    # Inside event processing: a failure here must never roll back (and so delay) the events.
    try:
        with transaction.atomic():
            candidate_from_alert(alert_id=alert_id, count=count)
    except Exception:  # noqa: BLE001 - logged; the next repetition of the alert tries again
        logger.exception("Could not propose a problem for alert %s", alert_id)


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
