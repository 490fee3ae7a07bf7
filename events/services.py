"""Event management's writers: sources and tokens, ingestion, operators' actions on alert groups, and
the processing pipeline (``process_batch``, in ``events.processing``), each in one transaction.

Processing (PERFORMANCE.md): a batch of raw events is locked with SKIP LOCKED, normalised, passed
through the rules, matched to CIs, sorted by dedup key and pre-aggregated, then written as one
``INSERT ... SELECT FROM unnest ... ON CONFLICT`` on the open-alert partial unique index, so
concurrent batches count exactly and lock keys in one order. New alerts are correlated into alert
groups (get-or-create on the one-open-group-per-anchor constraint), and groups open, update and
resolve incidents through ``incidents.services`` only.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from configuration.models import ConfigurationItem
from events import conf
from events.choices import AlertState
from events.correlation import incident_for_group
from events.models import AlertGroup, EventSource, hash_token, new_token
from events.normalise import Normalised, PayloadError, normalise_alertmanager, normalise_generic
from events.processing import BatchResult, process_batch, process_ids, sweep_unprocessed
from events.retention import expire_old
from incidents import services as incident_services
from incidents.choices import OPEN_STATUSES
from itsm import services as kernel
from itsm.exceptions import ConflictError
from itsm.models import ChangeRecord

logger = logging.getLogger(__name__)

# The processing pipeline lives in ``events.processing``; these are its entry points.
__all__ = [
    "BatchResult",
    "PayloadError",
    "expire_old",
    "new_token",
    "process_batch",
    "process_ids",
    "process_pending",
    "sweep_unprocessed",
]


# -- sources --------------------------------------------------------------------------------------


@transaction.atomic
def source_create(*, actor, fields: dict) -> tuple[EventSource, str]:
    """Create a source with a new token; the token is returned once and only its hash is kept."""
    token = new_token()
    source = EventSource(**fields)
    source.set_token(token)
    source.full_clean()
    source.save()
    changes = {
        k: {"old": None, "new": getattr(v, "pk", v)} for k, v in fields.items() if v not in (None, "", [], {})
    }
    kernel.history_record(instance=source, actor=actor, action=ChangeRecord.Action.CREATE, changes=changes)
    return source, token


@transaction.atomic
def source_rotate_token(*, source: EventSource, actor) -> tuple[EventSource, str]:
    """Replace the source's token (the old one stops working at commit); returns the new one once."""
    locked = EventSource.objects.select_for_update().get(pk=source.pk)
    token = new_token()
    old_prefix = locked.token_prefix
    locked.set_token(token)
    locked.token_rotated_at = timezone.now()
    locked.version += 1
    locked.save()
    kernel.history_record(
        instance=locked,
        actor=actor,
        action=ChangeRecord.Action.UPDATE,
        changes={"token_prefix": {"old": old_prefix, "new": locked.token_prefix}},
        reason="Token rotated",
    )
    return locked, token


_SOURCE_FIELDS = [field.attname for field in EventSource._meta.concrete_fields]
_SOURCE_SQL = "SELECT {} FROM events_eventsource WHERE token_hash = %s AND NOT is_revoked".format(  # noqa: S608 - the model's columns
    ", ".join(f'"{field.column}"' for field in EventSource._meta.concrete_fields)
)


def source_for_token(token: str) -> EventSource | None:
    """The active source whose token this is (compared by hash), or None. Every ingestion request
    asks: one prepared statement, no ORM query building (measured: a third of the request's CPU
    went to building queries)."""
    if not token:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_SOURCE_SQL, [hash_token(token)])
        row = cursor.fetchone()
    if row is None:
        return None
    values = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(EventSource._meta.concrete_fields, row, strict=True)
    ]  # what the ORM's converters do (JSON fields arrive as text)
    return EventSource.from_db(connection.alias, _SOURCE_FIELDS, values)


# -- ingestion ------------------------------------------------------------------------------------


