"""Agent pages of incident management: queue (tabs, filters, sorting, keyset pages, saved views, bulk),
the create form and its htmx parts, the incident page's quick actions, edit, review, bridge timeline,
and the caller's confirmation page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from incidents import services, views
from incidents.choices import Status
from incidents.models import Incident, PostIncidentReview, SavedView, SwarmMember
from itsm import refcache, roles
from itsm.models import RecordLink, TimelineEntry
from tests.factories import SupplierFactory, SupportGroupFactory, UserFactory
from tests.incidents.factories import (
    CategoryFactory,
    IntakeQuestionFactory,
    group_with,
    make_incident,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def security_user(db):
    return UserFactory(username="security1", roles=[roles.SECURITY])


@pytest.fixture
def desk(agent):
    return group_with(agent, name="Service desk")


def numbers(response) -> list[str]:
    return [incident.number for incident in response.context["rows"]]


def detail_url(incident) -> str:
    return reverse("incidents:detail", args=[incident.pk])


def post_action(client, incident, action, **data):
    incident.refresh_from_db()
    return client.post(detail_url(incident), {"action": action, "version": incident.version, **data})


# ----------------------------------------------------------------------------------------- access


def test_every_agent_page_renders(client_as, agent, desk):
    incident = make_incident(agent, assignment_group=desk)
    client = client_as(agent)
    for url in [
        "/incidents/",
        "/incidents/major/",
        "/incidents/new/",
        detail_url(incident),
        f"/incidents/{incident.pk}/edit/",
        f"/incidents/{incident.pk}/review/",
        f"/incidents/{incident.pk}/major-timeline/",
        "/incidents/new/part/priority/?impact=1&urgency=1",
        "/incidents/new/part/suggestions/?short_description=printer",
    ]:
        assert client.get(url).status_code == 200, url
    for tab in ["mine", "groups", "unassigned", "major", "open", "all"]:
        assert client.get("/incidents/", {"tab": tab}).status_code == 200, tab


def test_end_user_gets_403_on_agent_pages(client_as, agent, end_user):
    incident = make_incident(agent, caller=end_user)
    client = client_as(end_user)
    for url in [
        "/incidents/",
        "/incidents/major/",
        "/incidents/new/",
        detail_url(incident),
        f"/incidents/{incident.pk}/edit/",
        f"/incidents/{incident.pk}/review/",
        f"/incidents/{incident.pk}/major-timeline/",
        "/incidents/new/part/users/?q=a",
    ]:
        assert client.get(url).status_code == 403, url
    assert client.post(detail_url(incident), {"action": "start"}).status_code == 403
    assert client.post("/incidents/bulk/", {"action": "start", "ids": [incident.pk]}).status_code == 403
    assert client.post("/incidents/new/", {"short_description": "x"}).status_code == 403


def test_security_incident_is_404_for_a_non_security_agent(client_as, agent, security_user):
    incident = make_incident(security_user, is_security=True, short_description="Phishing mail")
    client = client_as(agent)
    for url in [
        detail_url(incident),
        f"/incidents/{incident.pk}/edit/",
        f"/incidents/{incident.pk}/major-timeline/",
    ]:
        assert client.get(url).status_code == 404, url
    assert client.post(detail_url(incident), {"action": "start"}).status_code == 404
    assert incident.number not in client.get("/incidents/", {"tab": "all"}).content.decode()
    client.logout()
    assert client_as(security_user).get(detail_url(incident)).status_code == 200


# ------------------------------------------------------------------------------------------ queue


def test_queue_tabs(client_as, agent, desk):
    other = UserFactory(roles=[roles.AGENT])
    elsewhere = group_with(other)
    mine = make_incident(agent, assignment_group=desk, assignee=agent, short_description="Mine")
    group_unassigned = make_incident(agent, assignment_group=desk, short_description="Desk's")
    theirs = make_incident(agent, assignment_group=elsewhere, assignee=other, short_description="Theirs")
    major = make_incident(agent, assignment_group=elsewhere, short_description="Everything down")
    services.incident_declare_major(
        incident=major, actor=UserFactory(roles=[roles.MANAGER]), reason="All users"
    )
    resolved = make_incident(agent, short_description="Done")
    services.incident_resolve(
        incident=resolved, actor=agent, resolution_code="user_error", resolution_notes="ok"
    )
    client = client_as(agent)

    assert numbers(client.get("/incidents/", {"tab": "mine"})) == [mine.number]
    assert set(numbers(client.get("/incidents/", {"tab": "groups"}))) == {
        mine.number,
        group_unassigned.number,
    }
    assert set(numbers(client.get("/incidents/", {"tab": "unassigned"}))) == {
        group_unassigned.number,
        major.number,
    }
    assert numbers(client.get("/incidents/", {"tab": "major"})) == [major.number]
    assert numbers(client.get("/incidents/major/")) == [major.number]
    open_rows = numbers(client.get("/incidents/"))
    assert set(open_rows) == {mine.number, group_unassigned.number, theirs.number, major.number}
    assert open_rows[0] == major.number  # P1 first
    assert resolved.number in numbers(client.get("/incidents/", {"tab": "all"}))


def test_queue_filters(client_as, agent, desk):
    category = CategoryFactory(name="Printing")
    printer = make_incident(agent, assignment_group=desk, category=category, short_description="Toner empty")
    urgent = make_incident(agent, impact=1, urgency=1, short_description="Payroll run failed")
    started = make_incident(agent, short_description="Laptop slow")
    services.incident_start(incident=started, actor=agent)
    client = client_as(agent)

    assert numbers(client.get("/incidents/", {"status": "in_progress"})) == [started.number]
    assert numbers(client.get("/incidents/", {"priority": "1"})) == [urgent.number]
    assert numbers(client.get("/incidents/", {"group": desk.pk})) == [printer.number]
    assert numbers(client.get("/incidents/", {"category": category.pk})) == [printer.number]
    assert numbers(client.get("/incidents/", {"q": "payroll"})) == [urgent.number]
    assert numbers(client.get("/incidents/", {"caller": "nobody-such"})) == []


def test_invalid_filter_shows_no_rows_and_a_message(client_as, agent):
    make_incident(agent)
    response = client_as(agent).get("/incidents/", {"priority": "9"})
    assert response.status_code == 200
    assert numbers(response) == []
    assert response.context["filter_invalid"]
    assert "A filter is not valid" in response.content.decode()


def test_queue_query_count_is_constant(
    client_as, agent, desk, django_assert_num_queries, django_assert_max_num_queries
):
    client = client_as(agent)
    SavedView.objects.create(user=agent, name="P1", query="priority=1")
    for index in range(5):
        make_incident(
            agent, assignment_group=desk, assignee=agent, caller=agent, short_description=f"Few {index}"
        )
    client.get("/incidents/")
    # Cold: the select options (agents, groups, services...) read again, one query per list.
    refcache.clear_all()
    with django_assert_max_num_queries(20) as few:
        response = client.get("/incidents/")
    baseline = len(few.captured_queries)
    assert len(response.context["rows"]) == 5
    # Warm: the options come from the process's cache.
    with django_assert_max_num_queries(baseline - 6):
        client.get("/incidents/")
    for index in range(25):
        group = group_with(agent)
        category = CategoryFactory()
        make_incident(
            agent,
            assignment_group=group,
            assignee=agent,
            caller=UserFactory(),
            service=None,
            category=category,
            # subcategory choices are labelled "Category › Sub": their parents must not be read one by one
            subcategory=CategoryFactory(parent=category),
            short_description=f"Many {index}",
        )
    refcache.clear_all()
    with django_assert_num_queries(baseline):
        response = client.get("/incidents/")
    assert len(response.context["rows"]) == 30
    assert f'value="{group.pk}"' in response.content.decode()  # the new rows are among the options
    refcache.clear_all()
    with django_assert_num_queries(baseline):
        client.get("/incidents/", {"tab": "mine", "q": "many"})


def test_sorting_and_keyset_pages(client_as, agent, monkeypatch):
    monkeypatch.setattr(views.Queue, "page_size", 2)
    made = [make_incident(agent, short_description=f"Row {index}") for index in range(5)]
    client = client_as(agent)
    first = client.get("/incidents/", {"ordering": "number"})
    assert numbers(first) == [made[0].number, made[1].number]
    assert first.context["previous_url"] is None
    second = client.get(first.context["next_url"])
    assert numbers(second) == [made[2].number, made[3].number]
    third = client.get(second.context["next_url"])
    assert numbers(third) == [made[4].number]
    assert third.context["next_url"] is None
    back = client.get(third.context["previous_url"])
    assert numbers(back) == [made[2].number, made[3].number]
    newest = client.get("/incidents/", {"ordering": "-created_at"})
    assert numbers(newest) == [made[4].number, made[3].number]
    assert numbers(client.get("/incidents/", {"cursor": "garbage"})) == [made[0].number, made[1].number]
    everything = client.get("/incidents/", {"tab": "all"})
    assert numbers(everything) == [made[4].number, made[3].number]
    assert numbers(client.get(everything.context["next_url"])) == [made[2].number, made[1].number]


def test_htmx_filter_request_gets_the_table_only(client_as, agent):
    incident = make_incident(agent)
    response = client_as(agent).get("/incidents/", {"q": "printer"}, HTTP_HX_TARGET="queue-results", **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="queue-results"')
    assert incident.number in html and "<html" not in html


def test_saved_views(client_as, agent):
    other = UserFactory(roles=[roles.AGENT])
    theirs = SavedView.objects.create(user=other, name="Theirs", query="priority=2")
    client = client_as(agent)
    response = client.post("/incidents/views/", {"name": "My P1s", "query": "tab=open&priority=1"})
    view = SavedView.objects.get(user=agent)
    assert response.url == "/incidents/?tab=open&priority=1"
    page = client.get("/incidents/").content.decode()
    assert "My P1s" in page and "Theirs" not in page
    htmx = client.get("/incidents/", {"tab": "mine", "priority": "2"}, HTTP_HX_TARGET="queue-results", **HTMX)
    assert 'name="query" value="tab=mine&amp;priority=2" form="save-view"' in htmx.content.decode()
    client.post("/incidents/views/", {"name": "My P1s", "query": "x=1"})
    assert SavedView.objects.filter(user=agent).count() == 1
    assert client.post(f"/incidents/views/{theirs.pk}/delete/").status_code == 404
    client.post(f"/incidents/views/{view.pk}/delete/")
    assert not SavedView.objects.filter(user=agent).exists()
    assert SavedView.objects.filter(pk=theirs.pk).exists()


def test_bulk_assign_reports_each_failure(client_as, agent, desk):
    first = make_incident(agent)
    second = make_incident(agent)
    cancelled = make_incident(agent)
    services.incident_cancel(incident=cancelled, actor=agent, reason="Raised twice")
    client = client_as(agent)
    response = client.post(
        "/incidents/bulk/",
        {
            "action": "assign",
            "ids": [first.pk, second.pk, cancelled.pk],
            "group": desk.pk,
            "assignee": agent.pk,
        },
        follow=True,
    )
    page = response.content.decode()
    assert f"Assign: done for {first.number}, {second.number}." in page
    assert f"Assign: {cancelled.number} failed:" in page and "cancelled" in page
    first.refresh_from_db()
    assert first.assignment_group == desk and first.assignee == agent


def test_bulk_resolve_and_missing_selection(client_as, agent):
    incident = make_incident(agent)
    client = client_as(agent)
    page = client.post("/incidents/bulk/", {"action": "start"}, follow=True).content.decode()
    assert "Tick the incidents first." in page
    page = client.post(
        "/incidents/bulk/", {"action": "resolve", "ids": [incident.pk], "resolution_code": ""}, follow=True
    ).content.decode()
    assert f"{incident.number} failed" in page
    client.post(
        "/incidents/bulk/",
        {"action": "resolve", "ids": [incident.pk], "resolution_code": "user_error", "notes": "Explained"},
    )
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED


# ----------------------------------------------------------------------------------------- create


@pytest.fixture
def script():
    category = CategoryFactory(name="Network")
    sub = CategoryFactory(name="Wi-Fi", parent=category)
    connected = IntakeQuestionFactory(
        category=category,
        text="Is the cable plugged in?",
        kind="yes_no",
        required=True,
        order=1,
        fix_on_answer="no",
        fix_text="Plug the cable in.",
    )
    where = IntakeQuestionFactory(category=sub, text="Which building?", order=1)
    return {"category": category, "sub": sub, "connected": connected, "where": where}


def test_create_with_intake_script(client_as, agent, end_user, desk, script):
    client = client_as(agent)
    base = {
        "caller": end_user.username,
        "channel": "phone",
        "category": script["category"].pk,
        "subcategory": script["sub"].pk,
        "environment": "production",
        "impact": 3,
        "urgency": 2,
        "assignment_group": desk.pk,
        "short_description": "No network in room 4",
    }
    missing = client.post("/incidents/new/", base)
    assert missing.status_code == 400
    form = missing.context["form"]
    assert "needs an answer" in " ".join(form.errors[f"answer_{script['connected'].pk}"])
    assert not Incident.objects.exists()

    response = client.post(
        "/incidents/new/",
        {**base, f"answer_{script['connected'].pk}": "yes", f"answer_{script['where'].pk}": "B2"},
    )
    incident = Incident.objects.get()
    assert response.url == detail_url(incident)
    assert incident.caller == end_user and incident.contact_email == end_user.email
    assert incident.priority == 3
    assert [a["answer"] for a in incident.intake_answers] == ["yes", "B2"]
    assert "Is the cable plugged in?" in client.get(detail_url(incident)).content.decode()


def test_create_shows_service_errors_on_fields(client_as, agent, script):
    client = client_as(agent)
    stranger = UserFactory(roles=[roles.AGENT])
    group = SupportGroupFactory()
    response = client.post(
        "/incidents/new/",
        {
            "channel": "phone",
            "environment": "production",
            "impact": 4,
            "urgency": 4,
            "short_description": "x",
            "assignment_group": group.pk,
            "assignee": stranger.pk,
        },
    )
    assert response.status_code == 400
    assert "is not a member of" in " ".join(response.context["form"].errors["assignee"])
    response = client.post("/incidents/new/", {"caller": "nobody", "short_description": ""})
    assert response.status_code == 400
    assert {"caller", "short_description"} <= set(response.context["form"].errors)


def test_classification_part_follows_category_and_suggests_a_fix(client_as, agent, script):
    client = client_as(agent)
    url = "/incidents/new/part/classification/"
    html = client.get(url, {"category": script["category"].pk}, **HTMX).content.decode()
    assert "Wi-Fi" in html and "Is the cable plugged in?" in html and "Which building?" not in html
    html = client.get(
        url, {"category": script["category"].pk, "subcategory": script["sub"].pk}, **HTMX
    ).content.decode()
    assert "Which building?" in html and "Known fix" not in html
    html = client.get(
        url, {"category": script["category"].pk, f"answer_{script['connected'].pk}": "no"}, **HTMX
    ).content.decode()
    assert "Known fix" in html and "Plug the cable in." in html


def test_suggestions_partial(client_as, agent, desk):
    category = CategoryFactory(name="E-mail")
    for _ in range(2):
        old = make_incident(
            agent, category=category, assignment_group=desk, short_description="Outlook crashes on start"
        )
        services.incident_resolve(
            incident=old, actor=agent, resolution_code="solved_permanently", resolution_notes="Repaired"
        )
    similar = make_incident(agent, short_description="Outlook crashes when opening")
    major = make_incident(agent, short_description="Outlook down for everyone")
    services.incident_declare_major(
        incident=major, actor=UserFactory(roles=[roles.MANAGER]), reason="Everyone"
    )
    html = (
        client_as(agent)
        .get("/incidents/new/part/suggestions/", {"short_description": "outlook crashes"}, **HTMX)
        .content.decode()
    )
    assert similar.number in html and major.number in html
    assert html.index(major.number) < html.index(similar.number)
    assert "Recommended" in html and "E-mail" in html and desk.name in html
    assert "2 of the 2 most similar resolved incidents" in html
    assert "Apply category" in html and "Apply group" in html


def test_small_parts(client_as, agent, desk):
    from tests.configuration.factories import CIFactory

    client = client_as(agent)
    assert "P1" in client.get("/incidents/new/part/priority/", {"impact": 1, "urgency": 1}).content.decode()
    html = client.get("/incidents/new/part/assignment/", {"assignment_group": desk.pk}).content.decode()
    assert f'value="{agent.pk}"' in html
    ci = CIFactory(name="srv-mail-01")
    html = client.get("/incidents/new/part/cis/", {"ci_add": ci.number}).content.decode()
    assert f'name="cis" value="{ci.pk}"' in html
    html = client.get("/incidents/new/part/cis/", {"cis": [ci.pk], "ci_remove": ci.pk}).content.decode()
    assert f'value="{ci.pk}"' not in html
    assert "No CI" in client.get("/incidents/new/part/cis/", {"ci_add": "nope"}).content.decode()
    assert agent.username in client.get("/incidents/new/part/users/", {"caller": "agent"}).content.decode()
    assert client.get("/incidents/new/part/nothing/").status_code == 404
    vip = UserFactory(username="boss", first_name="Big", last_name="Boss", is_vip=True, phone="+41 1")
    html = client.get("/incidents/new/part/caller/", {"caller": "boss"}).content.decode()
    assert "Big Boss" in html and "VIP" in html and "+41 1" in html and vip.email in html
    assert (
        "No active person" in client.get("/incidents/new/part/caller/", {"caller": "ghost"}).content.decode()
    )


# ----------------------------------------------------------------------------------------- detail


def test_only_allowed_actions_are_offered(client_as, agent):
    incident = make_incident(agent)
    client = client_as(agent)
    html = client.get(detail_url(incident)).content.decode()
    assert 'value="start"' in html and 'id="toggle-resolve"' in html and 'id="toggle-reopen"' not in html
    assert 'id="toggle-declare_major"' not in html  # an agent may not declare one
    services.incident_resolve(
        incident=incident, actor=agent, resolution_code="user_error", resolution_notes="ok"
    )
    html = client.get(detail_url(incident)).content.decode()
    assert 'id="toggle-reopen"' in html and 'value="close"' in html
    assert (
        'value="start"' not in html and 'id="toggle-resolve"' not in html and 'id="toggle-assign"' not in html
    )


def test_lifecycle_actions_and_their_refusals(client_as, agent, desk):
    incident = make_incident(agent, assignment_group=desk)
    client = client_as(agent)

    assert post_action(client, incident, "start").status_code == 302
    incident.refresh_from_db()
    assert incident.status == Status.IN_PROGRESS
    refused = post_action(client, incident, "start")
    assert refused.status_code == 409 and "Cannot change status" in refused.content.decode()

    missing = post_action(client, incident, "hold")
    assert missing.status_code == 400 and "Say why it waits" in missing.content.decode()
    assert post_action(client, incident, "hold", hold_reason="awaiting_user").status_code == 302
    incident.refresh_from_db()
    assert incident.status == Status.ON_HOLD

    missing = post_action(client, incident, "resolve", resolution_code="user_error")
    assert missing.status_code == 400 and "Say what was done" in missing.content.decode()
    assert missing.context["open_action"] == "resolve"
    post_action(client, incident, "resolve", resolution_code="user_error", resolution_notes="Showed how")
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED

    assert post_action(client, incident, "reopen").status_code == 400
    post_action(client, incident, "reopen", reason="Still broken")
    incident.refresh_from_db()
    assert incident.status == Status.IN_PROGRESS and incident.reopen_count == 1

    post_action(client, incident, "resolve", resolution_code="user_error", resolution_notes="Again")
    assert post_action(client, incident, "close").status_code == 302
    incident.refresh_from_db()
    assert incident.status == Status.CLOSED
    refused = post_action(client, incident, "cancel", reason="x")
    assert refused.status_code == 409 and "Allowed: none" in refused.content.decode()


def test_stale_version_is_a_conflict(client_as, agent):
    incident = make_incident(agent)
    client = client_as(agent)
    response = client.post(detail_url(incident), {"action": "start", "version": incident.version - 1})
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()


def test_cancel_needs_a_reason(client_as, agent):
    incident = make_incident(agent)
    client = client_as(agent)
    assert "Say why." in post_action(client, incident, "cancel").content.decode()
    post_action(client, incident, "cancel", reason="Raised by mistake")
    incident.refresh_from_db()
    assert incident.status == Status.CANCELLED


def test_assign_and_escalate(client_as, agent, desk):
    second_line = SupportGroupFactory(name="Second line")
    desk.escalation_group = second_line
    desk.manager = UserFactory(roles=[roles.MANAGER])
    desk.save()
    incident = make_incident(agent)
    client = client_as(agent)
    post_action(client, incident, "assign", group=desk.pk, assignee=agent.pk)
    incident.refresh_from_db()
    assert incident.assignee == agent
    refused = post_action(client, incident, "assign", group=desk.pk, assignee=agent.pk)
    assert refused.status_code == 409 and "already with" in refused.content.decode()

    assert (
        "Say why it is escalated"
        in post_action(client, incident, "escalate", kind="functional").content.decode()
    )
    post_action(client, incident, "escalate", kind="functional", reason="Needs network skills")
    incident.refresh_from_db()
    assert incident.assignment_group == second_line and incident.assignee is None
    post_action(
        client,
        incident,
        "escalate",
        kind="supplier",
        supplier=SupplierFactory().pk,
        reason="Hardware",
        supplier_reference="CASE-1",
    )
    incident.refresh_from_db()
    assert incident.supplier_reference == "CASE-1"
    html = client.get(detail_url(incident)).content.decode()
    assert "Functional escalation" in html and "Needs network skills" in html


def test_declare_major_needs_the_role_and_shows_swarm_and_updates(client_as, agent, manager):
    incident = make_incident(agent)
    refused = post_action(client_as(agent), incident, "declare_major", reason="Everyone down")
    assert refused.status_code == 403 and "needs the major incident manager" in refused.content.decode()
    client = client_as(manager)
    assert post_action(client, incident, "declare_major").status_code == 400
    post_action(client, incident, "declare_major", reason="Everyone down", update_cadence_minutes=15)
    incident.refresh_from_db()
    assert incident.is_major and incident.priority == 1

    helper = UserFactory(username="netlead", roles=[roles.AGENT])
    assert "Say what they do" in post_action(client, incident, "swarm_add", user="netlead").content.decode()
    post_action(client, incident, "swarm_add", user="netlead", role="Network lead")
    html = client.get(detail_url(incident)).content.decode()
    assert "Network lead" in html and "Every 15 minutes" in html
    refused = post_action(client, incident, "swarm_add", user="netlead", role="Again")
    assert refused.status_code == 409
    client.post(detail_url(incident), {"action": "swarm_remove", "id": helper.pk})
    assert not SwarmMember.objects.filter(incident=incident, removed_at__isnull=True).exists()
    timeline = client.get(f"/incidents/{incident.pk}/major-timeline/").content.decode()
    assert "Declared a major incident" in timeline


def test_review_of_a_resolved_major_incident(client_as, manager):
    incident = make_incident(manager)
    services.incident_declare_major(incident=incident, actor=manager, reason="All down")
    client = client_as(manager)
    url = f"/incidents/{incident.pk}/review/"
    assert "once it is resolved" in client.get(url).content.decode()
    services.incident_resolve(
        incident=incident, actor=manager, resolution_code="solved_workaround", resolution_notes="Failover"
    )
    assert "Post-incident review" in client.get(detail_url(incident)).content.decode()
    assert client.post(url, {"what_happened": ""}).status_code == 400
    response = client.post(url, {"what_happened": "Disk full", "problem_requested": "on", "complete": "on"})
    assert response.status_code == 302
    review = PostIncidentReview.objects.get(incident=incident)
    assert review.problem_requested and review.completed_at is not None
    assert "Disk full" in client.get(url).content.decode()


def test_flag_security_hides_it_from_the_agent(client_as, agent, security_user):
    incident = make_incident(agent)
    client = client_as(agent)
    assert post_action(client, incident, "flag_security").status_code == 400
    response = post_action(client, incident, "flag_security", reason="Malware found")
    assert response.url == reverse("incidents:queue")
    assert client.get(detail_url(incident)).status_code == 404
    client.logout()
    html = client_as(security_user).get(detail_url(incident)).content.decode()
    assert "Remove security flag" in html


def test_parent_merge_update_and_links(client_as, agent, end_user):
    parent = make_incident(agent, short_description="Mail server down")
    child = make_incident(agent, caller=end_user, short_description="Cannot send mail")
    client = client_as(agent)
    assert (
        "No incident numbered"
        in post_action(client, child, "set_parent", parent="INC999999").content.decode()
    )
    post_action(client, child, "set_parent", parent=parent.number)
    child.refresh_from_db()
    assert child.parent == parent
    assert child.number in client.get(detail_url(parent)).content.decode()

    response = post_action(
        client,
        child,
        "update",
        kind="work_note",
        body="Checked the queue",
        actions_planned="Restart the MTA",
        involved=agent.username,
    )
    assert response.status_code == 302
    entry = TimelineEntry.objects.filter(object_id=child.pk, kind="work_note").get()
    assert entry.fields == {"actions_planned": "Restart the MTA"} and list(entry.involved.all()) == [agent]
    assert "Actions planned" in client.get(detail_url(child)).content.decode()
    assert "Write something" in post_action(client, child, "update", kind="comment").content.decode()

    other = make_incident(agent, short_description="Printer jam")
    response = post_action(
        client, child, "link_add", target_type="incidents.incident", kind="related", target=other.number
    )
    assert response.status_code == 302, response.context["link_form"].errors
    assert RecordLink.objects.count() == 1
    refused = post_action(
        client, child, "link_add", target_type="incidents.incident", kind="related", target=other.number
    )
    assert refused.status_code == 409
    client.post(detail_url(child), {"action": "link_remove", "id": RecordLink.objects.get().pk})
    assert not RecordLink.objects.exists()

    response = post_action(client, child, "merge", survivor=parent.number, reason="Same outage")
    assert response.url == detail_url(parent)
    child.refresh_from_db()
    assert child.status == Status.CLOSED and child.duplicate_of == parent
    refused = post_action(client, child, "merge", survivor=parent.number)
    assert refused.status_code == 409


def test_detail_query_count_does_not_grow_with_its_rows(
    client_as, agent, desk, django_assert_num_queries, django_assert_max_num_queries
):
    from itsm import services as kernel

    incident = make_incident(agent, assignment_group=desk)
    services.incident_comment(incident=incident, actor=agent, body="First", public=False, involved=[agent])
    kernel.link_add(source=incident, target=make_incident(agent), actor=agent)  # one query per linked type
    client = client_as(agent)
    url = detail_url(incident)
    client.get(url)
    with django_assert_max_num_queries(60) as few:
        client.get(url)
    baseline = len(few.captured_queries)
    for index in range(6):
        services.incident_comment(
            incident=incident,
            actor=agent,
            body=f"Note {index}",
            public=bool(index % 2),
            fields={"actions_planned": "more"},
            involved=[agent, UserFactory(roles=[roles.AGENT])],
        )
        services.incident_set_parent(
            incident=make_incident(agent, short_description=f"Child {index}"), actor=agent, parent=incident
        )
        kernel.link_add(source=incident, target=make_incident(agent), actor=agent)
    for group in (SupportGroupFactory(), SupportGroupFactory()):
        services.incident_assign(incident=incident, actor=agent, group=group)
    with django_assert_num_queries(baseline):
        response = client.get(url)
    assert len(response.context["children"]) == 6 and len(response.context["links"]) == 7


# ------------------------------------------------------------------------------------------- edit


def test_edit_needs_a_reason_for_a_priority_change_and_detects_a_stale_version(client_as, agent):
    incident = make_incident(agent, impact=4, urgency=4)
    client = client_as(agent)
    url = f"/incidents/{incident.pk}/edit/"
    form = client.get(url).context["form"]
    data = {key: value for key, value in form.initial.items() if value is not None and key != "cis"}
    data.update(impact=1, urgency=1, category="", subcategory="", service="")
    response = client.post(url, data)
    assert response.status_code == 400
    assert "say why" in " ".join(response.context["form"].errors["reason"])
    response = client.post(url, {**data, "reason": "Whole floor affected"})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.priority == 1
    stale = client.post(url, {**data, "short_description": "Changed", "reason": "x"})
    assert stale.status_code == 400
    assert "Someone else saved this incident" in stale.content.decode()


# ----------------------------------------------------------------------------------------- caller


def test_caller_confirms_or_rejects_the_resolution(client_as, agent, end_user, other_end_user):
    incident = make_incident(agent, caller=end_user, short_description="VPN drops")
    services.incident_comment(incident=incident, actor=agent, body="Looking into it", public=True)
    services.incident_comment(incident=incident, actor=agent, body="Secret note", public=False)
    url = reverse("incidents:confirm", args=[incident.pk])
    client = client_as(end_user)
    html = client.get(url).content.decode()
    assert "Looking into it" in html and "Secret note" not in html and "Yes, it is solved" not in html
    services.incident_resolve(
        incident=incident,
        actor=agent,
        resolution_code="solved_permanently",
        resolution_notes="New VPN profile",
    )
    html = client.get(url).content.decode()
    assert "New VPN profile" in html and "Yes, it is solved" in html
    assert client.post(url, {"action": "reject", "reason": ""}).status_code == 400
    client.post(url, {"action": "reject", "reason": "Dropped again"})
    incident.refresh_from_db()
    assert incident.status == Status.IN_PROGRESS and incident.confirmation == "rejected"
    services.incident_resolve(
        incident=incident, actor=agent, resolution_code="solved_permanently", resolution_notes="Fixed"
    )
    client.post(url, {"action": "confirm"})
    incident.refresh_from_db()
    assert incident.status == Status.CLOSED and incident.confirmation == "confirmed"
    assert client.post(url, {"action": "confirm"}).status_code == 400
    client.logout()
    assert client_as(other_end_user).get(url).status_code == 404
    client.logout()
    assert client_as(agent).get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_numbers_are_linked_in_the_queue(client_as, agent):
    incident = make_incident(agent)
    html = client_as(agent).get("/incidents/").content.decode()
    assert re.search(rf'href="{detail_url(incident)}"[^>]*>{incident.number}<', html)


JUNK = ["", "x", "-1", "99999999999999999999", "\x00"]
QUEUE_PARAMS = [
    "status",
    "priority",
    "group",
    "assignee",
    "service",
    "ci",
    "category",
    "age",
    "q",
    "ordering",
    "cursor",
    "tab",
    "created_after",
    "ci_class",
    "ci_attr",
    "caller",
]
PART_PARAMS = [
    "category",
    "subcategory",
    "assignment_group",
    "impact",
    "urgency",
    "short_description",
    "service",
    "exclude",
    "cis",
    "ci_add",
    "ci_remove",
]
ACTION_PARAMS = [
    "version",
    "hold_reason",
    "reason",
    "resolution_code",
    "group",
    "assignee",
    "kind",
    "supplier",
    "incident_manager",
    "parent",
    "update_cadence_minutes",
    "survivor",
    "user",
    "role",
    "id",
    "target_type",
    "target",
    "involved",
    "body",
]
PARTS = ["classification", "assignment", "priority", "suggestions", "cis", "users", "caller"]


def test_junk_input_is_never_a_500(client_as, agent, manager, desk):
    incident = make_incident(agent, assignment_group=desk)
    actions = [*views.ACTION_FORMS, "link_add", "link_remove", "swarm_remove", "nonsense", "attach"]
    for user in (agent, manager):  # the manager may declare a major incident
        client = client_as(user)
        for value in JUNK:
            if user == agent:
                for name in QUEUE_PARAMS:
                    assert client.get("/incidents/", {name: value}).status_code == 200, (name, value)
                for part in PARTS:
                    response = client.get(f"/incidents/new/part/{part}/", dict.fromkeys(PART_PARAMS, value))
                    assert response.status_code == 200, (part, value)
                response = client.post(
                    "/incidents/new/", {"short_description": value, "impact": value, "caller": value}
                )
                assert response.status_code == 400
                bulk = {"action": value, "ids": [value], "group": value, "assignee": value}
                assert client.post("/incidents/bulk/", bulk).status_code == 302
            for action in actions:
                data = {"action": action, **dict.fromkeys(ACTION_PARAMS, value)}
                response = client.post(detail_url(incident), data)
                assert response.status_code in (200, 302, 400, 403, 404, 409), (action, value)
            edit = {"version": value, "impact": value}
            # 404 once a junk "flag_security" made it a security incident.
            assert client.post(f"/incidents/{incident.pk}/edit/", edit).status_code in (400, 404)
        client.logout()


def test_status_and_priority_filters_make_no_distinct(client_as, agent):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_incident(agent)
    client = client_as(agent)
    with CaptureQueriesContext(connection) as queries_run:
        assert client.get("/incidents/?tab=open&status=new&priority=4").status_code == 200
    page = [q["sql"] for q in queries_run.captured_queries if 'FROM "incidents_incident"' in q["sql"]]
    assert page and not any("DISTINCT" in sql for sql in page)


# The queue's rows as the template drew them before ``incident_queue.queue_rows`` took over: the
# Python version must give the same markup.
TEMPLATE_ROWS = """{% load incident_badges %}
  {% for i in rows %}
    <tr{% if i.is_major %} class="table-danger"{% endif %}>
      <td class="text-center"><input class="form-check-input" type="checkbox" name="ids" value="{{ i.pk }}" form="bulk-form" id="pick-{{ i.pk }}" aria-label="Select {{ i.number }}"></td>
      <td class="text-nowrap"><a href="{{ i.get_absolute_url }}" hx-boost="false">{{ i.number }}</a>{% if i.is_major %} <span class="badge text-bg-danger" title="Major incident"><i class="bi bi-exclamation-octagon" aria-hidden="true"></i> Major</span>{% endif %}{% if i.is_security %} <span class="badge text-bg-dark" title="Security incident"><i class="bi bi-shield-lock" aria-hidden="true"></i><span class="visually-hidden">Security</span></span>{% endif %}</td>
      <td>{% priority_badge i.priority %}</td>
      <td>{{ i.short_description|truncatechars:90 }}{% if i.caller %}<div class="small text-body-secondary">{{ i.caller }}</div>{% endif %}</td>
      <td>{% status_badge i %}{% if i.hold_reason %}<div class="small text-body-secondary">{{ i.get_hold_reason_display }}</div>{% endif %}</td>
      <td class="text-nowrap small">{% if i.due_risk == "overdue" %}<span class="badge text-bg-danger" title="Resolution due {{ i.resolve_due_at }}">overdue {{ i.resolve_due_at|timesince }}</span>{% elif i.due_risk == "soon" %}<span class="badge text-bg-warning" title="Resolution due {{ i.resolve_due_at }}">in {{ i.resolve_due_at|timeuntil }}</span>{% elif i.due_risk == "ok" %}<time datetime="{{ i.resolve_due_at|date:'c' }}" title="{{ i.resolve_due_at }}">in {{ i.resolve_due_at|timeuntil }}</time>{% elif i.due_risk == "paused" %}<span class="text-body-secondary">paused</span>{% endif %}{% if i.breach_prediction %} <span class="badge text-bg-warning" title="{{ i.breach_prediction.why }}"><i class="bi bi-graph-down-arrow" aria-hidden="true"></i> likely to breach<span class="visually-hidden">: {{ i.breach_prediction.why }}</span></span>{% endif %}</td>
      <td>{{ i.assignment_group.name|default:"" }}</td>
      <td>{{ i.assignee|default:"" }}</td>
      <td>{{ i.service.name|default:"" }}</td>
      <td class="text-nowrap small"><time datetime="{{ i.created_at|date:'c' }}" title="{{ i.created_at }}">{{ i.created_at|timesince }} ago</time></td>
      <td class="text-nowrap small"><time datetime="{{ i.updated_at|date:'c' }}" title="{{ i.updated_at }}">{{ i.updated_at|timesince }} ago</time></td>
    </tr>
  {% endfor %}
