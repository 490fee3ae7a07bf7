"""Repeated monitoring alerts -> proposed problems: the event batch only registers an on-commit callback,
the Celery task proposes (idempotently), the managers get one digest per period, and a broker that is
down loses nothing (the digest task's sweep proposes what the task never did)."""

import datetime

import pytest
from django.db.models import QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown
from rest_framework.test import APIClient

from events import services as event_services
from events.models import Alert
from itsm import roles
from itsm.models import Notification
from problems import detection, receivers, tasks
from problems.models import ProblemCandidate
from tests.configuration.factories import CIFactory
from tests.events.factories import event, make_source
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def threshold(settings):
    settings.EVENTS_REPEAT_THRESHOLD = 10
    return 10


@pytest.fixture
def sent(monkeypatch):
    """What the receiver sends to the broker: recorded, not sent (run with ``_deliver``)."""
    calls = []
    monkeypatch.setattr(tasks.candidate_from_alert, "delay", lambda *args: calls.append(args))
    return calls


def _deliver(calls) -> None:
    """What a worker does with the messages: run the task in process, once per message."""
    for args in calls:
        tasks.candidate_from_alert.apply(args=args).get()


def _post(resource: str, check: str = "http", times: int = 10) -> None:
    CIFactory(name=resource, identifiers={"hostname": resource})
    _, token = make_source(name=f"prom-{resource}-{check}")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    start = timezone.now() - datetime.timedelta(minutes=times + 1)
    payload = {
        "events": [
            event(
                resource=resource,
                check=check,
                occurred_at=(start + datetime.timedelta(minutes=m)).isoformat(),
            )
            for m in range(times)
        ]
    }
    assert api.post("/api/v1/events/", payload, format="json").status_code == 202


def test_the_event_batch_only_enqueues_the_task_does_the_work(
    threshold, sent, monkeypatch, django_capture_on_commit_callbacks
):
    """Ten occurrences processed: inside the batch nothing is proposed and nothing is sent; after the
    commit one task is sent, and the task proposes the problem with the alert group's incident."""
    made = []
    real = detection.candidate_from_alert
    monkeypatch.setattr(detection, "candidate_from_alert", lambda **kw: made.append(kw) or real(**kw))
    _post("web-01")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event_services.process_batch()
    assert made == [] and sent == [] and not ProblemCandidate.objects.exists()
    for callback in callbacks:  # the batch commits
        callback()
    alert = Alert.objects.get()
    assert sent == [(alert.pk, 10)] and made == []
    _deliver(sent)
    candidate = ProblemCandidate.objects.get()
    assert made == [{"alert_id": alert.pk, "count": 10}]
    assert candidate.rule == "events" and candidate.alert == alert and candidate.alert_count == 10
    assert candidate.incidents.count() == 1 and candidate.ci.name == "web-01"
    assert candidate.announced_at is None  # told in the next digest, not now
    problem = detection.candidate_accept(candidate=candidate, actor=UserFactory(roles=[roles.MANAGER]))
    assert problem.source == "event_repetition"


def test_a_batch_that_rolls_back_sends_nothing(threshold, sent, django_capture_on_commit_callbacks):
    alert = _alert("db-01")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        from django.db import transaction

        with pytest.raises(RuntimeError), transaction.atomic():
            receivers._alert_repeated(sender=Alert, alert_id=alert.pk, count=10)
            raise RuntimeError("the batch fails")
    assert callbacks == [] and sent == []


def _alert(resource: str, *, check: str = "disk_full", count: int = 10, source=None) -> Alert:
    from events.models import EventSource

    source = source or EventSource.objects.create(
        name=f"src-{resource}", token_hash=resource.ljust(64, "x"), token_prefix="x"
    )
    now = timezone.now()
    return Alert.objects.create(
        source=source,
        dedup_key=f"{resource}|{check}",
        resource=resource,
        check_name=check,
        ci=CIFactory(name=resource),
        severity="major",
        classification="exception",
        first_seen_at=now,
        last_seen_at=now,
        count=count,
    )


def test_a_retry_or_second_delivery_never_makes_a_second_candidate(threshold):
    alert = _alert("db-01")
    first = tasks.candidate_from_alert.apply(args=(alert.pk, 10)).get()
    again = tasks.candidate_from_alert.apply(args=(alert.pk, 10)).get()  # the same message twice
    later = tasks.candidate_from_alert.apply(args=(alert.pk, 14)).get()  # a later count
    assert first == again == later
    candidate = ProblemCandidate.objects.get()
    assert candidate.alert_count == 14
    # The alert closed and a new one opened with the same key: still the same candidate.
    Alert.objects.filter(pk=alert.pk).update(state="closed", closed_at=timezone.now())
    reopened = Alert.objects.create(
        source=alert.source,
        dedup_key=alert.dedup_key,
        resource=alert.resource,
        check_name=alert.check_name,
        severity="major",
        classification="exception",
        first_seen_at=timezone.now(),
        last_seen_at=timezone.now(),
        count=10,
    )
    assert tasks.candidate_from_alert.apply(args=(reopened.pk, 10)).get() == first
    assert ProblemCandidate.objects.count() == 1


