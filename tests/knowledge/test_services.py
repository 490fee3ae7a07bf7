"""Articles through the services: lifecycle, revisions and their diff, votes, views, self-help,
drafts from incidents and known errors."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents import services as incident_services
from itsm.exceptions import StaleVersion, TransitionNotAllowed
from itsm.models import ChangeRecord, Notification, RecordLink
from knowledge import queries, services, sources
from knowledge.models import Article, ArticleRevision, PortalVisit, SelfHelpResolution
from tests.configuration.factories import service_ci
from tests.factories import OrganisationFactory
from tests.incidents.factories import make_incident
from tests.knowledge.factories import make_article

pytestmark = pytest.mark.django_db


def test_create_writes_a_draft_with_revision_one_history_and_owner(agent):
    article = make_article(agent, title="VPN after sleep")
    assert article.number.startswith("KB") and article.status == "draft"
    assert article.owner == agent and article.created_by == agent
    revision = ArticleRevision.objects.get(article=article)
    assert (revision.number, revision.title, revision.author) == (1, "VPN after sleep", agent)
    assert Article.objects.get(pk=article.pk).revision_count == 1
    change = ChangeRecord.objects.get(object_id=article.pk, content_type__model="article")
    assert change.changes["title"]["new"] == "VPN after sleep" and change.changes["revision"]["new"] == 1


def test_organisation_audience_names_the_organisation(agent):
    with pytest.raises(ValidationError) as error:
        make_article(agent, audience="organisation")
    assert "organisation" in error.value.message_dict
    org = OrganisationFactory()
    article = make_article(agent, audience="organisation", organisation=org)
    assert article.organisation == org
    # Another audience drops the organisation instead of keeping a misleading value.
    article = services.article_update(article=article, actor=agent, changes={"audience": "end_users"})
    assert article.organisation is None


def test_services_must_be_services(agent):
    with pytest.raises(ValidationError) as error:
        from tests.configuration.factories import CIFactory

        make_article(agent, services=[CIFactory(name="db-01")])
    assert "services" in error.value.message_dict


def test_every_text_change_is_a_revision_and_other_changes_are_not(agent, manager):
    article = make_article(agent, body="line one\nline two\n")
    article = services.article_update(
        article=article, actor=manager, changes={"body": "line one\nline 2\nline three\n"}, note="Clearer"
    )
    assert article.revision_count == 2 and article.version == 2
    article = services.article_update(article=article, actor=agent, changes={"review_by": "2027-01-31"})
    assert article.revision_count == 2 and article.version == 3
    # The same values again: nothing happens.
    same = services.article_update(
        article=article, actor=agent, changes={"body": "line one\nline 2\nline three\n"}
    )
    assert same.version == 3
    revisions = list(queries.revisions(article))
    assert [r.number for r in revisions] == [2, 1]
    assert (revisions[0].author, revisions[0].note) == (manager, "Clearer")
    change = ChangeRecord.objects.filter(object_id=article.pk, content_type__model="article").order_by("id")[
        1
    ]
    assert change.changes["revision"] == {"old": 1, "new": 2} and change.reason == "Clearer"


def test_diff_between_two_revisions(agent):
    article = make_article(agent, title="Old title", body="keep\nremove me\n")
    article = services.article_update(
        article=article, actor=agent, changes={"title": "New title", "body": "keep\nadded line\n"}
    )
    old, new = queries.revision_pair(article, "1", "2")
    lines = {(line.kind, line.text) for line in queries.revision_diff(old, new)}
    assert ("removed", "# Old title") in lines and ("added", "# New title") in lines
    assert ("removed", "remove me") in lines and ("added", "added line") in lines
    assert ("context", "keep") in lines


def test_revision_pair_refuses_bad_numbers(agent):
    from django.http import Http404

    article = make_article(agent)
    with pytest.raises(ValidationError) as error:
        queries.revision_pair(article, "x", None)
    assert "old" in error.value.message_dict
    with pytest.raises(Http404):
        queries.revision_pair(article, "1", "7")


def test_stale_version_is_refused(agent):
    article = make_article(agent)
    services.article_update(article=article, actor=agent, changes={"title": "Changed"})
    with pytest.raises(StaleVersion):
        services.article_update(article=article, actor=agent, changes={"title": "Mine"}, expected_version=1)


@pytest.mark.parametrize(
    ("path", "refused", "allowed"),
    [
        (["published"], "in_review", ["draft", "retired"]),
        (["published", "retired"], "published", ["draft"]),
        (["in_review"], "in_review", None),  # the same status again: a no-op
    ],
)
def test_transitions_allowed_and_refused(agent, path, refused, allowed):
    article = make_article(agent)
    for status in path:
        article = services.article_transition(article=article, actor=agent, to=status)
    if allowed is None:
        again = services.article_transition(article=article, actor=agent, to=refused)
        assert again.version == article.version
        return
    with pytest.raises(TransitionNotAllowed) as error:
        services.article_transition(article=article, actor=agent, to=refused)
    assert error.value.extra["allowed"] == allowed


def test_publishing_sets_the_date_needs_a_summary_and_is_on_the_timeline(agent):
    article = make_article(agent, summary="")
    with pytest.raises(ValidationError) as error:
        services.article_transition(article=article, actor=agent, to="published")
    assert "summary" in error.value.message_dict
    article = services.article_update(article=article, actor=agent, changes={"summary": "Short"})
    article = services.article_transition(article=article, actor=agent, to="published", note="Checked")
    assert article.published_at is not None
    from itsm.queries import timeline_for

    assert any("draft → published" in entry.body for entry in timeline_for(article, agent))
    with pytest.raises(ValidationError):
        services.article_transition(article=article, actor=agent, to="gone")


def test_one_vote_per_reader_changeable_with_counters(agent, end_user, other_end_user):
    article = make_article(agent, status="published", audience="end_users")
    services.article_vote(article=article, user=end_user, helpful=True)
    services.article_vote(article=article, user=other_end_user, helpful=True)
    article.refresh_from_db()
    assert (article.helpful_count, article.not_helpful_count) == (2, 0)
    vote = services.article_vote(article=article, user=end_user, helpful=False, comment="Step 3 is missing")
    article.refresh_from_db()
    assert (article.helpful_count, article.not_helpful_count) == (1, 1)
    assert article.votes.count() == 2 and vote.comment == "Step 3 is missing"
    # The owner is told about the comment once, even when the same vote is sent again.
    services.article_vote(article=article, user=end_user, helpful=False, comment="Step 3 is missing")
    assert Notification.objects.filter(recipient=agent, kind="knowledge.feedback").count() == 1
    article.refresh_from_db()
    assert (article.helpful_count, article.not_helpful_count) == (1, 1)
    assert article.helpful_share == 50


def test_views_are_counted(agent):
    article = make_article(agent)
    services.article_record_view(article=article)
    services.article_record_view(article=article)
    article.refresh_from_db()
    assert article.view_count == 2 and article.version == 1


def test_self_help_records_an_article_the_user_may_read(agent, end_user):
    published = make_article(agent, status="published", audience="end_users")
    record = services.self_help_record(user=end_user, article=published, query="forgot password")
    assert (record.source, record.article, record.query) == ("article", published, "forgot password")
    draft = make_article(agent)
    with pytest.raises(ValidationError) as error:
        services.self_help_record(user=end_user, article=draft)
    assert "article" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.self_help_record(user=end_user)
    assert list(SelfHelpResolution.objects.visible_to(end_user)) == [record]


def test_self_help_with_a_known_error(agent, end_user):
    from tests.problems.factories import make_known_error

    known_error = make_known_error(agent)
    record = services.self_help_record(user=end_user, known_error=known_error, query="vpn")
    assert (record.source, record.known_error_id, record.known_error_number) == (
        "known_error",
        known_error.pk,
        known_error.number,
    )


def test_draft_from_a_resolved_incident_and_the_link(agent):
    service = service_ci("Payroll")
    incident = make_incident(
        agent,
        short_description="Payslips show last month",
        symptoms="Old figures on the payslip",
        service=service,
    )
    with pytest.raises(ValidationError) as error:
        sources.draft_from_incident(agent, incident.pk)
    assert "from_incident" in error.value.message_dict
    incident = incident_services.incident_resolve(
        incident=incident,
        actor=agent,
        resolution_code="solved_permanently",
        resolution_notes="Cleared the cache.",
    )
    draft = sources.draft_from_incident(agent, incident.pk)
    assert draft.initial["title"] == "Payslips show last month"
    assert "## Symptoms\n\nOld figures on the payslip" in draft.initial["body"]
    assert "## Resolution\n\nCleared the cache." in draft.initial["body"]
    assert draft.initial["services"] == [service.pk]
    article = services.article_create(actor=agent, fields=draft.initial, link_to=draft.source)
    assert RecordLink.objects.filter(source_id=incident.pk, target_id=article.pk).exists()


def test_draft_from_an_incident_the_user_may_not_see(agent, end_user):
    incident = make_incident(agent)
    with pytest.raises(ValidationError):
        sources.draft_from_incident(end_user, incident.pk)
    with pytest.raises(ValidationError):
        sources.draft_from_incident(agent, "abc")


def test_draft_from_a_known_error(agent):
    from tests.problems.factories import make_known_error

    known_error = make_known_error(agent, root_cause="Power saving drops the tunnel")
    draft = sources.draft_from_known_error(agent, known_error.pk)
    body = draft.initial["body"]
    assert "## Symptoms\n\nVPN disconnects when the laptop wakes from sleep" in body
    assert "## Cause\n\nPower saving drops the tunnel" in body
    assert "## Workaround: Reconnect\n\nQuit and restart the VPN client." in body
    assert draft.source == known_error


def test_reviews_due_tell_the_owner_once_per_date(agent, manager):
    import datetime

    from knowledge.tasks import reviews_due

    due = make_article(agent, status="published", owner=manager, review_by=datetime.date(2026, 1, 1))
    make_article(agent, status="published", review_by=datetime.date(2999, 1, 1))
    make_article(agent, review_by=datetime.date(2026, 1, 1))  # a draft: not reviewed yet
    assert reviews_due() == 1
    assert reviews_due() == 1  # a second run tells nobody again
    told = Notification.objects.filter(kind="knowledge.review_due")
    assert [(n.recipient, n.key) for n in told] == [(manager, f"article:{due.pk}:review:2026-01-01")]


def test_self_help_counts_for_dashboards(agent, end_user, other_end_user):
    from tests.problems.factories import make_known_error

    article = make_article(agent, status="published", audience="end_users")
    known_error = make_known_error(agent)
    services.self_help_record(user=end_user, article=article)
    services.self_help_record(user=other_end_user, article=article)
    services.self_help_record(user=end_user, known_error=known_error)
    counts = queries.self_help_counts(agent)
    assert counts[0] == {"source": "article", "article_id": article.pk, "known_error_number": "", "count": 2}
    assert counts[1]["known_error_number"] == known_error.number and counts[1]["count"] == 1
    assert sum(row["count"] for row in queries.self_help_counts(other_end_user)) == 1


def test_the_owner_is_staff(agent, end_user):
    with pytest.raises(ValidationError) as error:
        make_article(agent, owner=end_user)
    assert "owner" in error.value.message_dict


def test_admin_keeps_categories_with_history(client_as, admin_user):
    from people.models import User

    User.objects.filter(pk=admin_user.pk).update(is_staff=True, is_superuser=True)
    client = client_as(admin_user)
    assert client.get("/admin/knowledge/category/add/").status_code == 200
    response = client.post(
        "/admin/knowledge/category/add/", {"name": "Printing", "order": 10, "is_active": "on"}
    )
    assert response.status_code == 302
    from knowledge.models import Category

    category = Category.objects.get(name="Printing")
    assert ChangeRecord.objects.filter(object_id=category.pk, content_type__model="category").exists()
    assert client.get("/admin/knowledge/article/").status_code == 200
    assert client.get("/admin/knowledge/selfhelpresolution/").status_code == 200


def test_portal_visits_count_a_user_once_a_day_with_their_hits(end_user, other_end_user, manager):
    morning = timezone.now().replace(hour=9, minute=0)
    for minutes in (0, 5, 30):
        services.portal_visit_record(user=end_user, at=morning + datetime.timedelta(minutes=minutes))
    services.portal_visit_record(user=other_end_user, at=morning)
    services.portal_visit_record(user=end_user, at=morning + datetime.timedelta(days=1))
    mine = PortalVisit.objects.filter(user=end_user).order_by("day")
    assert [(v.hits, v.first_seen_at, v.last_seen_at) for v in mine][0] == (
        3,
        morning,
        morning + datetime.timedelta(minutes=30),
    )
    assert mine.count() == 2 and PortalVisit.objects.count() == 3
    assert PortalVisit.objects.visible_to(manager).count() == 3
    assert PortalVisit.objects.visible_to(end_user).count() == 0
