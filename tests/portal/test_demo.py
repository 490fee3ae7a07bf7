"""The demo: the end user finds published articles and their tickets in the portal, one ticket is
shared with a colleague and one resolution is rated; loading twice changes nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from portal.models import TicketShare
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_demo_end_user_sees_articles_and_tickets_in_the_portal(client):
    call_command("load_demo", verbosity=0)
    shares = TicketShare.objects.count()
    assert shares == 1
    call_command("load_demo", verbosity=0)
    assert TicketShare.objects.count() == shares
    assert client.login(username="enduser", password="enduser-demo") or client.login(
        username="enduser", password=PASSWORD
    )
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/portal/"
    assert b"Popular help articles" in response.content and b"No articles yet" not in response.content
    tickets = client.get("/portal/tickets/").content.decode()
    assert tickets.count("/portal/tickets/") >= 4
    assert "password" in client.get("/portal/search/", {"q": "password"}).content.decode().lower()