@dataclass
class Accepted:
    """What an ingestion request stored: raw event ids in the posted order, and how many were replays."""

    ids: list[int]
    duplicates: int


def parse_generic(source: EventSource, body, *, received_at) -> list[tuple[dict, Normalised]]:
    """Validate a generic payload: one event object or a list of them. Raises PayloadError."""
    if isinstance(body, dict) and isinstance(body.get("events"), list):
        items, prefix = body["events"], "events"
    elif isinstance(body, list):
        items, prefix = body, "events"
    elif isinstance(body, dict):
        return [(body, normalise_generic(body, source, received_at=received_at))]
    else:
        raise PayloadError({"non_field_errors": ["Send one event object or a list of them."]})
    if not items:
        raise PayloadError({prefix: ["Send at least one event."]})
    parsed, errors = [], {}
    for index, item in enumerate(items):
        try:
            parsed.append(
                (item, normalise_generic(item, source, received_at=received_at, at=f"{prefix}[{index}]."))
            )
        except PayloadError as error:
            errors.update(error.errors)
    if errors:
        raise PayloadError(errors)
    return parsed


def parse_alertmanager(source: EventSource, body, *, received_at) -> list[tuple[dict, Normalised]]:
    """Validate an Alertmanager webhook (version 4). Each alert becomes one raw event, stored with the
    group fields it came with."""
    if not isinstance(body, dict):
        raise PayloadError({"non_field_errors": ["Send the Alertmanager webhook's JSON object."]})
    alerts = body.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError({"alerts": ["Required: the list of alerts."]})
    version = body.get("version")
    if version is not None and str(version) != "4":
        raise PayloadError({"version": [f"Only webhook version 4 is understood (got {str(version)[:10]})."]})
    group = {
        name: body.get(name)
        for name in ("receiver", "status", "groupKey", "externalURL", "truncatedAlerts")
        if body.get(name) is not None
    }
    parsed, errors = [], {}
    for index, alert in enumerate(alerts):
        try:
            event = normalise_alertmanager(alert, source, received_at=received_at, at=f"alerts[{index}].")
            parsed.append(({"alert": alert, "group": group}, event))
        except PayloadError as error:
            errors.update(error.errors)
    if errors:
        raise PayloadError(errors)
    return parsed


_INSERT_RAW = """
INSERT INTO events_rawevent (source_id, received_at, payload, idempotency_key, outcome, error)
SELECT %(source)s, %(received_at)s, t.payload::jsonb, t.key, '', ''
FROM unnest(%(payloads)s::text[], %(keys)s::text[]) AS t(payload, key)
ON CONFLICT (source_id, idempotency_key) DO NOTHING
RETURNING id, idempotency_key
"""


def events_ingest(*, source: EventSource, parsed: list[tuple[dict, Normalised]], received_at) -> Accepted:
    """Store the raw events in one multi-row INSERT in the caller's transaction and enqueue their
    processing on commit. A key already stored (a retried delivery) is not stored again: its existing
    id is answered and it is counted as a duplicate."""
    unique: dict[str, dict] = {}
    for payload, event in parsed:
        unique.setdefault(event.idempotency_key, payload)
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_RAW,
            {
                "source": source.pk,
                "received_at": received_at,
                "payloads": [_jsonb_text(p) for p in unique.values()],
                "keys": list(unique),
            },
        )
        new = {key: pk for pk, key in cursor.fetchall()}
        missing = [key for key in unique if key not in new]
        existing = {}
        if missing:
            cursor.execute(
                "SELECT idempotency_key, id FROM events_rawevent WHERE source_id = %s AND idempotency_key = ANY(%s)",
                [source.pk, missing],
            )
            existing = dict(cursor.fetchall())
    ids_by_key = {**existing, **new}
    ids = [ids_by_key[event.idempotency_key] for _payload, event in parsed]
    if new:
        enqueue_processing(sorted(new.values()))
    return Accepted(ids=ids, duplicates=len(parsed) - len(new))


