"""Knowledge pages: write, publish, search with highlighted snippets, read and vote, revisions and diff,
an article from a resolved incident or a known error, the panels and the incident form's suggestions;
list page query count pinned."""

import re

import pytest

from incidents import services as incident_services
from itsm.models import RecordLink
from knowledge.models import Article
from tests.incidents.factories import make_incident
from tests.knowledge.factories import CategoryFactory, make_article

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_agent_writes_publishes_and_finds_an_article(client_as, agent):
    client = client_as(agent)
    assert client.get("/knowledge/new/").status_code == 200
    response = client.post(
        "/knowledge/new/",
        {
            "title": "Printer jams on tray 2",
            "summary": "Fan the paper and reload tray 2.",
            "body": "1. Open **tray 2**\n2. Fan the paper\n\n<script>alert(1)</script>",
            "audience": "end_users",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    article = Article.objects.get(title="Printer jams on tray 2")
    page = client.get(article.get_absolute_url()).content.decode()
    assert "<strong>tray 2</strong>" in page and "alert(1)" not in page
    moved = client.post(
        article.get_absolute_url(), {"action": "transition", "status": "published", "version": 1}
    )
    assert moved.status_code == 302
    article.refresh_from_db()
    assert article.status == "published" and article.view_count == 1
    refused = client.post(article.get_absolute_url(), {"action": "transition", "status": "in_review"})
    assert refused.status_code == 409 and "Allowed: draft, retired" in refused.content.decode()
    search = client.get("/knowledge/search/?q=jams").content.decode()
    assert article.number in search and "<mark>jams</mark>" in search


def test_form_errors_name_the_field(client_as, agent):
    response = client_as(agent).post(
        "/knowledge/new/", {"title": "x", "body": "y", "audience": "organisation"}
    )
    assert response.status_code == 400
    assert "Choose the organisation" in response.content.decode()


def test_edit_with_a_stale_version_is_refused(client_as, agent):
    article = make_article(agent)
    client = client_as(agent)
    form = {"title": "New", "body": "Body", "audience": "agents", "version": 1}
    assert client.post(f"/knowledge/{article.pk}/edit/", form).status_code == 302
    stale = client.post(f"/knowledge/{article.pk}/edit/", {**form, "title": "Other"})
    assert stale.status_code == 400 and "changed by someone else" in stale.content.decode()


def test_revisions_and_diff_pages(client_as, agent):
    article = make_article(agent, body="first line\n")
    from knowledge import services

    services.article_update(
        article=article, actor=agent, changes={"body": "first line\n<b>second</b> line\n"}
    )
    client = client_as(agent)
    assert "Compare" in client.get(f"/knowledge/{article.pk}/revisions/").content.decode()
    diff = client.get(f"/knowledge/{article.pk}/diff/?old=1&new=2").content.decode()
    assert "&lt;b&gt;second&lt;/b&gt; line" in diff and "bg-success-subtle" in diff
    assert client.get(f"/knowledge/{article.pk}/diff/?old=x").status_code == 404
    assert client.get(f"/knowledge/{article.pk}/diff/?old=1&new=5").status_code == 404


def test_reader_votes_from_the_page(client_as, agent, end_user):
    article = make_article(agent, status="published", audience="end_users")
    client = client_as(end_user)
    page = client.get(article.get_absolute_url()).content.decode()
    assert "Was this helpful?" in page and "History" not in page
    assert (
        client.post(
            article.get_absolute_url(), {"action": "vote", "helpful": "no", "comment": "Old"}
        ).status_code
        == 302
    )
    assert client.post(article.get_absolute_url(), {"action": "vote", "helpful": "maybe"}).status_code == 400
    article.refresh_from_db()
    assert article.not_helpful_count == 1
    # Readers cannot change the status or add entries.
    client.post(article.get_absolute_url(), {"action": "transition", "status": "retired"})
    article.refresh_from_db()
    assert article.status == "published"
    assert (
        client.post(
            article.get_absolute_url(), {"action": "timeline", "kind": "comment", "body": "x"}
        ).status_code
        == 403
    )


def test_article_from_a_resolved_incident_via_its_panel(client_as, agent):
    incident = make_incident(agent, short_description="Teams camera is black", symptoms="Black video")
    client = client_as(agent)
    assert "Write a knowledge article" not in client.get(incident.get_absolute_url()).content.decode()
    incident_services.incident_resolve(
        incident=incident,
        actor=agent,
        resolution_code="solved_permanently",
        resolution_notes="Allow camera access.",
    )
    page = client.get(incident.get_absolute_url()).content.decode()
    url = re.search(r'id="write-article" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    form = client.get(url).content.decode()
    assert "Pre-filled from incident" in form and "Allow camera access." in form
    response = client.post(
        "/knowledge/new/",
        {
            "title": "Teams camera is black",
            "body": "Allow camera access.",
            "audience": "agents",
            "from_incident": incident.pk,
        },
    )
    assert response.status_code == 302
    article = Article.objects.get(title="Teams camera is black")
    assert RecordLink.objects.filter(source_id=incident.pk, target_id=article.pk).exists()
    assert article.number in client.get(incident.get_absolute_url()).content.decode()
    assert client.get("/knowledge/new/?from_incident=abc").status_code == 400


def test_known_error_page_offers_an_article(client_as, agent):
    from tests.problems.factories import make_known_error

    known_error = make_known_error(agent)
    client = client_as(agent)
    page = client.get(known_error.get_absolute_url()).content.decode()
    assert f"/knowledge/new/?from_known_error={known_error.pk}" in page
    form = client.get(f"/knowledge/new/?from_known_error={known_error.pk}").content.decode()
    assert "Pre-filled from known error" in form and "Quit and restart the VPN client." in form


def test_incident_form_and_page_suggest_matching_articles(client_as, agent):
    article = make_article(
        agent,
        title="Outlook keeps asking for the password",
        body="Remove the cached credentials.",
        status="published",
    )
    make_article(agent, title="Outlook password draft", body="Not yet.")
    client = client_as(agent)
    part = client.get(
        "/incidents/new/part/suggestions/", {"short_description": "outlook asks for password"}, **HTMX
    )
    html = part.content.decode()
    assert f'data-article="{article.number}"' in html and "Why: 3 of 3 words: outlook, asks, password" in html
    assert "Outlook password draft" not in html
    data = client.get("/api/v1/incidents/suggest/", {"text": "outlook password"}).json()
    provider = next(block for block in data["more"] if block["name"] == "knowledge_articles")
    assert provider["items"][0]["number"] == article.number
    incident = make_incident(agent, short_description="Outlook asks for my password every hour")
    assert article.number in client.get(incident.get_absolute_url()).content.decode()


def test_list_and_search_page_query_counts_are_pinned(client_as, agent, django_assert_num_queries):
    """Session, user, roles, the page of articles; the list also reads the filter's categories and
    services, the search ranks ids first and then reads those rows. The same whatever the number of
    rows."""
    client = client_as(agent)
    for index in range(3):
        make_article(agent, title=f"Article {index}", category=CategoryFactory(), status="published")
    for _rows in (3, 9):
        with django_assert_num_queries(6):
            assert client.get("/knowledge/").status_code == 200
        with django_assert_num_queries(6):
            assert client.get("/knowledge/?ordering=-view_count&status=published").status_code == 200
        with django_assert_num_queries(5):
            assert client.get("/knowledge/search/?q=article").status_code == 200
        for index in range(6):
            make_article(agent, title=f"More article {index}", category=CategoryFactory(), status="published")


def test_search_page_with_odd_input(client_as, agent):
    client = client_as(agent)
    assert client.get("/knowledge/search/?q=vpn%00").status_code == 200
    assert client.get("/knowledge/search/?q=" + "x" * 500).status_code == 200
    assert client.get("/knowledge/search/?q=the").status_code == 200  # only a stop word
    assert client.get("/knowledge/search/?q=%22unclosed").status_code == 200
    assert client.get("/knowledge/?q=vpn%00").status_code == 200


def test_related_known_errors_are_linked_from_the_article_page(client_as, agent, end_user):
    from tests.problems.factories import make_known_error

    known_error = make_known_error(agent)
    article = make_article(agent, status="published", audience="end_users")
    client = client_as(agent)
    form = {
        "action": "link_add",
        "target_type": "problems.knownerror",
        "kind": "related",
        "target": known_error.number,
    }
    assert client.post(article.get_absolute_url(), form).status_code == 302
    link = RecordLink.objects.get(source_id=known_error.pk, target_id=article.pk)
    page = client.get(article.get_absolute_url()).content.decode()
    assert known_error.number in page
    assert article.number in client.get(known_error.get_absolute_url()).content.decode()
    again = client.post(article.get_absolute_url(), form)
    assert again.status_code == 400 and "already linked" in again.content.decode()
    missing = client.post(article.get_absolute_url(), {**form, "target": "KE9999999"})
    assert missing.status_code == 400 and "Nothing found" in missing.content.decode()
    # Readers may not link or unlink.
    reader = client_as(end_user)
    reader.post(article.get_absolute_url(), {"action": "link_remove", "id": link.pk})
    assert RecordLink.objects.filter(pk=link.pk).exists()
    client = client_as(agent)
    assert (
        client.post(article.get_absolute_url(), {"action": "link_remove", "id": link.pk}).status_code == 302
    )
    assert not RecordLink.objects.filter(pk=link.pk).exists()


def test_the_form_previews_the_body_sanitised(client_as, agent, end_user):
    response = client_as(agent).post(
        "/knowledge/preview/", {"body": "**hi** <script>alert(1)</script>"}, **HTMX
    )
    assert response.status_code == 200
    assert "<strong>hi</strong>" in response.content.decode() and "script" not in response.content.decode()
    assert (
        "Nothing to preview" in client_as(agent).post("/knowledge/preview/", {"body": " "}).content.decode()
    )
    assert client_as(agent).get("/knowledge/preview/").status_code == 405
    assert client_as(end_user).post("/knowledge/preview/", {"body": "x"}).status_code == 403
