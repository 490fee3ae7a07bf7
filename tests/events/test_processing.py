"""Processing: dedup counts, clears, correlation along the service map, maintenance, rules, handling
per class, the sweeper."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from events import services
from events.choices import Classification
from events.models import Alert, AlertGroup, Event, EventSource, MaintenanceWindow, RawEvent
from incidents.choices import Channel, Status
from incidents.models import Incident
from itsm.models import Notification, TimelineEntry
from tests.events.factories import at, event, make_rule, make_source
from tests.factories import SupportGroupFactory, UserFactory

pytestmark = pytest.mark.django_db


def on(ci, **fields):
    """An event about a CI, named by its number."""
    return event(ci=ci.number, resource=ci.name, **fields)


# -- deduplication --------------------------------------------------------------------------------


def test_duplicates_count_on_one_alert_with_last_value_and_times(source, post):
    _source, token = source
    post(token, [event(value=n, occurred_at=at(n), check="cpu") for n in range(3)])
    post(token, event(value=99, occurred_at=at(10), check="cpu"))
    alert = Alert.objects.get()
    assert alert.count == 4 and alert.last_value == 99
    assert alert.first_seen_at.isoformat().startswith("2026-11-27T09:00")
    assert alert.last_seen_at.isoformat().startswith("2026-11-27T09:10")
    assert Event.objects.filter(alert=alert).count() == 4


def test_explicit_dedup_key_and_source_dedup_fields(source, post):
    stored, token = source
    post(token, [event(dedup_key="k1", resource="a"), event(dedup_key="k1", resource="b", occurred_at=at(1))])
    assert Alert.objects.get().count == 2
    EventSource.objects.filter(pk=stored.pk).update(dedup_fields=["check", "label.job"])
    post(
        token,
        [
            event(resource="x", labels={"job": "api"}, occurred_at=at(2)),
            event(resource="y", labels={"job": "api"}, occurred_at=at(3)),
        ],
    )
    assert Alert.objects.get(dedup_key="http|api").count == 2


def test_events_naming_only_their_ci_keep_one_alert_per_ci(source, post, service_map):
    """No resource, only the CI: the default key (resource, check) uses the CI in the resource's place."""
    _source, token = source
    first, second = service_map["host"], service_map["other"]
    post(token, [{"ci": ci.number, "check": "disk", "severity": "major"} for ci in (first, second)])
    post(token, {"ci": first.number, "check": "disk", "severity": "major", "occurred_at": at(1)})
    alerts = {alert.dedup_key: alert.count for alert in Alert.objects.all()}
    assert alerts == {f"ci:{first.number}|disk": 2, f"ci:{second.number}|disk": 1}


def test_clear_closes_the_alert_and_the_next_firing_opens_a_new_one(source, post):
    _source, token = source
    post(token, event())
    post(token, event(state="clear", severity="info", occurred_at=at(1)))
    closed = Alert.objects.get()
    assert closed.state == "closed" and closed.closed_at is not None
    post(token, event(occurred_at=at(2)))
    assert Alert.objects.filter(state="open").count() == 1
    assert Alert.objects.count() == 2


def test_firing_clear_firing_in_one_batch_is_exact(source, post):
    _source, token = source
    post(
        token,
        [
            event(occurred_at=at(0)),
            event(occurred_at=at(1)),
            event(state="clear", occurred_at=at(2)),
            event(occurred_at=at(3)),
        ],
    )
    old, new = Alert.objects.order_by("id")
    assert (old.state, old.count, new.state, new.count) == ("closed", 2, "open", 1)


def test_a_clear_with_nothing_open_is_recorded_only(source, post):
    _source, token = source
    post(token, event(state="clear"))
    assert Alert.objects.count() == 0 and Event.objects.get().alert is None


def test_processing_twice_does_nothing(source, post):
    _source, token = source
    response = post(token, event())
    again = services.process_batch(raw_ids=response.json()["ids"])
    assert again.raw == 0 and Alert.objects.get().count == 1


def test_informational_events_are_recorded_only(source, post):
    _source, token = source
    post(token, event(severity="info"))
    assert Event.objects.get().classification == Classification.INFORMATIONAL
    assert Alert.objects.count() == 0 and Incident.objects.count() == 0


# -- CI lookup ------------------------------------------------------------------------------------


