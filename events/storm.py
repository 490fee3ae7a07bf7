"""Storm mode: when a source sends more events a minute than its ``storm_threshold_per_minute``, its
new alerts stop opening one group (and one incident) each and join one storm group per source and
storm; operators are told when the storm starts and when it ends. Nothing is refused or dropped:
every accepted event is still recorded, deduplicated and counted (refusing is the rate limit's job).

``observe`` runs inside ``process_batch`` (the batch's transaction): it adds the batch's events to
the per-source, per-minute counts (``EventRate``, one upsert, only for sources with a threshold - so
a batch from other sources costs nothing), starts a storm when a minute goes over the threshold, and
returns the open storms of the batch's sources. ``end_quiet`` (beat, with the sweeper, and on each
batch) ends a storm ``storm_quiet_minutes`` after its last busy minute.
"""

from __future__ import annotations

import datetime
import logging
from collections import Counter

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from events.models import EventRate, EventSource, Storm
from itsm import notifications, roles

logger = logging.getLogger(__name__)

MINUTE = datetime.timedelta(minutes=1)


def _minute(at: datetime.datetime) -> datetime.datetime:
    return at.replace(second=0, microsecond=0)


_COUNT = """
INSERT INTO events_eventrate AS r (source_id, minute, events)
SELECT t.s, t.m, t.n FROM unnest(%s::bigint[], %s::timestamptz[], %s::int[]) AS t(s, m, n)
ORDER BY t.s, t.m
ON CONFLICT (source_id, minute) DO UPDATE SET events = r.events + EXCLUDED.events
RETURNING r.source_id, r.minute, r.events
"""


class Observed(dict):
    """{source id: open storm} for a batch's sources in storm mode, and the batch's writes to the
    per-minute counts and to the storms, which ``record`` makes at the end of the batch: the rows
    they lock are then held only while the batch commits, so concurrent batches of a storming source
    do not wait for each other's whole transaction."""

    def __init__(self, storms=(), *, counts=None, busy=None, added=None):
        super().__init__(storms)
        self.counts: Counter = counts or Counter()
        self.busy: dict[int, tuple[datetime.datetime, int]] = busy or {}
        self.added: dict[int, int] = added or {}

    def record(self) -> None:
        """Add the batch's events to the per-minute counts and to its open storms (sorted: one lock
        order for every batch)."""
        if not self.counts:
            return
        keys = sorted(self.counts)
        with connection.cursor() as cursor:
            cursor.execute(
                _COUNT, [[k[0] for k in keys], [k[1] for k in keys], [self.counts[k] for k in keys]]
            )
        for source_id in sorted(self):
            storm = self[source_id]
            changes = {"events": F("events") + self.added.get(source_id, 0)}
            if source_id in self.busy:
                minute, peak = self.busy[source_id]
                changes["last_busy_at"] = Greatest(F("last_busy_at"), minute + MINUTE)
                changes["peak_per_minute"] = Greatest(F("peak_per_minute"), peak)
            Storm.objects.filter(pk=storm.pk).update(**changes)