_encode = json.JSONEncoder(default=str).encode


def _jsonb_text(payload) -> str:
    """The payload as JSON text jsonb accepts. A NUL can only be in the text as the escape ``\\u0000``
    (the encoder escapes control characters), so the payload is walked only when that is there."""
    text = _encode(payload)
    return _encode(_without_nul(payload)) if "\\u0000" in text else text


def _without_nul(value):
    """PostgreSQL's jsonb cannot hold NUL characters: drop them from every key and string."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(str(k)): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def rate_limit_wait(source: EventSource, count: int) -> int | None:
    """Count ``count`` events against the source's per-minute limit (in the shared cache, so every
    web process counts together). None when accepted, else the seconds until the next minute; a
    refused request is not counted."""
    limit = source.rate_limit_per_minute
    if not limit:
        return None
    now = time.time()
    key = f"events:rate:{source.pk}:{int(now // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        used = cache.incr(key, count)
    except ValueError:  # expired between add and incr
        cache.set(key, count, timeout=120)
        used = count
    if used <= limit:
        return None
    cache.decr(key, count)
    return max(1, 60 - int(now % 60))


KICK_KEY = "events:processing-queued"


def kick_seconds() -> float:
    """How long a queued processing task answers for the events stored after it was queued (default
    2 s; 0: a task per request). Measured side by side on a quiet machine (docs/events.md, run H):
    single-event ingestion 7-36 % faster, no queue of empty tasks after a burst (8 s to an empty
    queue instead of 143 s), the storm's event-to-incident p95 unchanged (0.16 s against 0.15 s)."""
    return conf._number("EVENTS_KICK_SECONDS", 2)


def enqueue_processing(raw_ids: list[int]) -> None:
    """After commit, make sure a processing task is on its way. Each task tops its batch up with the
    oldest unprocessed raw events, so while one is queued and not yet started (``KICK_KEY`` in the
    shared cache, cleared by the task when it starts) the events just stored will be in its batch:
    no other task is sent (one task per request cost the web tier a broker round trip and the worker
    a task each). A request of more than ``EVENTS_BATCH_SIZE`` events sends one task per batch. If
    the queued task is lost, the flag expires after ``EVENTS_KICK_SECONDS`` and the next request
    sends another; the sweeper catches anything else. ``EVENTS_KICK_SECONDS`` 0: a task per request."""
    size = conf.batch_size()
    chunks = [raw_ids[i : i + size] for i in range(0, len(raw_ids), size)]

    def send():
        from events import tasks

        if len(chunks) == 1 and kick_seconds() > 0:
            try:
                if not cache.add(KICK_KEY, 1, timeout=kick_seconds()):
                    return  # a queued task will take them
            except Exception:  # the cache is down: send the task anyway
                logger.warning("Could not read the processing flag; sending a task")
        for chunk in chunks:
            try:
                tasks.enqueue(chunk)
            except Exception:  # the broker is down: the sweeper will process them
                logger.warning("Could not enqueue %d raw events; the sweeper will process them", len(chunk))
                with contextlib.suppress(Exception):
                    cache.delete(KICK_KEY)
                return

    transaction.on_commit(send)


def processing_started() -> None:
    """A processing task starts: events stored from now on need a task of their own."""
    try:
        cache.delete(KICK_KEY)
    except Exception:  # without the cache, the flag expires on its own
        logger.warning("Could not clear the processing flag")


def kick() -> None:
    """Send a processing task unless one is queued already (a backlog: another worker process helps)."""
    from events import tasks

    try:
        if kick_seconds() <= 0 or cache.add(KICK_KEY, 1, timeout=kick_seconds()):
            tasks.enqueue([])
    except Exception:
        logger.warning("Could not send a processing task; the sweeper will process the backlog")