def test_ci_found_by_number_identifier_label_or_resource(source, post, service_map):
    _source, token = source
    host = service_map["host"]
    post(
        token,
        [
            event(ci=host.number, check="a"),
            event(ci="hostname=HOST-1", check="b"),
            event(resource="elsewhere", labels={"instance": "host-1:9100"}, check="c"),
            event(resource="host-1", check="d"),
            event(resource="nowhere", check="e"),
        ],
    )
    found = dict(Event.objects.values_list("check_name", "ci_id"))
    assert found == {"a": host.pk, "b": host.pk, "c": host.pk, "d": host.pk, "e": None}


# -- incidents and correlation --------------------------------------------------------------------


def test_exception_opens_one_incident_per_group_with_priority_and_service(source, post, service_map):
    _source, token = source
    owners = SupportGroupFactory(name="Unix team")
    host = service_map["host"]
    host.owner_group = owners
    host.save()
    post(token, [on(host, check="ping"), on(host, check="disk", occurred_at=at(1))])
    group = AlertGroup.objects.get()
    incident = group.incident
    assert incident.channel == Channel.EVENT
    assert incident.service == service_map["service"]
    assert (incident.impact, incident.urgency, incident.priority) == (2, 1, 2)
    assert incident.assignment_group == owners
    assert set(incident.cis.all()) == {host}
    assert group.probable_cause.check_name in ("ping", "disk")
    post(token, on(host, check="memory", occurred_at=at(2)))
    assert Incident.objects.count() == 1
    note = TimelineEntry.objects.filter(kind=TimelineEntry.Kind.WORK_NOTE, object_id=incident.pk).get()
    assert "memory" in note.body and note.visibility == TimelineEntry.Visibility.INTERNAL


def test_topology_alerts_on_dependent_cis_join_the_cause_as_symptoms(source, post, service_map):
    _source, token = source
    post(token, on(service_map["host"], check="ping"))
    post(token, on(service_map["app"], check="http", occurred_at=at(1)))
    post(token, on(service_map["service"], check="synthetic", occurred_at=at(2)))
    group = AlertGroup.objects.get()
    assert Incident.objects.count() == 1
    assert group.probable_cause.ci == service_map["host"]
    symptoms = set(group.alerts.filter(is_symptom=True).values_list("check_name", flat=True))
    assert symptoms == {"http", "synthetic"}
    notes = TimelineEntry.objects.filter(kind=TimelineEntry.Kind.WORK_NOTE, object_id=group.incident_id)
    assert notes.count() == 2 and "symptom" in notes.first().body


def test_an_unrelated_ci_opens_its_own_group(source, post, service_map):
    _source, token = source
    post(token, [on(service_map["host"], check="ping"), on(service_map["other"], check="ping")])
    assert AlertGroup.objects.count() == 2 and Incident.objects.count() == 2


def test_clear_of_every_alert_resolves_the_incident(source, post, service_map):
    _source, token = source
    host, app = service_map["host"], service_map["app"]
    post(token, [on(host, check="ping"), on(app, check="http", occurred_at=at(1))])
    group = AlertGroup.objects.get()
    post(token, on(host, check="ping", state="clear", occurred_at=at(5)))
    group.refresh_from_db()
    assert group.state == "open" and group.incident.status == Status.NEW
    post(token, on(app, check="http", state="clear", occurred_at=at(6)))
    group.refresh_from_db()
    incident = Incident.objects.get()
    assert group.state == "closed" and group.closed_at is not None
    assert incident.status == Status.RESOLVED
    assert "cleared" in incident.resolution_notes


def test_clear_does_not_resolve_when_the_source_says_so(post, service_map):
    _stored, token = make_source(name="keep", resolve_incident_on_clear=False)
    post(token, on(service_map["host"], check="ping"))
    post(token, on(service_map["host"], check="ping", state="clear", occurred_at=at(1)))
    incident = Incident.objects.get()
    assert incident.status == Status.NEW
    assert TimelineEntry.objects.filter(object_id=incident.pk, body__contains="cleared").exists()


def test_maintenance_window_records_events_but_opens_no_incident(source, post, service_map):
    _source, token = source
    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        name="Patching",
        starts_at=now - datetime.timedelta(hours=1),
        ends_at=now + datetime.timedelta(hours=1),
    )
    window.cis.add(service_map["host"])
    post(token, on(service_map["host"], check="ping"))
    group = AlertGroup.objects.get()
    assert group.suppressed and group.incident is None
    assert Event.objects.count() == 1 and Incident.objects.count() == 0
    post(token, on(service_map["other"], check="ping"))
    assert Incident.objects.count() == 1  # another CI is not in the window


