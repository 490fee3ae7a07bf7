"""Nobody reaches a ticket that is not theirs: every portal URL and every portal API endpoint answers
404 for another user's ticket (same organisation or another one) and for an id that does not exist,
exactly alike. Internal notes and internal files never appear. Every form needs its CSRF token."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from incidents import services as incident_services
from itsm import services as kernel
from itsm.models import Attachment
from portal import services
from tests.conftest import api_client_for
from tests.factories import PASSWORD
from tests.knowledge.factories import make_article

pytestmark = pytest.mark.django_db

PAGE_POSTS = {
    "comment": {"body": "hi"},
    "attach": {},
    "confirm": {},
    "reopen": {"reason": "x"},
    "rate": {"rating": 5},
    "share": {"colleague": "bob"},
    "unshare": {"user": "1"},
    "unwatch": {},
}


def resolved_ticket(world):
    incident = world.raise_ticket()
    incident_services.incident_start(incident=incident, actor=world.agent)
    return incident_services.incident_resolve(
        incident=incident, actor=world.agent, resolution_code="solved_workaround", resolution_notes="Done"
    )


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_every_portal_page_is_404_for_someone_elses_ticket(client, world, who):
    incident = resolved_ticket(world)
    client.login(username=who, password=PASSWORD)
    for pk in (incident.pk, incident.pk + 10_000):
        assert client.get(f"/portal/tickets/{pk}/").status_code == 404
        for action, data in PAGE_POSTS.items():
            response = client.post(f"/portal/tickets/{pk}/{action}/", data)
            assert response.status_code == 404, (action, response.status_code)
        assert client.post(f"/portal/tickets/{pk}/watch/").status_code == 404
    listing = client.get("/portal/tickets/").content.decode()
    assert incident.number not in listing
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.satisfaction.count() == 0


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_every_portal_api_endpoint_is_404_for_someone_elses_ticket(world, who):
    incident = resolved_ticket(world)
    api = api_client_for(getattr(world, who))
    base = "/api/v1/portal/tickets"
    for pk in (incident.pk, incident.pk + 10_000):
        assert api.get(f"{base}/{pk}/").status_code == 404
        for path in ("comments", "attachments", "shares"):
            assert api.get(f"{base}/{pk}/{path}/").status_code == 404, path
        posts = {
            "comments": {"body": "hi"},
            "confirm": {},
            "reopen": {"reason": "x"},
            "satisfaction": {"rating": 5},
            "shares": {"colleague": "bob"},
            f"shares/{world.bob.pk}/revoke": {},
            "unwatch": {},
        }
        for path, data in posts.items():
            assert api.post(f"{base}/{pk}/{path}/", data, format="json").status_code == 404, path
        upload = SimpleUploadedFile("a.txt", b"a", content_type="text/plain")
        assert api.post(f"{base}/{pk}/attachments/", {"file": upload}, format="multipart").status_code == 404
        assert api.post(f"/api/v1/portal/shared/{pk}/watch/").status_code == 404
        # The incidents API's satisfaction action is open to end users, through visible_to.
        assert api.get(f"/api/v1/incidents/{pk}/satisfaction/").status_code == 404
        assert (
            api.post(f"/api/v1/incidents/{pk}/satisfaction/", {"rating": 5}, format="json").status_code == 404
        )
    ids = [row["id"] for row in api.get(f"{base}/").json()["results"]]
    assert incident.pk not in ids
    # The rest of the incidents API stays staff-only.
    assert api.get(f"/api/v1/incidents/{incident.pk}/").status_code == 403


def test_a_shared_ticket_is_reachable_only_while_shared(client, world):
    incident = world.raise_ticket()
    services.ticket_share(user=world.alice, incident=incident, colleague=world.bob)
    client.login(username="bob", password=PASSWORD)
    assert client.get(f"/portal/tickets/{incident.pk}/").status_code == 200
    client.login(username="carol", password=PASSWORD)
    assert client.get(f"/portal/tickets/{incident.pk}/").status_code == 404
    services.ticket_unshare(user=world.alice, incident=incident, colleague=world.bob)
    client.login(username="bob", password=PASSWORD)
    assert client.get(f"/portal/tickets/{incident.pk}/").status_code == 404
    assert client.post(f"/portal/tickets/{incident.pk}/watch/").status_code == 404


def test_unpublished_or_foreign_articles_and_workarounds_are_404(client, world):
    draft = make_article(world.agent, status="draft", title="Draft")
    agents_only = make_article(world.agent, status="published", audience="agents", title="Agents only")
    globex_only = make_article(
        world.agent,
        status="published",
        audience="organisation",
        organisation=world.globex,
        title="Globex only",
    )
    client.login(username="alice", password=PASSWORD)
    for article in (draft, agents_only, globex_only):
        assert client.get(f"/portal/articles/{article.pk}/").status_code == 404
        assert client.post("/portal/solved/", {"article": article.pk}).status_code == 404
    assert client.get(f"/portal/workarounds/{world.known_error.pk + 1000}/").status_code == 404
    html = client.get("/portal/search/", {"q": "draft agents globex"}).content.decode()
    assert "Agents only" not in html and "Globex only" not in html
    home = client.get("/portal/").content.decode()
    assert world.article.title in home  # popular articles: only what end users of Acme may read
    assert "Agents only" not in home and "Globex only" not in home and "Draft" not in home


def test_internal_notes_and_files_never_reach_the_portal(client, world):
    incident = world.raise_ticket()
    incident_services.incident_comment(
        incident=incident, actor=world.agent, body="INTERNAL NOTE", public=False
    )
    internal = kernel.attachment_add(
        record=incident,
        upload=SimpleUploadedFile("internal.log", b"secret", content_type="text/plain"),
        actor=world.agent,
        visibility=Attachment.Visibility.INTERNAL,
    )
    client.login(username="alice", password=PASSWORD)
    page = client.get(f"/portal/tickets/{incident.pk}/").content.decode()
    assert "INTERNAL NOTE" not in page and "internal.log" not in page
    assert client.get(f"/attachments/{internal.pk}/download/").status_code == 404
    api = api_client_for(world.alice)
    comments = api.get(f"/api/v1/portal/tickets/{incident.pk}/comments/").json()
    assert all("INTERNAL" not in row["body"] and "internal.log" not in row["body"] for row in comments)
    assert api.get(f"/api/v1/portal/tickets/{incident.pk}/attachments/").json() == []
    detail = api.get(f"/api/v1/portal/tickets/{incident.pk}/").json()
    assert not {"assignment_group", "assignee", "priority", "work_notes"} & set(detail)
    # An agent previewing the ticket as its caller sees the public face only, too.
    own = world.raise_ticket(world.agent, short_description="Agent's own printer")
    incident_services.incident_comment(incident=own, actor=world.manager, body="INTERNAL AGAIN", public=False)
    client.login(username=world.agent.username, password=PASSWORD)
    assert "INTERNAL AGAIN" not in client.get(f"/portal/tickets/{own.pk}/").content.decode()
    assert client.get(f"/portal/tickets/{incident.pk}/").status_code == 404  # not the agent's ticket


def _csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_every_portal_form_needs_its_csrf_token(world):
    incident = resolved_ticket(world)
    client = _csrf_client(world.alice)
    posts = [
        ("/portal/report/", {"short_description": "x", "impact": 4, "urgency": 3}),
        ("/portal/solved/", {"article": world.article.pk}),
        (f"/portal/articles/{world.article.pk}/", {"helpful": "yes"}),
        (f"/portal/tickets/{incident.pk}/watch/", {}),
        *((f"/portal/tickets/{incident.pk}/{action}/", data) for action, data in PAGE_POSTS.items()),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    # With the token the same form goes through.
    page = client.get(f"/portal/tickets/{incident.pk}/")
    token = page.context["csrf_token"]
    response = client.post(
        f"/portal/tickets/{incident.pk}/comment/", {"body": "thanks", "csrfmiddlewaretoken": str(token)}
    )
    assert response.status_code == 302
    response = client.post(
        "/portal/report/",
        {"short_description": "New", "impact": 4, "urgency": 3, "csrfmiddlewaretoken": str(token)},
    )
    assert response.status_code == 302


def test_the_portal_needs_a_sign_in(client, world):
    incident = world.raise_ticket()
    for url in ("/portal/", "/portal/tickets/", f"/portal/tickets/{incident.pk}/", "/portal/report/"):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert Client().get("/api/v1/portal/tickets/").status_code == 401


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_someone_elses_public_file_is_404_too(client, world, who):
    incident = world.raise_ticket()
    public = services.ticket_attach(
        user=world.alice,
        incident=incident,
        upload=SimpleUploadedFile("mine.txt", b"mine", content_type="text/plain"),
    )
    client.login(username=who, password=PASSWORD)
    assert client.get(f"/attachments/{public.pk}/download/").status_code == 404
    assert (
        api_client_for(getattr(world, who)).get(f"/api/v1/attachments/{public.pk}/download/").status_code
        == 404
    )
    client.login(username="alice", password=PASSWORD)
    assert client.get(f"/attachments/{public.pk}/download/").status_code == 200
