"""The incidents REST API: list and filters, create with routing and intake answers, edits with
optimistic locking, every action allowed and refused, security visibility, major incidents, links,
suggestions, bulk, reference data and saved views."""

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from configuration import services as cmdb
from configuration.models import CIClass
from incidents import services
from incidents.api.pagination import KeysetCursorPagination
from incidents.choices import TRANSITIONS, QuestionKind, Status
from incidents.filters import IncidentFilterSet
from incidents.models import Incident, PriorityMatrixEntry, SavedView
from itsm import roles
from itsm.api.serializers import TimelineEntryCreateSerializer
from itsm.models import Notification, RecordLink, TimelineEntry
from tests.factories import SupplierFactory, SupportGroupFactory, UserFactory
from tests.incidents.factories import (
    CategoryFactory,
    IntakeQuestionFactory,
    RoutingRuleFactory,
    group_with,
    make_incident,
)

pytestmark = pytest.mark.django_db

API = "/api/v1/incidents/"


def url(incident, action=""):
    return f"{API}{incident.pk}/" + (f"{action}/" if action else "")


def resolved(incident, actor):
    return services.incident_resolve(
        incident=incident, actor=actor, resolution_code="solved_workaround", resolution_notes="Restarted"
    )


@pytest.fixture
def desk(agent):
    return group_with(agent, name="Service desk")


@pytest.fixture
def security_agent(db):
    return UserFactory(username="sec1", roles=[roles.AGENT, roles.SECURITY])


@pytest.fixture
def incident_manager(db):
    return UserFactory(username="mim1", roles=[roles.AGENT, roles.INCIDENT_MANAGER])


# -- list and detail ---------------------------------------------------------------------------


def test_list_is_lean_newest_first_and_filtered(api_as, agent, desk):
    first = make_incident(agent, short_description="Printer jams", assignment_group=desk, assignee=agent)
    second = make_incident(agent, short_description="VPN down", impact=1, urgency=1)
    response = api_as(agent).get(API)
    assert response.status_code == 200
    rows = response.data["results"]
    assert [row["number"] for row in rows] == [second.number, first.number]
    assert rows[1]["assignment_group_name"] == "Service desk"
    assert rows[1]["assignee_name"] == agent.get_full_name()
    assert "description" not in rows[0] and "next" in response.data
    only_p1 = api_as(agent).get(API, {"priority": 1}).data["results"]
    assert [row["number"] for row in only_p1] == [second.number]
    by_text = api_as(agent).get(API, {"q": "printer"}).data["results"]
    assert [row["number"] for row in by_text] == [first.number]
    by_priority = api_as(agent).get(API, {"ordering": "priority"}).data["results"]
    assert [row["number"] for row in by_priority] == [second.number, first.number]


def test_bad_filter_is_400_naming_it(api_as, agent):
    response = api_as(agent).get(API, {"group": "999999", "status": "sleeping"})
    assert response.status_code == 400
    assert {"group", "status"} <= set(response.data["errors"])


@pytest.mark.parametrize("ordering", ["priority", "-priority", "created_at", "-id"])
def test_cursor_pages_through_ties_both_ways(api_as, agent, monkeypatch, ordering):
    # DRF's own cursor counts an offset among equal values, capped at offset_cutoff: with more ties
    # than that, pages would repeat. The keyset cursor (value, id) needs no offset.
    monkeypatch.setattr(KeysetCursorPagination, "offset_cutoff", 1)
    made = [make_incident(agent, impact=4, urgency=3) for _ in range(6)]
    made.append(make_incident(agent, impact=1, urgency=1))
    client = api_as(agent)
    forward, page = [], client.get(API, {"ordering": ordering, "page_size": 2})
    while True:
        forward += [row["id"] for row in page.data["results"]]
        if not page.data["next"]:
            break
        page = client.get(page.data["next"])
    assert sorted(forward) == sorted(i.pk for i in made) and len(forward) == 7
    backward = [row["id"] for row in page.data["results"]]
    while page.data["previous"]:
        page = client.get(page.data["previous"])
        backward = [row["id"] for row in page.data["results"]] + backward
    assert backward == forward


def test_tampered_cursor_is_404_not_500(api_as, agent):
    make_incident(agent)
    for position in ("abc|1", "2|x", "nothing"):
        cursor = base64.b64encode(f"p={position}".encode()).decode()
        response = api_as(agent).get(API, {"ordering": "priority", "cursor": cursor})
        assert response.status_code == 404, position


def _grow(actor, group, count):
    service = cmdb.ci_create(actor=None, ci_class=CIClass.objects.get(slug="business-service"), name="Mail")
    caller = UserFactory(roles=[roles.END_USER])
    for n in range(count):
        make_incident(
            actor,
            short_description=f"Mail bounces {n}",
            caller=caller,
            service=service,
            assignment_group=group,
            assignee=actor,
        )


def test_list_query_count_is_pinned_and_constant(api_as, agent, desk, django_assert_num_queries):
    client = api_as(agent)
    _grow(agent, desk, 5)
    # token, roles, the page, then by id its callers, assignees, groups and services (one query
    # each, not joins: see queries.LIST_RELATIONS): the same for 5 rows as for 30.
    with django_assert_num_queries(7):
        assert len(client.get(API).data["results"]) == 5
    _grow(agent, desk, 25)
    with django_assert_num_queries(7):
        assert len(client.get(API).data["results"]) == 30


def test_detail_has_etag_and_everything(api_as, agent, desk):
    incident = make_incident(agent, assignment_group=desk, description="Since this morning")
    response = api_as(agent).get(url(incident))
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    data = response.data
    assert data["description"] == "Since this morning" and data["status"] == "new"
    assert data["allowed_transitions"] == sorted(TRANSITIONS[Status.NEW])
    assert data["assignment_group_name"] == "Service desk" and data["swarm"] == []


def test_detail_query_count_is_pinned(api_as, agent, desk, incident_manager, django_assert_num_queries):
    server = cmdb.ci_create(actor=None, ci_class=CIClass.objects.get(slug="server"), name="srv-1")
    incident = make_incident(agent, assignment_group=desk, cis=[server], watchers=[agent])
    client = api_as(agent)
    # token, roles, the incident with its joins, CIs, their classes, watchers, swarm, SLA clocks
    with django_assert_num_queries(8):
        assert client.get(url(incident)).status_code == 200
    more = [
        cmdb.ci_create(actor=None, ci_class=CIClass.objects.get(slug="server"), name=f"srv-{n}")
        for n in (2, 3)
    ]
    services.incident_update(incident=incident, actor=agent, changes={"cis": [server, *more]})
    services.incident_declare_major(incident=incident, actor=incident_manager, reason="All users")
    for n in range(3):
        services.swarm_add(
            incident=incident, actor=incident_manager, user=UserFactory(roles=[roles.AGENT]), role=f"r{n}"
        )
    with django_assert_num_queries(8):
        data = client.get(url(incident)).data
    assert len(data["cis_summary"]) == 3 and len(data["swarm"]) == 3