def test_a_past_window_does_not_suppress(source, post, service_map):
    _source, token = source
    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        name="Done", starts_at=now - datetime.timedelta(hours=3), ends_at=now - datetime.timedelta(hours=1)
    )
    window.cis.add(service_map["host"])
    post(token, on(service_map["host"], check="ping"))
    assert Incident.objects.count() == 1


def test_warning_notifies_the_ci_owner_group_once(source, post, service_map):
    _source, token = source
    members = [UserFactory(), UserFactory()]
    owners = SupportGroupFactory()
    owners.members.add(*members)
    host = service_map["host"]
    host.owner_group = owners
    host.save()
    post(token, on(host, check="disk", severity="warning"))
    post(token, on(host, check="disk", severity="warning", occurred_at=at(1)))
    sent = Notification.objects.filter(kind="events.warning")
    assert sorted(sent.values_list("recipient_id", flat=True)) == sorted(m.pk for m in members)
    assert Incident.objects.count() == 0


# -- rules ----------------------------------------------------------------------------------------


def test_rules_apply_in_order_first_match_per_action(source, post):
    _source, token = source
    make_rule(
        name="late", order=20, match_check="cpu", set_severity="critical", set_classification="informational"
    )
    make_rule(name="early", order=10, match_check="cpu", set_severity="minor")
    make_rule(name="other check", order=5, match_check="disk", set_severity="info")
    post(token, event(check="cpu", severity="major"))
    stored = Event.objects.get()
    assert stored.severity == "minor"  # the earlier rule sets severity
    assert stored.classification == "informational"  # only the later one classifies


def test_drop_rule_keeps_the_raw_event_only(source, post):
    _source, token = source
    make_rule(name="ignore test", order=1, match_labels={"env": "test"}, drop=True)
    post(token, [event(labels={"env": "test"}), event(labels={"env": "prod"}, check="x")])
    assert Event.objects.count() == 1
    assert RawEvent.objects.filter(outcome="dropped").count() == 1


def test_value_threshold_ci_class_and_dedup_key_rules(source, post, service_map):
    _source, token = source
    make_rule(name="hot", order=1, value_above=90, set_classification="exception")
    make_rule(
        name="servers",
        order=2,
        match_ci_class=service_map["host"].ci_class.parent or service_map["host"].ci_class,
        set_dedup_key="{ci}:{check}",
    )
    post(token, [on(service_map["host"], check="cpu", severity="warning", value=95)])
    alert = Alert.objects.get()
    assert alert.classification == "exception"
    assert alert.dedup_key == f"{service_map['host'].number}:cpu"
    post(token, event(check="cpu", resource="nowhere", severity="warning", value=50))
    assert Alert.objects.get(resource="nowhere").classification == "warning"


# -- sweeper --------------------------------------------------------------------------------------


def test_sweeper_processes_what_no_task_took(source, post, settings):
    _source, token = source
    settings.EVENTS_SWEEP_AGE_SECONDS = 0
    post(token, [event(check=f"c{n}") for n in range(3)], process=False)
    assert RawEvent.objects.filter(processed_at__isnull=True).count() == 3
    assert services.sweep_unprocessed() == 3
    assert RawEvent.objects.filter(processed_at__isnull=True).count() == 0
    assert Alert.objects.count() == 3


def test_sweeper_leaves_young_events_to_their_task(source, post, settings):
    _source, token = source
    settings.EVENTS_SWEEP_AGE_SECONDS = 3600
    post(token, event(), process=False)
    assert services.sweep_unprocessed() == 0


def test_topology_inside_one_batch_groups_under_the_cause_whatever_the_order(source, post, service_map):
    _source, token = source
    post(
        token,
        [
            on(service_map["service"], check="synthetic"),
            on(service_map["app"], check="http"),
            on(service_map["host"], check="ping"),
        ],
    )
    group = AlertGroup.objects.get()
    assert group.probable_cause.ci == service_map["host"] and group.ci == service_map["host"]
    assert group.alerts.filter(is_symptom=True).count() == 2
    assert Incident.objects.count() == 1


