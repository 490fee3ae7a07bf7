"""Retention (beat, daily: ``events.tasks.expire_old``), in batches of ``EVENTS_EXPIRY_BATCH`` rows,
each batch its own short transaction:

1. informational events that made no alert, with their raw events, after ``EVENTS_RETENTION_DAYS``
   (kept that long for analysis, seed 5.2.7);
2. dropped and invalid raw events, after ``EVENTS_RETENTION_DAYS``;
3. the raw events (the payload as posted) of recorded events, after ``EVENTS_RAW_RETENTION_DAYS``
   (90): the normalised events stay - alert counts and statistics do not change - with ``raw``
   emptied; the console's raw view then says "expired";
4. per-minute event rates (storm detection) after ``EVENTS_RETENTION_DAYS``.

Deleting a raw event also forgets its idempotency key: a delivery retried after the raw retention
would be stored again, so keep it longer than any sender retries (days, not months, in practice).
Unprocessed raw events are never touched. Both scans use the BRIN indexes on ``received_at``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from events import conf
from events.choices import Classification, RawEventOutcome
from events.models import Event, EventRate, RawEvent


@dataclass
class Expired:
    informational: int = 0
    unused_raw: int = 0
    raw_payloads: int = 0
    rates: int = 0

    @property
    def raw_events(self) -> int:
        return self.informational + self.unused_raw + self.raw_payloads


def _delete_raw(ids: list[int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE events_event SET raw_id = NULL WHERE raw_id = ANY(%s)", [ids])
        cursor.execute("DELETE FROM events_rawevent WHERE id = ANY(%s)", [ids])


def _in_batches(select, act) -> int:
    """Run ``act(ids)`` on batches from ``select(size)`` (each in its own transaction) until none is left."""
    size = conf.expiry_batch()
    done = 0
    while True:
        with transaction.atomic():
            ids = select(size)
            if ids:
                act(ids)
        done += len(ids)
        if len(ids) < size:
            return done


def expire(*, now: datetime.datetime | None = None) -> Expired:
    """Delete what has been kept long enough (see the module's docstring); returns what was deleted."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=conf.retention_days())
    raw_cutoff = now - datetime.timedelta(days=conf.raw_retention_days())
    expired = Expired()

    def informational(size):
        return list(
            Event.objects.filter(
                received_at__lt=cutoff, classification=Classification.INFORMATIONAL, alert__isnull=True
            ).values_list("id", "raw_id")[:size]
        )

    def drop_informational(rows):
        Event.objects.filter(pk__in=[pk for pk, _raw in rows]).delete()
        raw_ids = [raw for _pk, raw in rows if raw is not None]
        if raw_ids:
            _delete_raw(raw_ids)

    expired.informational = _in_batches(informational, drop_informational)
    expired.unused_raw = _in_batches(
        lambda size: list(
            RawEvent.objects.filter(
                received_at__lt=cutoff, outcome__in=[RawEventOutcome.DROPPED, RawEventOutcome.INVALID]
            ).values_list("id", flat=True)[:size]
        ),
        _delete_raw,
    )
    expired.raw_payloads = _in_batches(
        lambda size: list(
            RawEvent.objects.filter(
                received_at__lt=raw_cutoff, processed_at__isnull=False, outcome=RawEventOutcome.RECORDED
            ).values_list("id", flat=True)[:size]
        ),
        _delete_raw,
    )
    expired.rates = _in_batches(
        lambda size: list(EventRate.objects.filter(minute__lt=cutoff).values_list("id", flat=True)[:size]),
        lambda ids: EventRate.objects.filter(pk__in=ids).delete(),
    )
    return expired


def expire_old(*, now: datetime.datetime | None = None) -> int:
    """``expire``, answering how many raw events were deleted (what the beat task logs)."""
    return expire(now=now).raw_events