def test_history_and_attachments_of_an_incident(api_as, agent):
    incident = make_incident(agent)
    client = api_as(agent)
    client.patch(url(incident), {"description": "More"})
    history = client.get(url(incident, "history")).data["results"]
    assert [change["action"] for change in history] == ["update", "create"]
    upload = client.post(
        url(incident, "attachments"), {"file": SimpleUploadedFile("log.txt", b"x")}, format="multipart"
    )
    assert upload.status_code == 201
    assert [a["filename"] for a in client.get(url(incident, "attachments")).data] == ["log.txt"]


def test_unknown_or_malformed_id_is_404(api_as, agent):
    assert api_as(agent).get(f"{API}999999/").status_code == 404
    assert api_as(agent).get(f"{API}abc/").status_code == 404


def test_end_user_cannot_use_the_incident_api(api_as, end_user, agent):
    incident = make_incident(agent, caller=end_user)
    assert api_as(end_user).get(url(incident)).status_code == 403
    assert api_as(end_user).get(API).status_code == 403


def test_delete_is_not_offered(api_as, admin_user, agent):
    assert api_as(admin_user).delete(url(make_incident(agent))).status_code == 405


# -- create --------------------------------------------------------------------------------------


def test_create_prioritises_and_routes(api_as, agent):
    network = CategoryFactory(name="Network")
    team = SupportGroupFactory(name="Network team")
    RoutingRuleFactory(category=network, assignment_group=team)
    watcher = UserFactory(roles=[roles.END_USER])
    response = api_as(agent).post(
        API,
        {
            "short_description": "Switch down on floor 3",
            "category": network.pk,
            "impact": 2,
            "urgency": 1,
            "watchers": [watcher.pk],
        },
    )
    assert response.status_code == 201, response.data
    data = response.data
    assert data["number"].startswith("INC") and data["priority"] == 2 and data["version"] == 1
    assert data["assignment_group"] == team.pk and data["channel"] == "api"
    assert data["watchers"] == [watcher.pk]
    assert response["ETag"] == '"1"'
    incident = Incident.objects.get(pk=data["id"])
    assert incident.hops.get().kind == "routed" and incident.created_by == agent


def test_create_answers_what_a_read_answers(api_as, agent, desk):
    """The create's answer is built from what the service wrote, not read back: it must equal a GET,
    including the order of CIs and watchers and the SLA clocks."""
    from servicelevels.demo import load_demo

    load_demo()
    server = CIClass.objects.get(slug="server")
    cis = [cmdb.ci_create(actor=None, ci_class=server, name=name) for name in ("zeta-01", "alpha-01")]
    watchers = [UserFactory(username=name, roles=[roles.END_USER]) for name in ("zoe", "adam")]
    client = api_as(agent)
    response = client.post(
        API,
        {
            "short_description": "Both servers unreachable",
            "cis": [ci.pk for ci in cis],
            "watchers": [user.pk for user in watchers],
            "assignment_group": desk.pk,
            "assignee": agent.pk,
            "impact": 2,
            "urgency": 2,
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    read = client.get(f"{API}{response.data['id']}/").data
    assert response.data["cis"] == [cis[1].pk, cis[0].pk] and response.data["watchers"] == [
        watchers[1].pk,
        watchers[0].pk,
    ]
    assert len(read["service_levels"]) >= 2
    for key in read:
        if key != "service_levels":
            assert response.data[key] == read[key], key
    moving = ("elapsed_seconds", "remaining_seconds", "percent", "percent_used")

    def still(clocks):
        return [{key: value for key, value in clock.items() if key not in moving} for clock in clocks]

    assert still(response.data["service_levels"]) == still(read["service_levels"])


def test_create_with_intake_answers(api_as, agent):
    vpn = CategoryFactory(name="VPN")
    required = IntakeQuestionFactory(category=vpn, order=1, kind=QuestionKind.YES_NO, required=True)
    where = IntakeQuestionFactory(category=vpn, order=2, kind=QuestionKind.CHOICE, choices=["Home", "Office"])
    client = api_as(agent)
    questions = client.get(f"{API}intake-questions/", {"category": vpn.pk})
    assert [q["id"] for q in questions.data] == [required.pk, where.pk]
    missing = client.post(
        API, {"short_description": "VPN", "category": vpn.pk, "answers": {str(where.pk): "Home"}}
    )
    assert missing.status_code == 400
    assert f"answer_{required.pk}" in missing.data["errors"]
    ok = client.post(
        API,
        {
            "short_description": "VPN",
            "category": vpn.pk,
            "answers": {str(required.pk): "yes", str(where.pk): "Office"},
        },
    )
    assert ok.status_code == 201, ok.data
    assert [a["answer"] for a in ok.data["intake_answers"]] == ["yes", "Office"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "short_description"),
        ({"short_description": "x", "impact": 9}, "impact"),
        ({"short_description": "x", "category": "abc"}, "category"),
        ({"short_description": "x", "cis": "not a list"}, "cis"),
        ({"short_description": "x", "answers": ["a"]}, "answers"),
        ({"short_description": "x", "answers": {"not-a-question": "a"}}, "answers"),
        ({"short_description": "x", "status": "resolved"}, "status"),
        ({"short_description": "x", "contact_email": "nope"}, "contact_email"),
    ],
)
def test_create_bad_input_is_400_naming_the_field(api_as, agent, body, field):
    response = api_as(agent).post(API, body)
    assert response.status_code == 400, response.data
    assert field in response.data["errors"]


def test_create_refuses_a_subcategory_as_category_and_a_non_service(api_as, agent):
    hardware = CategoryFactory(name="Hardware")
    laptop = CategoryFactory(name="Laptop", parent=hardware)
    server = cmdb.ci_create(actor=None, ci_class=CIClass.objects.get(slug="server"), name="srv-9")
    response = api_as(agent).post(
        API, {"short_description": "x", "category": laptop.pk, "service": server.pk}
    )
    assert response.status_code == 400
    assert {"category", "service"} <= set(response.data["errors"])


# -- batch create ---------------------------------------------------------------------------------

BATCH = f"{API}batch/"


