"""After deduplication: maintenance windows, correlation of new alerts into alert groups (along the
CMDB's dependencies), and handling per class - incidents through ``incidents.services``,
notifications to owner groups, and resolving when every alert of a group has cleared."""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from configuration.models import ConfigurationItem
from configuration.queries import impact_analysis
from events import conf
from events.choices import SEVERITY_RANK, URGENCY_FOR_SEVERITY, AlertState, Classification, Severity
from events.models import Alert, AlertGroup, MaintenanceWindow, Storm
from events.pipeline import BatchResult, Touched
from incidents import services as incident_services
from incidents.choices import OPEN_STATUSES, Channel, ResolutionCode
from itsm import notifications

logger = logging.getLogger(__name__)

NOTE_LINES = 20  # alerts listed in one work note


# -- maintenance ----------------------------------------------------------------------------------


class Maintenance:
    """CIs under an active maintenance window, loaded once per batch when first asked."""

    def __init__(self, now: datetime.datetime):
        self.now = now
        self._ids: set[int] | None = None

    def covers(self, *ci_ids: int | None) -> bool:
        if self._ids is None:
            through = MaintenanceWindow.cis.through
            self._ids = set(
                through.objects.filter(
                    maintenancewindow__starts_at__lte=self.now, maintenancewindow__ends_at__gt=self.now
                ).values_list("configurationitem_id", flat=True)
            )
        return any(pk in self._ids for pk in ci_ids if pk is not None)


# -- correlation ----------------------------------------------------------------------------------


def _anchor(alert: Touched) -> str:
    return f"ci:{alert.ci_id}" if alert.ci_id else f"resource:{alert.source_id}:{alert.resource}"


def _service_of(ci: ConfigurationItem) -> int | None:
    """The CI itself if it is a service, else the nearest service that depends on it."""
    if ci.ci_class.is_service:
        return ci.pk
    services = impact_analysis(ci, direction="impacts", item_limit=0).services
    return services[0].ci.pk if services else None


def _nearest_dependency(ci: ConfigurationItem, candidates: set[int]) -> int | None:
    """The nearest of ``candidates`` that ``ci`` depends on through the CMDB, if any. The walk runs
    only when there is a candidate besides the CI itself."""
    others = candidates - {ci.pk}
    if not others:
        return None
    walk = impact_analysis(ci, direction="depends_on", item_limit=10000)
    reached = [(node.depth, node.ci.pk) for node in walk.nodes if node.ci.pk in others]
    return min(reached)[1] if reached else None


def _group_get_or_create(anchor: str, defaults: dict, *, looked_up: bool = False) -> tuple[AlertGroup, bool]:
    """Race-free: the partial unique constraint on open groups decides; a loser re-reads the winner.
    ``looked_up``: the caller has just found no open group for the anchor (the insert is tried first)."""
    if not looked_up:
        found = AlertGroup.objects.filter(anchor=anchor, state=AlertState.OPEN).first()
        if found is not None:
            return found, False
    try:
        with transaction.atomic():
            return AlertGroup.objects.create(anchor=anchor, **defaults), True
    except IntegrityError:
        return AlertGroup.objects.get(anchor=anchor, state=AlertState.OPEN), False


STORM_SERVICE_LOOKUPS = 20  # CMDB walks per batch to find a storming CI's service (then cached)
SERVICE_CACHE_SECONDS = 600


