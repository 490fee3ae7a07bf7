"""The portal's pages as an end user uses them: landing, search, self-help, raising an incident with
its intake script and a file, My tickets, the ticket page, confirm/reopen and the survey."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from incidents import services as incident_services
from incidents.choices import Channel, Impact, Status, Urgency
from incidents.models import Incident, SatisfactionResponse
from itsm import roles
from itsm.models import Attachment
from knowledge import services as knowledge_services
from knowledge.models import PortalVisit, SelfHelpResolution
from tests.factories import PASSWORD
from tests.knowledge.factories import make_article

pytestmark = pytest.mark.django_db


def test_end_users_land_on_the_portal_and_agents_keep_their_home(client, world):
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/portal/"
    assert b"How can we help?" in response.content
    client.logout()
    client.login(username=world.agent.username, password=PASSWORD)
    response = client.get("/")
    assert response.status_code == 200 and b"Portal (preview)" in response.content


def test_agents_preview_the_portal_clearly_marked(as_user, world):
    response = as_user(world.agent).get("/portal/")
    assert response.status_code == 200
    assert b"Preview:" in response.content
    assert not PortalVisit.objects.exists()  # previews are not end users' visits


def test_home_searches_and_counts_one_visit_a_page(as_user, world):
    client = as_user(world.alice)
    client.get("/portal/")
    response = client.get("/portal/search/", {"q": "outlook password"})
    assert response.status_code == 200
    html = response.content.decode()
    assert world.article.title.split()[0] in html and "<mark>" in html
    assert world.known_error.title in html
    visit = PortalVisit.objects.get(user=world.alice)
    assert visit.hits == 2 and visit.organisation_id == world.acme.pk


def test_home_shows_major_incidents_on_the_organisations_services_only(as_user, world):
    major = world.raise_ticket(
        world.bob, short_description="E-mail is down for everyone", service=world.service
    )
    incident_services.incident_declare_major(
        incident=major, actor=world.manager, reason="Everyone affected", incident_manager=world.manager
    )
    incident_services.incident_comment(incident=major, actor=world.agent, body="Mail servers restarting.")
    incident_services.incident_comment(
        incident=major, actor=world.agent, body="Secret: vendor bug", public=False
    )
    elsewhere = world.raise_ticket(
        world.carol, short_description="Payroll is down", service=world.other_service
    )
    incident_services.incident_declare_major(
        incident=elsewhere, actor=world.manager, reason="All", incident_manager=world.manager
    )
    html = as_user(world.alice).get("/portal/").content.decode()
    assert "E-mail is down for everyone" in html and "Mail servers restarting." in html
    assert "We know about this" in html
    assert "Secret: vendor bug" not in html and "Payroll is down" not in html


def test_article_and_this_solved_it_records_a_self_help_resolution(as_user, world):
    client = as_user(world.alice)
    response = client.get(f"/portal/articles/{world.article.pk}/", {"q": "outlook"})
    assert response.status_code == 200 and b"<strong>Outlook</strong>" in response.content
    response = client.post("/portal/solved/", {"article": world.article.pk, "q": "outlook"})
    assert response.status_code == 200 and b"Glad it is solved" in response.content
    record = SelfHelpResolution.objects.get()
    assert (record.user, record.article, record.query, record.organisation_id) == (
        world.alice,
        world.article,
        "outlook",
        world.acme.pk,
    )
    response = client.post("/portal/solved/", {"known_error": world.known_error.pk, "q": "loop"})
    assert response.status_code == 200
    assert SelfHelpResolution.objects.filter(known_error_id=world.known_error.pk).count() == 1
    assert not Incident.objects.exists()  # deflected: no incident


def test_vote_on_an_article(as_user, world):
    client = as_user(world.alice)
    assert client.post(f"/portal/articles/{world.article.pk}/", {}).status_code == 400
    response = client.post(f"/portal/articles/{world.article.pk}/", {"helpful": "yes", "comment": ""})
    assert response.status_code == 302
    world.article.refresh_from_db()
    assert world.article.helpful_count == 1


def test_suggestions_appear_while_typing(as_user, world):
    client = as_user(world.alice)
    response = client.get(
        "/portal/report/suggestions/",
        {"short_description": "outlook keeps asking password"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert world.article.title in html and "This solved it" in html
    assert not PortalVisit.objects.exists()  # partials are not pages
    assert client.get("/portal/report/suggestions/", {"short_description": "hi"}).content.strip() == b""


def test_intake_questions_follow_the_category(as_user, world):
    response = as_user(world.alice).get("/portal/report/intake/", {"category": world.category.pk})
    assert b"Does webmail work?" in response.content


def test_raise_an_incident_with_intake_answer_and_file(as_user, world):
    client = as_user(world.alice)
    page = client.get("/portal/report/", {"q": "Outlook asks"}).content.decode()
    assert 'value="Outlook asks"' in page and "E-mail" in page and "Payroll" not in page  # own org's services
    data = {
        "short_description": "Outlook asks for my password",
        "description": "Since this morning",
        "category": world.category.pk,
        "service": world.service.pk,
        "impact": Impact.MODERATE,
        "urgency": Urgency.HIGH,
    }
    response = client.post("/portal/report/", data)
    assert response.status_code == 400 and "needs an answer" in response.content.decode()
    data[f"answer_{world.question.pk}"] = "no"
    data["attachments"] = SimpleUploadedFile("screen.png", b"\x89PNG fake", content_type="image/png")
    response = client.post("/portal/report/", data)
    incident = Incident.objects.get()
    assert response.status_code == 302 and response.url == f"/portal/tickets/{incident.pk}/"
    assert (incident.caller, incident.channel, incident.service, incident.impact, incident.urgency) == (
        world.alice,
        Channel.PORTAL,
        world.service,
        Impact.MODERATE,
        Urgency.HIGH,
    )
    assert incident.intake_answers[0]["answer"] == "no"
    assert Attachment.objects.get().visibility == Attachment.Visibility.PUBLIC
    page = client.get(response.url).content.decode()
    assert incident.number in page and "screen.png" in page and "Does webmail work?" in page


def test_raise_refuses_a_service_of_another_organisation_and_bad_files(as_user, world, settings):
    client = as_user(world.alice)
    base = {"short_description": "Broken", "impact": 4, "urgency": 3}
    response = client.post("/portal/report/", {**base, "service": world.other_service.pk})
    assert response.status_code == 400 and "valid choice" in response.content.decode()
    bad = SimpleUploadedFile("virus.exe", b"MZ", content_type="application/octet-stream")
    response = client.post("/portal/report/", {**base, "attachments": bad})
    assert response.status_code == 400 and "are not accepted" in response.content.decode()
    settings.ATTACHMENT_MAX_BYTES = 10
    big = SimpleUploadedFile("log.txt", b"x" * 100, content_type="text/plain")
    response = client.post("/portal/report/", {**base, "attachments": big})
    assert response.status_code == 400 and "the limit is" in response.content.decode()
    assert not Incident.objects.exists()


def test_my_tickets_and_the_public_conversation(as_user, world):
    incident = world.raise_ticket()
    incident_services.incident_comment(incident=incident, actor=world.agent, body="Can you try webmail?")
    incident_services.incident_comment(
        incident=incident, actor=world.agent, body="INTERNAL: user is VIP", public=False
    )
    client = as_user(world.alice)
    listing = client.get("/portal/tickets/").content.decode()
    assert incident.number in listing and "Received" in listing
    page = client.get(f"/portal/tickets/{incident.pk}/").content.decode()
    assert "Can you try webmail?" in page and "Service desk" in page
    assert "INTERNAL" not in page and world.agent.username not in page
    response = client.post(f"/portal/tickets/{incident.pk}/comment/", {"body": "Webmail works fine."})
    assert response.status_code == 302
    response = client.post(f"/portal/tickets/{incident.pk}/comment/", {"body": ""})
    assert response.status_code == 400
    upload = SimpleUploadedFile("trace.txt", b"trace", content_type="text/plain")
    assert client.post(f"/portal/tickets/{incident.pk}/attach/", {"file": upload}).status_code == 302
    page = client.get(f"/portal/tickets/{incident.pk}/").content.decode()
    assert "Webmail works fine." in page and "trace.txt" in page


def resolve(world, incident):
    incident_services.incident_start(incident=incident, actor=world.agent)
    return incident_services.incident_resolve(
        incident=incident,
        actor=world.agent,
        resolution_code="solved_workaround",
        resolution_notes="Reset the profile.",
    )


def test_reopen_then_confirm_and_rate(as_user, world):
    incident = resolve(world, world.raise_ticket())
    client = as_user(world.alice)
    page = client.get(f"/portal/tickets/{incident.pk}/").content.decode()
    assert "We believe this is resolved" in page and "Reset the profile." in page and "How did we do?" in page
    assert client.post(f"/portal/tickets/{incident.pk}/reopen/", {"reason": ""}).status_code == 400
    assert client.post(f"/portal/tickets/{incident.pk}/reopen/", {"reason": "Still asks"}).status_code == 302
    incident.refresh_from_db()
    assert incident.status == Status.IN_PROGRESS and incident.reopen_count == 1
    incident = resolve_again(world, incident)
    assert client.post(f"/portal/tickets/{incident.pk}/confirm/").status_code == 302
    incident.refresh_from_db()
    assert incident.status == Status.CLOSED and incident.confirmation == "confirmed"
    assert client.post(f"/portal/tickets/{incident.pk}/rate/", {"rating": 9}).status_code == 400
    assert (
        client.post(f"/portal/tickets/{incident.pk}/rate/", {"rating": 5, "comment": "Great"}).status_code
        == 302
    )
    answer = SatisfactionResponse.objects.get()
    assert (answer.rating, answer.comment, answer.respondent) == (5, "Great", world.alice)
    response = client.post(f"/portal/tickets/{incident.pk}/rate/", {"rating": 4})
    assert response.status_code == 409 and "already rated" in response.content.decode()
    page = client.get(f"/portal/tickets/{incident.pk}/").content.decode()
    assert "How did we do?" not in page and not re.search(r"Send message", page)


def resolve_again(world, incident):
    return incident_services.incident_resolve(
        incident=incident,
        actor=world.agent,
        resolution_code="solved_permanently",
        resolution_notes="New profile.",
    )


def test_a_watcher_cannot_confirm_or_rate(as_user, world):
    incident = world.raise_ticket()
    from portal import services

    services.ticket_share(user=world.alice, incident=incident, colleague=world.bob)
    incident = resolve(world, incident)
    client = as_user(world.bob)
    page = client.get(f"/portal/tickets/{incident.pk}/").content.decode()
    assert "We believe this is resolved" not in page and "How did we do?" not in page
    assert client.post(f"/portal/tickets/{incident.pk}/confirm/").status_code == 403
    assert client.post(f"/portal/tickets/{incident.pk}/rate/", {"rating": 5}).status_code == 403
    assert roles.has_role(world.bob, roles.END_USER)


def test_the_portal_renders_article_bodies_through_the_sanitiser(as_user, world):
    from tests.knowledge.factories import make_article

    article = make_article(
        world.agent,
        status="published",
        audience="end_users",
        title="Hostile",
        body='<script>alert(1)</script>\n\n[click](javascript:alert(2))\n\n<img src=x onerror="alert(3)">',
    )
    html = as_user(world.alice).get(f"/portal/articles/{article.pk}/").content.decode()
    body = html.split('id="article-body"', 1)[1].split("</div>", 1)[0]
    assert "<script" not in body and "javascript:" not in body and "onerror" not in body


def test_an_intake_answer_can_lead_straight_to_a_known_fix(as_user, world):
    world.question.fix_on_answer = "yes"
    world.question.fix_text = "Webmail works, so remove and re-add the Outlook profile."
    world.question.save()
    client = as_user(world.alice)
    params = {"category": world.category.pk, f"answer_{world.question.pk}": "yes"}
    assert "re-add the Outlook profile" in client.get("/portal/report/fixes/", params).content.decode()
    params[f"answer_{world.question.pk}"] = "no"
    assert client.get("/portal/report/fixes/", params).content.strip() == b""


def test_popular_articles_follow_a_publication_at_once_and_show_agents_what_end_users_read(as_user, world):
    client = as_user(world.alice)
    assert "Printer queue stuck" not in client.get("/portal/").content.decode()  # the list is cached now
    article = make_article(world.agent, status="in_review", audience="end_users", title="Printer queue stuck")
    agents_only = make_article(world.agent, status="published", audience="agents", title="Agents only")
    knowledge_services.article_transition(article=article, actor=world.agent, to="published")
    assert "Printer queue stuck" in client.get("/portal/").content.decode()  # saving cleared the cache
    preview = as_user(world.agent).get("/portal/").content.decode()
    assert "Printer queue stuck" in preview and agents_only.title not in preview
