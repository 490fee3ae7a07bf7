"""Telling people things: write notification rows in the caller's transaction, e-mail them after commit.

``notify`` is the only writer. Rows with a ``key`` are unique per recipient (``ON CONFLICT DO
NOTHING``), so calling it again for the same reason does nothing. Delivery is a Celery task started
on commit; ``deliver_pending`` (also run by beat) sends whatever is still unsent, e.g. after a broker
outage, so nothing written is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import send_mail
from django.db import models, transaction
from django.template.loader import select_template
from django.utils import timezone

from itsm import roles
from itsm.models import Notification, NotificationPreference
from itsm.registry import registry

DELIVERY_BATCH = 200
logger = logging.getLogger(__name__)


@dataclass
class Message:
    """One notification to several people, for ``notify_many``."""

    recipients: list
    subject: str
    body: str = ""
    record: models.Model | None = None
    key: str = ""
    kind: str = ""
    url: str = ""


def notify(
    recipients: Iterable,
    *,
    subject: str,
    body: str = "",
    record: models.Model | None = None,
    key: str = "",
    url: str = "",
    kind: str = "",
) -> int:
    """Notify each distinct active recipient once; returns how many new notifications were written."""
    rows = _rows(Message(list(recipients), subject, body=body, record=record, key=key, kind=kind, url=url))
    if key and rows:
        # The unique constraint is what guarantees "once"; this read only makes the count right.
        told = set(
            Notification.objects.filter(
                key=key[:200], recipient_id__in=[r.recipient_id for r in rows]
            ).values_list("recipient_id", flat=True)
        )
        rows = [row for row in rows if row.recipient_id not in told]
    Notification.objects.bulk_create(rows, ignore_conflicts=bool(key))
    if rows:
        transaction.on_commit(_enqueue_delivery)
    return len(rows)


def notify_many(messages: list[Message]) -> int:
    """Write many notifications in one statement (a sweep's batch). Every message must have a key:
    rows already there (same recipient and key) are skipped by the unique constraint. Returns the
    number of rows offered."""
    rows = []
    for message in messages:
        if not message.key:
            raise ValueError("notify_many needs a key on every message")
        rows.extend(_rows(message))
    if rows:
        rows.sort(key=lambda row: (row.recipient_id, row.key))  # one lock order for concurrent writers
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        transaction.on_commit(_enqueue_delivery)
    return len(rows)


def _rows(message: Message) -> list[Notification]:
    """One unsaved row per distinct active recipient of a message, in recipient order."""
    record = message.record
    content_type = ContentType.objects.get_for_model(type(record)) if record is not None else None
    url = message.url
    if record is not None and not url and hasattr(record, "get_absolute_url"):
        url = record.get_absolute_url()
    people = sorted({person.pk for person in message.recipients if person is not None and person.is_active})
    # People without a staff role follow the record where an app registered a page for them (the
    # portal's ticket page), not on the agents' page: one query for who among them is staff.
    end_user_url = registry.end_user_url(record) if record is not None and not message.url else ""
    staff = roles.staff_ids(people) if end_user_url and people else set()
    return [
        Notification(
            recipient_id=pk,
            kind=message.kind[:50],
            subject=message.subject[:200],
            body=message.body,
            url=(url if not end_user_url or pk in staff else end_user_url)[:500],
            content_type=content_type,
            object_id=record.pk if record is not None else None,
            key=message.key[:200],
        )
        for pk in people
    ]


def _enqueue_delivery() -> None:
    from itsm.tasks import deliver_notifications

    try:
        deliver_notifications.delay()
    except Exception:  # noqa: BLE001 - the broker may be down; beat's sweep delivers later
        logger.warning("Broker unavailable; notifications go out with the next sweep.")


def deliver_pending(limit: int = DELIVERY_BATCH) -> int:
    """E-mail unsent notifications, oldest first, each at most once (rows locked with SKIP LOCKED and
    marked in the same transaction). A recipient who turned e-mail off for the kind, or has no
    address, keeps the in-app notification only. The body comes from ``notifications/<kind>.txt``
    when an installation provides one, else ``notifications/default.txt``.

    A transient failure (the mail server unreachable or disconnecting) stops the batch and leaves the
    rest unsent for the next run (beat runs this every minute); an address the server refuses is
    marked with its error and not tried again."""
    import smtplib

    sent = 0
    with transaction.atomic():
        batch = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(emailed_at__isnull=True)
            .select_related("recipient")
            .order_by("created_at", "id")[:limit]
        )
        muted = set(
            NotificationPreference.objects.filter(
                user_id__in={n.recipient_id for n in batch}, email=False
            ).values_list("user_id", "kind")
        )
        now = timezone.now()
        handled = []
        for notification in batch:
            address = notification.recipient.email
            if address and (notification.recipient_id, notification.kind) not in muted:
                try:
                    send_mail(
                        notification.subject,
                        render_body(notification),
                        settings.DEFAULT_FROM_EMAIL,
                        [address],
                        fail_silently=False,
                    )
                except (
                    smtplib.SMTPRecipientsRefused,
                    smtplib.SMTPSenderRefused,
                    smtplib.SMTPDataError,
                ) as error:
                    notification.email_error = f"{type(error).__name__}: {error}"[:300]
                except (smtplib.SMTPException, OSError) as error:
                    logger.warning("Mail server unavailable (%s); the rest is sent on the next run.", error)
                    break
                else:
                    notification.email_sent = True
                    sent += 1
            notification.emailed_at = now
            handled.append(notification)
        Notification.objects.bulk_update(handled, ["emailed_at", "email_sent", "email_error"])
    return sent


def render_body(notification: Notification) -> str:
    names = [f"notifications/{notification.kind}.txt"] if notification.kind else []
    template = select_template([*names, "notifications/default.txt"])
    return template.render(
        {
            "notification": notification,
            "recipient": notification.recipient,
            "link": f"{settings.SITE_URL}{notification.url}" if notification.url else "",
        }
    )


def unread_for(user) -> models.QuerySet:
    return Notification.objects.filter(recipient=user, read_at__isnull=True)


def mark_read(user, ids=None) -> int:
    """Mark the user's notifications (all, or the given ids) read; returns how many changed."""
    rows = unread_for(user)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=timezone.now())


def set_preferences(user, email_by_kind: dict[str, bool]) -> None:
    for kind, email in email_by_kind.items():
        NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"email": email})