def test_batch_logs_each_incident_as_a_single_create_would(api_as, agent, desk):
    network = CategoryFactory(name="Network")
    team = SupportGroupFactory(name="Network team")
    RoutingRuleFactory(category=network, assignment_group=team)
    caller, watcher = UserFactory(roles=[roles.END_USER]), UserFactory(roles=[roles.END_USER])
    items = [
        {"short_description": "Switch down on floor 3", "category": network.pk, "impact": 2, "urgency": 1},
        {"short_description": "Printer jams", "caller": caller.pk, "watchers": [watcher.pk, caller.pk]},
        {
            "short_description": "Mail slow",
            "assignment_group": desk.pk,
            "assignee": agent.pk,
            "channel": "email",
        },
    ]
    response = api_as(agent).post(BATCH, {"incidents": items}, format="json")
    assert response.status_code == 201, response.data
    made = response.data["incidents"]
    assert response.data["count"] == 3 and [row["number"][:3] for row in made] == ["INC"] * 3
    first, second, third = (Incident.objects.get(pk=row["id"]) for row in made)
    assert made[0]["url"].endswith(f"/api/v1/incidents/{first.pk}/")
    assert (first.priority, first.assignment_group, first.hops.get().kind) == (2, team, "routed")
    assert first.channel == "api" and first.created_by == agent
    assert second.contact_name == caller.get_full_name() and set(second.watchers.all()) == {watcher, caller}
    assert (third.assignee, third.channel, third.responded_at is not None) == (agent, "email", True)
    for incident in (first, second, third):
        assert TimelineEntry.objects.filter(object_id=incident.pk, body__startswith="Logged via").count() == 1
    # The same detail as any incident.
    detail = api_as(agent).get(url(first)).data
    assert detail["number"] == made[0]["number"] and detail["assignment_group"] == team.pk


def test_batch_is_all_or_none_and_names_the_refused_item(api_as, agent):
    hardware = CategoryFactory(name="Hardware")
    laptop = CategoryFactory(name="Laptop", parent=hardware)
    before = Incident.objects.count()
    good = {"short_description": "Fine"}
    # Refused by the request's shape: every bad item is named.
    response = api_as(agent).post(
        BATCH,
        {"incidents": [good, {"short_description": "x", "caller": 999999}, good, {"impact": 9}]},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.data["errors"]) == {
        "incidents[1].caller",
        "incidents[3].short_description",
        "incidents[3].impact",
    }
    # Refused by the service after two were written: none is kept.
    response = api_as(agent).post(
        BATCH, {"incidents": [good, good, {"short_description": "x", "category": laptop.pk}]}, format="json"
    )
    assert response.status_code == 400 and "incidents[2].category" in response.data["errors"]
    assert Incident.objects.count() == before


@pytest.mark.parametrize(
    "body",
    [{}, {"incidents": []}, {"incidents": "many"}, {"incidents": [1, 2]}, [{"short_description": "x"}]],
)
def test_batch_shape_errors_are_400(api_as, agent, body):
    response = api_as(agent).post(BATCH, body, format="json")
    assert response.status_code == 400 and "incidents" in response.data["errors"]


def test_batch_limit_is_413_and_end_users_are_refused(api_as, agent, end_user, settings):
    settings.INCIDENT_BATCH_MAX = 2
    items = [{"short_description": f"Item {index}"} for index in range(3)]
    response = api_as(agent).post(BATCH, {"incidents": items}, format="json")
    assert response.status_code == 413 and "at most 2" in response.data["detail"]
    response = api_as(end_user).post(BATCH, {"incidents": items[:1]}, format="json")
    assert response.status_code == 403
    assert Incident.objects.count() == 0


def test_batch_reads_the_named_rows_once_not_per_item(api_as, agent, desk):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    category = CategoryFactory(name="Access")
    callers = [UserFactory(roles=[roles.END_USER]) for _ in range(6)]
    client = api_as(agent)

    def queries_for(count: int) -> int:
        items = [
            {"short_description": f"Locked out {index}", "caller": callers[index].pk, "category": category.pk}
            for index in range(count)
        ]
        with CaptureQueriesContext(connection) as captured:
            assert client.post(BATCH, {"incidents": items}, format="json").status_code == 201
        return len(captured)

    single_create = queries_for(1)
    per_item = (queries_for(6) - queries_for(2)) / 4
    # An item costs its writes only: the caller and the category were read once for the batch.
    assert per_item <= single_create - 4, (per_item, single_create)


def test_create_with_assignee_outside_the_group_is_400(api_as, agent, desk):
    other = UserFactory(roles=[roles.AGENT])
    response = api_as(agent).post(
        API, {"short_description": "x", "assignment_group": desk.pk, "assignee": other.pk}
    )
    assert response.status_code == 400 and "assignee" in response.data["errors"]


# -- edit and optimistic locking ---------------------------------------------------------------


def test_priority_change_needs_a_reason(api_as, agent):
    incident = make_incident(agent, impact=1, urgency=1)
    client = api_as(agent)
    refused = client.patch(url(incident), {"impact": 4})
    assert refused.status_code == 400 and "reason" in refused.data["errors"]
    done = client.patch(url(incident), {"impact": 4, "reason": "One user only"})
    assert done.status_code == 200, done.data
    assert done.data["priority"] == 3 and done.data["version"] == 2 and done["ETag"] == '"2"'


def test_patch_refuses_action_fields(api_as, agent, desk):
    incident = make_incident(agent)
    response = api_as(agent).patch(url(incident), {"assignment_group": desk.pk, "status": "closed"})
    assert response.status_code == 400
    assert {"assignment_group", "status"} <= set(response.data["errors"])


def test_stale_version_is_409_by_body_or_if_match(api_as, agent, manager):
    incident = make_incident(agent)
    assert api_as(manager).patch(url(incident), {"description": "a", "version": 1}).status_code == 200
    stale = api_as(agent).patch(url(incident), {"description": "b", "version": 1})
    assert stale.status_code == 409 and stale.data["code"] == "stale_version"
    assert stale.data["current_version"] == 2
    stale_header = api_as(agent).patch(url(incident), {"description": "b"}, HTTP_IF_MATCH='"1"')
    assert stale_header.status_code == 409
    fresh = api_as(agent).patch(url(incident), {"description": "b"}, HTTP_IF_MATCH='"2"')
    assert fresh.status_code == 200
    assert Incident.objects.get(pk=incident.pk).description == "b"


def test_put_replaces_the_editable_fields(api_as, agent):
    incident = make_incident(agent, description="old")
    response = api_as(agent).put(url(incident), {"short_description": "New title", "version": 1})
    assert response.status_code == 200, response.data
    assert response.data["short_description"] == "New title"
    missing = api_as(agent).put(url(incident), {"description": "no title"})
    assert missing.status_code == 400 and "short_description" in missing.data["errors"]


