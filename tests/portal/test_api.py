"""Everything the portal does is possible through the API: raise with intake answers, list and read
your tickets, reply, add files, confirm or reopen, rate, share, follow; self-help suggestions and
search; the services and categories to choose from; known major incidents. Query counts pinned."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents import services as incident_services
from incidents.models import Incident, SatisfactionResponse
from portal.models import TicketShare
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db
BASE = "/api/v1/portal"


def test_raise_read_reply_attach_through_the_api(world):
    api = api_client_for(world.alice)
    assert [row["name"] for row in api.get(f"{BASE}/services/").json()] == ["E-mail"]
    categories = api.get(f"{BASE}/categories/").json()
    question = next(c for c in categories if c["id"] == world.category.pk)["questions"][0]
    assert question["text"] == "Does webmail work?"
    data = {
        "short_description": "Outlook asks for my password",
        "category": world.category.pk,
        "service": world.service.pk,
        "impact": 3,
        "urgency": 2,
        "answers": {},
    }
    response = api.post(f"{BASE}/tickets/", data, format="json")
    assert response.status_code == 400 and f"answer_{world.question.pk}" in response.json()["errors"]
    response = api.post(f"{BASE}/tickets/", {**data, "service": world.other_service.pk}, format="json")
    assert response.status_code == 400 and "service" in response.json()["errors"]
    response = api.post(f"{BASE}/tickets/", {**data, "priority": 1}, format="json")
    assert response.status_code == 400 and "priority" in response.json()["errors"]
    response = api.post(
        f"{BASE}/tickets/", {**data, "answers": {str(world.question.pk): "no"}}, format="json"
    )
    assert response.status_code == 201, response.json()
    ticket = response.json()
    assert ticket["status_label"] == "Received" and ticket["url"] == f"/portal/tickets/{ticket['id']}/"
    incident = Incident.objects.get(pk=ticket["id"])
    assert incident.channel == "portal" and incident.caller == world.alice and incident.urgency == 2

    upload = SimpleUploadedFile("screen.png", b"\x89PNG", content_type="image/png")
    response = api.post(f"{BASE}/tickets/{incident.pk}/attachments/", {"file": upload}, format="multipart")
    assert response.status_code == 201 and response.json()["download_url"].startswith("/api/v1/attachments/")
    bad = SimpleUploadedFile("x.exe", b"MZ", content_type="application/octet-stream")
    response = api.post(f"{BASE}/tickets/{incident.pk}/attachments/", {"file": bad}, format="multipart")
    assert response.status_code == 400 and "not accepted" in response.json()["detail"]
    assert api.post(f"{BASE}/tickets/{incident.pk}/comments/", {"body": ""}, format="json").status_code == 400
    response = api.post(f"{BASE}/tickets/{incident.pk}/comments/", {"body": "More detail"}, format="json")
    assert response.status_code == 201 and response.json()["author"] == "Alice " + world.alice.last_name
    incident_services.incident_comment(incident=incident, actor=world.agent, body="Try webmail")
    bodies = [row["body"] for row in api.get(f"{BASE}/tickets/{incident.pk}/comments/").json()]
    assert "More detail" in bodies and "Try webmail" in bodies
    authors = {row["author"] for row in api.get(f"{BASE}/tickets/{incident.pk}/comments/").json()}
    assert "Service desk" in authors and world.agent.username not in authors


def test_confirm_reopen_and_rate_through_the_api(world):
    incident = world.raise_ticket()
    api = api_client_for(world.alice)
    assert api.post(f"{BASE}/tickets/{incident.pk}/confirm/").status_code == 409  # not resolved yet
    incident_services.incident_start(incident=incident, actor=world.agent)
    incident_services.incident_resolve(
        incident=incident, actor=world.agent, resolution_code="solved_workaround", resolution_notes="Fixed"
    )
    assert api.post(f"{BASE}/tickets/{incident.pk}/reopen/", {"reason": ""}, format="json").status_code == 400
    response = api.post(f"{BASE}/tickets/{incident.pk}/reopen/", {"reason": "Not fixed"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "in_progress"
    incident_services.incident_resolve(
        incident=incident,
        actor=world.agent,
        resolution_code="solved_workaround",
        resolution_notes="Fixed now",
    )
    response = api.post(f"{BASE}/tickets/{incident.pk}/confirm/")
    assert response.status_code == 200 and response.json()["status"] == "closed"
    response = api.post(f"{BASE}/tickets/{incident.pk}/satisfaction/", {"rating": 0}, format="json")
    assert response.status_code == 400 and "rating" in response.json()["errors"]
    response = api.post(f"{BASE}/tickets/{incident.pk}/satisfaction/", {"rating": 5}, format="json")
    assert response.status_code == 201
    assert (
        api.post(f"{BASE}/tickets/{incident.pk}/satisfaction/", {"rating": 4}, format="json").status_code
        == 409
    )
    assert api.get(f"{BASE}/tickets/").json()["results"][0]["is_rated"] is True


def test_satisfaction_through_the_incidents_api(world):
    incident = world.raise_ticket()
    incident_services.incident_start(incident=incident, actor=world.agent)
    incident_services.incident_resolve(
        incident=incident, actor=world.agent, resolution_code="solved_workaround", resolution_notes="Fixed"
    )
    path = f"/api/v1/incidents/{incident.pk}/satisfaction/"
    agent = api_client_for(world.agent)
    response = agent.post(path, {"rating": 5}, format="json")
    assert response.status_code == 403 and "Only the caller" in response.json()["detail"]
    alice = api_client_for(world.alice)
    assert alice.post(path, {"rating": "bad"}, format="json").status_code == 400
    assert alice.post(path, {"rating": 2, "comment": "Slow", "extra": 1}, format="json").status_code == 400
    response = alice.post(path, {"rating": 2, "comment": "Slow"}, format="json")
    assert response.status_code == 201 and response.json()["rating"] == 2
    assert alice.post(path, {"rating": 3}, format="json").status_code == 409
    assert [row["rating"] for row in alice.get(path).json()] == [2]
    assert [row["rating"] for row in agent.get(path).json()] == [2]
    assert SatisfactionResponse.objects.get().respondent == world.alice


def test_share_follow_unfollow_revoke_through_the_api(world):
    incident = world.raise_ticket()
    alice, bob, carol = (api_client_for(u) for u in (world.alice, world.bob, world.carol))
    shares = f"{BASE}/tickets/{incident.pk}/shares/"
    assert alice.post(shares, {"colleague": "carol"}, format="json").status_code == 400  # other organisation
    assert alice.post(shares, {"colleague": "alice"}, format="json").status_code == 400
    response = alice.post(shares, {"colleague": world.bob.email.upper()}, format="json")
    assert response.status_code == 201 and response.json()["user"] == world.bob.pk
    assert alice.post(shares, {"colleague": "bob"}, format="json").status_code == 409
    assert [row["user"] for row in alice.get(shares).json()] == [world.bob.pk]
    assert bob.get(f"{BASE}/tickets/{incident.pk}/").status_code == 200
    assert bob.get(shares).json() == []  # only the caller sees whom it is shared with
    assert bob.post(shares, {"colleague": "alice"}, format="json").status_code == 403
    assert carol.get(f"{BASE}/tickets/{incident.pk}/").status_code == 404

    assert bob.post(f"{BASE}/tickets/{incident.pk}/unwatch/").status_code == 204
    assert bob.get(f"{BASE}/tickets/{incident.pk}/").status_code == 404
    assert bob.get(f"{BASE}/shared/").json()[0]["is_watching"] is False
    response = bob.post(f"{BASE}/shared/{incident.pk}/watch/")
    assert response.status_code == 200 and response.json()["number"] == incident.number
    assert alice.post(f"{shares}{world.bob.pk}/revoke/").status_code == 204
    assert bob.get(f"{BASE}/tickets/{incident.pk}/").status_code == 404
    assert bob.post(f"{BASE}/shared/{incident.pk}/watch/").status_code == 404
    assert TicketShare.objects.get().revoked_at is not None
    incident.refresh_from_db()
    assert list(incident.watchers.all()) == []


def test_self_help_and_major_incidents_through_the_api(world):
    api = api_client_for(world.alice)
    found = api.get(f"{BASE}/suggestions/", {"text": "outlook keeps asking for password"}).json()
    assert found["articles"][0]["id"] == world.article.pk
    assert found["known_errors"][0]["id"] == world.known_error.pk
    found = api.get(f"{BASE}/search/", {"q": "outlook"}).json()
    assert found["articles"][0]["number"] == world.article.number
    response = api.post(
        "/api/v1/knowledge/self-help/", {"article": world.article.pk, "query": "outlook"}, format="json"
    )
    assert response.status_code == 201
    major = world.raise_ticket(world.bob, short_description="Mail down", service=world.service)
    incident_services.incident_declare_major(
        incident=major, actor=world.manager, reason="All", incident_manager=world.manager
    )
    incident_services.incident_comment(incident=major, actor=world.agent, body="Fix deploying")
    notices = api.get(f"{BASE}/major-incidents/").json()
    assert notices == [
        {
            "service": "E-mail",
            "short_description": "Mail down",
            "since": notices[0]["since"],
            "latest_update": "Fix deploying",
            "latest_update_at": notices[0]["latest_update_at"],
        }
    ]
    assert api_client_for(world.carol).get(f"{BASE}/major-incidents/").json() == []


def _count(api, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api.get(path).status_code == 200
    return len(queries)


def test_query_counts_of_the_lists_do_not_grow_with_rows(world, client):
    from tests.factories import PASSWORD

    api = api_client_for(world.alice)
    client.login(username="alice", password=PASSWORD)
    world.raise_ticket(service=world.service)
    client.get("/portal/")  # the popular articles are cached per process (refcache) after the first page
    counts = (_count(api, f"{BASE}/tickets/"), _count(client, "/portal/tickets/"), _count(client, "/portal/"))
    for _ in range(6):
        world.raise_ticket(service=world.service)
    shared = world.raise_ticket(world.bob)
    from portal import services

    services.ticket_share(user=world.bob, incident=shared, colleague=world.alice)
    again = (_count(api, f"{BASE}/tickets/"), _count(client, "/portal/tickets/"), _count(client, "/portal/"))
    assert again == counts
    assert counts == (3, 6, 6)  # API list; My tickets page; home page


def test_the_openapi_schema_documents_the_portal_api(client, world):
    from tests.factories import PASSWORD

    client.login(username=world.agent.username, password=PASSWORD)
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    for path in (
        "/api/v1/portal/tickets/",
        "/api/v1/portal/tickets/{id}/comments/",
        "/api/v1/portal/tickets/{id}/attachments/",
        "/api/v1/portal/tickets/{id}/confirm/",
        "/api/v1/portal/tickets/{id}/reopen/",
        "/api/v1/portal/tickets/{id}/satisfaction/",
        "/api/v1/portal/tickets/{id}/shares/",
        "/api/v1/portal/tickets/{id}/shares/{user_id}/revoke/",
        "/api/v1/portal/tickets/{id}/unwatch/",
        "/api/v1/portal/shared/",
        "/api/v1/portal/shared/{id}/watch/",
        "/api/v1/portal/services/",
        "/api/v1/portal/categories/",
        "/api/v1/portal/suggestions/",
        "/api/v1/portal/search/",
        "/api/v1/portal/major-incidents/",
        "/api/v1/incidents/{id}/satisfaction/",
    ):
        assert path in paths, path
    assert "429" in paths["/api/v1/portal/tickets/"]["post"]["responses"]