def process_pending(raw_ids: list[int], *, seconds: float = 30.0) -> BatchResult:
    """What a processing task does: its raw events, topped up to a full batch with the oldest other
    unprocessed ones (``process_ids``); while batches come back full (a backlog) it keeps going for
    up to ``seconds``, first sending another task so that a second worker process shares the
    backlog, and hands over to a new task when the time is up."""
    processing_started()
    total = process_ids(list(raw_ids))
    last, began, size = total, time.monotonic(), conf.batch_size()
    while last.raw >= size and time.monotonic() - began < seconds:
        kick()
        last = process_ids([])
        for name in vars(total):
            setattr(total, name, getattr(total, name) + getattr(last, name))
    if last.raw >= size:
        kick()
    return total


# -- operators' actions on a group ----------------------------------------------------------------


@transaction.atomic
def group_acknowledge(*, group: AlertGroup, actor) -> AlertGroup:
    """An operator takes note of an alert group (no-op if already acknowledged)."""
    locked = AlertGroup.objects.select_for_update().get(pk=group.pk)
    if locked.acknowledged_at is None:
        locked.acknowledged_at = timezone.now()
        locked.acknowledged_by = actor
        locked.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return locked


@transaction.atomic
def group_open_incident(*, group: AlertGroup, actor):
    """An operator opens the group's incident by hand (e.g. for warnings, or in a maintenance window),
    as the automatic rule would have; 409 if the group already has one."""
    locked = (
        AlertGroup.objects.select_for_update(of=("self",))
        .select_related("ci__owner_group", "incident")
        .get(pk=group.pk)
    )
    if locked.incident_id is not None:
        raise ConflictError(
            f"Alert group {locked.pk} already has incident {locked.incident.number}.",
            incident=locked.incident_id,
        )
    alerts = list(locked.alerts.filter(state=AlertState.OPEN).order_by("id")) or list(
        locked.alerts.order_by("id")
    )
    if not alerts:
        raise ConflictError(f"Alert group {locked.pk} has no alerts to open an incident for.")
    cis = ConfigurationItem.objects.select_related("owner_group").in_bulk(
        {a.ci_id for a in alerts if a.ci_id}
    )
    incident_for_group(locked, alerts, cis, actor=actor)
    return locked


@transaction.atomic
def group_link_incident(*, group: AlertGroup, incident, actor) -> AlertGroup:
    """Attach the group to an existing open incident (a work note on the incident says so): its clears
    and new alerts then follow that incident. No-op if already linked; 409 if it has another one."""
    locked = AlertGroup.objects.select_for_update(of=("self",)).select_related("incident").get(pk=group.pk)
    if locked.incident_id == incident.pk:
        return locked
    if locked.incident_id is not None:
        raise ConflictError(
            f"Alert group {locked.pk} already has incident {locked.incident.number}.",
            incident=locked.incident_id,
        )
    if incident.status not in OPEN_STATUSES:
        raise ConflictError(
            f"{incident.number} is {incident.get_status_display().lower()}; link an open incident."
        )
    locked.incident = incident
    locked.save(update_fields=["incident"])
    incident_services.incident_comment(
        incident=incident,
        actor=actor,
        public=False,
        body=f"Monitoring: alert group {locked.pk} ({locked.title}) linked to this incident.",
    )
    return locked


MAX_SILENCE_MINUTES = 7 * 24 * 60


@transaction.atomic
def group_silence(*, group: AlertGroup, actor, minutes: int) -> AlertGroup:
    """Silence a group for ``minutes`` (0 ends a silence): its events are still recorded and counted,
    but it opens no incident and notifies no one until then."""
    if not 0 <= minutes <= MAX_SILENCE_MINUTES:
        raise ValidationError({"minutes": f"Between 0 and {MAX_SILENCE_MINUTES} (a week)."})
    locked = AlertGroup.objects.select_for_update().get(pk=group.pk)
    locked.silenced_until = timezone.now() + datetime.timedelta(minutes=minutes) if minutes else None
    locked.silenced_by = actor if minutes else None
    locked.save(update_fields=["silenced_until", "silenced_by"])
    return locked
