"""Portal demo data (after incidents and knowledge): ``enduser`` has shared their ticket in progress
with Fiona, a colleague in Finance, and rated one of their resolved tickets. Everything else the
portal shows (published articles and workarounds, enduser's tickets, the self-help record) comes
from the other apps' demo data. Idempotent: skipped once a share exists."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from incidents.choices import Status
from incidents.models import SatisfactionResponse
from portal import queries, services
from portal.models import TicketShare


def load() -> str:
    if TicketShare.objects.exists():
        return "portal demo already loaded"
    people = get_user_model().objects
    enduser = people.filter(username="enduser").first()
    fiona = people.filter(username="fiona").first()
    if enduser is None:
        return "portal demo skipped: no demo end user"
    done = []
    ticket = (
        queries.tickets(enduser).filter(caller=enduser, status=Status.IN_PROGRESS).order_by("-id").first()
    )
    if ticket is not None and fiona is not None and fiona.organisation_id == enduser.organisation_id:
        services.ticket_share(user=enduser, incident=ticket, colleague=fiona)
        done.append(f"{ticket.number} shared with fiona")
    resolved = (
        queries.tickets(enduser)
        .filter(caller=enduser, status=Status.CLOSED, resolved_at__isnull=False)
        .order_by("-id")
    )
    for incident in resolved:
        if not SatisfactionResponse.objects.filter(
            incident=incident, resolved_at=incident.resolved_at
        ).exists():
            services.ticket_rate(
                user=enduser, incident=incident, rating=4, comment="Quick and friendly, thanks."
            )
            done.append(f"{incident.number} rated 4/5")
            break
    return "; ".join(done) or "nothing to add"