def _storm_services(alerts: list[Touched], cis: dict[int, ConfigurationItem]) -> dict[int, int | None]:
    """{CI id: its service id} for the storming alerts' CIs, cheaply: the service of the CI's open
    group, a service CI itself, the shared cache, and at most ``STORM_SERVICE_LOOKUPS`` CMDB walks a
    batch (cached ``SERVICE_CACHE_SECONDS``); the rest count as without a service for now."""
    wanted = sorted({a.ci_id for a in alerts if a.ci_id in cis})
    if not wanted:
        return {}
    found: dict[int, int | None] = dict(
        AlertGroup.objects.filter(state=AlertState.OPEN, ci_id__in=wanted).values_list("ci_id", "service_id")
    )
    for ci_id in wanted:
        if ci_id not in found and cis[ci_id].ci_class.is_service:
            found[ci_id] = ci_id
    missing = [ci_id for ci_id in wanted if ci_id not in found]
    if missing:
        cached = cache.get_many([f"events:service-of:{ci_id}" for ci_id in missing])
        for ci_id in missing:
            if f"events:service-of:{ci_id}" in cached:
                found[ci_id] = cached[f"events:service-of:{ci_id}"]
        walked = {}
        for ci_id in [ci_id for ci_id in missing if ci_id not in found][:STORM_SERVICE_LOOKUPS]:
            walked[ci_id] = found[ci_id] = _service_of(cis[ci_id])
        if walked:
            cache.set_many(
                {f"events:service-of:{ci_id}": service for ci_id, service in walked.items()},
                timeout=SERVICE_CACHE_SECONDS,
            )
    return found


def _storm_groups(
    alerts: list[Touched], cis: dict[int, ConfigurationItem], storms: dict, now, result: BatchResult
) -> dict[int, AlertGroup]:
    """Storm mode: each new alert of a storming source joins its storm's group for the alert's
    service (one group per storm and service, and one for alerts without a known service; opened by
    the first, its probable cause), with no walk to the probable cause. Returns {alert id: group}."""
    services = _storm_services(alerts, cis)
    names = dict(
        ConfigurationItem.objects.filter(pk__in={pk for pk in services.values() if pk}).values_list(
            "pk", "name"
        )
    )
    found: dict[int, AlertGroup] = {}
    by_anchor: dict[str, AlertGroup] = {}
    for alert in sorted(alerts, key=lambda a: a.id):
        storm = storms[alert.source_id]
        service_id = services.get(alert.ci_id) if alert.ci_id else None
        anchor = f"storm:{storm.pk}:{service_id or 0}"
        group = by_anchor.get(anchor)
        if group is None:
            title = f"Event storm from {storm.source.name}" + (f": {names[service_id]}" if service_id else "")
            group, created = _group_get_or_create(
                anchor,
                {
                    "title": title[:300],
                    "service_id": service_id,
                    "severity": alert.severity,
                    "opened_at": now,
                    "last_alert_at": now,
                    "probable_cause_id": alert.id,
                },
            )
            if created:
                result.groups_opened += 1
                Storm.objects.filter(pk=storm.pk, group__isnull=True).update(group=group)
            by_anchor[anchor] = group
        found[alert.id] = group
    return found


