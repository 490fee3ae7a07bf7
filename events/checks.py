"""Active checks: HTTP(S) and TCP probes on CIs, run by beat, whose results enter the same pipeline as
posted events (a raw event of the "active-checks" source, processed by ``process_batch``).

``run_due_checks`` (beat, ``events.tasks.run_checks``) works in three steps so that no lock is held
during network I/O:

1. claim: in one short transaction, lock due checks (``next_run_at <= now``, enabled) with ``FOR
   UPDATE SKIP LOCKED`` and move their ``next_run_at`` one interval on - a second runner (two beats,
   an overlapping tick) takes other checks or none;
2. probe them concurrently in threads, each with its timeout (connect and each read);
3. record: in one transaction, the checks' last result and the events: a failure is a firing event
   (every run: the alert counts them), the first success after a failure a clear.

A worker that dies between 1 and 3 loses that one run; the check runs again one interval later.
A check disabled while failing gets a clear event on the next tick, so its alert does not stay open.
"""

from __future__ import annotations

import datetime
import http.client
import logging
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from events import conf
from events.choices import CheckKind, EventState, SourceKind
from events.models import Check, EventSource

logger = logging.getLogger(__name__)

MAX_RESULT = 500


@dataclass
class Outcome:
    """What one probe found."""

    ok: bool
    message: str
    duration_ms: int
    status: int | None = None


# -- targets --------------------------------------------------------------------------------------


def _host_port(target: str) -> tuple[str, int]:
    """'db-01:5432' or '[::1]:5432' -> (host, port); ValueError naming what is wrong."""
    target = target.strip()
    host, sep, port = target.rpartition(":")
    if not sep or not host:
        raise ValueError("Give host:port, e.g. db-01:5432.")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"'{port[:10]}' is not a port (1-65535).")
    if not host or any(c.isspace() for c in host):
        raise ValueError("Give host:port, e.g. db-01:5432.")
    return host, int(port)


def target_error(kind: str, target: str) -> str | None:
    """Why ``target`` cannot be checked as ``kind`` (a message for the ``target`` field), or None."""
    target = (target or "").strip()
    if not target:
        return "Required."
    if any(c.isspace() or ord(c) < 32 for c in target):
        return "No spaces or control characters (percent-encode them in a URL)."
    if kind == CheckKind.HTTP:
        try:
            parts = urlsplit(target)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as error:
            return f"Not a URL: {error}."
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "Give an http:// or https:// URL, e.g. https://shop.example.com/healthz."
        return None
    if kind == CheckKind.TCP:
        try:
            _host_port(target)
        except ValueError as error:
            return str(error)
        return None
    return f"Unknown kind '{kind[:20]}'."


def resource_of(check: Check) -> str:
    """The host the check talks to (its events' resource)."""
    if check.kind == CheckKind.HTTP:
        return urlsplit(check.target).hostname or check.target
    return _host_port(check.target)[0]


# -- probes ---------------------------------------------------------------------------------------


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def probe_http(url: str, *, expected_status: int, timeout: float) -> Outcome:
    """GET ``url`` (redirects are not followed: a 301 is a status like any other); healthy when the
    status is ``expected_status``. TLS certificates are verified."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.monotonic()
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"User-Agent": "itsm-active-check/1", "Connection": "close"})
        response = connection.getresponse()
        response.read(65536)
        status = response.status
    except TimeoutError:
        return Outcome(False, f"No answer within {timeout:g} s.", _elapsed(started))
    except ssl.SSLError as error:
        return Outcome(False, f"TLS error: {error}"[:MAX_RESULT], _elapsed(started))
    except (OSError, http.client.HTTPException) as error:
        return Outcome(False, _describe(error), _elapsed(started))
    finally:
        connection.close()
    duration = _elapsed(started)
    if status == expected_status:
        return Outcome(True, f"HTTP {status} in {duration} ms.", duration, status)
    return Outcome(False, f"HTTP {status}, expected {expected_status}.", duration, status)


def probe_tcp(target: str, *, timeout: float) -> Outcome:
    """Connect to host:port; healthy when the connection is accepted."""
    host, port = _host_port(target)
    started = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except TimeoutError:
        return Outcome(False, f"No connection within {timeout:g} s.", _elapsed(started))
    except OSError as error:
        return Outcome(False, _describe(error), _elapsed(started))
    duration = _elapsed(started)
    return Outcome(True, f"Connected in {duration} ms.", duration)


def _describe(error: Exception) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "Connection refused."
    if isinstance(error, socket.gaierror):
        return f"Host not found: {error.strerror or error}"[:MAX_RESULT]
    return f"{type(error).__name__}: {error}"[:MAX_RESULT]


def probe(check: Check) -> Outcome:
    """Run one check, never raising: a bug in a probe is a failed check with the error, not a lost run."""
    try:
        if check.kind == CheckKind.HTTP:
            return probe_http(
                check.target, expected_status=check.expected_status, timeout=check.timeout_seconds
            )
        return probe_tcp(check.target, timeout=check.timeout_seconds)
    except Exception as error:
        logger.exception("Check %s failed to run", check.pk)
        return Outcome(False, f"The check could not run: {error!r}"[:MAX_RESULT], 0)


# -- the runner -----------------------------------------------------------------------------------


def check_source() -> EventSource:
    """The event source check results are recorded under (created on first use; its token is never
    shown: nothing posts with it)."""
    name = conf.check_source_name()
    found = EventSource.objects.filter(name=name).first()
    if found is not None:
        return found
    from events.services import source_create

    try:
        with transaction.atomic():
            source, _token = source_create(
                actor=None,
                fields={
                    "name": name,
                    "kind": SourceKind.GENERIC,
                    "description": "Results of the active checks defined on CIs (written by beat).",
                },
            )
            return source
    except IntegrityError:  # another runner created it first
        return EventSource.objects.get(name=name)


def claim_due(*, now: datetime.datetime, limit: int) -> list[Check]:
    """Lock up to ``limit`` due checks (SKIP LOCKED) and move each one's ``next_run_at`` an interval
    on, in one transaction: they are this runner's to probe."""
    with transaction.atomic():
        due = list(
            Check.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("ci")
            .filter(enabled=True)
            .filter(Q(next_run_at__lte=now) | Q(next_run_at__isnull=True))
            .order_by(F("next_run_at").asc(nulls_first=True), "id")[:limit]
        )
        for check in due:
            check.next_run_at = now + datetime.timedelta(seconds=check.interval_seconds)
        Check.objects.bulk_update(due, ["next_run_at"])
    return due