def test_one_event_that_cannot_be_processed_does_not_block_the_others(source, post, monkeypatch):
    from events import processing

    _source, token = source
    ids = post(token, [event(check=n) for n in ("ok-1", "boom", "ok-2")], process=False).json()["ids"]
    real = processing._parse

    def parse(raw, source):
        parsed = real(raw, source)
        if parsed.check_name == "boom":
            raise RuntimeError("a bug")
        return parsed

    monkeypatch.setattr(processing, "_parse", parse)
    result = services.process_ids(ids)
    assert result.raw == 3 and result.invalid == 1
    assert sorted(Event.objects.values_list("check_name", flat=True)) == ["ok-1", "ok-2"]
    failed = RawEvent.objects.get(outcome="invalid")
    assert failed.processed_at is not None and "a bug" in failed.error


def test_a_worse_alert_raises_the_groups_severity_and_opens_the_incident(source, post, service_map):
    _source, token = source
    host = service_map["host"]
    post(token, on(host, check="disk", severity="warning"))
    group = AlertGroup.objects.get()
    assert group.severity == "warning" and group.incident is None
    post(token, on(host, check="ping", severity="critical", occurred_at=at(1)))
    group.refresh_from_db()
    assert group.severity == "critical" and group.incident is not None
    post(token, on(host, check="disk", severity="warning", occurred_at=at(2)))
    group.refresh_from_db()
    assert group.severity == "critical"


def test_an_exception_still_firing_after_the_window_opens_the_incident(source, post, service_map):
    _source, token = source
    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        name="Patching",
        starts_at=now - datetime.timedelta(hours=1),
        ends_at=now + datetime.timedelta(hours=1),
    )
    window.cis.add(service_map["service"])  # the service, not the host the alert is on
    post(token, on(service_map["host"], check="ping"))
    group = AlertGroup.objects.get()
    assert group.suppressed and Incident.objects.count() == 0
    MaintenanceWindow.objects.filter(pk=window.pk).update(ends_at=now - datetime.timedelta(minutes=1))
    post(token, on(service_map["host"], check="ping", occurred_at=at(1)))
    group.refresh_from_db()
    assert group.incident is not None and group.suppressed


def test_informational_and_unused_raw_events_expire_after_the_retention(source, post, settings):
    _source, token = source
    settings.EVENTS_RETENTION_DAYS = 30
    make_rule(name="drop noise", order=1, match_check="noise", drop=True)
    post(token, [event(check="info", severity="info"), event(check="noise"), event(check="real")])
    assert services.expire_old() == 0  # nothing is old yet
    later = timezone.now() + datetime.timedelta(days=31)
    assert services.expire_old(now=later) == 2
    assert list(Event.objects.values_list("check_name", flat=True)) == ["real"]
    assert RawEvent.objects.count() == 1 and Alert.objects.get().count == 1


def test_alert_repeated_is_sent_once_when_the_count_reaches_the_threshold(source, post, settings):
    from events.signals import alert_repeated

    _source, token = source
    settings.EVENTS_REPEAT_THRESHOLD = 3
    heard = []

    def listener(sender, alert_id, count, **kwargs):
        heard.append((alert_id, count))

    alert_repeated.connect(listener)
    try:
        post(token, [event(occurred_at=at(0)), event(occurred_at=at(1))])
        assert heard == []
        post(token, [event(occurred_at=at(2)), event(occurred_at=at(3))])
        post(token, event(occurred_at=at(4)))
    finally:
        alert_repeated.disconnect(listener)
    assert heard == [(Alert.objects.get().pk, 4)]


def test_a_silenced_group_records_but_opens_no_incident_and_notifies_no_one(source, post, service_map, agent):
    _source, token = source
    owners = SupportGroupFactory()
    owners.members.add(UserFactory())
    host = service_map["host"]
    host.owner_group = owners
    host.save()
    post(token, on(host, check="disk", severity="warning"))
    group = AlertGroup.objects.get()
    services.group_silence(group=group, actor=agent, minutes=60)
    post(token, [on(host, check="ping", occurred_at=at(1)), on(host, check="inodes", severity="warning")])
    group.refresh_from_db()
    assert group.incident is None and group.alerts.count() == 3
    assert Notification.objects.filter(kind="events.warning").count() == 1  # only before the silence
    services.group_silence(group=group, actor=agent, minutes=0)
    post(token, on(host, check="ping", occurred_at=at(2)))
    group.refresh_from_db()
    assert group.incident is not None
    with pytest.raises(ValidationError):
        services.group_silence(group=group, actor=agent, minutes=-5)
