"""Service levels through the API and the manager page: calendars with hours and holidays, policies,
clocks visible only with their record, the breach list and its prediction tab."""

import datetime

import pytest
from django.utils import timezone

from incidents import services as incidents
from incidents.models import Incident
from itsm import roles
from servicelevels import calendars, queries
from servicelevels.models import Calendar, Clock, ClockState, SLAPolicy
from servicelevels.services import sweep
from tests.factories import UserFactory
from tests.incidents.factories import group_with, make_incident

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh():
    calendars.forget()


@pytest.fixture
def always():
    return Calendar.objects.create(name="24x7", is_24x7=True)


def test_calendar_crud_with_hours_and_generated_holidays(api_as, admin_user, agent):
    client = api_as(admin_user)
    body = {
        "name": "Berlin office",
        "time_zone": "Europe/Berlin",
        "holiday_country": "DE",
        "holiday_subdivision": "BE",
        "hours": [
            {"weekday": 0, "start": "08:00", "end": "12:00"},
            {"weekday": 0, "start": "13:00", "end": "17:00"},
        ],
    }
    created = client.post("/api/v1/servicelevels/calendars/", body, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert len(created.json()["hours"]) == 2
    added = client.post(
        f"/api/v1/servicelevels/calendars/{pk}/generate-holidays/", {"years": [2026]}, format="json"
    )
    assert added.json()["added"] >= 9
    detail = client.get(f"/api/v1/servicelevels/calendars/{pk}/").json()
    assert {"date": "2026-12-25", "name": "Christmas Day", "generated": True} in detail["holidays"]
    overlapping = client.patch(
        f"/api/v1/servicelevels/calendars/{pk}/",
        {
            "hours": [
                {"weekday": 1, "start": "08:00", "end": "12:00"},
                {"weekday": 1, "start": "11:00", "end": "13:00"},
            ]
        },
        format="json",
    )
    assert overlapping.status_code == 400 and "overlap" in overlapping.json()["errors"]["hours"][0]
    bad_zone = client.post(
        "/api/v1/servicelevels/calendars/", {"name": "x", "time_zone": "Mars/Olympus"}, format="json"
    )
    assert bad_zone.status_code == 400 and "time_zone" in bad_zone.json()["errors"]
    assert api_as(agent).post("/api/v1/servicelevels/calendars/", body, format="json").status_code == 403
    assert api_as(agent).get(f"/api/v1/servicelevels/calendars/{pk}/").status_code == 200


def test_policy_needs_a_target(api_as, admin_user, always):
    client = api_as(admin_user)
    refused = client.post(
        "/api/v1/servicelevels/policies/", {"name": "Nothing", "calendar": always.pk}, format="json"
    )
    assert refused.status_code == 400 and "resolution_minutes" in refused.json()["errors"]
    made = client.post(
        "/api/v1/servicelevels/policies/",
        {
            "name": "P1",
            "calendar": always.pk,
            "priorities": [1],
            "resolution_minutes": 240,
            "warning_percents": [50, 90],
        },
        format="json",
    )
    assert made.status_code == 201, made.json()


def test_clocks_are_visible_only_with_their_record(api_as, agent, always):
    SLAPolicy.objects.create(name="All", calendar=always, resolution_minutes=60)
    security = UserFactory(roles=[roles.AGENT, roles.SECURITY])
    normal = make_incident(agent)
    secret = make_incident(agent, is_security=True)
    mine = api_as(agent).get("/api/v1/servicelevels/clocks/?record_type=incident").json()["results"]
    assert {c["record_id"] for c in mine} == {normal.pk}
    theirs = api_as(security).get("/api/v1/servicelevels/clocks/").json()["results"]
    assert {c["record_id"] for c in theirs} == {normal.pk, secret.pk}
    assert theirs[0]["events"][0]["kind"] == "started"


def test_breach_page_for_managers_with_the_prediction_tab(client_as, agent, manager, always):
    SLAPolicy.objects.create(name="All", calendar=always, resolution_minutes=60, warning_percents=[])
    group = group_with(agent, name="Desk")
    # History: this group needed about 3 hours for P4 incidents.
    for _ in range(6):
        done = make_incident(agent, assignment_group=group)
        clock = Clock.objects.get(object_id=done.pk, target="resolution")
        Clock.objects.filter(pk=clock.pk).update(
            running_since=clock.running_since - datetime.timedelta(hours=3)
        )
        incidents.incident_resolve(
            incident=done, actor=agent, resolution_code="solved_workaround", resolution_notes="ok"
        )
    open_one = make_incident(agent, assignment_group=group, short_description="Slow laptop")
    late = make_incident(agent, assignment_group=group, short_description="Broken screen")
    sweep(now=timezone.now() + datetime.timedelta(hours=2))
    assert Clock.objects.filter(state=ClockState.MET).count() == 6
    client = client_as(manager)
    breached = client.get("/servicelevels/").content.decode()
    assert "Broken screen" in breached and "still open" in breached
    predicted_page = client.get("/servicelevels/?tab=predicted").content.decode()
    assert "median 3 h 00 min" not in predicted_page  # both are already breached: not "predicted"
    running = Clock.objects.filter(object_id=open_one.pk, target="resolution")
    running.update(breached_at=None)
    prediction = queries.predict(list(running.select_related("calendar")))[running.get().pk]
    assert prediction.likely and "median 3 h 00 min" in prediction.why
    queue = client_as(agent).get("/incidents/?tab=open").content.decode()
    assert queue.count("likely to breach") == 1 and "median 3 h 00 min" in queue
    assert client_as(agent).get("/servicelevels/").status_code == 403
    assert late.pk


def test_incident_page_and_api_show_the_clocks(client_as, api_as, agent, always):
    SLAPolicy.objects.create(name="Standard 4h", calendar=always, resolution_minutes=240)
    incident = make_incident(agent)
    page = client_as(agent).get(f"/incidents/{incident.pk}/").content.decode()
    assert (
        "Service levels" in page
        and "Policy &#x27;Standard 4h&#x27; gives 4 h 00 min around the clock." in page
    )
    detail = api_as(agent).get(f"/api/v1/incidents/{incident.pk}/").json()
    (clock,) = detail["service_levels"]
    assert clock["target"] == "resolution" and clock["risk"] == "ok" and clock["policy"] == "Standard 4h"


def test_queue_shows_time_left_coloured_and_sorts_by_due(client_as, agent, always):
    SLAPolicy.objects.create(name="P4", calendar=always, priorities=[4], resolution_minutes=600)
    SLAPolicy.objects.create(name="Others", calendar=always, order=200, resolution_minutes=60)
    slow = make_incident(agent, short_description="Later one", impact=4, urgency=3)
    fast = make_incident(agent, short_description="Sooner one", impact=1, urgency=1)
    overdue = make_incident(agent, short_description="Late one", impact=1, urgency=1)
    Incident.objects.filter(pk=overdue.pk).update(
        resolve_due_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    client = client_as(agent)
    page = client.get("/incidents/?tab=open&ordering=resolve_due_at").content.decode()
    assert page.index("Late one") < page.index("Sooner one") < page.index("Later one")
    assert "overdue" in page and "text-bg-warning" in page  # 60 min left: soon
    assert slow.pk and fast.pk