def _payload(check: Check, outcome: Outcome, state: str, at: datetime.datetime) -> dict:
    return {
        "ci": check.ci.number,
        "resource": resource_of(check),
        "check": check.name,
        "severity": check.severity,
        "state": state,
        "value": outcome.duration_ms,
        "message": outcome.message,
        "labels": {"check_id": str(check.pk), "kind": check.kind, "target": check.target[:255]},
        "occurred_at": at.isoformat(),
        "dedup_key": f"check:{check.pk}",
        "idempotency_key": f"check:{check.pk}:{at.isoformat()}",
    }


def record_results(results: list[tuple[Check, Outcome]], *, at: datetime.datetime) -> int:
    """Store each check's last result and write its event (failure: firing; first success after a
    failure: clear) as raw events of the checks' source, processed like posted ones. One
    transaction; returns how many events were written."""
    from events import services

    if not results:
        return 0
    source = check_source()
    payloads = []
    with transaction.atomic():
        # Read last_ok under lock: the state a clear depends on must not race another runner.
        previous = dict(
            Check.objects.select_for_update()
            .filter(pk__in=sorted(check.pk for check, _ in results))
            .order_by("pk")
            .values_list("pk", "last_ok")
        )
        for check, outcome in results:
            if check.pk not in previous:
                continue  # deleted meanwhile
            if not outcome.ok:
                payloads.append(_payload(check, outcome, EventState.FIRING, at))
            elif previous[check.pk] is False:
                payloads.append(_payload(check, outcome, EventState.CLEAR, at))
            Check.objects.filter(pk=check.pk).update(
                last_run_at=at,
                last_ok=outcome.ok,
                last_result=outcome.message[:MAX_RESULT],
                last_duration_ms=outcome.duration_ms,
            )
        if payloads:
            received_at = timezone.now()
            parsed = services.parse_generic(source, payloads, received_at=received_at)
            services.events_ingest(source=source, parsed=parsed, received_at=received_at)
    return len(payloads)


def clear_disabled(*, at: datetime.datetime, limit: int) -> int:
    """A check disabled while failing would leave its alert open for ever: clear it (a clear event
    through the pipeline, like a recovery) and forget the last result. Returns how many."""
    from events import services

    with transaction.atomic():
        stale = list(
            Check.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("ci")
            .filter(enabled=False, last_ok=False)
            .order_by("id")[:limit]
        )
        if not stale:
            return 0
        outcome = Outcome(True, "The check was disabled; its alert is cleared.", 0)
        payloads = [_payload(check, outcome, EventState.CLEAR, at) for check in stale]
        Check.objects.filter(pk__in=[check.pk for check in stale]).update(
            last_ok=None, last_result=outcome.message
        )
        received_at = timezone.now()
        source = check_source()
        parsed = services.parse_generic(source, payloads, received_at=received_at)
        services.events_ingest(source=source, parsed=parsed, received_at=received_at)
    return len(stale)


@dataclass
class RunResult:
    checks: int = 0
    failed: int = 0
    events: int = 0


def run_due_checks(*, now: datetime.datetime | None = None, max_seconds: float | None = None) -> RunResult:
    """Beat: claim due checks a batch at a time, probe each batch concurrently, record the results;
    stop when none is due or after ``max_seconds`` (the next tick goes on)."""
    limit = conf.check_batch_size()
    budget = conf.check_run_seconds() if max_seconds is None else max_seconds
    started = time.monotonic()
    total = RunResult()
    total.events += clear_disabled(at=now or timezone.now(), limit=limit)
    while True:
        at = now or timezone.now()
        due = claim_due(now=at, limit=limit)
        if not due:
            break
        with ThreadPoolExecutor(max_workers=min(conf.check_threads(), len(due))) as pool:
            outcomes = list(pool.map(probe, due))
        results = list(zip(due, outcomes, strict=True))
        total.checks += len(due)
        total.failed += sum(1 for outcome in outcomes if not outcome.ok)
        total.events += record_results(results, at=at)
        if len(due) < limit or time.monotonic() - started > budget:
            break
    return total
