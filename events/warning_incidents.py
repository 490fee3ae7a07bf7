"""Warning class -> optionally a low-priority incident: a warning alert opens one for its group when
the source says so (``warning_opens_incident``) or a rule that matched its event does
(``open_incident_on_warning``). Runs after ``correlation.handle`` in the batch's transaction, so a
group an exception already gave an incident is left alone; maintenance windows and silences hold
it back as they do exceptions. When an exception later joins a group whose incident is such a
warning's, the incident's impact and urgency are raised (never lowered) to what the exception would
have opened it with, once, with the reason on its timeline."""

from __future__ import annotations

import logging
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction

from events.choices import SEVERITY_RANK, Classification, EventState
from events.correlation import Maintenance, impact_and_urgency, incident_for_group
from events.models import AlertGroup
from events.pipeline import BatchResult, Item, Touched
from incidents import services as incident_services
from incidents.choices import OPEN_STATUSES
from incidents.models import Incident
from itsm.exceptions import ConflictError

logger = logging.getLogger(__name__)


def wanted_alerts(items: list[Item]) -> set[int]:
    """Alerts of this batch whose firing warning events ask for an incident."""
    return {
        item.alert_id
        for item in items
        if item.alert_id is not None
        and item.event.state == EventState.FIRING
        and item.classification == Classification.WARNING
        and (item.warning_incident or item.source.warning_opens_incident)
    }


def open_for_warnings(
    items: list[Item],
    touched: dict[int, Touched],
    groups: dict[int, AlertGroup],
    cis: dict,
    windows: Maintenance,
    now,
    result: BatchResult,
) -> None:
    """Open a low-priority incident for each group (without one) holding such a warning alert; raise
    the warning incidents of groups an exception joined."""
    _raise_for_exceptions(touched, groups, cis, windows, now)
    wanted = wanted_alerts(items)
    if not wanted:
        return
    by_group: dict[int, list[Touched]] = defaultdict(list)
    for alert in touched.values():
        if alert.id in wanted and alert.group_id is not None and not windows.covers(alert.ci_id):
            by_group[alert.group_id].append(alert)
    for group_id in sorted(by_group):
        group = groups.get(group_id) or AlertGroup.objects.get(pk=group_id)
        if group.incident_id or group.is_silenced(now) or windows.covers(group.ci_id, group.service_id):
            continue
        try:
            with transaction.atomic():
                if (
                    AlertGroup.objects.select_for_update()
                    .filter(pk=group_id, incident__isnull=False)
                    .exists()
                ):
                    continue
                incident_for_group(group, by_group[group_id], cis, actor=None, low_priority=True)
                AlertGroup.objects.filter(pk=group_id).update(incident_from_warning=True)
                result.incidents_opened += 1
        except ValidationError:
            logger.exception("Alert group %s: the warning's incident was refused", group_id)


def _raise_for_exceptions(
    touched: dict[int, Touched], groups: dict[int, AlertGroup], cis, windows, now
) -> None:
    exceptions: dict[int, list[Touched]] = defaultdict(list)
    for alert in touched.values():
        if (
            alert.classification == Classification.EXCEPTION
            and alert.group_id in groups
            and not windows.covers(alert.ci_id)
        ):
            exceptions[alert.group_id].append(alert)
    for group_id in sorted(exceptions):
        group = groups[group_id]
        if not group.incident_from_warning or group.incident_id is None or group.is_silenced(now):
            continue
        with transaction.atomic():
            locked = AlertGroup.objects.select_for_update().filter(pk=group_id, incident_from_warning=True)
            if not locked.update(incident_from_warning=False):
                continue  # another batch raised it
            group.incident_from_warning = False
            incident = Incident.objects.get(pk=group.incident_id)
            if incident.status not in OPEN_STATUSES:
                continue
            _service, _ci, impact, urgency = impact_and_urgency(group, exceptions[group_id], cis)
            changes = {"impact": min(impact, incident.impact), "urgency": min(urgency, incident.urgency)}
            if (changes["impact"], changes["urgency"]) == (incident.impact, incident.urgency):
                continue
            worst = min((a.severity for a in exceptions[group_id]), key=lambda s: SEVERITY_RANK[s])
            try:
                incident_services.incident_update(
                    incident=incident,
                    actor=None,
                    changes=changes,
                    reason=f"Monitoring: a {worst} exception joined alert group {group_id}, which opened "
                    "this incident for a warning.",
                )
            except (ValidationError, ConflictError):
                logger.exception("Alert group %s: its incident's priority could not be raised", group_id)
