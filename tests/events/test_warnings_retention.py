"""Warnings that open a low-priority incident (per source, per rule), the rule preview in the admin,
and retention (informational events, unused raw events, raw payloads of recorded events, rates)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from events import retention, services
from events.models import Alert, AlertGroup, Event, EventRate, MaintenanceWindow, RawEvent
from incidents.models import Incident
from tests.events.factories import at, event, make_rule, make_source

pytestmark = pytest.mark.django_db


def test_a_source_can_have_warnings_open_low_priority_incidents(post, service_map):
    _quiet, quiet_token = make_source("quiet")
    _eager, eager_token = make_source("eager", warning_opens_incident=True)
    post(quiet_token, event(resource="host-1", check="disk", severity="warning"))
    assert not Incident.objects.exists()  # the default: warnings notify, no incident
    post(eager_token, event(resource="host-2", check="disk", severity="minor"))
    incident = Incident.objects.get()
    # host-2 has no service: impact 3 (moderate) at most, urgency 4 (low) -> P4.
    assert (incident.impact, incident.urgency, incident.priority) == (3, 4, 4)
    assert AlertGroup.objects.get(incident=incident).title == "host-2: disk"
    post(eager_token, event(resource="host-2", check="disk", severity="minor", occurred_at=at(1)))
    assert Incident.objects.count() == 1  # one per group


def test_a_rule_can_have_its_warnings_open_an_incident_even_on_a_critical_service(post, service_map):
    _source, token = make_source("prom")
    make_rule(name="disk warnings matter", match_check="disk", open_incident_on_warning=True)
    post(token, event(resource="host-1", check="disk", severity="warning"))
    post(token, event(resource="host-2", check="cpu", severity="warning"))
    incident = Incident.objects.get()
    assert incident.service == service_map["service"]  # Payroll, criticality 2
    assert (incident.impact, incident.urgency, incident.priority) == (3, 4, 4)  # still low


def test_warning_incidents_wait_for_maintenance_like_exceptions(post, service_map):
    _source, token = make_source("eager", warning_opens_incident=True)
    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        name="Patching",
        starts_at=now - datetime.timedelta(minutes=5),
        ends_at=now + datetime.timedelta(hours=1),
    )
    window.cis.add(service_map["host"])
    post(token, event(resource="host-1", check="disk", severity="warning"))
    assert not Incident.objects.exists() and Alert.objects.count() == 1


def test_admin_previews_an_unsaved_rule_on_recent_events(client_as, admin_user, source, post):
    from people.models import User

    User.objects.filter(pk=admin_user.pk).update(is_staff=True, is_superuser=True)
    _source, token = source
    post(token, [event(resource=f"h{n}", check="cpu", value=n * 10, occurred_at=at(n)) for n in range(5)])
    client = client_as(admin_user)
    page = client.get("/admin/events/rule/add/").content.decode()
    assert 'name="_preview"' in page
    form = {
        "name": "hot cpu",
        "order": 10,
        "is_active": "on",
        "match_labels": "{}",
        "match_check": "cpu",
        "value_above": "25",
        "set_severity": "minor",
        "set_classification": "",
        "set_dedup_key": "",
        "_preview": "Preview on recent events",
    }
    response = client.post("/admin/events/rule/add/", form)
    html = response.content.decode()
    assert response.status_code == 200 and "<strong>2</strong> of the 5 most recent events match" in html
    assert "critical → <strong>minor</strong>" in html
    assert not Rule_exists()
    response = client.post("/admin/events/rule/add/", {**form, "value_above": "hot"})
    assert "The rule is not valid yet" in response.content.decode() and not Rule_exists()


def Rule_exists() -> bool:  # noqa: N802 - reads as the question it asks
    from events.models import Rule

    return Rule.objects.exists()


def test_retention_expires_in_batches_and_keeps_what_counts(source, post, settings, client_as, agent):
    _source, token = source
    settings.EVENTS_RETENTION_DAYS = 30
    settings.EVENTS_RAW_RETENTION_DAYS = 60
    settings.EVENTS_EXPIRY_BATCH = 2  # several batches
    make_rule(name="drop noise", order=1, match_check="noise", drop=True)
    post(
        token,
        [event(check="info", severity="info", occurred_at=at(n)) for n in range(3)]
        + [event(check="noise", occurred_at=at(n)) for n in range(3)]
        + [event(check="real", occurred_at=at(n)) for n in range(3)],
    )
    EventRate.objects.create(source_id=_source.pk, minute=timezone.now(), events=9)
    assert retention.expire().raw_events == 0  # nothing is old yet
    in_40_days = timezone.now() + datetime.timedelta(days=40)
    expired = retention.expire(now=in_40_days)
    assert (expired.informational, expired.unused_raw, expired.raw_payloads, expired.rates) == (3, 3, 0, 1)
    assert sorted(set(Event.objects.values_list("check_name", flat=True))) == ["real"]
    assert RawEvent.objects.count() == 3
    in_70_days = timezone.now() + datetime.timedelta(days=70)
    assert services.expire_old(now=in_70_days) == 3  # the raw payloads of the recorded events
    assert not RawEvent.objects.exists()
    assert Event.objects.filter(raw__isnull=True).count() == 3 and Alert.objects.get().count == 3
    alert = Alert.objects.get()
    html = client_as(agent).get(f"/events/alerts/{alert.pk}/events/").content.decode()
    assert html.count(">expired<") == 3
    events = client_as(agent).get(f"/api/v1/events/alerts/{alert.pk}/events/").json()
    assert [e["raw_payload"] for e in events["results"]] == [None, None, None]


def test_unprocessed_raw_events_are_never_expired(source, settings):
    from rest_framework.test import APIClient

    _source, token = source
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    api.post("/api/v1/events/", event(), format="json")
    assert retention.expire(now=timezone.now() + datetime.timedelta(days=400)).raw_events == 0
    assert RawEvent.objects.filter(processed_at__isnull=True).count() == 1


def test_an_exception_joining_a_warning_incident_raises_its_priority_once(post, service_map):
    from itsm.models import TimelineEntry

    _source, token = make_source("eager", warning_opens_incident=True)
    post(token, event(resource="host-1", check="disk", severity="warning"))
    incident = Incident.objects.get()
    assert incident.priority == 4
    post(token, event(resource="host-1", check="ping", severity="critical", occurred_at=at(1)))
    incident.refresh_from_db()
    # Payroll's criticality (2) is the impact, critical the urgency (1): P2, as if opened for it.
    assert (incident.impact, incident.urgency, incident.priority) == (2, 1, 2)
    note = TimelineEntry.objects.filter(object_id=incident.pk, body__contains="P4 to P2").get()
    assert "critical exception joined alert group" in note.body
    assert Incident.objects.count() == 1
    post(token, event(resource="host-1", check="http", severity="critical", occurred_at=at(2)))
    changes = TimelineEntry.objects.filter(object_id=incident.pk, body__startswith="Priority changed")
    assert changes.count() == 1  # raised once only
    assert not AlertGroup.objects.get().incident_from_warning
