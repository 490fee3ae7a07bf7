"""Kernel services: optimistic locking, change history, timeline, attachments."""

import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from itsm import queries, services
from itsm.exceptions import StaleVersion
from itsm.models import Attachment, ChangeRecord, TimelineEntry
from tests.factories import TicketFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_update_records_old_and_new_values_with_actor(agent):
    ticket = TicketFactory(title="Printer jam", priority=3)
    updated = services.record_update(
        instance=ticket,
        actor=agent,
        changes={"title": "Printer on fire", "priority": 1},
        reason="caller called back",
    )
    assert updated.version == 2
    change = queries.history_for(ticket).get()
    assert change.actor == agent
    assert change.action == ChangeRecord.Action.UPDATE
    assert change.reason == "caller called back"
    assert change.changes == {
        "priority": {"old": 3, "new": 1},
        "title": {"old": "Printer jam", "new": "Printer on fire"},
    }


def test_update_with_stale_version_is_refused_and_changes_nothing(agent):
    ticket = TicketFactory(title="original")
    services.record_update(instance=ticket, actor=agent, changes={"title": "first edit"}, expected_version=1)
    with pytest.raises(StaleVersion) as error:
        services.record_update(
            instance=ticket, actor=agent, changes={"title": "second edit"}, expected_version=1
        )
    assert "version 1" in error.value.message and "version 2" in error.value.message
    ticket.refresh_from_db()
    assert ticket.title == "first edit"
    assert ticket.version == 2
    assert queries.history_for(ticket).count() == 1


def test_setting_the_same_values_is_a_no_op(agent):
    ticket = TicketFactory(title="same")
    result = services.record_update(instance=ticket, actor=agent, changes={"title": "same"})
    assert result.version == 1
    assert not queries.history_for(ticket).exists()


def test_many_to_many_changes_are_recorded_as_sorted_ids(agent):
    ticket = TicketFactory()
    a, b = UserFactory(), UserFactory()
    services.record_update(instance=ticket, actor=agent, changes={"watchers": [b, a]})
    change = queries.history_for(ticket).get()
    assert change.changes == {"watchers": {"old": [], "new": sorted([a.pk, b.pk])}}
    assert set(ticket.watchers.all()) == {a, b}


def test_invalid_value_is_refused_without_writing(agent):
    ticket = TicketFactory(title="ok")
    with pytest.raises(ValidationError) as error:
        services.record_update(instance=ticket, actor=agent, changes={"title": "x" * 300})
    assert "title" in error.value.message_dict
    ticket.refresh_from_db()
    assert ticket.title == "ok" and ticket.version == 1


def test_unknown_field_is_refused(agent):
    ticket = TicketFactory()
    with pytest.raises(ValidationError, match="cannot be changed"):
        services.record_update(instance=ticket, actor=agent, changes={"version": 99})


def test_record_create_writes_a_create_history_row(agent):
    from tests.kernelapp.models import Ticket

    ticket = services.record_create(
        model=Ticket, actor=agent, fields={"title": "new one"}, m2m={"watchers": [agent]}
    )
    change = queries.history_for(ticket).get()
    assert change.action == ChangeRecord.Action.CREATE
    assert change.changes["title"] == {"old": None, "new": "new one"}
    assert change.changes["watchers"] == {"old": None, "new": [agent.pk]}


def test_timeline_entry_needs_content(agent):
    ticket = TicketFactory()
    with pytest.raises(ValidationError, match="empty"):
        services.timeline_add(record=ticket, author=agent, body="   ")


def test_timeline_internal_entries_are_hidden_from_end_users(agent, end_user):
    ticket = TicketFactory(owner=end_user)
    services.timeline_add(
        record=ticket, author=agent, body="we are on it", visibility=TimelineEntry.Visibility.PUBLIC
    )
    services.timeline_add(
        record=ticket, author=agent, body="suspect the switch", kind=TimelineEntry.Kind.WORK_NOTE
    )
    services.timeline_add(
        record=ticket,
        author=agent,
        fields={"actions_planned": "replace switch", "symptoms": ""},
        kind=TimelineEntry.Kind.WORK_NOTE,
        involved=[end_user],
    )
    assert [e.body for e in queries.timeline_for(ticket, end_user)] == ["we are on it"]
    entries = list(queries.timeline_for(ticket, agent))
    assert len(entries) == 3
    assert entries[0].fields == {"actions_planned": "replace switch"}
    assert list(entries[0].involved.all()) == [end_user]


def test_attachment_is_stored_with_checksum_and_noted_on_the_timeline(agent):
    ticket = TicketFactory()
    upload = SimpleUploadedFile("error.log", b"disk full\n", content_type="text/plain")
    attachment = services.attachment_add(record=ticket, upload=upload, actor=agent)
    assert attachment.size == 10
    assert attachment.sha256 == hashlib.sha256(b"disk full\n").hexdigest()
    assert attachment.file.read() == b"disk full\n"
    assert "error.log" in queries.timeline_for(ticket, agent).first().body


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("big.txt", b"x" * (1024 * 1024 + 1), "limit is 1 MB"),
        ("virus.exe", b"MZ", "'.exe' are not accepted"),
        ("empty.txt", b"", "is empty"),
    ],
)
def test_attachment_limits_give_clear_errors_and_store_nothing(agent, settings, name, content, message):
    ticket = TicketFactory()
    with pytest.raises(ValidationError) as error:
        services.attachment_add(record=ticket, upload=SimpleUploadedFile(name, content), actor=agent)
    assert message in " ".join(error.value.message_dict["file"])
    assert Attachment.objects.count() == 0
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))
