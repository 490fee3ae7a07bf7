"""End users are told of public updates, the resolution and a share, in the app and by e-mail, with a
link to the portal's ticket page (staff keep the agents' page): the kernel's end-user URL hook."""

from __future__ import annotations

import pytest
from django.core import mail

from incidents import services as incident_services
from itsm import notifications
from itsm.models import Notification
from itsm.registry import registry
from portal import services
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_public_updates_and_resolution_link_end_users_to_the_portal(world):
    incident = world.raise_ticket()
    services.ticket_share(user=world.alice, incident=incident, colleague=world.bob)
    incident_services.incident_update(
        incident=incident, actor=world.agent, changes={"watchers": [world.bob.pk, world.manager.pk]}
    )
    incident_services.incident_comment(
        incident=incident, actor=world.agent, body="Internal only", public=False
    )
    incident_services.incident_comment(incident=incident, actor=world.agent, body="Please try webmail")
    incident_services.incident_start(incident=incident, actor=world.agent)
    incident_services.incident_resolve(
        incident=incident, actor=world.agent, resolution_code="solved_workaround", resolution_notes="Reset"
    )
    portal_url = f"/portal/tickets/{incident.pk}/"
    rows = Notification.objects.filter(recipient=world.alice).order_by("id")
    assert [row.subject for row in rows] == [
        f"Update on {incident.number}: {incident.short_description}",
        f"{incident.number} is resolved: please confirm",
    ]
    assert {row.url for row in rows} == {portal_url}
    bob = Notification.objects.filter(recipient=world.bob).order_by("id")
    assert bob[0].subject.startswith("Alice") and "shared" in bob[0].subject
    assert {row.url for row in bob} == {portal_url}
    staff = Notification.objects.filter(recipient=world.manager)
    assert staff.exists() and {row.url for row in staff} == {incident.get_absolute_url()}
    assert not Notification.objects.filter(body__contains="Internal only").exists()

    notifications.deliver_pending()
    sent = [message for message in mail.outbox if message.to == [world.alice.email]]
    assert sent and all(f"{portal_url}" in message.body for message in sent)


def test_opening_a_notification_leads_to_the_portal_page(client, world):
    incident = world.raise_ticket()
    incident_services.incident_comment(incident=incident, actor=world.agent, body="Hello")
    row = Notification.objects.get(recipient=world.alice)
    client.login(username="alice", password=PASSWORD)
    assert row.subject in client.get("/portal/notifications/").content.decode()
    response = client.get(f"/notifications/{row.pk}/")
    assert response.status_code == 302 and response.url == f"/portal/tickets/{incident.pk}/"


def test_an_explicit_url_wins_and_other_records_are_untouched(world):
    assert registry.end_user_url(world.article) == ""
    incident = world.raise_ticket()
    notifications.notify([world.alice], subject="x", record=incident, url="/somewhere/")
    assert Notification.objects.get(subject="x").url == "/somewhere/"
