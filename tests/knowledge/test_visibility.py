"""Who reads what: agents every article; end users only published ones written for end users or for
their own organisation; retired ones only agents. Proved through the page, the API, the knowledge
search, the global search, attachments and the self-help API."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from itsm import roles
from itsm import services as kernel_services
from itsm.search import global_search
from knowledge import queries
from knowledge.models import Article
from tests.factories import OrganisationFactory, UserFactory
from tests.knowledge.factories import make_article

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(agent):
    """One article per case, all with the word 'zebrafix' so every search finds all of them."""
    mine, other = OrganisationFactory(name="Mine"), OrganisationFactory(name="Other")
    reader = UserFactory(username="reader", roles=[roles.END_USER], organisation=mine)
    body = "Use zebrafix to repair the printer."
    articles = {
        "public": make_article(
            agent, title="Public zebrafix", body=body, status="published", audience="end_users"
        ),
        "own_org": make_article(
            agent,
            title="Mine zebrafix",
            body=body,
            status="published",
            audience="organisation",
            organisation=mine,
        ),
        "other_org": make_article(
            agent,
            title="Other zebrafix",
            body=body,
            status="published",
            audience="organisation",
            organisation=other,
        ),
        "agents": make_article(
            agent, title="Agents zebrafix", body=body, status="published", audience="agents"
        ),
        "draft": make_article(agent, title="Draft zebrafix", body=body, audience="end_users"),
        "in_review": make_article(
            agent, title="Review zebrafix", body=body, status="in_review", audience="end_users"
        ),
        "retired": make_article(
            agent, title="Retired zebrafix", body=body, status="retired", audience="end_users"
        ),
    }
    for article in articles.values():
        kernel_services.attachment_add(
            record=article, upload=SimpleUploadedFile("steps.txt", b"steps"), actor=agent
        )
    return reader, articles


VISIBLE = {"public", "own_org"}


def test_visible_to_by_audience_and_status(world, agent, end_user):
    reader, articles = world
    assert set(Article.objects.visible_to(agent)) == set(articles.values())
    assert {a.pk for a in Article.objects.visible_to(reader)} == {articles[k].pk for k in VISIBLE}
    # An end user without an organisation sees only the articles for every end user.
    assert {a.pk for a in Article.objects.visible_to(end_user)} == {articles["public"].pk}
    from django.contrib.auth.models import AnonymousUser

    assert not Article.objects.visible_to(AnonymousUser()).exists()


def test_end_user_pages(world, client_as):
    reader, articles = world
    client = client_as(reader)
    for name, article in articles.items():
        response = client.get(f"/knowledge/{article.pk}/")
        assert response.status_code == (200 if name in VISIBLE else 404), name
    listing = client.get("/knowledge/").content.decode()
    search = client.get("/knowledge/search/?q=zebrafix").content.decode()
    for name, article in articles.items():
        assert (article.number in listing) == (name in VISIBLE), name
        assert (article.number in search) == (name in VISIBLE), name
    # Writing is for staff.
    assert client.get("/knowledge/new/").status_code == 403
    assert client.get(f"/knowledge/{articles['public'].pk}/edit/").status_code == 403
    assert client.get(f"/knowledge/{articles['public'].pk}/revisions/").status_code == 403


def test_end_user_api(world, api_as):
    reader, articles = world
    client = api_as(reader)
    listed = {row["number"] for row in client.get("/api/v1/knowledge/articles/").json()["results"]}
    searched = {
        row["number"] for row in client.get("/api/v1/knowledge/articles/?q=zebrafix").json()["results"]
    }
    for name, article in articles.items():
        expected = name in VISIBLE
        assert client.get(f"/api/v1/knowledge/articles/{article.pk}/").status_code == (
            200 if expected else 404
        )
        assert (article.number in listed) == expected, name
        assert (article.number in searched) == expected, name
        vote = client.post(f"/api/v1/knowledge/articles/{article.pk}/vote/", {"helpful": True}, format="json")
        assert vote.status_code == (200 if expected else 404), name
    public = articles["public"].pk
    for path in ("revisions/", "diff/", "history/", "timeline/", "attachments/"):
        assert client.get(f"/api/v1/knowledge/articles/{public}/{path}").status_code == 403, path
    assert (
        client.post("/api/v1/knowledge/articles/", {"title": "x", "body": "y"}, format="json").status_code
        == 403
    )
    assert (
        client.patch(f"/api/v1/knowledge/articles/{public}/", {"title": "x"}, format="json").status_code
        == 403
    )
    assert (
        client.post(
            f"/api/v1/knowledge/articles/{public}/transition/", {"status": "retired"}, format="json"
        ).status_code
        == 403
    )


def test_end_user_searches(world):
    reader, articles = world
    found = {result.article.pk for result in queries.search(reader, "zebrafix", status=None)}
    assert found == {articles[k].pk for k in VISIBLE}
    hits = [hit.title for group in global_search(reader, "zebrafix") for hit in group.hits]
    for name, article in articles.items():
        assert any(article.number in title for title in hits) == (name in VISIBLE), name
    suggested = {m.article.pk for m in queries.suggest(reader, {"text": "zebrafix printer"})}
    assert suggested == {articles[k].pk for k in VISIBLE}


def test_end_user_attachments(world, client_as, api_as):
    from itsm.models import Attachment

    reader, articles = world
    client, api = client_as(reader), api_as(reader)
    for name, article in articles.items():
        attachment = Attachment.objects.get(object_id=article.pk, content_type__model="article")
        expected = 200 if name in VISIBLE else 404
        assert client.get(f"/attachments/{attachment.pk}/download/").status_code == expected, name
        assert api.get(f"/api/v1/attachments/{attachment.pk}/download/").status_code == expected, name


def test_agents_see_every_status_but_suggestions_only_published(world, agent):
    _, articles = world
    suggested = {m.article.pk for m in queries.suggest(agent, {"text": "zebrafix"}, limit=20)}
    published = {"public", "own_org", "other_org", "agents"}
    assert suggested == {articles[k].pk for k in published}
    everything = {r.article.pk for r in queries.search(agent, "zebrafix", status=None)}
    assert everything == {a.pk for a in articles.values()}


def test_readers_are_not_told_who_owns_an_article(world, api_as, client_as, agent):
    reader, articles = world
    row = api_as(reader).get(f"/api/v1/knowledge/articles/{articles['public'].pk}/").json()
    assert row["owner"] is None
    assert (
        api_as(agent).get(f"/api/v1/knowledge/articles/{articles['public'].pk}/").json()["owner"]["id"]
        == agent.pk
    )
    listing = client_as(reader).get("/knowledge/").content.decode()
    assert "Owner" not in listing and agent.get_full_name() not in listing