"""


def _markup(html: str) -> str:
    return re.sub(r">\s+<", "><", html).strip()


def test_queue_rows_drawn_in_python_match_the_template(client_as, agent, end_user):
    import datetime
    from types import SimpleNamespace

    from django.template import Context, Template
    from django.utils import timezone

    group = SupportGroupFactory(name="Network & <Core>")
    group.members.add(agent)
    for index in range(6):
        make_incident(
            agent,
            short_description=f"VPN drops <b>every</b> hour & reconnects {index} " + "x" * (index * 20),
            caller=end_user if index % 2 else None,
            assignment_group=group if index % 2 else None,
            assignee=agent if index % 2 else None,
        )
    response = client_as(agent).get(reverse("incidents:queue") + "?tab=open")
    rows = response.context["rows"]
    assert len(rows) == 6
    now = timezone.now()
    variants = [
        ("overdue", now - datetime.timedelta(hours=3)),
        ("soon", now + datetime.timedelta(minutes=40)),
        ("ok", now + datetime.timedelta(days=2)),
        ("paused", now + datetime.timedelta(days=1)),
        (None, None),
        ("ok", now + datetime.timedelta(hours=5)),
    ]
    for row, (risk, due) in zip(rows, variants, strict=True):
        row.due_risk, row.resolve_due_at = risk, due
    rows[0].is_major = rows[1].is_security = True
    rows[2].hold_reason = "awaiting_user"
    rows[3].breach_prediction = SimpleNamespace(why='3 h left, "median" 5 h <for P2>')
    context = Context({"rows": rows})
    expected = Template(TEMPLATE_ROWS).render(context)
    drawn = Template("{% load incident_queue %}{% queue_rows rows %}").render(context)
    assert _markup(drawn) == _markup(expected)
    assert "&lt;b&gt;every&lt;/b&gt;" in drawn and "likely to breach" in drawn
