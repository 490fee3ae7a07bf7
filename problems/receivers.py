"""Problem management listens to lower apps' signals (it is never called by them):

* ``incidents.signals.incident_changed``: a resolved or reopened incident records how well the
  known-error workarounds applied to it worked;
* ``events.signals.alert_repeated``: a repeated alert proposes a problem candidate.

Both run inside the sender's transaction, so what they write commits or rolls back with it.
"""

from __future__ import annotations

from events.signals import alert_repeated
from incidents.signals import incident_changed


def _incident_changed(sender, incident, actor, fields, **kwargs) -> None:
    from problems.services import record_outcomes

    record_outcomes(incident, fields)


def _alert_repeated(sender, alert_id, count, **kwargs) -> None:
    from problems.detection import candidate_from_alert

    candidate_from_alert(alert_id=alert_id, count=count)


def connect() -> None:
    incident_changed.connect(_incident_changed, dispatch_uid="problems.workaround_outcomes")
    alert_repeated.connect(_alert_repeated, dispatch_uid="problems.alert_candidates")
