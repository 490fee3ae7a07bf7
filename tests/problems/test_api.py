"""Problem management API: problems, known errors, workarounds, candidates and improvements; the one
error format (400 naming the field, 409 for conflicts), permissions and pinned query counts."""

import datetime

import pytest
from django.utils import timezone

from incidents.choices import Status as IncidentStatus
from itsm import roles
from problems import services
from problems.choices import RiskScale, Status
from problems.models import KnownError, ProblemCandidate, ProblemIncident, WorkaroundUse
from tests.factories import UserFactory
from tests.incidents.factories import make_incident
from tests.problems.factories import investigated, level, make_known_error, make_problem

pytestmark = pytest.mark.django_db

PROBLEMS = "/api/v1/problems/"
KES = "/api/v1/known-errors/"


@pytest.fixture
def security_agent(db):
    return UserFactory(username="sec1", roles=[roles.AGENT, roles.SECURITY])


# -- problems -------------------------------------------------------------------------------------


def test_create_and_read_a_problem_with_risk_and_linked_incidents(api_as, agent):
    incident = make_incident(agent)
    response = api_as(agent).post(
        PROBLEMS,
        {
            "title": "Backups fail every Sunday",
            "source": "trend_analysis",
            "impact": level(RiskScale.IMPACT, 3).pk,
            "probability": level(RiskScale.PROBABILITY, 4).pk,
            "incidents": [incident.pk],
            "analysis_technology": "Backup window overlaps the batch jobs",
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["number"].startswith("PRB") and response.data["risk"] == 12
    assert response["ETag"] == '"1"'
    linked = api_as(agent).get(f"{PROBLEMS}{response.data['id']}/incidents/")
    assert [row["number"] for row in linked.data] == [incident.number]
    assert linked.data[0]["linked_by"]["username"] == agent.username


def test_list_is_sorted_by_risk_and_pages_with_a_cursor(api_as, agent):
    for impact, probability in ((1, 1), (5, 5), (3, 2), (2, 5)):
        make_problem(agent, title=f"{impact}x{probability}", impact=impact, probability=probability)
    client = api_as(agent)
    first = client.get(PROBLEMS, {"page_size": 2})
    assert [row["risk"] for row in first.data["results"]] == [25, 10]
    second = client.get(first.data["next"])
    assert [row["risk"] for row in second.data["results"]] == [6, 1]
    assert [row["risk"] for row in client.get(PROBLEMS, {"min_risk": 7}).data["results"]] == [25, 10]


def test_problem_list_query_count_is_pinned_and_constant(api_as, agent, django_assert_num_queries):
    client = api_as(agent)
    for n in range(3):
        make_problem(agent, title=f"P{n}", impact=2, probability=2, incidents=[make_incident(agent)])
    # token, roles, the page (with its incident counts)
    with django_assert_num_queries(3):
        assert len(client.get(PROBLEMS).data["results"]) == 3
    for n in range(10):
        make_problem(agent, title=f"Q{n}", impact=3, probability=1)
    with django_assert_num_queries(3):
        assert len(client.get(PROBLEMS).data["results"]) == 13


def test_bad_input_is_a_400_naming_the_field(api_as, agent):
    client = api_as(agent)
    wrong_scale = client.post(
        PROBLEMS, {"title": "X", "impact": level(RiskScale.PROBABILITY, 2).pk}, format="json"
    )
    assert wrong_scale.status_code == 400 and "impact" in wrong_scale.data["errors"]
    unknown = client.post(PROBLEMS, {"title": "X", "status": "closed"}, format="json")
    assert unknown.status_code == 400 and "status" in unknown.data["errors"]
    missing = client.post(PROBLEMS, {"source": "nonsense"}, format="json")
    assert missing.status_code == 400 and {"title", "source"} <= set(missing.data["errors"])
    problem = make_problem(agent)
    bad_status = client.post(f"{PROBLEMS}{problem.pk}/transition/", {"status": "done"}, format="json")
    assert bad_status.status_code == 400 and "status" in bad_status.data["errors"]
    no_notes = client.post(f"{PROBLEMS}{problem.pk}/transition/", {"status": "closed"}, format="json")
    assert no_notes.status_code == 400 and "notes" in no_notes.data["errors"]
    assert client.get(f"{PROBLEMS}abc/").status_code == 404


def test_illegal_transition_is_a_409_listing_the_allowed_ones(api_as, agent):
    problem = make_problem(agent)
    response = api_as(agent).post(
        f"{PROBLEMS}{problem.pk}/transition/", {"status": "resolved", "notes": "x"}, format="json"
    )
    assert response.status_code == 409
    assert response.data["code"] == "transition_not_allowed"
    assert response.data["allowed"] == ["closed", "under_investigation"]


def test_stale_version_is_a_409(api_as, agent):
    problem = make_problem(agent)
    client = api_as(agent)
    assert client.patch(f"{PROBLEMS}{problem.pk}/", {"title": "One"}, format="json").status_code == 200
    stale = client.patch(f"{PROBLEMS}{problem.pk}/", {"title": "Two"}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 409 and stale.data["code"] == "stale_version"


def test_resolve_through_the_api_resolves_caused_incidents(api_as, agent):
    incident = make_incident(agent)
    problem = investigated(make_problem(agent, incidents=[incident]), agent)
    response = api_as(agent).post(
        f"{PROBLEMS}{problem.pk}/transition/",
        {"status": "resolved", "notes": "Driver patched", "resolve_incidents": True},
        format="json",
    )
    assert response.status_code == 200 and response.data["status"] == Status.RESOLVED
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED


def test_security_incidents_are_neither_shown_nor_linkable_by_others(api_as, agent, security_agent):
    secret = make_incident(security_agent, short_description="Phishing", is_security=True)
    problem = make_problem(security_agent, incidents=[secret])
    listed = api_as(agent).get(f"{PROBLEMS}{problem.pk}/incidents/")
    assert listed.status_code == 200 and listed.data == []
    assert api_as(security_agent).get(f"{PROBLEMS}{problem.pk}/incidents/").data[0]["number"] == secret.number
    refused = api_as(agent).post(
        f"{PROBLEMS}{problem.pk}/incidents/", {"incidents": [secret.pk]}, format="json"
    )
    assert refused.status_code == 400 and "incidents" in refused.data["errors"]
    created = api_as(agent).post(PROBLEMS, {"title": "X", "incidents": [secret.pk]}, format="json")
    assert created.status_code == 400 and "incidents" in created.data["errors"]


@pytest.mark.parametrize(
    "path", [PROBLEMS, KES, "/api/v1/workarounds/", "/api/v1/problem-candidates/", "/api/v1/improvements/"]
)
def test_end_users_reach_nothing_but_published_text(api_as, end_user, agent, path):
    make_problem(agent)
    assert api_as(end_user).get(path).status_code == 403


def test_published_known_errors_for_anyone_signed_in(api_as, end_user, agent, manager):
    hidden = make_known_error(agent, title="Secret root cause", root_cause="Bad firmware 1.2")
    shown = make_known_error(agent, title="Printer jams on tray 2")
    services.known_error_update(
        known_error=shown, actor=manager, changes={"publish_to_portal": True, "public_text": "Use tray 1."}
    )
    response = api_as(end_user).get(f"{KES}published/", {"text": "printer"})
    assert response.status_code == 200
    assert response.data == [
        {
            "id": shown.pk,
            "number": shown.number,
            "title": shown.title,
            "public_text": "Use tray 1.",
            "updated_at": response.data[0]["updated_at"],
        }
    ]
    everything = api_as(end_user).get(f"{KES}published/")
    assert hidden.number not in str(everything.data) and "firmware" not in str(everything.data)
    assert api_as(end_user).get(f"{KES}{shown.pk}/").status_code == 403


# -- known errors ---------------------------------------------------------------------------------


def test_known_error_from_a_problem_then_apply_and_rate(api_as, agent):
    problem = investigated(make_problem(agent), agent)
    client = api_as(agent)
    created = client.post(
        f"{PROBLEMS}{problem.pk}/known-error/",
        {
            "symptoms": "Outlook freezes when opening shared calendars",
            "workaround": {"title": "Cached mode", "symptoms": "Freezes", "steps": "Turn on cached mode"},
        },
        format="json",
    )
    assert created.status_code == 201, created.data
    ke_id = created.data["id"]
    assert created.data["problem"] == problem.pk and created.data["number"].startswith("KE")
    incident = make_incident(agent)
    applied = client.post(f"{KES}{ke_id}/apply/", {"incident": incident.pk}, format="json")
    assert applied.status_code == 201 and applied.data["outcome"] == "pending"
    again = client.post(f"{KES}{ke_id}/apply/", {"incident": incident.pk}, format="json")
    assert again.status_code == 409
    missing = client.post(f"{KES}{ke_id}/apply/", {"incident": 999999}, format="json")
    assert missing.status_code == 400 and "incident" in missing.data["errors"]
    rated = client.post(
        f"{KES}{ke_id}/rate-use/", {"use": applied.data["id"], "outcome": "worked"}, format="json"
    )
    assert rated.status_code == 200 and rated.data["outcome"] == "worked"
    detail = client.get(f"{KES}{ke_id}/")
    assert detail.data["use_count"] == 1 and detail.data["effectiveness"] == 1.0
    assert [use["incident_number"] for use in client.get(f"{KES}{ke_id}/uses/").data] == [incident.number]


def test_known_error_direct_fix_options_proposal_and_reassessment(api_as, agent):
    client = api_as(agent)
    created = client.post(
        KES, {"title": "Supplier firmware bug", "symptoms": "Switch reboots nightly"}, format="json"
    )
    assert created.status_code == 201, created.data
    ke_id = created.data["id"]
    option = client.post(
        f"{KES}{ke_id}/fix-options/",
        {"title": "Firmware 2.1", "cost": "500.00", "risk": "low", "benefit": "No reboots"},
        format="json",
    )
    assert option.status_code == 201, option.data
    bad_risk = client.post(
        f"{KES}{ke_id}/fix-options/", {"title": "X", "risk": "huge", "benefit": "y"}, format="json"
    )
    assert bad_risk.status_code == 400 and "risk" in bad_risk.data["errors"]
    proposal = client.post(
        f"{KES}{ke_id}/propose-fix/",
        {"fix_option": option.data["id"], "justification": "Cheap"},
        format="json",
    )
    assert proposal.status_code == 201 and proposal.data["number"].startswith("FXP")
    assert client.get(f"{KES}{ke_id}/").data["status"] == "fix_planned"
    past = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    bad = client.post(
        f"{KES}{ke_id}/reassessments/",
        {"impact": "Low", "decision": "keep_workaround", "next_reassessment_on": past},
        format="json",
    )
    assert bad.status_code == 400 and "next_reassessment_on" in bad.data["errors"]
    done = client.post(
        f"{KES}{ke_id}/reassessments/", {"impact": "Low", "decision": "keep_workaround"}, format="json"
    )
    assert done.status_code == 201, done.data
    refused = client.post(f"{KES}{ke_id}/transition/", {"status": "fix_planned"}, format="json")
    assert refused.status_code == 409 and "active" in refused.data["allowed"]


def test_match_endpoint_and_incident_suggestions_include_known_errors(api_as, agent):
    known_error = make_known_error(
        agent, title="VPN drops after sleep", symptoms="The VPN client disconnects after the laptop sleeps"
    )
    make_known_error(agent, title="Printer jams", symptoms="Paper jams in tray 2")
    client = api_as(agent)
    found = client.get(f"{KES}match/", {"text": "my vpn disconnects every time the laptop sleeps"})
    assert found.status_code == 200 and found.data[0]["number"] == known_error.number
    assert "vpn" in found.data[0]["why"] and found.data[0]["workaround"]["steps"]
    assert client.get(f"{KES}match/", {"cis": "abc"}).status_code == 400
    suggestions = client.get("/api/v1/incidents/suggest/", {"text": "VPN disconnects after sleep"})
    blocks = {block["name"]: block for block in suggestions.data["more"]}
    assert blocks["known_errors"]["items"][0]["number"] == known_error.number


def test_known_error_list_query_count_is_pinned(api_as, agent, django_assert_num_queries):
    client = api_as(agent)
    make_known_error(agent)
    with django_assert_num_queries(3):
        assert len(client.get(KES).data["results"]) == 1
    for n in range(5):
        make_known_error(agent, title=f"KE {n}")
    with django_assert_num_queries(3):
        assert len(client.get(KES).data["results"]) == 6


# -- workarounds, candidates, improvements ------------------------------------------------------------


def test_workarounds_create_and_review(api_as, agent):
    problem = make_problem(agent)
    client = api_as(agent)
    created = client.post(
        "/api/v1/workarounds/",
        {"problem": problem.pk, "title": "Restart", "symptoms": "Hangs", "steps": "Restart the service"},
        format="json",
    )
    assert created.status_code == 201, created.data
    early = client.post(f"/api/v1/workarounds/{created.data['id']}/review/", {"notes": "ok"}, format="json")
    assert early.status_code == 409
    investigated(problem, agent)
    reviewed = client.post(
        f"/api/v1/workarounds/{created.data['id']}/review/", {"notes": "ok"}, format="json"
    )
    assert reviewed.status_code == 200 and reviewed.data["reviewed_by"]["username"] == agent.username
    orphan = client.post("/api/v1/workarounds/", {"title": "X", "symptoms": "Y", "steps": "Z"}, format="json")
    assert orphan.status_code == 400 and "problem" in orphan.data["errors"]


def test_candidates_accept_and_dismiss(api_as, agent, manager):
    incidents = [make_incident(agent) for _ in range(3)]
    first = ProblemCandidate.objects.create(
        key="a", rule="ci_text", title="Recurring A", explanation="3 alike"
    )
    first.incidents.set(incidents)
    second = ProblemCandidate.objects.create(
        key="b", rule="ci_text", title="Recurring B", explanation="3 alike"
    )
    url = "/api/v1/problem-candidates/"
    assert api_as(agent).post(f"{url}{first.pk}/accept/", {}, format="json").status_code == 403
    accepted = api_as(manager).post(f"{url}{first.pk}/accept/", {}, format="json")
    assert accepted.status_code == 201 and accepted.data["source"] == "recurring_incidents"
    assert ProblemIncident.objects.filter(problem_id=accepted.data["id"]).count() == 3
    assert api_as(manager).post(f"{url}{first.pk}/accept/", {}, format="json").status_code == 409
    no_reason = api_as(manager).post(f"{url}{second.pk}/dismiss/", {"reason": ""}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.data["errors"]
    dismissed = api_as(manager).post(f"{url}{second.pk}/dismiss/", {"reason": "Noise"}, format="json")
    assert dismissed.status_code == 200 and dismissed.data["status"] == "dismissed"
    assert [row["key"] for row in api_as(agent).get(url, {"status": "dismissed"}).data["results"]] == ["b"]


def test_improvements_register(api_as, agent):
    client = api_as(agent)
    created = client.post(
        "/api/v1/improvements/",
        {"title": "Runbook for VPN", "benefit": "Faster fixes", "effort": 1},
        format="json",
    )
    assert created.status_code == 201, created.data
    assert created.data["number"].startswith("CIR")
    patched = client.patch(
        f"/api/v1/improvements/{created.data['id']}/", {"status": "approved"}, format="json"
    )
    assert patched.status_code == 200 and patched.data["status"] == "approved"
    bad = client.patch(f"/api/v1/improvements/{created.data['id']}/", {"effort": 9}, format="json")
    assert bad.status_code == 400 and "effort" in bad.data["errors"]


def test_a_known_error_only_published_by_managers(api_as, agent):
    known_error = make_known_error(agent)
    response = api_as(agent).patch(
        f"{KES}{known_error.pk}/", {"publish_to_portal": True, "public_text": "Restart"}, format="json"
    )
    assert response.status_code == 400 and "publish_to_portal" in response.data["errors"]
    assert not KnownError.objects.get(pk=known_error.pk).publish_to_portal
    assert WorkaroundUse.objects.count() == 0


def test_odd_input_never_gives_a_500(api_as, agent, end_user):
    client = api_as(agent)
    assert client.get(f"{KES}match/", {"text": "vpn\x00drops"}).status_code == 400
    assert client.get(f"{KES}match/", {"limit": "0"}).status_code == 400
    assert api_as(end_user).get(f"{KES}published/", {"text": "a\x00"}).status_code == 400
    caller = client.post(PROBLEMS, {"title": "X", "problem_manager": end_user.pk}, format="json")
    assert caller.status_code == 400 and "problem_manager" in caller.data["errors"]
    assert client.post(PROBLEMS, {"title": "X\x00"}, format="json").status_code == 400
    assert client.get(PROBLEMS, {"min_risk": "high"}).status_code == 400
    assert client.get(PROBLEMS, {"cursor": "garbage"}).status_code == 404
    assert (
        client.post(
            f"{PROBLEMS}{make_problem(agent).pk}/incidents/", {"incidents": ["x"]}, format="json"
        ).status_code
        == 400
    )
    assert (
        client.post(f"{KES}{make_known_error(agent).pk}/apply/", {"incident": "x"}, format="json").status_code
        == 400
    )


def test_known_error_detail_query_count_is_pinned(api_as, agent, django_assert_num_queries):
    from tests.configuration.factories import CIFactory

    known_error = make_known_error(agent, cis=[CIFactory()])
    client = api_as(agent)
    # token, roles, the known error with its use counts and joins, CIs, their classes, services, fix options
    with django_assert_num_queries(7):
        assert client.get(f"{KES}{known_error.pk}/").status_code == 200
    services.fix_option_add(known_error=known_error, actor=agent, fields={"title": "A", "benefit": "B"})
    services.known_error_update(
        known_error=known_error, actor=agent, changes={"cis": [CIFactory(), CIFactory()]}
    )
    # ... and the fix options' proposals
    with django_assert_num_queries(8):
        data = client.get(f"{KES}{known_error.pk}/").data
    assert len(data["cis"]) == 2 and len(data["fix_options"]) == 1


def test_risk_scales_are_listed(api_as, agent):
    rows = api_as(agent).get(f"{PROBLEMS}risk-levels/").data
    assert [(row["scale"], row["value"]) for row in rows][:2] == [("impact", 1), ("impact", 2)]
    assert len(rows) == 10


def test_problem_detail_and_candidate_list_query_counts(api_as, agent, django_assert_num_queries):
    from tests.configuration.factories import CIFactory

    problem = make_problem(agent, impact=2, probability=2, cis=[CIFactory()])
    client = api_as(agent)
    # token, roles, the problem with its joins, services, CIs, their classes
    with django_assert_num_queries(6):
        assert client.get(f"{PROBLEMS}{problem.pk}/").status_code == 200
    for n in range(3):
        candidate = ProblemCandidate.objects.create(key=f"k{n}", rule="ci_text", title="T", explanation="E")
        candidate.incidents.set([make_incident(agent)])
    # token, roles, the page, its incidents
    with django_assert_num_queries(4):
        assert len(client.get("/api/v1/problem-candidates/").data["results"]) == 3


def test_problems_and_known_errors_by_ci_attribute(api_as, agent):
    from configuration.models import CIClass
    from tests.configuration.factories import CIFactory

    software = CIClass.objects.get(slug="software")
    old = CIFactory(name="app 2.4.1", ci_class=software, attributes={"version": "2.4.1"})
    new = CIFactory(name="app 3.0", ci_class=software, attributes={"version": "3.0"})
    affected = make_problem(agent, title="Old version", cis=[old])
    make_problem(agent, title="New version", cis=[new])
    known_error = make_known_error(agent, cis=[old])
    client = api_as(agent)
    found = client.get(PROBLEMS, {"ci_class": software.pk, "ci_attr": "version=2.4.1"})
    assert [row["id"] for row in found.data["results"]] == [affected.pk]
    assert len(client.get(PROBLEMS, {"ci_class": software.pk}).data["results"]) == 2
    assert [row["id"] for row in client.get(KES, {"ci_attr": "version=2.4.1"}).data["results"]] == [
        known_error.pk
    ]
    bad = client.get(PROBLEMS, {"ci_attr": "version"})
    assert bad.status_code == 400 and "ci_attr" in bad.data["errors"]


def test_junk_query_parameters_are_never_a_500(api_as, agent):
    client = api_as(agent)
    make_problem(agent)
    make_known_error(agent)
    params = ["q", "status", "open", "source", "group", "ci", "service", "min_risk", "ci_class", "ci_attr"]
    params += ["ordering", "cursor", "published", "due", "rule", "owner", "page_size", "text", "cis", "limit"]
    paths = [
        PROBLEMS,
        KES,
        f"{KES}match/",
        f"{KES}published/",
        "/api/v1/problem-candidates/",
        "/api/v1/improvements/",
    ]
    for value in ["", "x", "-1", "99999999999999999999", "\x00", "a" * 3000]:
        for path in paths:
            for name in params:
                status = client.get(path, {name: value}).status_code
                assert status in (200, 400, 404), (path, name, value, status)


def test_a_bad_workaround_on_a_new_known_error_names_its_field(api_as, agent):
    response = api_as(agent).post(
        KES, {"title": "X", "symptoms": "Y", "workaround": {"title": "Z", "colour": "red"}}, format="json"
    )
    assert response.status_code == 400 and "workaround.colour" in response.data["errors"]
    assert not KnownError.objects.exists()