def test_closed_incident_cannot_be_edited(api_as, agent):
    incident = services.incident_close(incident=resolved(make_incident(agent), agent), actor=agent)
    response = api_as(agent).patch(url(incident), {"description": "late"})
    assert response.status_code == 409


# -- lifecycle actions -------------------------------------------------------------------------


def test_start_hold_resolve_reopen_close(api_as, agent):
    incident = make_incident(agent)
    client = api_as(agent)
    started = client.post(url(incident, "start"), {"version": 1})
    assert started.status_code == 200 and started.data["status"] == "in_progress"
    no_reason = client.post(url(incident, "hold"), {})
    assert no_reason.status_code == 400 and "hold_reason" in no_reason.data["errors"]
    held = client.post(url(incident, "hold"), {"hold_reason": "awaiting_user", "reason": "Asked for logs"})
    assert held.data["status"] == "on_hold" and held.data["hold_reason"] == "awaiting_user"
    assert client.post(url(incident, "start")).data["status"] == "in_progress"
    bad = client.post(url(incident, "resolve"), {"resolution_code": "magic"})
    assert bad.status_code == 400 and "resolution_code" in bad.data["errors"]
    no_notes = client.post(url(incident, "resolve"), {"resolution_code": "solved_permanently"})
    assert no_notes.status_code == 400 and "resolution_notes" in no_notes.data["errors"]
    done = client.post(
        url(incident, "resolve"), {"resolution_code": "solved_permanently", "resolution_notes": "Fixed"}
    )
    assert done.data["status"] == "resolved" and done.data["confirmation"] == "pending"
    no_why = client.post(url(incident, "reopen"), {})
    assert no_why.status_code == 400 and "reason" in no_why.data["errors"]
    reopened = client.post(url(incident, "reopen"), {"reason": "Back again"})
    assert reopened.data["status"] == "in_progress" and reopened.data["reopen_count"] == 1
    resolved(Incident.objects.get(pk=incident.pk), agent)
    closed = client.post(url(incident, "close"))
    assert closed.status_code == 200 and closed.data["status"] == "closed"
    assert closed.data["allowed_transitions"] == []


def test_illegal_transition_is_409_with_the_allowed_ones(api_as, agent):
    incident = make_incident(agent)
    response = api_as(agent).post(url(incident, "close"))
    assert response.status_code == 409
    assert response.data["code"] == "transition_not_allowed"
    assert response.data["allowed"] == sorted(TRANSITIONS[Status.NEW])
    assert response.data["current"] == "new" and response.data["requested"] == "closed"
    reopen = api_as(agent).post(url(incident, "reopen"), {"reason": "x"})
    assert reopen.status_code == 409 and reopen.data["code"] == "transition_not_allowed"


def test_action_with_stale_version_is_409(api_as, agent):
    incident = make_incident(agent)
    services.incident_update(incident=incident, actor=agent, changes={"description": "v2"})
    response = api_as(agent).post(url(incident, "start"), {"version": 1})
    assert response.status_code == 409 and response.data["code"] == "stale_version"
    by_header = api_as(agent).post(url(incident, "start"), HTTP_IF_MATCH='"1"')
    assert by_header.status_code == 409
    assert Incident.objects.get(pk=incident.pk).status == Status.NEW


# Each lifecycle action with a body it accepts, on an incident from which it is legal.
ACTIONS = {
    "start": {},
    "hold": {"hold_reason": "awaiting_user"},
    "resolve": {"resolution_code": "solved_permanently", "resolution_notes": "Fixed"},
    "cancel": {"reason": "Logged twice"},
    "reopen": {"reason": "Back"},
    "close": {},
}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_action_is_409_on_a_closed_incident_with_no_allowed(api_as, agent, action):
    closed = services.incident_close(incident=resolved(make_incident(agent), agent), actor=agent)
    response = api_as(agent).post(url(closed, action), ACTIONS[action])
    assert response.status_code == 409, response.data
    assert response.data["code"] == "transition_not_allowed" and response.data["allowed"] == []


@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_action_refuses_a_stale_version(api_as, agent, action):
    incident = make_incident(agent)
    if action in ("reopen", "close"):
        incident = resolved(incident, agent)
    services.incident_update(incident=incident, actor=agent, changes={"description": "someone else's edit"})
    before = Incident.objects.get(pk=incident.pk)
    response = api_as(agent).post(url(incident, action), {**ACTIONS[action], "version": before.version - 1})
    assert response.status_code == 409 and response.data["code"] == "stale_version"
    assert response.data["current_version"] == before.version
    assert Incident.objects.get(pk=incident.pk).status == before.status
    done = api_as(agent).post(url(incident, action), ACTIONS[action], HTTP_IF_MATCH=f'"{before.version}"')
    assert done.status_code == 200, done.data
    assert done["ETag"] == f'"{done.data["version"]}"'


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("assign", {"assignee": "{assignee}"}),
        ("escalate", {"kind": "functional", "group": "{group}", "reason": "Needs DBA"}),
        ("declare-major", {"reason": "All users"}),
    ],
)
def test_other_actions_refuse_a_stale_version(api_as, agent, manager, desk, action, body):
    incident = make_incident(agent, assignment_group=desk)
    services.incident_update(incident=incident, actor=agent, changes={"description": "edit"})
    filled = {
        key: (
            agent.pk if value == "{assignee}" else SupportGroupFactory().pk if value == "{group}" else value
        )
        for key, value in body.items()
    }
    stale = api_as(manager).post(url(incident, action), {**filled, "version": 1})
    assert stale.status_code == 409 and stale.data["code"] == "stale_version"
    assert api_as(manager).post(url(incident, action), {**filled, "version": 2}).status_code == 200


def test_start_on_a_resolved_incident_points_to_reopen(api_as, agent):
    incident = resolved(make_incident(agent), agent)
    response = api_as(agent).post(url(incident, "start"))
    assert response.status_code == 409 and "reopen" in response.data["detail"]


def test_unknown_action_fields_are_400(api_as, agent):
    response = api_as(agent).post(url(make_incident(agent), "start"), {"status": "closed"})
    assert response.status_code == 400 and "status" in response.data["errors"]


def test_html_form_post_with_session_works(client_as, agent):
    incident = make_incident(agent)
    response = client_as(agent).post(
        url(incident, "hold"), {"hold_reason": "awaiting_user", "csrfmiddlewaretoken": "token"}
    )
    assert response.status_code == 200, response.content
    assert Incident.objects.get(pk=incident.pk).status == Status.ON_HOLD


