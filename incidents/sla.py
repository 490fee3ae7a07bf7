"""Incidents on the service-level engine: the facts a policy matches on, the clock handler the
engine calls back through, and the "Service levels" panel on the incident page.

``servicelevels`` never imports incidents; this module (a higher layer) feeds it. After every
incident write (``incident_changed``) the clocks are brought in line, and the live deadlines are
copied onto the incident (``response_due_at``, ``resolve_due_at``) for queues to sort on.
"""

from __future__ import annotations

import logging

from django.dispatch import receiver

from incidents.choices import OPEN_STATUSES, Status
from incidents.models import Incident
from incidents.signals import incident_changed
from itsm.queries import in_batches
from itsm.registry import Panel, registry
from servicelevels import registry as sla_registry
from servicelevels.models import ClockState, Target
from servicelevels.services import Facts, sync_clocks

logger = logging.getLogger(__name__)


def facts_of(incident: Incident) -> Facts:
    categories = []
    if incident.category_id:
        categories.append(incident.category.name)
        if incident.subcategory_id:
            categories.append(f"{incident.category.name} › {incident.subcategory.name}")
    status = incident.status
    if status == Status.ON_HOLD and incident.hold_reason:
        status = f"{status}:{incident.hold_reason}"
    return Facts(
        priority=incident.priority,
        service_id=incident.service_id,
        categories=tuple(categories),
        organisation_id=incident.caller.organisation_id if incident.caller_id else None,
        group_id=incident.assignment_group_id,
        channel=incident.channel,
        status=status,
        responded_at=incident.responded_at,
        resolved_at=incident.resolved_at if incident.status in (Status.RESOLVED, Status.CLOSED) else None,
        last_public_update_at=incident.last_public_update_at,
        is_open=incident.status in OPEN_STATUSES,
        cancelled=incident.status == Status.CANCELLED,
        started_at=incident.created_at,
    )


def sync(incident: Incident, reason: str = "", *, new: bool = False) -> None:
    clocks = sync_clocks(record=incident, facts=facts_of(incident), reason=reason, new=new)
    deadlines = {Target.RESPONSE: None, Target.RESOLUTION: None}
    for clock in clocks:
        if clock.target in deadlines and clock.state == ClockState.RUNNING:
            deadlines[clock.target] = clock.deadline
    due = {"response_due_at": deadlines[Target.RESPONSE], "resolve_due_at": deadlines[Target.RESOLUTION]}
    if any(getattr(incident, name) != value for name, value in due.items()):
        Incident.objects.filter(pk=incident.pk).update(**due)
        for name, value in due.items():
            setattr(incident, name, value)


def rebuild(incident: Incident) -> None:
    """Recompute the incident's clocks from its status periods (see ``rebuild_clocks``): used after
    loading incidents with past dates (demo data, imports) and when a policy changes retroactively."""
    from dataclasses import replace

    from servicelevels.services import rebuild_clocks

    current = facts_of(incident)
    history = []
    for period in incident.status_periods.order_by("started_at", "id"):
        at = period.started_at
        status = f"{period.status}:{period.hold_reason}" if period.hold_reason else period.status
        history.append(
            (
                at,
                replace(
                    current,
                    status=status,
                    group_id=period.assignment_group_id,
                    responded_at=incident.responded_at
                    if incident.responded_at and incident.responded_at <= at
                    else None,
                    resolved_at=(incident.resolved_at or at)
                    if period.status in (Status.RESOLVED, Status.CLOSED)
                    else None,
                    last_public_update_at=None,
                    is_open=period.status in OPEN_STATUSES,
                    cancelled=period.status == Status.CANCELLED,
                ),
            )
        )
    if incident.responded_at:
        history.append(
            (
                incident.responded_at,
                replace(history[-1][1] if history else current, responded_at=incident.responded_at),
            )
        )
    rebuild_clocks(record=incident, history=history)
    sync(incident)


@receiver(incident_changed, dispatch_uid="incidents.sla.sync")
def _on_change(sender, incident, actor, fields, **kwargs):
    reason = ""
    if {"priority", "service", "category", "subcategory"} & set(fields):
        reason = "priority, service or category changed"
    sync(incident, reason=reason, new="created" in fields)


# -- what the engine calls back -----------------------------------------------------------------


def _load_many(ids: set[int]) -> dict[int, Incident]:
    rows = (
        Incident.objects.filter(pk__in=ids)
        .select_related("assignment_group__manager", "assignee")
        .prefetch_related("assignment_group__members")
    )
    return {incident.pk: incident for incident in rows}


def _people(incident: Incident, who: str) -> list:
    if who == "assignee":
        return [incident.assignee] if incident.assignee_id else []
    group = incident.assignment_group
    if group is None:
        return []
    if who == "manager":
        return [group.manager] if group.manager_id else []
    return [member for member in group.members.all() if member.is_active]


def _reassign(incident: Incident, group, reason: str) -> None:
    from incidents import services

    if group is None or incident.assignment_group_id == group.pk or incident.status not in OPEN_STATUSES:
        return
    services.incident_escalate(incident=incident, actor=None, kind="functional", group=group, reason=reason)


def _raise_priority(incident: Incident, reason: str) -> None:
    from incidents import services

    if incident.priority <= 1 or incident.status not in OPEN_STATUSES:
        return
    for change in ({"urgency": incident.urgency - 1}, {"impact": incident.impact - 1}):
        value = next(iter(change.values()))
        if value < 1:
            continue
        if (
            services.priority_for(
                change.get("impact", incident.impact), change.get("urgency", incident.urgency)
            )
            < incident.priority
        ):
            services.incident_update(incident=incident, actor=None, changes=change, reason=reason)
            return


def likely_breaches(items, now) -> dict:
    """Incidents of the page whose resolution clock is predicted to breach (three queries at most,
    whatever the page size): incident id -> the prediction with its explanation."""
    from django.contrib.contenttypes.models import ContentType

    from servicelevels.models import Clock
    from servicelevels.queries import predict

    open_ids = [item.pk for item in items if item.resolve_due_at is not None]
    if not open_ids:
        return {}
    clocks = list(
        Clock.objects.filter(
            content_type=ContentType.objects.get_for_model(Incident),
            object_id__in=open_ids,
            target="resolution",
            state="running",
            breached_at__isnull=True,
        ).select_related("calendar")
    )
    predictions = predict(clocks, now=now)
    return {
        clock.object_id: predictions[clock.pk]
        for clock in clocks
        if clock.pk in predictions and predictions[clock.pk].likely
    }


def _load_demo() -> str:
    """After the incident demo: clocks recomputed from each demo incident's back-dated history."""
    rows = Incident.objects.select_related("caller", "category", "subcategory")
    for incident in in_batches(rows, 200):
        rebuild(incident)
    from servicelevels.models import Clock

    return f"{Clock.objects.count()} SLA clocks"


def register() -> None:
    registry.add_demo_loader(310, "incidents-sla", _load_demo)
    sla_registry.register(
        sla_registry.ClockHandler(
            model=Incident,
            load_many=_load_many,
            label=lambda incident: f"{incident.number} P{incident.priority} {incident.short_description}",
            people=_people,
            reassign=_reassign,
            raise_priority=_raise_priority,
        )
    )
    registry.add_panel(
        Panel(
            model_label="incidents.incident",
            title="Service levels",
            template="servicelevels/partials/clocks.html",
            context=lambda record, user: {"clocks": _clock_views(record)},
            order=10,
        )
    )


def _clock_views(incident):
    from servicelevels.queries import clocks_for

    return clocks_for(incident)
