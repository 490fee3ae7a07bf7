"""Storm mode: a source over its events-per-minute threshold has its new alerts grouped into one storm
group (one incident, not hundreds), operators are told once when it starts and once when it ends,
and no accepted event is dropped or miscounted."""

from __future__ import annotations

import datetime

import pytest
from django.db.models import F, Sum
from django.utils import timezone

from events import services, storm
from events.models import Alert, AlertGroup, Event, EventRate, Storm
from itsm import roles
from itsm.models import Notification
from tests.events.factories import at, event, make_source
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def flood(db):
    source, token = make_source(
        "noisy", storm_threshold_per_minute=20, storm_quiet_minutes=5, max_batch_size=500
    )
    return source, token


def _hosts(count: int, *, offset: int = 0, severity="critical", check="down"):
    return [
        event(resource=f"node-{n + offset}", check=check, severity=severity, occurred_at=at(n % 50))
        for n in range(count)
    ]


def test_a_flood_is_grouped_into_one_storm_group_and_nothing_is_dropped(flood, post, manager, agent):
    source, token = flood
    post(token, _hosts(10))  # under the threshold: ten groups as usual
    assert AlertGroup.objects.count() == 10 and not Storm.objects.exists()
    post(token, _hosts(60, offset=10))  # 70 in this minute: a storm
    current = Storm.objects.get()
    # 70 in the minute (60 if the minute turned between the two requests).
    assert current.ended_at is None and current.peak_per_minute >= 60 and current.events == 60
    assert Event.objects.count() == 70 and Alert.objects.count() == 70  # every event recorded
    storm_group = AlertGroup.objects.get(anchor=f"storm:{current.pk}:0")  # no CI, so no service
    assert storm_group.alerts.count() == 60 and current.group_id == storm_group.pk
    assert AlertGroup.objects.count() == 11  # 10 before + one for the whole storm
    assert storm_group.incident is not None  # one incident for the storm, not sixty
    assert storm_group.title == "Event storm from noisy"
    # Repeats still count on their alerts.
    post(token, [event(resource="node-15", check="down", occurred_at=at(99))])
    assert Alert.objects.get(resource="node-15").count == 2
    assert Alert.objects.aggregate(n=Sum("count"))["n"] == Event.objects.count() == 71
    # The managers are told once (the default audience), with the storm as the record.
    told = Notification.objects.filter(kind="events.storm")
    assert list(told.values_list("recipient__username", flat=True)) == [manager.username]
    assert "events in a minute (threshold 20)" in told.get().body


def test_storm_ends_after_a_quiet_period_and_grouping_is_normal_again(flood, post, manager):
    source, token = flood
    post(token, _hosts(30))
    current = Storm.objects.get()
    assert storm.end_quiet(timezone.now() + datetime.timedelta(minutes=3)) == 0  # not quiet long enough
    # Time passes: the flood was ten minutes ago.
    ago = datetime.timedelta(minutes=10)
    EventRate.objects.update(minute=F("minute") - ago)
    Storm.objects.update(last_busy_at=F("last_busy_at") - ago)
    assert storm.end_quiet() == 1
    current.refresh_from_db()
    assert current.ended_at is not None
    ended = Notification.objects.get(kind="events.storm", key=f"events:storm:{current.pk}:end")
    assert "30 events" in ended.body
    post(token, _hosts(2, offset=100))  # a calm source: one group per CI again
    assert AlertGroup.objects.filter(anchor__startswith="resource:").count() == 2


def test_the_notify_group_is_told_instead_of_the_managers(post, manager):
    from tests.incidents.factories import group_with

    operator = UserFactory(username="operator", roles=[roles.AGENT])
    _source, token = make_source(
        "loud", storm_threshold_per_minute=5, storm_notify_group=group_with(operator, name="NOC")
    )
    post(token, _hosts(10))
    assert list(Notification.objects.values_list("recipient__username", flat=True)) == ["operator"]


def test_warnings_of_a_storming_source_do_not_notify_one_by_one(post, service_map):
    from tests.incidents.factories import group_with

    owner = UserFactory(username="owner", roles=[roles.AGENT])
    host = service_map["host"]
    host.owner_group = group_with(owner, name="Unix")
    host.save()
    _source, token = make_source("loud", storm_threshold_per_minute=5)
    post(token, [event(resource="host-1", check=f"disk-{n}", severity="warning") for n in range(10)])
    assert not Notification.objects.filter(kind="events.warning").exists()


def test_sources_without_a_threshold_are_not_counted(source, post):
    _source, token = source
    post(token, _hosts(50))
    assert not EventRate.objects.exists() and not Storm.objects.exists()


def test_console_shows_the_storm_banner_and_the_api_lists_storms(
    flood, post, client_as, api_as, agent, django_assert_num_queries
):
    _source, token = flood
    post(token, _hosts(25))
    html = client_as(agent).get("/events/").content.decode()
    assert "Event storm from noisy" in html and "every event is still recorded" in html
    api = api_as(agent)
    api.get("/api/v1/events/storms/")
    with django_assert_num_queries(3):  # token, roles, the page with its sources
        listed = api.get("/api/v1/events/storms/", {"open": "true"}).json()["results"]
    assert [s["source_name"] for s in listed] == ["noisy"] and listed[0]["peak_per_minute"] == 25


def test_processing_twice_counts_the_minute_once(flood):
    source, token = flood
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    api.post("/api/v1/events/", _hosts(25), format="json")
    services.process_batch(limit=10)
    services.process_batch()
    services.process_batch()
    assert EventRate.objects.get().events == 25
    assert Storm.objects.get().events == 15  # counted from the batch that found the storm


def test_admin_sets_the_storm_settings_through_the_api(api_as, admin_user):
    from tests.incidents.factories import group_with

    noc = group_with(admin_user, name="NOC")
    body = {"name": "zabbix", "storm_threshold_per_minute": 300, "storm_notify_group": noc.pk}
    response = api_as(admin_user).post("/api/v1/events/sources/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["storm_notify_group"] == noc.pk
    bad = api_as(admin_user).post(
        "/api/v1/events/sources/", {"name": "x", "storm_quiet_minutes": 0}, format="json"
    )
    assert bad.status_code == 400 and "storm_quiet_minutes" in bad.json()["errors"]


def test_a_storm_is_grouped_per_service(post, service_map):
    """host-1 and payroll-app serve Payroll; host-2 serves nothing: two storm groups, Payroll's
    incident on Payroll."""
    from configuration.models import CIIdentifier

    CIIdentifier.objects.create(ci=service_map["app"], scheme="hostname", value="payroll-app")
    _source, token = make_source("loud", storm_threshold_per_minute=5)
    post(
        token,
        [
            event(resource=host, check=f"c{n}")
            for host in ("host-1", "payroll-app", "host-2")
            for n in range(4)
        ],
    )
    current = Storm.objects.get()
    payroll = AlertGroup.objects.get(anchor=f"storm:{current.pk}:{service_map['service'].pk}")
    other = AlertGroup.objects.get(anchor=f"storm:{current.pk}:0")
    assert payroll.alerts.count() == 8 and other.alerts.count() == 4
    assert payroll.title == "Event storm from loud: Payroll" and payroll.service == service_map["service"]
    assert payroll.incident.service == service_map["service"]
    assert AlertGroup.objects.count() == 2
