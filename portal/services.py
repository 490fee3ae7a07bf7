"""What an end user does in the portal, as services the pages and the portal API share. Each one
calls the owning app's service (incidents, the kernel's attachments, knowledge); the portal writes
only its own ``TicketShare`` rows. Rate limits (``portal.ratelimit``) apply to new incidents and
comments, whichever face they come through."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from incidents import services as incident_services
from incidents.choices import Channel, Status
from incidents.models import Incident
from itsm import notifications
from itsm import services as kernel
from itsm.exceptions import ConflictError
from itsm.models import Attachment
from portal import queries, ratelimit
from portal.models import TicketShare

RAISE_FIELDS = ("short_description", "description", "category", "subcategory", "service", "impact", "urgency")


def _name(user) -> str:
    return user.get_full_name() or user.username


@transaction.atomic
def ticket_raise(
    *, user, fields: dict[str, Any], answers: dict | None = None, uploads: Iterable = ()
) -> Incident:
    """Raise an incident as ``user`` from the portal: channel ``portal``, the user as caller, the
    category's intake answers checked by the incidents service, the service limited to those of the
    user's organisation, the files attached publicly (size and type limits; any refusal undoes the
    whole ticket). Counts against the ``incident`` rate limit."""
    unknown = set(fields) - set(RAISE_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Not a field of the portal's form."))
    service = fields.get("service")
    if service is not None and not queries.services_for(user).filter(pk=service.pk).exists():
        raise ValidationError({"service": "Choose one of the services your organisation uses."})
    if not (fields.get("short_description") or "").strip():
        raise ValidationError({"short_description": "Say in a few words what is wrong."})
    incident = incident_services.incident_create(
        actor=user,
        fields={**fields, "caller": user, "channel": Channel.PORTAL},
        answers=answers or {},
    )
    for upload in uploads:
        kernel.attachment_add(
            record=incident, upload=upload, actor=user, visibility=Attachment.Visibility.PUBLIC
        )
    # Counted once everything was accepted (a form with errors costs nothing); over the limit the
    # exception rolls the new incident back.
    ratelimit.hit(user, "incident")
    return incident


@transaction.atomic
def ticket_comment(*, user, incident: Incident, body: str):
    """A public reply from the caller or a watcher (the incidents service tells the desk; the caller's
    reply to a resolution reopens it). Counts against the ``comment`` rate limit once accepted."""
    if not (body or "").strip():
        raise ValidationError({"body": "Write your message first."})
    entry = incident_services.incident_comment(incident=incident, actor=user, body=body.strip(), public=True)
    ratelimit.hit(user, "comment")
    return entry


@transaction.atomic
def ticket_attach(*, user, incident: Incident, upload) -> Attachment:
    """Add a file to an open or resolved ticket, publicly (the desk and the caller see it)."""
    if incident.status in (Status.CLOSED, Status.CANCELLED):
        raise ConflictError(f"{incident.number} is closed; raise a new incident if the problem is back.")
    return kernel.attachment_add(
        record=incident, upload=upload, actor=user, visibility=Attachment.Visibility.PUBLIC
    )


def ticket_confirm(*, user, incident: Incident) -> Incident:
    return incident_services.incident_confirm(incident=incident, actor=user)


def ticket_reopen(*, user, incident: Incident, reason: str) -> Incident:
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say what is still wrong, so the desk can pick it up."})
    return incident_services.incident_reject_resolution(incident=incident, actor=user, reason=reason.strip())


def ticket_rate(*, user, incident: Incident, rating, comment: str = ""):
    return incident_services.satisfaction_submit(
        incident=incident, actor=user, rating=rating, comment=comment
    )


def _set_watching(incident: Incident, actor, person, watching: bool) -> None:
    current = set(incident.watchers.values_list("pk", flat=True))
    wanted = current | {person.pk} if watching else current - {person.pk}
    if wanted != current:
        incident_services.incident_update(
            incident=incident, actor=actor, changes={"watchers": sorted(wanted)}
        )


@transaction.atomic
def ticket_share(*, user, incident: Incident, colleague) -> TicketShare:
    """The caller shares their ticket with a colleague of the same organisation: the colleague
    watches it (sees it in the portal, is told of public updates) and is told it was shared."""
    if incident.caller_id != user.pk:
        raise PermissionDenied("Only the person who raised a ticket shares it.")
    if incident.is_security:
        raise ValidationError({"colleague": "A security incident cannot be shared."})
    if colleague is None or colleague.pk == user.pk or not user.organisation_id:
        raise ValidationError({"colleague": "Name a colleague of your organisation (username or e-mail)."})
    if colleague.organisation_id != user.organisation_id or not colleague.is_active:
        raise ValidationError({"colleague": "Name a colleague of your organisation (username or e-mail)."})
    if incident.status in (Status.CLOSED, Status.CANCELLED):
        raise ConflictError(f"{incident.number} is closed; it cannot be shared any more.")
    if TicketShare.objects.filter(incident=incident, user=colleague, revoked_at__isnull=True).exists():
        raise ConflictError(f"{incident.number} is already shared with {_name(colleague)}.")
    share = TicketShare.objects.create(incident=incident, user=colleague, shared_by=user)
    _set_watching(incident, user, colleague, True)
    notifications.notify(
        [colleague],
        subject=f"{_name(user)} shared {incident.number} with you: {incident.short_description}"[:200],
        body="You will be told of its public updates. You can stop following it on its page.",
        record=incident,
        key=f"incident:{incident.pk}:shared:{share.pk}",
    )
    return share


@transaction.atomic
def ticket_unshare(*, user, incident: Incident, colleague) -> None:
    """The caller stops sharing: the colleague no longer watches nor may watch again."""
    if incident.caller_id != user.pk:
        raise PermissionDenied("Only the person who raised a ticket changes whom it is shared with.")
    updated = TicketShare.objects.filter(incident=incident, user=colleague, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if not updated:
        raise ValidationError({"colleague": "The ticket is not shared with that person."})
    if incident.status not in (Status.CLOSED, Status.CANCELLED):
        _set_watching(incident, user, colleague, False)


@transaction.atomic
def ticket_watch(*, user, incident: Incident, watching: bool) -> None:
    """A colleague the ticket was shared with follows it again (``watching``) or stops following.
    Following needs an active share; anyone watching (but the caller, who follows it anyway) may stop."""
    if incident.caller_id == user.pk:
        raise PermissionDenied("You raised this ticket: you follow it as long as it is open.")
    shared = TicketShare.objects.filter(incident=incident, user=user, revoked_at__isnull=True).exists()
    if watching and not shared:
        raise PermissionDenied("This ticket was not shared with you.")
    if incident.status in (Status.CLOSED, Status.CANCELLED):
        raise ConflictError(f"{incident.number} is closed.")
    _set_watching(incident, user, user, watching)