def test_cancel_needs_a_reason(api_as, agent):
    incident = make_incident(agent)
    client = api_as(agent)
    refused = client.post(url(incident, "cancel"), {"reason": " "})
    assert refused.status_code == 400 and "reason" in refused.data["errors"]
    done = client.post(url(incident, "cancel"), {"reason": "Logged twice"})
    assert done.data["status"] == "cancelled"


def test_only_the_caller_confirms(api_as, agent, manager):
    incident = resolved(make_incident(agent, caller=manager), agent)
    refused = api_as(agent).post(url(incident, "confirm"))
    assert refused.status_code == 403 and "caller" in refused.data["detail"]
    done = api_as(manager).post(url(incident, "confirm"))
    assert done.status_code == 200
    assert done.data["status"] == "closed" and done.data["confirmation"] == "confirmed"
    again = api_as(manager).post(url(incident, "confirm"))
    assert again.status_code == 409 and again.data["allowed"] == []


# -- assignment and escalation -----------------------------------------------------------------


def test_assign(api_as, agent, desk):
    other = UserFactory(roles=[roles.AGENT])
    second = group_with(other, name="2nd line")
    incident = make_incident(agent, assignment_group=desk)
    client = api_as(agent)
    outsider = client.post(url(incident, "assign"), {"assignee": other.pk})
    assert outsider.status_code == 400 and "assignee" in outsider.data["errors"]
    done = client.post(url(incident, "assign"), {"group": second.pk, "assignee": other.pk, "reason": "DB"})
    assert done.status_code == 200, done.data
    assert done.data["assignee"] == other.pk and done.data["reassignment_count"] == 1
    same = client.post(url(incident, "assign"), {"group": second.pk, "assignee": other.pk})
    assert same.status_code == 409
    unknown = client.post(url(incident, "assign"), {"group": 999999})
    assert unknown.status_code == 400 and "group" in unknown.data["errors"]


def test_escalate_functional_hierarchical_supplier(api_as, agent, manager):
    second = SupportGroupFactory(name="2nd line")
    desk = group_with(agent, name="Desk", escalation_group=second, manager=manager)
    incident = make_incident(agent, assignment_group=desk, assignee=agent)
    client = api_as(agent)
    no_reason = client.post(url(incident, "escalate"), {"kind": "functional"})
    assert no_reason.status_code == 400 and "reason" in no_reason.data["errors"]
    bad_kind = client.post(url(incident, "escalate"), {"kind": "sideways", "reason": "x"})
    assert bad_kind.status_code == 400 and "kind" in bad_kind.data["errors"]
    up = client.post(url(incident, "escalate"), {"kind": "hierarchical", "reason": "Stuck"})
    assert up.status_code == 200 and Notification.objects.filter(recipient=manager).exists()
    functional = client.post(url(incident, "escalate"), {"kind": "functional", "reason": "Needs DBA"})
    assert functional.data["assignment_group"] == second.pk and functional.data["assignee"] is None
    no_supplier = client.post(url(incident, "escalate"), {"kind": "supplier", "reason": "HW"})
    assert no_supplier.status_code == 400 and "supplier" in no_supplier.data["errors"]
    supplier = SupplierFactory()
    sent = client.post(
        url(incident, "escalate"),
        {"kind": "supplier", "supplier": supplier.pk, "supplier_reference": "CASE-1", "reason": "HW"},
    )
    assert sent.data["supplier"] == supplier.pk and sent.data["supplier_reference"] == "CASE-1"


# -- links between incidents ---------------------------------------------------------------------


def test_merge_through_the_api(api_as, agent, end_user):
    survivor = make_incident(agent, short_description="Mail down")
    duplicate = make_incident(agent, short_description="No mail", caller=end_user)
    services.incident_comment(incident=duplicate, actor=agent, body="Checked the queue", public=False)
    client = api_as(agent)
    itself = client.post(url(duplicate, "merge"), {"survivor": duplicate.pk})
    assert itself.status_code == 400 and "survivor" in itself.data["errors"]
    unknown = client.post(url(duplicate, "merge"), {"survivor": 999999})
    assert unknown.status_code == 400 and "survivor" in unknown.data["errors"]
    done = client.post(url(duplicate, "merge"), {"survivor": survivor.pk, "reason": "Same outage"})
    assert done.status_code == 200, done.data
    assert done.data["status"] == "closed" and done.data["resolution_code"] == "duplicate"
    assert done.data["duplicate_of"] == survivor.pk
    assert TimelineEntry.objects.filter(object_id=survivor.pk, body="Checked the queue").exists()
    assert end_user.pk in client.get(url(survivor)).data["watchers"]
    again = client.post(url(duplicate, "merge"), {"survivor": survivor.pk})
    assert again.status_code == 409


def test_parent_set_and_clear(api_as, agent):
    parent, child = make_incident(agent), make_incident(agent)
    client = api_as(agent)
    done = client.post(url(child, "parent"), {"parent": parent.pk})
    assert done.status_code == 200 and done.data["parent"] == parent.pk
    assert done.data["parent_number"] == parent.number
    loop = client.post(url(parent, "parent"), {"parent": child.pk})
    assert loop.status_code == 400 and "parent" in loop.data["errors"]
    missing = client.post(url(child, "parent"), {})
    assert missing.status_code == 400 and "parent" in missing.data["errors"]
    cleared = client.post(url(child, "parent"), {"parent": None})
    assert cleared.data["parent"] is None


# -- major incidents ---------------------------------------------------------------------------


def test_plain_agent_cannot_declare_major(api_as, agent):
    incident = make_incident(agent)
    response = api_as(agent).post(url(incident, "declare-major"), {"reason": "Everyone"})
    assert response.status_code == 403 and "major incident" in response.data["detail"]
    assert not Incident.objects.get(pk=incident.pk).is_major


