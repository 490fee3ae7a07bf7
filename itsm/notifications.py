"""Telling people things: write notification rows in the caller's transaction, e-mail them after commit.

``notify`` is the only writer. Rows with a ``key`` are unique per recipient (``ON CONFLICT DO
NOTHING``), so calling it again for the same reason does nothing. Delivery is a Celery task started
on commit; ``deliver_pending`` (also run by beat) sends whatever is still unsent, e.g. after a broker
outage, so nothing written is lost.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import send_mail
from django.db import models, transaction
from django.utils import timezone

from itsm.models import Notification

DELIVERY_BATCH = 200


def notify(
    recipients: Iterable,
    *,
    subject: str,
    body: str = "",
    record: models.Model | None = None,
    key: str = "",
    url: str = "",
) -> int:
    """Notify each distinct active recipient once; returns how many new notifications were written."""
    people = {person.pk: person for person in recipients if person is not None and person.is_active}
    if not people:
        return 0
    content_type = ContentType.objects.get_for_model(type(record)) if record is not None else None
    if record is not None and not url and hasattr(record, "get_absolute_url"):
        url = record.get_absolute_url()
    rows = [
        Notification(
            recipient_id=pk,
            subject=subject[:200],
            body=body,
            url=url[:500],
            content_type=content_type,
            object_id=record.pk if record is not None else None,
            key=key[:200],
        )
        for pk in sorted(people)
    ]
    if key:
        # The unique constraint is what guarantees "once"; this read only makes the count right.
        told = set(
            Notification.objects.filter(key=key[:200], recipient_id__in=people).values_list(
                "recipient_id", flat=True
            )
        )
        rows = [row for row in rows if row.recipient_id not in told]
    Notification.objects.bulk_create(rows, ignore_conflicts=bool(key))
    if rows:
        transaction.on_commit(_enqueue_delivery)
    return len(rows)


def _enqueue_delivery() -> None:
    import logging

    from itsm.tasks import deliver_notifications

    try:
        deliver_notifications.delay()
    except Exception:  # noqa: BLE001 - the broker may be down; beat's sweep delivers later
        logging.getLogger(__name__).warning("Broker unavailable; notifications go out with the next sweep.")


def deliver_pending(limit: int = DELIVERY_BATCH) -> int:
    """E-mail unsent notifications, oldest first, each at most once (rows locked, SKIP LOCKED)."""
    sent = 0
    with transaction.atomic():
        batch = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(emailed_at__isnull=True)
            .select_related("recipient")
            .order_by("created_at", "id")[:limit]
        )
        for notification in batch:
            address = notification.recipient.email
            if address:
                link = f"\n\n{settings.SITE_URL}{notification.url}" if notification.url else ""
                send_mail(
                    notification.subject,
                    f"{notification.body}{link}",
                    settings.DEFAULT_FROM_EMAIL,
                    [address],
                    fail_silently=False,
                )
                sent += 1
            notification.emailed_at = timezone.now()
        Notification.objects.bulk_update(batch, ["emailed_at"])
    return sent


def unread_for(user) -> models.QuerySet:
    return Notification.objects.filter(recipient=user, read_at__isnull=True)