def correlate(
    new_alerts: list[Touched],
    cis: dict[int, ConfigurationItem],
    windows: Maintenance,
    now,
    result: BatchResult,
    storms: dict | None = None,
) -> dict[int, AlertGroup]:
    """Put each new alert in a group: its CI's open group; else, through the CMDB, the group of the
    nearest CI it depends on that has an open group or a new alert in this batch (as a symptom); else
    a new group with this alert as the probable cause. Causes are grouped before their symptoms, so
    the order of events inside a batch does not matter. Alerts of a source in storm mode (``storms``:
    source id -> open storm) join the storm's group instead."""
    storms = storms or {}
    stormy = _storm_groups([a for a in new_alerts if a.source_id in storms], cis, storms, now, result)
    alerts = sorted((a for a in new_alerts if a.id not in stormy), key=lambda a: (_anchor(a), a.id))
    own: dict[str, AlertGroup] = {
        group.anchor: group
        for group in AlertGroup.objects.select_related("incident").filter(
            state=AlertState.OPEN, anchor__in={_anchor(a) for a in alerts}
        )
    }
    parent: dict[int, int | None] = {}
    orphans = [a for a in alerts if _anchor(a) not in own and a.ci_id in cis]
    if orphans:
        open_cis = dict(
            AlertGroup.objects.filter(state=AlertState.OPEN, ci__isnull=False).values_list("ci_id", "id")
        )
        candidates = set(open_cis) | {a.ci_id for a in orphans}
        for ci_id in sorted({a.ci_id for a in orphans}):
            parent[ci_id] = _nearest_dependency(cis[ci_id], candidates)
        missing = {
            pk for ci_id, pk in open_cis.items() if f"ci:{ci_id}" not in own and ci_id in parent.values()
        }
        for group in AlertGroup.objects.filter(pk__in=missing):
            own[group.anchor] = group

    def through_topology(ci_id: int, seen: frozenset) -> AlertGroup | None:
        above = parent.get(ci_id)
        if above is None or above in seen:
            return None
        return own.get(f"ci:{above}") or through_topology(above, seen | {ci_id})

    def create(alert: Touched) -> AlertGroup:
        ci = cis.get(alert.ci_id) if alert.ci_id else None
        service_id = _service_of(ci) if ci is not None else None
        title = f"{ci.name if ci else alert.resource or 'unknown resource'}: {alert.check_name}"
        group, created = _group_get_or_create(
            _anchor(alert),
            {
                "ci": ci,
                "service_id": service_id,
                "title": title[:300],
                "severity": alert.severity,
                "opened_at": now,
                "last_alert_at": now,
                "suppressed": windows.covers(alert.ci_id, service_id),
                "probable_cause_id": alert.id,
            },
            looked_up=True,
        )
        if created:
            result.groups_opened += 1
        own[group.anchor] = group
        return group

    assignments: dict[int, tuple[AlertGroup, bool]] = {}
    # Pass 1: alerts on CIs with their own open group, or with nothing above them: causes.
    for alert in alerts:
        anchor = _anchor(alert)
        if anchor in own:
            assignments[alert.id] = (own[anchor], False)
        elif parent.get(alert.ci_id) is None:
            assignments[alert.id] = (create(alert), False)
    # Pass 2: the others join the group of what they depend on (or open their own, in a cycle).
    for alert in alerts:
        if alert.id in assignments:
            continue
        anchor = _anchor(alert)
        if anchor in own:  # another alert on the same CI already settled it
            group = own[anchor]
            assignments[alert.id] = (group, group.anchor != anchor)
            continue
        group = through_topology(alert.ci_id, frozenset())
        if group is None:
            assignments[alert.id] = (create(alert), False)
        else:
            own[anchor] = group
            assignments[alert.id] = (group, True)
    for alert_id, group in stormy.items():
        assignments[alert_id] = (group, False)
    for alert in new_alerts:
        alert.group_id = assignments[alert.id][0].pk
    if assignments:
        ids = sorted(assignments)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE events_alert a SET group_id = t.g, is_symptom = t.s "
                "FROM unnest(%s::bigint[], %s::bigint[], %s::bool[]) AS t(id, g, s) WHERE a.id = t.id",
                [ids, [assignments[i][0].pk for i in ids], [assignments[i][1] for i in ids]],
            )
    return {group.pk: group for group, _symptom in assignments.values()}


# -- handling -------------------------------------------------------------------------------------


