"""Problem management listens to lower apps' signals (it is never called by them):

* ``incidents.signals.incident_changed``: a resolved or reopened incident records how well the
  known-error workarounds applied to it worked;
* ``events.signals.alert_repeated``: a repeated alert proposes a problem candidate.

Both run inside the sender's transaction, so what they write commits or rolls back with it.
"""

from __future__ import annotations

import logging

from django.db import transaction

from events.signals import alert_repeated
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


def connect() -> None:
    incident_changed.connect(_incident_changed, dispatch_uid="problems.workaround_outcomes")
    alert_repeated.connect(_alert_repeated, dispatch_uid="problems.alert_candidates")