def observe(items, now: datetime.datetime) -> Observed:
    """Read the per-minute counts of the batch's sources that have a storm threshold, add the
    batch's own, and start a storm for a source over it (or end one that has been quiet long
    enough). Only reads and the rare start or end write here; the counts are written by
    ``Observed.record`` at the end of the batch. Concurrent batches may each miss the other's
    events in their sum: a storm then starts one batch later, never wrongly."""
    watched = {item.source.pk: item.source for item in items if item.source.storm_threshold_per_minute}
    if not watched:
        return Observed()
    counts = Counter(
        (item.source.pk, _minute(item.raw.received_at)) for item in items if item.source.pk in watched
    )
    stored = {
        (rate.source_id, rate.minute): rate.events
        for rate in EventRate.objects.filter(
            source_id__in=watched, minute__in={minute for _s, minute in counts}
        ).only("source_id", "minute", "events")
    }
    busy: dict[int, tuple[datetime.datetime, int]] = {}
    for (source_id, minute), n in counts.items():
        total = n + stored.get((source_id, minute), 0)
        if total > watched[source_id].storm_threshold_per_minute:
            last, peak = busy.get(source_id, (minute, 0))
            busy[source_id] = (max(last, minute), max(peak, total))
    storms = {s.source_id: s for s in Storm.objects.filter(source_id__in=watched, ended_at__isnull=True)}
    for source_id in sorted(watched):
        storm = storms.get(source_id)
        if source_id in busy and storm is None:
            minute, peak = busy[source_id]
            storms[source_id] = _start(watched[source_id], minute, peak, now)
        elif source_id not in busy and storm is not None and _quiet(storm, watched[source_id], now):
            _end(storm, now)
            del storms[source_id]
    for source_id, storm in storms.items():
        storm.source = watched[source_id]
    added = Counter()
    for (source_id, _at), n in counts.items():
        added[source_id] += n
    return Observed(storms, counts=counts, busy=busy, added=dict(added))


def _quiet(storm: Storm, source: EventSource, now: datetime.datetime) -> bool:
    return storm.last_busy_at + datetime.timedelta(minutes=source.storm_quiet_minutes) <= now


def _start(source: EventSource, minute: datetime.datetime, peak: int, now) -> Storm:
    """Open the source's storm (race-free: one open storm per source) and tell the operators once."""
    try:
        with transaction.atomic():
            storm = Storm.objects.create(
                source=source, started_at=now, last_busy_at=minute + MINUTE, peak_per_minute=peak
            )
    except IntegrityError:
        return Storm.objects.get(source=source, ended_at__isnull=True)
    logger.warning("Event storm from %s: %d events in a minute", source.name, peak)
    _tell(
        storm,
        source,
        key="start",
        subject=f"Event storm from {source.name}",
        body=f"{source.name} sent {peak} events in a minute (threshold "
        f"{source.storm_threshold_per_minute}). Until it calms down, its new alerts are grouped into one "
        "storm group on the event console; every event is still recorded.",
    )
    return storm


def _end(storm: Storm, now) -> None:
    updated = Storm.objects.filter(pk=storm.pk, ended_at__isnull=True).update(ended_at=now)
    if not updated:
        return
    storm.refresh_from_db()
    source = storm.source
    _tell(
        storm,
        source,
        key="end",
        subject=f"Event storm from {source.name} is over",
        body=f"The storm from {source.name} that started {storm.started_at:%Y-%m-%d %H:%M} UTC is over "
        f"({storm.events} events, at most {storm.peak_per_minute} a minute). New alerts are grouped as "
        "usual again.",
    )


def _recipients(source: EventSource):
    if source.storm_notify_group_id:
        return source.storm_notify_group.members.filter(is_active=True)
    return get_user_model().objects.filter(groups__name=roles.MANAGER, is_active=True)


def _tell(storm: Storm, source: EventSource, *, key: str, subject: str, body: str) -> None:
    notifications.notify(
        _recipients(source),
        subject=subject[:200],
        body=body,
        record=storm,
        key=f"events:storm:{storm.pk}:{key}",
        kind="events.storm",
    )


def end_quiet(now: datetime.datetime | None = None) -> int:
    """End every storm whose source has been quiet long enough; returns how many ended."""
    now = now or timezone.now()
    ended = 0
    for storm in Storm.objects.filter(ended_at__isnull=True).select_related("source").order_by("pk"):
        if _quiet(storm, storm.source, now):
            with transaction.atomic():
                _end(storm, now)
            ended += 1
    return ended


def open_storms():
    """Storms going on now, for the console's banner."""
    return (
        Storm.objects.filter(ended_at__isnull=True).select_related("source", "group").order_by("started_at")
    )