def test_two_deliveries_racing_make_one_candidate(threshold, monkeypatch):
    """The second delivery does not see the first's candidate yet (not committed when it looked): the
    unique key refuses its insert, and it updates the first's candidate instead."""
    alert = _alert("db-01")
    first = detection.candidate_from_alert(alert_id=alert.pk, count=10)
    real_first = QuerySet.first
    blind = []

    def first_misses_once(self):
        if self.model is ProblemCandidate and not blind:
            blind.append(True)
            return None
        return real_first(self)

    monkeypatch.setattr(QuerySet, "first", first_misses_once)
    second = detection.candidate_from_alert(alert_id=alert.pk, count=12)
    assert blind and second.pk == first.pk
    assert ProblemCandidate.objects.get().alert_count == 12


def test_a_dismissed_alert_candidate_stays_dismissed(threshold, manager):
    alert = _alert("db-01")
    candidate = detection.candidate_from_alert(alert_id=alert.pk, count=10)
    detection.candidate_dismiss(candidate=candidate, actor=manager, reason="Disk is meant to be full")
    detection.candidate_from_alert(alert_id=alert.pk, count=30)
    assert tasks.candidate_digest.apply().get() == 0  # the sweep does not re-propose it either
    candidate.refresh_from_db()
    assert candidate.status == "dismissed" and candidate.alert_count == 10
    assert not Notification.objects.filter(recipient=manager).exists()


def test_managers_get_one_digest_for_several_candidates(threshold, manager, agent):
    other = UserFactory(roles=[roles.ADMIN])
    alerts = [_alert(name) for name in ("db-01", "db-02", "db-03")]
    for alert in alerts:
        tasks.candidate_from_alert.apply(args=(alert.pk, 10)).get()
    dropped = _alert("db-04")
    dismissed = detection.candidate_from_alert(alert_id=dropped.pk, count=10)
    detection.candidate_dismiss(candidate=dismissed, actor=manager, reason="Noise")
    assert not Notification.objects.exists()
    assert tasks.candidate_digest.apply().get() == 3
    for person in (manager, other):
        told = Notification.objects.get(recipient=person)
        assert told.kind == "problems.candidate" and told.url == "/problems/candidates/"
        assert told.subject == "3 new proposed problems to accept or dismiss"
        assert all(f"disk_full on db-0{n}" in told.body for n in (1, 2, 3)) and "db-04" not in told.body
    assert not Notification.objects.filter(recipient=agent).exists()
    # The next period: nothing new, nothing sent; a new candidate, a new digest with it alone.
    assert tasks.candidate_digest.apply().get() == 0
    tasks.candidate_from_alert.apply(args=(_alert("db-05").pk, 10)).get()
    assert tasks.candidate_digest.apply().get() == 1
    assert Notification.objects.filter(recipient=manager).count() == 2
    assert ProblemCandidate.objects.filter(announced_at__isnull=True).count() == 0


def test_a_long_digest_names_the_first_and_counts_the_rest(threshold, manager, monkeypatch):
    monkeypatch.setattr(detection, "DIGEST_LISTED", 2)
    for name in ("db-01", "db-02", "db-03", "db-04"):
        detection.candidate_from_alert(alert_id=_alert(name).pk, count=10)
    assert detection.send_candidate_digest() == 4
    body = Notification.objects.get(recipient=manager).body
    assert body.count("\n- ") + body.startswith("- ") == 2 and body.endswith("... and 2 more.")


def test_broker_down_loses_nothing_the_digest_sweep_proposes(
    threshold, manager, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    """The task cannot be sent after the batch commits (the broker is down): the batch is not
    disturbed, and the next digest task proposes the candidate (the sweep) and lists it."""

    def down(*args):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.candidate_from_alert, "delay", down)
    _post("web-01")
    with django_capture_on_commit_callbacks(execute=True):
        result = event_services.process_batch()
    assert result.alerts_opened == 1 and not ProblemCandidate.objects.exists()
    assert "waits for the digest's sweep" in caplog.text
    # An older repeated alert outside the sweep's window and a quiet one are left alone.
    old = _alert("old-01")
    Alert.objects.filter(pk=old.pk).update(last_seen_at=timezone.now() - datetime.timedelta(days=8))
    _alert("quiet-01", count=3)
    assert tasks.candidate_digest.apply().get() == 1
    candidate = ProblemCandidate.objects.get()
    assert candidate.alert.resource == "web-01" and candidate.alert_count == 10
    assert candidate.incidents.count() == 1
    assert "web-01" in Notification.objects.get(recipient=manager).body
    assert tasks.candidate_digest.apply().get() == 0 and ProblemCandidate.objects.count() == 1