def handle(
    touched: dict[int, Touched],
    groups: dict[int, AlertGroup],
    cis: dict[int, ConfigurationItem],
    windows: Maintenance,
    now,
    result: BatchResult,
    storms: dict | None = None,
) -> list[tuple[AlertGroup, list[Touched]]]:
    """Per class: exception -> one incident per group (or a work note on its open incident); warning
    -> tell the CI's owner group once per alert (not during a storm of its source: the storm notice
    said it); informational alerts do not exist (recorded only). Returns the groups whose incident is
    to be opened, for ``open_incidents`` - the batch's last step, because an incident's number is
    allocated under a row lock held until commit (every batch that opens one waits for it)."""
    storms = storms or {}
    by_group: dict[int, list[Touched]] = defaultdict(list)
    for alert in touched.values():
        if alert.group_id is not None:
            by_group[alert.group_id].append(alert)
    missing = set(by_group) - set(groups)
    if missing:
        groups.update(AlertGroup.objects.select_related("incident").in_bulk(missing))
    ordered = sorted(by_group)
    for group_id in ordered:
        group = groups[group_id]
        worst = min((a.severity for a in by_group[group_id]), key=lambda s: SEVERITY_RANK[s])
        if SEVERITY_RANK[worst] < SEVERITY_RANK[group.severity]:
            group.severity = worst
        group.last_alert_at = now
    if ordered:
        _touch_groups(ordered, groups, now)
    to_open: list[tuple[AlertGroup, list[Touched]]] = []
    for group_id in ordered:
        group = groups[group_id]
        alerts = by_group[group_id]
        exceptions = [
            a for a in alerts if a.classification == Classification.EXCEPTION and not windows.covers(a.ci_id)
        ]
        if group.is_silenced(now):
            continue  # an operator silenced it: no incident, no notes, until the silence ends
        if group.incident_id is None:
            # Only while a window lasts: an exception still firing after it ends opens the incident
            # with its next event (``suppressed`` keeps that the group opened in maintenance).
            if exceptions and not windows.covers(group.ci_id, group.service_id):
                to_open.append((group, alerts))
        else:
            joined = [a for a in alerts if a.inserted]
            if joined:
                _note_joined(group, joined)
    warnings = [
        a
        for a in touched.values()
        if a.inserted
        and a.classification == Classification.WARNING
        and a.ci_id in cis
        and a.source_id not in storms
        and not windows.covers(a.ci_id)
        and not (a.group_id in groups and groups[a.group_id].is_silenced(now))
    ]
    for alert in warnings:
        ci = cis[alert.ci_id]
        if ci.owner_group_id is None:
            continue
        notifications.notify(
            ci.owner_group.members.all(),
            subject=f"Warning on {ci.name}: {alert.check_name}"[:200],
            body=f"Monitoring reports a warning ({alert.severity}) on {ci.number} {ci.name}: {alert.check_name}.",
            record=ci,
            key=f"events:alert:{alert.id}:warning",
            kind="events.warning",
        )
    return to_open


def open_incidents(to_open: list[tuple[AlertGroup, list[Touched]]], cis, result: BatchResult) -> None:
    """Open the incidents ``handle`` decided on, in group order."""
    for group, alerts in to_open:
        _open_incident(group, alerts, cis, result)


def impact_and_urgency(group: AlertGroup, alerts: list, cis: dict[int, ConfigurationItem]):
    """(service, CI, impact, urgency) of the group's incident: the service's (else the CI's)
    criticality is the impact, 3 without either; the worst severity of ``alerts`` the urgency."""
    ci = group.ci or (cis.get(alerts[0].ci_id) if alerts[0].ci_id else None)
    service = ConfigurationItem.objects.select_related("ci_class").filter(pk=group.service_id).first()
    impact = (service or ci).criticality if (service or ci) else 3
    urgency = min(URGENCY_FOR_SEVERITY[a.severity] for a in alerts)
    return service, ci, impact, urgency


_RAISE_SEVERITY = """
UPDATE events_alertgroup g SET severity = t.sev, last_alert_at = GREATEST(g.last_alert_at, %s)
FROM (SELECT * FROM unnest(%s::bigint[], %s::text[]) AS u(id, sev) ORDER BY u.id) AS t
WHERE g.id = t.id AND array_position(%s::text[], t.sev) < array_position(%s::text[], g.severity)
RETURNING g.id
"""
_LAST_ALERT_AT = """
UPDATE events_alertgroup g SET last_alert_at = GREATEST(g.last_alert_at, %s)
FROM (SELECT id FROM events_alertgroup WHERE id = ANY(%s) ORDER BY id FOR UPDATE SKIP LOCKED) AS t
WHERE g.id = t.id
"""


