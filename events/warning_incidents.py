"""Warning class -> optionally a low-priority incident: a warning alert opens one for its group when
the source says so (``warning_opens_incident``) or a rule that matched its event does
(``open_incident_on_warning``). Runs after ``correlation.handle`` in the batch's transaction, so a
group an exception already gave an incident is left alone; maintenance windows and silences hold
it back as they do exceptions."""

from __future__ import annotations

import logging
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction

from events.choices import Classification, EventState
from events.correlation import Maintenance, incident_for_group
from events.models import AlertGroup
from events.pipeline import BatchResult, Item, Touched

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
    """Open a low-priority incident for each group (without one) holding such a warning alert."""
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
                result.incidents_opened += 1
        except ValidationError:
            logger.exception("Alert group %s: the warning's incident was refused", group_id)
