"""The knowledge API: CRUD, actions, search, categories, self-help; errors name the field; list query
counts pinned."""

import pytest

from incidents import services as incident_services
from itsm.models import RecordLink
from knowledge.models import Article, Category, SelfHelpResolution
from tests.configuration.factories import service_ci
from tests.incidents.factories import make_incident
from tests.knowledge.factories import CategoryFactory, make_article

pytestmark = pytest.mark.django_db
URL = "/api/v1/knowledge/articles/"


def test_create_read_update_with_revisions_and_etag(api_as, agent):
    client = api_as(agent)
    category = CategoryFactory(name="Network")
    service = service_ci("Network")
    created = client.post(
        URL,
        {
            "title": "VPN drops after sleep",
            "summary": "Reconnect the client.",
            "body": "Quit the client.\n<script>alert(1)</script>",
            "category": category.pk,
            "services": [service.pk],
            "audience": "end_users",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["number"].startswith("KB") and data["status"] == "draft" and data["revision_count"] == 1
    assert "<script" not in data["body_html"] and data["services"][0]["name"] == "Network"
    pk = data["id"]
    read = client.get(f"{URL}{pk}/")
    assert read["ETag"] == '"1"' and read.json()["view_count"] == 1
    updated = client.patch(
        f"{URL}{pk}/",
        {"body": "Quit and restart the client.", "note": "Simpler"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert updated.status_code == 200 and updated.json()["revision_count"] == 2
    stale = client.patch(f"{URL}{pk}/", {"title": "Mine"}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    revisions = client.get(f"{URL}{pk}/revisions/").json()
    assert [r["number"] for r in revisions] == [2, 1] and revisions[0]["note"] == "Simpler"
    diff = client.get(f"{URL}{pk}/diff/?old=1&new=2").json()
    assert {"kind": "added", "text": "Quit and restart the client."} in diff["lines"]
    assert client.get(f"{URL}{pk}/diff/").json()["old"] == 1  # default: the last change
    assert client.get(f"{URL}{pk}/").json()["view_count"] == 2


def test_transition_refused_with_the_allowed_ones(api_as, agent):
    client = api_as(agent)
    article = make_article(agent, status="published")
    response = client.post(f"{URL}{article.pk}/transition/", {"status": "in_review"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "transition_not_allowed" and body["allowed"] == ["draft", "retired"]
    ok = client.post(
        f"{URL}{article.pk}/transition/", {"status": "retired", "note": "Old client"}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["status"] == "retired"
    bad = client.post(f"{URL}{article.pk}/transition/", {"status": "gone"}, format="json")
    assert bad.status_code == 400 and "status" in bad.json()["errors"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "x", "body": "y", "audience": "everyone"}, "audience"),
        ({"title": "x", "body": "y", "category": 999999}, "category"),
        ({"title": "x", "body": "y", "category": "abc"}, "category"),
        ({"title": "x", "body": "y", "status": "published"}, "status"),
        ({"title": "x", "body": "y", "audience": "organisation"}, "organisation"),
        ({"title": "", "body": "y"}, "title"),
        ({"title": "x"}, "body"),
        ({"title": "x", "body": "y", "review_by": "soon"}, "review_by"),
        ({"title": "x", "body": "y", "services": [2**40]}, "services"),
        ({"from_incident": 999999}, "from_incident"),
        ({"from_known_error": 999999}, "from_known_error"),
        ({"title": "x\x00", "body": "y"}, "title"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api_as, agent, payload, field):
    response = api_as(agent).post(URL, payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_bad_query_parameters_are_400_or_404(api_as, agent):
    client = api_as(agent)
    article = make_article(agent)
    assert client.get(f"{URL}{article.pk}/diff/?old=abc").status_code == 400
    assert client.get(f"{URL}{article.pk}/diff/?old=1&new=9").status_code == 404
    assert client.get(f"{URL}?status=nope").status_code == 400
    assert client.get(f"{URL}?category=abc").status_code == 400
    assert client.get(f"{URL}?cursor=garbage").status_code == 404
    assert client.get(f"{URL}draft/").status_code == 400
    assert client.get(f"{URL}draft/?incident=abc").status_code == 400
    assert client.get(f"{URL}99999999999/").status_code == 404


def test_create_from_a_resolved_incident_prefills_and_links(api_as, agent):
    client = api_as(agent)
    incident = make_incident(
        agent, short_description="Outlook asks for the password again", symptoms="Prompt loops"
    )
    refused = client.post(URL, {"from_incident": incident.pk}, format="json")
    assert refused.status_code == 400 and "from_incident" in refused.json()["errors"]
    incident_services.incident_resolve(
        incident=incident,
        actor=agent,
        resolution_code="solved_permanently",
        resolution_notes="Removed the old profile.",
    )
    draft = client.get(f"{URL}draft/?incident={incident.pk}").json()
    assert draft["source"] == incident.number and "Removed the old profile." in draft["body"]
    created = client.post(URL, {"from_incident": incident.pk, "audience": "end_users"}, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["title"] == "Outlook asks for the password again" and data["audience"] == "end_users"
    assert RecordLink.objects.filter(source_id=incident.pk, target_id=data["id"]).exists()


def test_create_from_a_known_error(api_as, agent):
    from tests.problems.factories import make_known_error

    known_error = make_known_error(agent)
    created = api_as(agent).post(
        URL, {"from_known_error": known_error.pk, "title": "VPN and sleep"}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert (
        created.json()["title"] == "VPN and sleep"
        and "Quit and restart the VPN client." in created.json()["body"]
    )


def test_votes_one_per_reader(api_as, agent, end_user):
    article = make_article(agent, status="published", audience="end_users")
    client = api_as(end_user)
    first = client.post(f"{URL}{article.pk}/vote/", {"helpful": True}, format="json").json()
    assert (first["helpful_count"], first["not_helpful_count"]) == (1, 0)
    second = client.post(
        f"{URL}{article.pk}/vote/", {"helpful": False, "comment": "Outdated"}, format="json"
    ).json()
    assert (second["helpful_count"], second["not_helpful_count"]) == (0, 1) and second["id"] == first["id"]
    bad = client.post(f"{URL}{article.pk}/vote/", {"helpful": "maybe"}, format="json")
    assert bad.status_code == 400 and "helpful" in bad.json()["errors"]


def test_search_ranks_title_over_summary_over_body_with_snippets(api_as, agent):
    body_only = make_article(
        agent,
        title="Printer help",
        summary="Paper",
        body="Sometimes the kerberos ticket expires.",
        status="published",
    )
    summary = make_article(
        agent, title="Login help", summary="Renew a kerberos ticket", body="Steps.", status="published"
    )
    title = make_article(
        agent, title="Kerberos ticket expired", summary="What to do", body="Steps.", status="published"
    )
    response = api_as(agent).get(f"{URL}?q=kerberos")
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [title.pk, summary.pk, body_only.pk]
    snippet = next(row["snippet"] for row in rows if row["id"] == body_only.pk)
    assert "<mark>kerberos</mark>" in snippet
    # Pages by rank with a cursor: no repeats, nothing lost.
    page = api_as(agent).get(f"{URL}?q=kerberos&page_size=2").json()
    rest = api_as(agent).get(page["next"]).json()
    assert [r["id"] for r in page["results"] + rest["results"]] == [title.pk, summary.pk, body_only.pk]


def test_snippets_escape_what_the_author_wrote(api_as, agent):
    make_article(
        agent, title="Escaping", body='The <b onclick="x()">kerberos</b> & "ticket"', status="published"
    )
    snippet = api_as(agent).get(f"{URL}?q=kerberos").json()["results"][0]["snippet"]
    assert "onclick" not in snippet and "<b>" not in snippet and "<mark>kerberos</mark>" in snippet
    assert "&amp;" in snippet and "&quot;" in snippet


def test_list_query_count_is_pinned_and_constant(api_as, agent, end_user, django_assert_num_queries):
    for index in range(3):
        make_article(
            agent,
            title=f"Article {index} kerberos",
            status="published",
            audience="end_users",
            category=CategoryFactory(),
        )
    for user in (agent, end_user):
        client = api_as(user)
        with django_assert_num_queries(3):
            client.get(URL)
        # Searching reads the page's categories and owners apart (not joined before the ranking).
        with django_assert_num_queries(5):
            client.get(f"{URL}?q=kerberos")
    for index in range(5):
        make_article(
            agent, title=f"More {index}", status="published", audience="end_users", category=CategoryFactory()
        )
    client = api_as(agent)
    with django_assert_num_queries(3):
        client.get(URL)


def test_categories_read_by_everyone_written_by_admins(api_as, agent, end_user, admin_user):
    CategoryFactory(name="Accounts")
    assert [c["name"] for c in api_as(end_user).get("/api/v1/knowledge/categories/").json()] == ["Accounts"]
    assert (
        api_as(agent).post("/api/v1/knowledge/categories/", {"name": "Mail"}, format="json").status_code
        == 403
    )
    created = api_as(admin_user).post("/api/v1/knowledge/categories/", {"name": "Mail"}, format="json")
    assert created.status_code == 201 and Category.objects.filter(name="Mail").exists()
    duplicate = api_as(admin_user).post("/api/v1/knowledge/categories/", {"name": "Mail"}, format="json")
    assert duplicate.status_code == 400 and "name" in duplicate.json()["errors"]


def test_self_help_api(api_as, agent, end_user, other_end_user):
    article = make_article(agent, status="published", audience="end_users")
    draft = make_article(agent)
    client = api_as(end_user)
    created = client.post(
        "/api/v1/knowledge/self-help/", {"article": article.pk, "query": "password"}, format="json"
    )
    assert created.status_code == 201 and created.json()["source"] == "article"
    refused = client.post("/api/v1/knowledge/self-help/", {"article": draft.pk}, format="json")
    assert refused.status_code == 400 and "article" in refused.json()["errors"]
    neither = client.post("/api/v1/knowledge/self-help/", {}, format="json")
    assert neither.status_code == 400
    assert api_as(other_end_user).get("/api/v1/knowledge/self-help/").json()["results"] == []
    assert len(api_as(agent).get("/api/v1/knowledge/self-help/").json()["results"]) == 1
    assert SelfHelpResolution.objects.count() == 1


def test_self_help_with_a_published_known_error_only(api_as, agent, end_user, manager):
    from problems import services as problem_services
    from tests.problems.factories import make_known_error

    known_error = make_known_error(agent)
    client = api_as(end_user)
    refused = client.post("/api/v1/knowledge/self-help/", {"known_error": known_error.pk}, format="json")
    assert refused.status_code == 400 and "known_error" in refused.json()["errors"]
    problem_services.known_error_update(
        known_error=known_error,
        actor=manager,
        changes={"publish_to_portal": True, "public_text": "Restart the VPN client after sleep."},
    )
    created = client.post("/api/v1/knowledge/self-help/", {"known_error": known_error.pk}, format="json")
    assert created.status_code == 201 and created.json()["known_error_number"] == known_error.number


def test_articles_are_never_deleted(api_as, admin_user, agent):
    article = make_article(agent)
    assert api_as(admin_user).delete(f"{URL}{article.pk}/").status_code == 405
    assert Article.objects.filter(pk=article.pk).exists()


def test_nul_characters_are_a_400_not_a_500(api_as, agent):
    client = api_as(agent)
    response = client.get(f"{URL}?q=vpn%00")
    assert response.status_code == 400 and "q" in response.json()["errors"]
    article = make_article(agent)
    vote = client.post(f"{URL}{article.pk}/vote/", {"helpful": True, "comment": "a\x00b"}, format="json")
    assert vote.status_code == 400 and "comment" in vote.json()["errors"]