def _touch_groups(ordered: list[int], groups: dict[int, AlertGroup], now) -> None:
    """The touched groups' worst severity and last alert time. A severity only rises, and the rows
    whose severity must rise are locked (the statement re-checks after the lock, so a severity another
    batch raised is kept). ``last_alert_at`` is bookkeeping (the console's order): rows another batch
    holds are skipped - that batch sets its own time, as recent. Measured in a storm (B2): one statement
    locking every touched group made concurrent batches wait for each other's whole batch (incident
    creation included) and processing ran one batch at a time."""
    with connection.cursor() as cursor:
        cursor.execute(
            _RAISE_SEVERITY,
            [now, ordered, [groups[pk].severity for pk in ordered], Severity.values, Severity.values],
        )
        raised = {row[0] for row in cursor.fetchall()}
        rest = [pk for pk in ordered if pk not in raised]
        if rest:
            cursor.execute(_LAST_ALERT_AT, [now, rest])


def incident_for_group(
    group: AlertGroup, alerts: list, cis: dict[int, ConfigurationItem], *, actor, low_priority: bool = False
):
    """Log the group's incident through ``incidents.services.incident_create``: the service's (else
    the CI's) criticality is the impact, the worst severity the urgency (the matrix gives the
    priority), the CI's owner group is assigned. ``alerts`` are ``Alert``s or the batch's ``Touched``
    (severity, resource, check_name, ci_id). ``low_priority`` (a warning's incident): impact at most
    moderate, urgency low. The caller holds the group's row lock."""
    service, ci, impact, urgency = impact_and_urgency(group, alerts, cis)
    if low_priority:
        impact, urgency = max(impact, 3), 4
    lines = [f"- {a.severity}: {a.resource} {a.check_name}".rstrip() for a in alerts]
    fields = {
        "short_description": f"Monitoring: {group.title}"[:200],
        "description": "Opened by event management for alert group "
        f"{group.pk}.\n\nAlerts:\n" + "\n".join(lines),
        "channel": Channel.EVENT,
        "impact": impact,
        "urgency": urgency,
    }
    if service is not None:
        fields["service"] = service
    if ci is not None and ci.owner_group_id:
        fields["assignment_group"] = ci.owner_group
    affected = {a.ci_id: cis[a.ci_id] for a in alerts if a.ci_id in cis}
    if ci is not None:
        affected[ci.pk] = ci
    incident = incident_services.incident_create(
        actor=actor, fields=fields, cis=[affected[pk] for pk in sorted(affected)]
    )
    AlertGroup.objects.filter(pk=group.pk).update(incident=incident)
    group.incident = incident
    return incident


def _open_incident(
    group: AlertGroup, alerts: list[Touched], cis: dict[int, ConfigurationItem], result
) -> None:
    """Open the group's incident automatically. A refusal is logged, not fatal: the group's next alert
    tries again."""
    try:
        with transaction.atomic():
            # Concurrent batches on one group: the row lock makes the second see the first's incident.
            if AlertGroup.objects.select_for_update().filter(pk=group.pk, incident__isnull=False).exists():
                return
            incident_for_group(group, alerts, cis, actor=None)
            result.incidents_opened += 1
    except ValidationError:
        logger.exception("Alert group %s: the incident was refused", group.pk)


def note_seconds() -> float:
    """A group's incident gets at most one "alerts joined" work note per this many seconds."""
    return conf._number("EVENTS_NOTE_SECONDS", 60)