def test_major_incident_flow(api_as, agent, incident_manager, desk):
    incident = make_incident(agent, assignment_group=desk)
    client = api_as(incident_manager)
    no_reason = client.post(url(incident, "declare-major"), {})
    assert no_reason.status_code == 400 and "reason" in no_reason.data["errors"]
    bad_cadence = client.post(url(incident, "declare-major"), {"reason": "x", "update_cadence_minutes": 1})
    assert bad_cadence.status_code == 400 and "update_cadence_minutes" in bad_cadence.data["errors"]
    declared = client.post(
        url(incident, "declare-major"), {"reason": "All users", "update_cadence_minutes": 15, "version": 1}
    )
    assert declared.status_code == 200, declared.data
    assert declared.data["is_major"] and declared.data["priority"] == 1
    assert declared.data["incident_manager"] == incident_manager.pk
    twice = client.post(url(incident, "declare-major"), {"reason": "again"})
    assert twice.status_code == 409
    # Swarm: add, list, refuse a duplicate seat, remove.
    dba = UserFactory(roles=[roles.AGENT])
    no_role = client.post(url(incident, "swarm"), {"user": dba.pk})
    assert no_role.status_code == 400 and "role" in no_role.data["errors"]
    added = client.post(url(incident, "swarm"), {"user": dba.pk, "role": "DBA"})
    assert added.status_code == 201 and added.data["user"]["id"] == dba.pk
    assert client.post(url(incident, "swarm"), {"user": dba.pk, "role": "DBA"}).status_code == 409
    assert [m["role"] for m in client.get(url(incident, "swarm")).data] == ["DBA"]
    assert [m["role"] for m in client.get(url(incident)).data["swarm"]] == ["DBA"]
    removed = client.post(f"{url(incident, 'swarm')}{dba.pk}/remove/", {"reason": "Done"})
    assert removed.status_code == 200 and removed.data["removed_at"]
    assert client.get(url(incident, "swarm")).data == []
    assert client.post(f"{url(incident, 'swarm')}{dba.pk}/remove/").status_code == 409
    # Review: none before resolution, written after.
    assert client.get(url(incident, "review")).status_code == 404
    early = client.put(url(incident, "review"), {"what_happened": "x"})
    assert early.status_code == 409
    resolved(Incident.objects.get(pk=incident.pk), incident_manager)
    empty = client.put(url(incident, "review"), {"causes": "Disk"})
    assert empty.status_code == 400 and "what_happened" in empty.data["errors"]
    written = client.put(
        url(incident, "review"), {"what_happened": "Disk full", "problem_requested": True, "complete": True}
    )
    assert written.status_code == 200, written.data
    assert written.data["completed_at"] and written.data["problem_requested"]
    assert client.get(url(incident, "review")).data["what_happened"] == "Disk full"


# -- security ----------------------------------------------------------------------------------


def test_security_incident_is_404_for_other_staff_everywhere(api_as, agent, security_agent):
    secret = make_incident(security_agent, short_description="Phishing wave", is_security=True)
    services.incident_comment(incident=secret, actor=security_agent, body="Headers attached", public=False)
    open_one = make_incident(agent, short_description="Phishing training request")
    client = api_as(agent)
    assert [row["id"] for row in client.get(API).data["results"]] == [open_one.pk]
    assert [row["id"] for row in client.get(API, {"q": "phishing"}).data["results"]] == [open_one.pk]
    for sub in ("", "timeline", "comments", "history", "attachments", "links", "swarm"):
        assert client.get(url(secret, sub)).status_code == 404, sub
    assert client.post(url(secret, "start")).status_code == 404
    assert client.post(url(open_one, "merge"), {"survivor": secret.pk}).status_code == 400
    suggestions = client.get(f"{API}suggest/", {"text": "phishing wave"}).data
    assert [i["id"] for i in suggestions["similar_open"]] == [open_one.pk]
    bulk = client.post(f"{API}bulk/", {"ids": [secret.pk], "action": "start"})
    assert bulk.data["not_found"] == [secret.pk] and bulk.data["done"] == []
    # The security team sees it all.
    team = api_as(security_agent)
    assert team.get(url(secret)).status_code == 200
    assert any(e["body"] == "Headers attached" for e in team.get(url(secret, "timeline")).data["results"])


def test_security_attachment_download_is_404_for_other_staff(api_as, agent, security_agent):
    secret = make_incident(security_agent, is_security=True)
    upload = api_as(security_agent).post(
        url(secret, "attachments"), {"file": SimpleUploadedFile("mail.txt", b"x")}, format="multipart"
    )
    assert upload.status_code == 201
    assert api_as(agent).get(upload.data["download_url"]).status_code == 404
    assert api_as(security_agent).get(upload.data["download_url"]).status_code == 200


def test_flag_and_unflag_security(api_as, agent, security_agent):
    incident = make_incident(agent)
    client = api_as(agent)
    no_reason = client.post(url(incident, "security"), {})
    assert no_reason.status_code == 400 and "reason" in no_reason.data["errors"]
    flagged = client.post(url(incident, "security"), {"reason": "Malware found"})
    assert flagged.status_code == 200 and flagged.data["is_security"]
    assert client.get(url(incident)).status_code == 404  # from now on hidden from this agent
    team = api_as(security_agent)
    assert team.post(url(incident, "security"), {"reason": "again"}).status_code == 409
    unflagged = team.post(url(incident, "security"), {"flagged": False, "reason": "False alarm"})
    assert unflagged.status_code == 200 and not unflagged.data["is_security"]
    assert client.get(url(incident)).status_code == 200


def test_only_the_security_team_unflags(api_as, agent, security_agent):
    incident = make_incident(security_agent, is_security=True, caller=agent)
    response = api_as(agent).post(url(incident, "security"), {"flagged": False, "reason": "x"})
    assert response.status_code == 403


# -- comments and timeline -----------------------------------------------------------------------


def test_comments_public_and_structured_work_notes(api_as, agent, end_user):
    incident = make_incident(agent, caller=end_user)
    helper = UserFactory(roles=[roles.AGENT])
    client = api_as(agent)
    public = client.post(url(incident, "comments"), {"body": "We are on it"})
    assert public.status_code == 201 and public.data["visibility"] == "public"
    note = client.post(
        url(incident, "comments"),
        {
            "public": False,
            "symptoms": "Timeouts",
            "actions_planned": "Restart the pool",
            "involved": [helper.pk],
        },
    )
    assert note.status_code == 201, note.data
    assert note.data["kind"] == "work_note" and note.data["fields"]["symptoms"] == "Timeouts"
    assert note.data["involved"] == [helper.username]
    empty = client.post(url(incident, "comments"), {"body": ""})
    assert empty.status_code == 400 and "body" in empty.data["errors"]
    unknown = client.post(url(incident, "comments"), {"body": "x", "involved": [999999]})
    assert unknown.status_code == 400 and "involved" in unknown.data["errors"]
    listed = client.get(url(incident, "comments")).data["results"]
    assert {"We are on it", ""} <= {e["body"] for e in listed}
    assert Notification.objects.filter(recipient=end_user, subject__startswith="Update on").count() == 1


def test_timeline_post_goes_through_the_incident_service(api_as, agent, end_user):
    incident = make_incident(agent, caller=end_user)
    response = api_as(agent).post(url(incident, "timeline"), {"body": "Public reply"})
    assert response.status_code == 201
    assert Incident.objects.get(pk=incident.pk).last_public_update_at is not None
    assert Notification.objects.filter(recipient=end_user, subject__startswith="Update on").exists()
    note = api_as(agent).post(url(incident, "timeline"), {"kind": "work_note", "body": "internal"})
    assert note.data["visibility"] == "internal"


