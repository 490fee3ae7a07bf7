"""What the benchmarks (bench/events.py) led to: a task tops its batch up with the oldest pending raw
events, and a storm on one group does not write a work note per batch."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from events import services
from events.models import Alert, AlertGroup, Event, RawEvent
from itsm.models import TimelineEntry
from tests.events.factories import at, event

pytestmark = pytest.mark.django_db


def on(ci, **fields):
    return event(ci=ci.number, resource=ci.name, **fields)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _single_posts(post, token, count: int) -> list[int]:
    """One request per event (as a one-event sender does); nothing processed yet."""
    return [
        post(token, event(resource=f"host-{n % 3}", check="load", occurred_at=at(n)), process=False).json()[
            "ids"
        ][0]
        for n in range(count)
    ]


def test_a_task_tops_its_batch_up_with_the_oldest_pending_events(source, post):
    _source, token = source
    ids = _single_posts(post, token, 7)
    result = services.process_ids([ids[-1]])  # the task of the last request
    assert result.raw == 7 and result.events == 7
    assert not RawEvent.objects.filter(processed_at__isnull=True).exists()
    assert sum(Alert.objects.values_list("count", flat=True)) == 7
    # The tasks of the events it took find nothing left to do; nothing is counted twice.
    assert services.process_ids([ids[0]]).raw == 0
    assert Event.objects.count() == 7


def test_the_top_up_stops_at_the_batch_size_and_takes_the_oldest(source, post, settings):
    settings.EVENTS_BATCH_SIZE = 3
    _source, token = source
    ids = _single_posts(post, token, 6)
    assert services.process_ids([ids[5]]).raw == 3
    left = set(RawEvent.objects.filter(processed_at__isnull=True).values_list("id", flat=True))
    assert left == set(ids[2:5])  # its own event and the two oldest were taken


def test_a_faulty_event_taken_as_top_up_does_not_block_the_task_that_took_it(source, post, monkeypatch):
    from events import processing

    _source, token = source
    ids = [
        post(token, event(check=name, occurred_at=at(n)), process=False).json()["ids"][0]
        for n, name in enumerate(["boom", "ok-1", "ok-2"])
    ]
    real = processing._parse

    def parse(raw, source):
        parsed = real(raw, source)
        if parsed.check_name == "boom":
            raise RuntimeError("a bug")
        return parsed

    monkeypatch.setattr(processing, "_parse", parse)
    assert services.process_ids([ids[2]]).raw == 1  # its own event, without the faulty top-up
    assert RawEvent.objects.get(pk=ids[0]).processed_at is None
    services.process_ids([ids[0]])  # the faulty event's own task marks it invalid
    services.process_ids([ids[1]])
    assert RawEvent.objects.get(pk=ids[0]).outcome == "invalid"
    assert sorted(Event.objects.values_list("check_name", flat=True)) == ["ok-1", "ok-2"]


def _notes(incident_id: int):
    return TimelineEntry.objects.filter(kind=TimelineEntry.Kind.WORK_NOTE, object_id=incident_id).order_by(
        "id"
    )


def test_more_alerts_on_the_same_ci_get_one_note_per_window_and_the_next_note_lists_them(
    source, post, service_map, settings
):
    settings.EVENTS_NOTE_SECONDS = 60
    _source, token = source
    host = service_map["host"]
    post(token, on(host, check="ping"))
    incident_id = AlertGroup.objects.get().incident_id
    post(token, on(host, check="disk", occurred_at=at(1)))
    post(token, on(host, check="memory", occurred_at=at(2)))  # within the window: no note of its own
    post(token, on(host, check="swap", occurred_at=at(3)))
    notes = list(_notes(incident_id))
    assert len(notes) == 1 and "disk" in notes[0].body
    # The failure spreads to a CI that depends on the host: noted at once, with what was held back.
    post(token, on(service_map["app"], check="http", occurred_at=at(4)))
    notes = list(_notes(incident_id))
    assert len(notes) == 2
    assert all(name in notes[1].body for name in ("memory", "swap", "http (symptom)"))
    assert "disk" not in notes[1].body


def test_without_a_note_window_every_batch_is_noted(source, post, service_map, settings):
    settings.EVENTS_NOTE_SECONDS = 0
    _source, token = source
    host = service_map["host"]
    post(token, on(host, check="ping"))
    for n, check in enumerate(["disk", "memory", "swap"], start=1):
        post(token, on(host, check=check, occurred_at=at(n)))
    assert _notes(AlertGroup.objects.get().incident_id).count() == 3


def test_the_source_read_for_a_token_has_its_json_fields_decoded():
    from tests.events.factories import make_source

    source, token = make_source(
        "mapped", dedup_fields=["resource", "label.job"], field_mapping={"resource": "host.name"}
    )
    found = services.source_for_token(token)
    assert found.pk == source.pk and found.dedup_fields == ["resource", "label.job"]
    assert found.field_mapping == {"resource": "host.name"} and found.max_batch_size == source.max_batch_size
    assert services.source_for_token("evt_unknown") is None


def test_while_a_task_is_queued_no_other_is_sent(
    source, post, monkeypatch, settings, django_capture_on_commit_callbacks
):
    from events import tasks

    settings.EVENTS_KICK_SECONDS = 10
    sent = []
    monkeypatch.setattr(tasks, "enqueue", sent.append)
    _source, token = source
    with django_capture_on_commit_callbacks(execute=True):
        first = post(token, event(check="a"), process=False).json()["ids"]
        post(token, event(check="b"), process=False)  # the queued task will take it
    assert sent == [first]
    services.processing_started()  # the task starts: what is stored from now on needs a new one
    with django_capture_on_commit_callbacks(execute=True):
        third = post(token, event(check="c"), process=False).json()["ids"]
    assert sent == [first, third]


def test_a_request_larger_than_a_batch_sends_a_task_per_batch(
    source, post, monkeypatch, settings, django_capture_on_commit_callbacks
):
    from events import tasks

    settings.EVENTS_BATCH_SIZE = 2
    sent = []
    monkeypatch.setattr(tasks, "enqueue", sent.append)
    _source, token = source
    with django_capture_on_commit_callbacks(execute=True):
        ids = post(token, [event(check=str(n)) for n in range(5)], process=False).json()["ids"]
    assert sent == [ids[0:2], ids[2:4], ids[4:]]


def test_without_the_flag_every_request_sends_its_task(
    source, post, monkeypatch, settings, django_capture_on_commit_callbacks
):
    from events import tasks

    settings.EVENTS_KICK_SECONDS = 0
    sent = []
    monkeypatch.setattr(tasks, "enqueue", sent.append)
    _source, token = source
    with django_capture_on_commit_callbacks(execute=True):
        ids = [post(token, event(check=check), process=False).json()["ids"] for check in "ab"]
    assert sent == ids


def test_a_task_works_through_a_backlog_and_sends_a_helper(source, post, monkeypatch, settings):
    from events import tasks

    settings.EVENTS_BATCH_SIZE = 2
    settings.EVENTS_KICK_SECONDS = 10  # a helper only while none is queued
    sent = []
    monkeypatch.setattr(tasks, "enqueue", sent.append)
    _source, token = source
    ids = _single_posts(post, token, 7)
    result = services.process_pending([ids[0]])
    assert result.raw == 7 and not RawEvent.objects.filter(processed_at__isnull=True).exists()
    assert sent == [[]]  # one helper task, sent once (it had not started yet)
    assert sum(Alert.objects.values_list("count", flat=True)) == 7


def test_the_queued_task_flag_is_on_by_default_for_two_seconds(settings):
    del settings.EVENTS_KICK_SECONDS  # what a deployment gets without setting it
    assert services.kick_seconds() == 2
