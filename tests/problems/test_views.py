"""Problem management pages: lists (pinned query counts), records with their actions, the known
error suggestions while logging an incident, the incident page's panel, candidates, trends and the
improvement register; who may reach what."""

import pytest

from incidents.models import Incident
from itsm import roles
from problems import services
from problems.choices import Status
from problems.models import KnownError, Problem, ProblemCandidate, WorkaroundUse
from tests.factories import UserFactory
from tests.incidents.factories import make_incident
from tests.problems.factories import investigated, make_known_error, make_problem

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}

PAGES = [
    "/problems/",
    "/problems/new/",
    "/problems/known-errors/",
    "/problems/known-errors/new/",
    "/problems/candidates/",
    "/problems/trends/",
    "/problems/improvements/",
    "/problems/improvements/new/",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_for_staff_and_not_for_end_users(client_as, agent, end_user, path):
    assert client_as(agent).get(path).status_code == 200
    client_as(end_user)
    assert client_as(end_user).get(path).status_code == 403


def test_records_are_not_reachable_by_end_users(client, client_as, agent, end_user):
    problem = make_problem(agent)
    known_error = make_known_error(agent)
    for path in (f"/problems/{problem.pk}/", f"/problems/known-errors/{known_error.pk}/"):
        assert client_as(agent).get(path).status_code == 200
        assert client_as(end_user).get(path).status_code == 403
    client.logout()
    assert client.get(f"/problems/{problem.pk}/").status_code == 302


def test_problem_list_sorted_by_risk_with_constant_queries(
    client_as, agent, django_assert_max_num_queries, django_assert_num_queries
):
    client = client_as(agent)
    make_problem(agent, title="Low", impact=1, probability=1)
    make_problem(agent, title="High", impact=5, probability=5, incidents=[make_incident(agent)])
    client.get("/problems/")
    with django_assert_max_num_queries(15) as few:
        response = client.get("/problems/")
    baseline = len(few.captured_queries)
    assert [row["object"].title for row in response.context["rows"]] == ["High", "Low"]
    for n in range(10):
        make_problem(agent, title=f"P{n}", impact=2, probability=3, incidents=[make_incident(agent)])
    with django_assert_num_queries(baseline):
        response = client.get("/problems/")
    assert len(response.context["rows"]) == 12


def test_known_error_list_constant_queries(
    client_as, agent, django_assert_max_num_queries, django_assert_num_queries
):
    client = client_as(agent)
    make_known_error(agent)
    client.get("/problems/known-errors/")
    with django_assert_max_num_queries(15) as few:
        client.get("/problems/known-errors/")
    for n in range(8):
        make_known_error(agent, title=f"KE {n}")
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get("/problems/known-errors/", {"q": "KE"})
    assert len(response.context["rows"]) == 8


def test_log_a_problem_with_incidents_then_work_it(client_as, agent):
    incident = make_incident(agent)
    client = client_as(agent)
    response = client.post(
        "/problems/new/", {"title": "Disk fills up", "source": "trend_analysis", "incidents": incident.number}
    )
    problem = Problem.objects.get()
    assert response.status_code == 302 and response.url == f"/problems/{problem.pk}/"
    assert problem.incident_links.get().incident == incident
    bad = client.post("/problems/new/", {"title": "X", "source": "proactive", "incidents": "INC9999999"})
    assert bad.status_code == 400 and "INC9999999" in bad.content.decode()
    page = f"/problems/{problem.pk}/"
    refused = client.post(page, {"action": "transition", "status": "resolved", "notes": "x", "version": 1})
    assert refused.status_code == 409 and "Allowed" in refused.content.decode()
    moved = client.post(page, {"action": "transition", "status": "under_investigation", "version": 1})
    assert moved.status_code == 302
    edit = client.post(
        f"/problems/{problem.pk}/edit/",
        {
            "title": "Disk fills up",
            "source": "trend_analysis",
            "root_cause": "Logs not rotated",
            "version": 2,
        },
    )
    assert edit.status_code == 302
    workaround = client.post(
        page,
        {"action": "workaround", "title": "Delete old logs", "symptoms": "Disk full", "steps": "rm old logs"},
    )
    assert workaround.status_code == 302
    recorded = client.post(
        page, {"action": "known_error", "symptoms": "Disk full alarms", "reassessment_interval_days": 30}
    )
    known_error = KnownError.objects.get()
    assert recorded.status_code == 302 and recorded.url == f"/problems/known-errors/{known_error.pk}/"
    assert known_error.workarounds.count() == 1
    html = client.get(page).content.decode()
    assert known_error.number in html and incident.number in html and "Logs not rotated" in html


def test_known_error_page_actions(client_as, agent):
    known_error = make_known_error(agent)
    incident = make_incident(agent)
    client = client_as(agent)
    page = f"/problems/known-errors/{known_error.pk}/"
    assert client.post(page, {"action": "apply", "incident": incident.number}).status_code == 302
    assert WorkaroundUse.objects.filter(incident=incident).exists()
    again = client.post(page, {"action": "apply", "incident": incident.number})
    assert again.status_code == 409
    option = client.post(page, {"action": "fix_option", "title": "Upgrade", "risk": "low", "benefit": "Gone"})
    assert option.status_code == 302
    fix = known_error.fix_options.get()
    assert (
        client.post(page, {"action": "propose", "fix_option": fix.pk, "justification": "Cheap"}).status_code
        == 302
    )
    reassess = client.post(page, {"action": "reassess", "impact": "Low", "decision": "keep_workaround"})
    assert reassess.status_code == 302
    html = client.get(page).content.decode()
    assert "FXP" in html and "Used 1 time" in html


def test_create_form_suggests_known_errors_and_logs_and_applies(client_as, agent):
    known_error = make_known_error(
        agent, title="VPN drops after sleep", symptoms="VPN client disconnects after the laptop sleeps"
    )
    client = client_as(agent)
    html = client.get(
        "/incidents/new/part/suggestions/", {"short_description": "vpn disconnects after sleep"}, **HTMX
    ).content.decode()
    assert known_error.number in html and "Log and apply workaround" in html
    response = client.post(
        f"/problems/known-errors/{known_error.pk}/log-and-apply/",
        {
            "short_description": "VPN disconnects after sleep",
            "impact": 3,
            "urgency": 3,
            "channel": "phone",
            "environment": "production",
        },
    )
    incident = Incident.objects.get()
    assert response.status_code == 302 and response.url == incident.get_absolute_url()
    assert WorkaroundUse.objects.get().incident == incident


def test_incident_page_panel_shows_matches_and_applies_in_one_click(client_as, agent):
    known_error = make_known_error(
        agent, title="Printer prints blank pages", symptoms="Blank pages from printer"
    )
    incident = make_incident(agent, short_description="Printer on floor 2 prints blank pages")
    problem = make_problem(agent, incidents=[incident])
    client = client_as(agent)
    html = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Matching known errors" in html and known_error.number in html and problem.number in html
    response = client.post(f"/problems/known-errors/{known_error.pk}/apply/", {"incident": incident.pk})
    assert response.status_code == 302 and response.url == f"/incidents/{incident.pk}/"
    html = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Workarounds applied" in html


def test_candidate_queue_accept_and_dismiss(client_as, agent, manager):
    incidents = [make_incident(agent, short_description=f"Disk full {n}") for n in range(3)]
    keep = ProblemCandidate.objects.create(
        key="k1", rule="ci_text", title="Disk full again", explanation="3 alike"
    )
    keep.incidents.set(incidents)
    drop = ProblemCandidate.objects.create(key="k2", rule="ci_text", title="Noise", explanation="3 alike")
    agent_page = client_as(agent).get("/problems/candidates/").content.decode()
    assert "Disk full again" in agent_page and "Accept: raise a problem" not in agent_page
    client = client_as(manager)
    assert "Accept: raise a problem" in client.get("/problems/candidates/").content.decode()
    accepted = client.post("/problems/candidates/", {"action": "accept", "candidate": keep.pk})
    problem = Problem.objects.get()
    assert accepted.url == problem.get_absolute_url() and problem.incident_links.count() == 3
    client.post("/problems/candidates/", {"action": "dismiss", "candidate": drop.pk, "reason": "Noise"})
    drop.refresh_from_db()
    assert drop.status == "dismissed"
    assert "Noise" in client.get("/problems/candidates/", {"status": "dismissed"}).content.decode()


def test_trends_page_counts_and_unlinked(client_as, agent):
    linked = make_incident(agent, short_description="Linked one")
    make_problem(agent, incidents=[linked])
    loose = make_incident(agent, short_description="Loose one")
    response = client_as(agent).get("/problems/trends/", {"weeks": "4"})
    assert response.status_code == 200
    assert sum(response.context["totals"]) == 2
    assert response.context["unlinked_count"] == 1
    assert loose.number in response.content.decode()
    assert client_as(agent).get("/problems/trends/", {"weeks": "x"}).status_code == 200


def test_improvement_form(client_as, agent):
    client = client_as(agent)
    response = client.post(
        "/problems/improvements/new/",
        {"title": "Runbook", "benefit": "Faster", "benefit_level": 2, "effort": 1, "status": "proposed"},
    )
    assert response.status_code == 302
    assert "Runbook" in client.get("/problems/improvements/").content.decode()


def test_resolving_from_the_page_resolves_caused_incidents(client_as, agent):
    incident = make_incident(agent)
    problem = investigated(make_problem(agent, incidents=[incident]), agent)
    response = client_as(agent).post(
        f"/problems/{problem.pk}/",
        {
            "action": "transition",
            "status": Status.RESOLVED,
            "notes": "Fixed",
            "resolve_incidents": "on",
            "version": problem.version,
        },
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_manager_publishes_from_the_edit_form(client_as, agent, manager):
    known_error = make_known_error(agent)
    data = {
        "title": known_error.title,
        "symptoms": known_error.symptoms,
        "reassessment_interval_days": 90,
        "publish_to_portal": "on",
        "public_text": "",
        "version": known_error.version,
    }
    refused = client_as(manager).post(f"/problems/known-errors/{known_error.pk}/edit/", data)
    assert refused.status_code == 400 and "user-facing text" in refused.content.decode()
    done = client_as(manager).post(
        f"/problems/known-errors/{known_error.pk}/edit/", {**data, "public_text": "Restart the client."}
    )
    assert done.status_code == 302
    assert KnownError.objects.get(pk=known_error.pk).publish_to_portal
    services.known_error_transition(known_error=known_error, actor=agent, to="retired", reason="Gone")
    assert not KnownError.objects.get(pk=known_error.pk).publish_to_portal
    assert UserFactory(roles=[roles.END_USER])


def test_end_users_find_no_known_error_record_in_search_or_files(client_as, agent, manager, end_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from itsm import services as kernel

    known_error = make_known_error(agent, title="Printer firmware bug")
    services.known_error_update(
        known_error=known_error,
        actor=manager,
        changes={"publish_to_portal": True, "public_text": "Use tray 1."},
    )
    attachment = kernel.attachment_add(
        record=known_error, upload=SimpleUploadedFile("trace.txt", b"root cause trace"), actor=agent
    )
    client = client_as(end_user)
    assert "Printer firmware bug" not in client.get("/search/", {"q": "printer firmware"}).content.decode()
    assert client.get(f"/attachments/{attachment.pk}/download/").status_code == 404
    assert (
        "Printer firmware bug" in client_as(agent).get("/search/", {"q": "printer firmware"}).content.decode()
    )


def test_links_made_from_an_incident_show_on_the_problem(client_as, agent):
    from itsm import services as kernel

    problem = make_problem(agent)
    incident = make_incident(agent, short_description="Linked from the incident page")
    kernel.link_add(source=incident, target=problem, actor=agent, kind="caused_by")
    html = client_as(agent).get(f"/problems/{problem.pk}/").content.decode()
    assert "Linked from the incident page" in html and "caused_by" in html


def test_cis_are_given_by_number_or_name(client_as, agent):
    from tests.configuration.factories import CIFactory

    web, db = CIFactory(name="web-01"), CIFactory(name="db-01")
    client = client_as(agent)
    response = client.post(
        "/problems/new/", {"title": "Slow pages", "source": "proactive", "cis": f"web-01, {db.number}"}
    )
    problem = Problem.objects.get()
    assert response.status_code == 302 and set(problem.cis.all()) == {web, db}
    edit = client.get(f"/problems/{problem.pk}/edit/").content.decode()
    assert 'value="db-01, web-01"' in edit
    bad = client.post("/problems/new/", {"title": "X", "source": "proactive", "cis": "nope-99"})
    assert bad.status_code == 400 and "No CI numbered or named" in bad.content.decode()


JUNK = ["", "x", "-1", "99999999999999999999", "\x00", "a" * 3000]
LIST_PARAMS = ["q", "status", "open", "source", "group", "ci", "service", "min_risk", "ci_class", "ci_attr"]
LIST_PARAMS += ["ordering", "cursor", "published", "due", "weeks"]
ACTION_PARAMS = ["status", "notes", "reason", "resolve_incidents", "version", "numbers", "is_cause"]
ACTION_PARAMS += [
    "title",
    "symptoms",
    "steps",
    "workaround",
    "incident",
    "note",
    "use",
    "outcome",
    "fix_option",
]
ACTION_PARAMS += [
    "justification",
    "impact",
    "decision",
    "next_reassessment_on",
    "benefit",
    "effort",
    "risk",
    "cost",
]


def test_junk_input_is_never_a_500(client_as, agent, manager):
    problem = make_problem(agent)
    known_error = make_known_error(agent)
    from problems import views

    pages = [
        "/problems/",
        "/problems/known-errors/",
        "/problems/candidates/",
        "/problems/trends/",
        "/problems/improvements/",
    ]
    for user in (agent, manager):
        client = client_as(user)
        for value in JUNK:
            if user == agent:
                for page in pages:
                    for name in LIST_PARAMS:
                        assert client.get(page, {name: value}).status_code == 200, (page, name, value)
            for path, forms in (
                (f"/problems/{problem.pk}/", views.ProblemDetail.ACTION_FORMS),
                (f"/problems/known-errors/{known_error.pk}/", views.KnownErrorDetail.ACTION_FORMS),
            ):
                for action in [*forms, "nonsense"]:
                    data = {"action": action, **dict.fromkeys(ACTION_PARAMS, value)}
                    assert client.post(path, data).status_code in (302, 400, 403, 404, 409), (
                        path,
                        action,
                        value,
                    )
            for action in ("accept", "dismiss", "detect", "nonsense"):
                response = client.post(
                    "/problems/candidates/", {"action": action, "candidate": value, "reason": value}
                )
                assert response.status_code in (302, 403, 404), (action, value)
            for path in (
                f"/problems/known-errors/{known_error.pk}/apply/",
                "/problems/new/",
                "/problems/known-errors/new/",
            ):
                assert client.post(path, dict.fromkeys([*ACTION_PARAMS, "cis"], value)).status_code in (
                    302,
                    400,
                    404,
                )