# -- generic links -------------------------------------------------------------------------------


def test_links_to_another_record(api_as, agent):
    incident, other = make_incident(agent), make_incident(agent)
    client = api_as(agent)
    listing = client.get(url(incident, "links")).data
    assert listing["links"] == [] and "incidents.incident" in [t["type"] for t in listing["link_types"]]
    bad_type = client.post(url(incident, "links"), {"type": "nothing.here", "id": other.pk})
    assert bad_type.status_code == 400 and "type" in bad_type.data["errors"]
    bad_id = client.post(url(incident, "links"), {"type": "incidents.incident", "id": 999999})
    assert bad_id.status_code == 400 and "id" in bad_id.data["errors"]
    bad_kind = client.post(
        url(incident, "links"), {"type": "incidents.incident", "id": other.pk, "kind": "x"}
    )
    assert bad_kind.status_code == 400 and "kind" in bad_kind.data["errors"]
    linked = client.post(url(incident, "links"), {"type": "incidents.incident", "id": other.pk})
    assert linked.status_code == 201, linked.data
    assert linked.data["label"] == other.number and linked.data["object_id"] == other.pk
    assert RecordLink.objects.count() == 1
    assert [row["object_id"] for row in client.get(url(other, "links")).data["links"]] == [incident.pk]
    again = client.post(url(incident, "links"), {"type": "incidents.incident", "id": other.pk})
    assert again.status_code == 409


def test_links_to_a_hidden_record_are_hidden(api_as, agent, security_agent):
    incident = make_incident(agent)
    secret = make_incident(security_agent, is_security=True)
    assert (
        api_as(security_agent)
        .post(url(incident, "links"), {"type": "incidents.incident", "id": secret.pk})
        .status_code
        == 201
    )
    assert api_as(agent).get(url(incident, "links")).data["links"] == []
    refused = api_as(agent).post(url(incident, "links"), {"type": "incidents.incident", "id": secret.pk})
    assert refused.status_code == 400 and "id" in refused.data["errors"]


# -- suggestions, bulk -----------------------------------------------------------------------------


def test_suggest_similar_and_recommendations_with_why(api_as, agent):
    network = CategoryFactory(name="Network")
    team = SupportGroupFactory(name="Network team")
    for n in range(3):
        done = make_incident(
            agent,
            short_description=f"VPN drops every few minutes ({n})",
            category=network,
            assignment_group=team,
        )
        resolved(done, agent)
    similar = make_incident(agent, short_description="VPN drops at the hotel")
    response = api_as(agent).get(f"{API}suggest/", {"text": "My VPN keeps dropping"})
    assert response.status_code == 200
    assert [i["id"] for i in response.data["similar_open"]] == [similar.pk]
    assert response.data["category"]["id"] == network.pk
    assert response.data["group"]["why"] == "3 of the 3 most similar resolved incidents"
    missing = api_as(agent).get(f"{API}suggest/")
    assert missing.status_code == 400 and "text" in missing.data["errors"]
    bad = api_as(agent).get(f"{API}suggest/", {"text": "vpn", "service": "abc"})
    assert bad.status_code == 400 and "service" in bad.data["errors"]


def test_bulk_reports_done_and_failed(api_as, agent, desk):
    new = make_incident(agent, assignment_group=desk)
    closed = services.incident_close(incident=resolved(make_incident(agent), agent), actor=agent)
    client = api_as(agent)
    response = client.post(f"{API}bulk/", {"ids": [new.pk, closed.pk, 999999], "action": "start"})
    assert response.status_code == 200, response.data
    assert response.data["done"] == [new.number]
    assert "Allowed: none" in response.data["failed"][closed.number]
    assert response.data["not_found"] == [999999]
    assign = client.post(
        f"{API}bulk/", {"ids": [new.pk], "action": "assign", "params": {"assignee": agent.pk}}
    )
    assert assign.data["done"] == [new.number]
    unknown_param = client.post(f"{API}bulk/", {"ids": [new.pk], "action": "start", "params": {"x": 1}})
    assert unknown_param.status_code == 400 and "params.x" in unknown_param.data["errors"]
    bad_action = client.post(f"{API}bulk/", {"ids": [new.pk], "action": "delete"})
    assert bad_action.status_code == 400 and "action" in bad_action.data["errors"]
    no_ids = client.post(f"{API}bulk/", {"ids": [], "action": "start"})
    assert no_ids.status_code == 400 and "ids" in no_ids.data["errors"]


def test_intake_questions_bad_category_is_400(api_as, agent):
    response = api_as(agent).get(f"{API}intake-questions/", {"category": "999999"})
    assert response.status_code == 400 and "category" in response.data["errors"]
    assert api_as(agent).get(f"{API}intake-questions/").data == []


def test_malformed_json_is_400_not_500(api_as, agent):
    incident = make_incident(agent)
    client = api_as(agent)
    for path in (API, url(incident, "assign"), f"{API}bulk/"):
        response = client.generic("POST", path, "{oops", content_type="application/json")
        assert response.status_code == 400, path
    as_list = client.post(url(incident, "resolve"), ["not", "an", "object"])
    assert as_list.status_code == 400


# -- reference data and saved views ----------------------------------------------------------------


def test_categories_tree_read_by_staff_written_by_admins(api_as, agent, admin_user):
    hardware = CategoryFactory(name="Hardware")
    laptop = CategoryFactory(name="Laptop", parent=hardware)
    question = IntakeQuestionFactory(category=laptop, text="Which model?")
    tree = api_as(agent).get(f"{API}categories/")
    assert tree.status_code == 200
    [top] = [row for row in tree.data["results"] if row["id"] == hardware.pk]
    assert [child["name"] for child in top["children"]] == ["Laptop"]
    assert top["children"][0]["questions"][0]["id"] == question.pk
    assert all(row["parent"] is None for row in tree.data["results"])
    assert api_as(agent).post(f"{API}categories/", {"name": "Phones"}).status_code == 403
    created = api_as(admin_user).post(f"{API}categories/", {"name": "Phones"})
    assert created.status_code == 201, created.data
    too_deep = api_as(admin_user).post(f"{API}categories/", {"name": "X", "parent": laptop.pk})
    assert too_deep.status_code == 400 and "parent" in too_deep.data["errors"]
    renamed = api_as(admin_user).patch(f"{API}categories/{hardware.pk}/", {"is_active": False, "version": 1})
    assert renamed.status_code == 200 and renamed.data["version"] == 2


