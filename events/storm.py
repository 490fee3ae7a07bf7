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

from events.models import EventSource, Storm
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


def observe(items, now: datetime.datetime) -> dict[int, Storm]:
    """Count the batch's events per source and minute received; start or extend storms; end quiet
    ones. Returns {source id: open storm} for the batch's sources in storm mode."""
    watched = {item.source.pk: item.source for item in items if item.source.storm_threshold_per_minute}
    if not watched:
        return {}
    counts = Counter(
        (item.source.pk, _minute(item.raw.received_at)) for item in items if item.source.pk in watched
    )
    keys = sorted(counts)
    with connection.cursor() as cursor:
        cursor.execute(_COUNT, [[k[0] for k in keys], [k[1] for k in keys], [counts[k] for k in keys]])
        rows = cursor.fetchall()
    busy: dict[int, tuple[datetime.datetime, int]] = {}
    for source_id, minute, total in rows:
        if total > watched[source_id].storm_threshold_per_minute:
            last, peak = busy.get(source_id, (minute, 0))
            busy[source_id] = (max(last, minute), max(peak, total))
    storms = {s.source_id: s for s in Storm.objects.filter(source_id__in=watched, ended_at__isnull=True)}
    for source_id in sorted(watched):
        storm = storms.get(source_id)
        added = sum(n for (s, _m), n in counts.items() if s == source_id)
        if source_id in busy:
            minute, peak = busy[source_id]
            if storm is None:
                storm = _start(watched[source_id], minute, peak, now)
                storms[source_id] = storm
            Storm.objects.filter(pk=storm.pk).update(
                last_busy_at=Greatest(F("last_busy_at"), minute + MINUTE),
                peak_per_minute=Greatest(F("peak_per_minute"), peak),
                events=F("events") + added,
            )
        elif storm is not None:
            if _quiet(storm, watched[source_id], now):
                _end(storm, now)
                del storms[source_id]
            else:
                Storm.objects.filter(pk=storm.pk).update(events=F("events") + added)
    for source_id, storm in storms.items():
        storm.source = watched[source_id]
    return storms


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
