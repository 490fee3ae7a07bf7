"""Kernel notifications (once per key and recipient, delivered once) and generic record links."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from itsm import notifications, queries, services
from itsm.exceptions import ConflictError
from itsm.models import Notification, RecordLink, TimelineEntry
from tests.factories import UserFactory
from tests.kernelapp.models import Ticket

pytestmark = pytest.mark.django_db


def test_notify_once_per_key_and_recipient(agent, end_user):
    inactive = UserFactory(is_active=False)
    assert notifications.notify([agent, end_user, inactive, None], subject="Hello", key="t:1:hello") == 2
    assert notifications.notify([agent, end_user], subject="Hello again", key="t:1:hello") == 0
    assert notifications.notify([agent], subject="No key") == 1
    assert notifications.notify([agent], subject="No key") == 1  # without a key, each call tells
    assert Notification.objects.filter(recipient=agent).count() == 3


def test_delivery_sends_each_notification_once(agent, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    no_address = UserFactory(email="")
    notifications.notify([agent, no_address], subject="Incident assigned", body="INC0001001", key="t:2")
    assert notifications.deliver_pending() == 1
    assert notifications.deliver_pending() == 0
    assert [message.to for message in mail.outbox] == [[agent.email]]
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()


def test_links_are_stored_once_and_read_from_both_ends(agent, end_user):
    first = Ticket.objects.create(title="first")
    second = Ticket.objects.create(title="second")
    link = services.link_add(source=first, target=second, actor=agent, kind="related")
    with pytest.raises(ConflictError):
        services.link_add(source=second, target=first, actor=agent, kind="related")
    with pytest.raises(ValidationError):
        services.link_add(source=first, target=first, actor=agent)
    assert [row["other"] for row in queries.links_for(first, agent)] == [second]
    assert [row["other"] for row in queries.links_for(second, agent)] == [first]
    # Someone who may not see the other record does not see the link.
    assert queries.links_for(first, end_user) == []
    assert TimelineEntry.objects.filter(body__startswith="Linked to").count() == 2
    services.link_remove(link=link, actor=agent)
    assert not RecordLink.objects.exists()


def test_a_refused_address_is_marked_and_a_down_server_is_retried_later(
    agent, end_user, settings, monkeypatch
):
    import smtplib

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    notifications.notify([agent], subject="First", key="m1")
    notifications.notify([end_user], subject="Second", key="m2")
    calls = []

    def refuse_then_fail(subject, body, sender, to, fail_silently):
        calls.append(to)
        if len(calls) == 1:
            raise smtplib.SMTPRecipientsRefused({to[0]: (550, b"no such user")})
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr(notifications, "send_mail", refuse_then_fail)
    assert notifications.deliver_pending() == 0
    first = Notification.objects.get(key="m1")
    second = Notification.objects.get(key="m2")
    assert first.emailed_at is not None and "SMTPRecipientsRefused" in first.email_error
    assert second.emailed_at is None  # the server went away: tried again on the next run
    monkeypatch.undo()
    assert notifications.deliver_pending() == 1
    assert [message.subject for message in mail.outbox] == ["Second"]