def test_priority_matrix_read_by_staff_written_by_admins(api_as, agent, admin_user):
    cells = api_as(agent).get(f"{API}priority-matrix/").data
    assert len(cells) == 16
    cell = PriorityMatrixEntry.objects.get(impact=4, urgency=4)
    assert api_as(agent).patch(f"{API}priority-matrix/{cell.pk}/", {"priority": 4}).status_code == 403
    changed = api_as(admin_user).patch(f"{API}priority-matrix/{cell.pk}/", {"priority": 4})
    assert changed.status_code == 200 and changed.data["priority"] == 4
    bad = api_as(admin_user).patch(f"{API}priority-matrix/{cell.pk}/", {"priority": 9})
    assert bad.status_code == 400 and "priority" in bad.data["errors"]
    created = api_as(agent).post(API, {"short_description": "x", "impact": 4, "urgency": 4})
    assert created.data["priority"] == 4


def test_routing_rules_read_by_staff_written_by_admins(api_as, agent, admin_user, desk):
    assert api_as(agent).get(f"{API}routing-rules/").status_code == 200
    body = {"name": "Mail", "keywords": "outlook", "assignment_group": desk.pk}
    assert api_as(agent).post(f"{API}routing-rules/", body).status_code == 403
    created = api_as(admin_user).post(f"{API}routing-rules/", body)
    assert created.status_code == 201, created.data
    no_condition = api_as(admin_user).post(
        f"{API}routing-rules/", {"name": "Any", "assignment_group": desk.pk}
    )
    assert no_condition.status_code == 400
    routed = api_as(agent).post(API, {"short_description": "Outlook crashes"})
    assert routed.data["assignment_group"] == desk.pk


def test_saved_views_are_your_own(api_as, agent, manager):
    client = api_as(agent)
    created = client.post(f"{API}saved-views/", {"name": "My P1s", "query": "?priority=1&open=true"})
    assert created.status_code == 201, created.data
    assert created.data["query"] == "priority=1&open=true"
    twice = client.post(f"{API}saved-views/", {"name": "My P1s"})
    assert twice.status_code == 400 and "name" in twice.data["errors"]
    mine = f"{API}saved-views/{created.data['id']}/"
    assert api_as(manager).get(mine).status_code == 404
    assert api_as(manager).get(f"{API}saved-views/").data == []
    renamed = client.patch(mine, {"name": "Urgent"})
    assert renamed.status_code == 200 and renamed.data["name"] == "Urgent"
    assert api_as(manager).delete(mine).status_code == 404
    assert client.delete(mine).status_code == 204
    assert not SavedView.objects.exists()


# -- bad input never gives a 500 ----------------------------------------------------------------

JUNK = [None, [], {}, "x", True, 10**12, "9" * 300]


def test_junk_in_any_field_of_any_request_is_never_a_500(api_as, manager, desk):
    from incidents.api import serializers as shapes

    incident = make_incident(manager, assignment_group=desk)
    client = api_as(manager)
    posts = {
        API: shapes.IncidentCreateSerializer,
        url(incident, "assign"): shapes.AssignSerializer,
        url(incident, "escalate"): shapes.EscalateSerializer,
        url(incident, "hold"): shapes.HoldSerializer,
        url(incident, "start"): shapes.VersionedSerializer,
        url(incident, "resolve"): shapes.ResolveSerializer,
        url(incident, "reopen"): shapes.ReasonSerializer,
        url(incident, "merge"): shapes.MergeSerializer,
        url(incident, "parent"): shapes.ParentSerializer,
        url(incident, "declare-major"): shapes.DeclareMajorSerializer,
        url(incident, "security"): shapes.SecuritySerializer,
        url(incident, "swarm"): shapes.SwarmAddSerializer,
        url(incident, "comments"): shapes.CommentSerializer,
        url(incident, "timeline"): TimelineEntryCreateSerializer,
        url(incident, "links"): shapes.LinkCreateSerializer,
        f"{API}bulk/": shapes.BulkSerializer,
        f"{API}saved-views/": shapes.SavedViewSerializer,
    }
    for path, shape in posts.items():
        for field in shape().fields:
            for value in JUNK:
                response = client.post(path, {field: value})
                assert response.status_code < 500, (path, field, value)
    for field in shapes.IncidentUpdateSerializer().fields:
        for value in JUNK:
            response = client.patch(url(incident), {field: value})
            assert response.status_code < 500, ("PATCH", field, value)
    for field in shapes.ReviewWriteSerializer().fields:
        for value in JUNK:
            assert client.put(url(incident, "review"), {field: value}).status_code < 500, field
    gets = {
        API: [f.split("__")[0] for f in IncidentFilterSet.base_filters] + ["ordering", "cursor", "page_size"],
        f"{API}suggest/": ["text", "service", "exclude", "limit"],
        f"{API}intake-questions/": ["category", "subcategory"],
    }
    for path, names in gets.items():
        for name in names:
            for value in ("x", "-1", "99999999999999999999", "", "a=b=c", "\x00"):
                response = client.get(
                    path, {name: value, "text": "vpn"} if "suggest" in path else {name: value}
                )
                assert response.status_code < 500, (path, name, value)
    fresh = make_incident(manager)  # the junk above may have flagged the first one as security
    for body in ([], "text", 5, None):
        assert client.post(url(fresh, "assign"), body).status_code == 400


def test_the_filter_form_class_is_shared_but_each_request_judges_its_own_user(
    api_as, client_as, agent, admin_user
):
    """The filter form class is built once per filter set (for speed): the user whose sensitivity is
    checked goes on each request's form, so an admin's filter never opens it to the next agent."""
    from tests.configuration.factories import ci_via_service

    secret = "vault:kv/servers/db-07"
    server = ci_via_service(
        name="db-07", identifiers={"hostname": "db-07"}, attributes={"admin_credentials_ref": secret}
    )
    incident = make_incident(agent, cis=[server])
    query = {"ci_attr": f"admin_credentials_ref={secret}"}
    for _ in range(2):
        refused = api_as(agent).get("/api/v1/incidents/", query)
        assert refused.status_code == 400 and "ci_attr" in refused.data["errors"]
        page = client_as(agent).get("/incidents/", {"tab": "all", **query})
        assert page.status_code == 200 and page.context["filter_invalid"] and not page.context["rows"]
        allowed = api_as(admin_user).get("/api/v1/incidents/", query)
        assert [row["id"] for row in allowed.data["results"]] == [incident.pk]
        page = client_as(admin_user).get("/incidents/", {"tab": "all", **query})
        assert [row.pk for row in page.context["rows"]] == [incident.pk]