def _note_joined(group: AlertGroup, joined: list[Touched]) -> None:
    """An internal work note on the group's open incident listing the alerts that joined. A CI new to
    the group (the failure spreads) is always noted; more alerts on CIs already in it get at most one
    note per group every ``EVENTS_NOTE_SECONDS`` - a storm adds alerts to a group in every batch, and
    a note per batch would bury the incident's timeline and cost an incident update each. A note
    lists every alert that joined since the previous one (the last alert id noted is kept in the
    shared cache); the alert group always shows them all."""
    incident = group.incident
    if incident.status not in OPEN_STATUSES:
        return
    new_cis = {a.ci_id for a in joined if a.ci_id is not None and a.ci_id != group.ci_id}
    if new_cis:
        new_cis -= set(
            Alert.objects.filter(group_id=group.pk, ci_id__in=new_cis)
            .exclude(pk__in=[a.id for a in joined])
            .values_list("ci_id", flat=True)
        )
    window = note_seconds()
    throttle_key = f"events:note:{group.pk}"
    if window > 0:
        if new_cis:
            cache.set(throttle_key, 1, timeout=window)
        elif not cache.add(throttle_key, 1, timeout=window):
            return
    marker_key = f"events:noted:{group.pk}"
    noted_up_to = cache.get(marker_key)
    alerts = {a.id: (a.severity, a.resource, a.check_name, a.ci_id) for a in joined}
    if noted_up_to is not None:
        for pk, severity, resource, check_name, ci_id in Alert.objects.filter(
            group_id=group.pk, pk__gt=noted_up_to
        ).values_list("pk", "severity", "resource", "check_name", "ci_id"):
            alerts.setdefault(pk, (severity, resource, check_name, ci_id))
    lines = [
        f"- {severity}: {resource} {check_name}".rstrip() + (" (symptom)" if ci_id != group.ci_id else "")
        for _pk, (severity, resource, check_name, ci_id) in sorted(alerts.items())
    ]
    if len(lines) > NOTE_LINES:  # a storm's batch: the note stays readable
        lines[NOTE_LINES:] = [f"- and {len(lines) - NOTE_LINES} more"]
    body = f"Monitoring: {len(alerts)} new alert(s) joined alert group {group.pk}:\n" + "\n".join(lines)
    incident_services.incident_comment(incident=incident, actor=None, public=False, body=body)
    cache.set(marker_key, max(alerts), timeout=86400)


def handle_clears(closed: dict[int, int | None], now, result: BatchResult) -> None:
    """A group whose every alert has cleared closes; its open incident is resolved with a note when
    the clearing alerts' source says so."""
    group_ids = sorted({group for group in closed.values() if group is not None})
    if not group_ids:
        return
    still_open = set(
        Alert.objects.filter(group_id__in=group_ids, state=AlertState.OPEN).values_list("group_id", flat=True)
    )
    done = [pk for pk in group_ids if pk not in still_open]
    if not done:
        return
    resolve_on_clear = dict(
        Alert.objects.filter(pk__in=list(closed), group_id__in=done)
        .values_list("group_id", "source__resolve_incident_on_clear")
        .order_by("group_id", "-source__resolve_incident_on_clear")
        .distinct("group_id")
    )
    for group in (
        AlertGroup.objects.select_for_update().filter(pk__in=done, state=AlertState.OPEN).order_by("pk")
    ):
        group.state = AlertState.CLOSED
        group.closed_at = now
        group.save(update_fields=["state", "closed_at"])
        incident = group.incident
        if incident is None or incident.status not in OPEN_STATUSES:
            continue
        count = group.alerts.count()
        if resolve_on_clear.get(group.pk, True):
            incident_services.incident_resolve(
                incident=incident,
                actor=None,
                resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                resolution_notes=f"Monitoring reports every alert of this incident cleared ({count} alert(s)).",
            )
            result.incidents_resolved += 1
        else:
            incident_services.incident_comment(
                incident=incident,
                actor=None,
                public=False,
                body=f"Monitoring: every alert of alert group {group.pk} has cleared ({count} alert(s)).",
            )
