"""Reading what sources post into one normalised shape, with errors that name the field.

Pure functions (no database): the ingestion API calls them to refuse a malformed payload with 400,
and processing calls them again on the stored raw event, so what is stored is exactly what was posted.
"""

from __future__ import annotations

import datetime
import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from events.choices import SEVERITY_ALIASES, EventState, Severity

MAX_TEXT = 255
MAX_MESSAGE = 10000
MAX_LABELS = 100
OUR_FIELDS = (
    "resource",
    "ci",
    "check",
    "severity",
    "state",
    "value",
    "message",
    "labels",
    "occurred_at",
    "dedup_key",
    "idempotency_key",
)
STATE_ALIASES = {
    "firing": EventState.FIRING,
    "problem": EventState.FIRING,
    "alert": EventState.FIRING,
    "open": EventState.FIRING,
    "clear": EventState.CLEAR,
    "cleared": EventState.CLEAR,
    "resolved": EventState.CLEAR,
    "ok": EventState.CLEAR,
    "recovery": EventState.CLEAR,
}
_HOST_PORT = re.compile(r"^(?P<host>[^:\[\]]+):\d+$")


class PayloadError(Exception):
    """Malformed input; ``errors`` maps each field (with its position in a batch) to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class Normalised:
    """One event in our shape, before rules and CI lookup."""

    resource: str
    ci_ref: str
    check_name: str
    severity: str
    state: str
    value: float | None
    message: str
    labels: dict[str, str]
    occurred_at: datetime.datetime
    dedup_key: str
    idempotency_key: str
    extra: dict[str, Any] = field(default_factory=dict)


def _dig(item: dict, path: str) -> Any:
    node: Any = item
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _text(value: Any, name: str, errors: dict, *, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors[name] = ["Must be a string."]
        return ""
    text = str(value).replace("\x00", "").strip()
    if len(text) > limit:
        errors[name] = [f"At most {limit} characters (got {len(text)})."]
        return ""
    return text


def _labels(value: Any, name: str, errors: dict) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors[name] = ['Must be an object of names to values, e.g. {"env": "prod"}.']
        return {}
    if len(value) > MAX_LABELS:
        errors[name] = [f"At most {MAX_LABELS} labels."]
        return {}
    labels = {}
    for key, raw in value.items():
        if raw is None:
            continue
        if isinstance(raw, dict | list):
            errors[f"{name}.{key}"] = ["A label's value must be a string, number or boolean."]
            continue
        labels[str(key).replace("\x00", "")[:MAX_TEXT]] = str(raw).replace("\x00", "")[:MAX_TEXT]
    return labels


def _time(value: Any, name: str, errors: dict, default: datetime.datetime) -> datetime.datetime:
    if value in (None, ""):
        return default
    if not isinstance(value, str):
        errors[name] = ["Must be an ISO 8601 date and time, e.g. 2026-11-27T09:15:00Z."]
        return default
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        parsed = None
    if parsed is None:
        errors[name] = [f"'{value[:40]}' is not an ISO 8601 date and time, e.g. 2026-11-27T09:15:00Z."]
        return default
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, datetime.UTC)
    return parsed


def _value(value: Any, name: str, errors: dict) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        errors[name] = ["Must be a number."]
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors[name] = ["Must be a number."]
        return None
    if not math.isfinite(number):
        errors[name] = ["Must be a finite number."]
        return None
    return number


def _severity(value: Any, name: str, errors: dict, *, lenient: bool) -> str:
    if value in (None, ""):
        return Severity.WARNING
    found = SEVERITY_ALIASES.get(str(value).strip().lower()) if isinstance(value, str) else None
    if found is None:
        if lenient:
            return Severity.WARNING
        errors[name] = [f"Unknown severity '{str(value)[:40]}'. Use one of {', '.join(Severity.values)}."]
        return Severity.WARNING
    return found


def _state(value: Any, name: str, errors: dict) -> str:
    if value in (None, ""):
        return EventState.FIRING
    found = STATE_ALIASES.get(value.strip().lower()) if isinstance(value, str) else None
    if found is None:
        errors[name] = ["Must be firing or clear."]
        return EventState.FIRING
    return found


def host_of(value: str) -> str:
    """'web-01:9100' -> 'web-01' (Prometheus instance labels carry the port)."""
    match = _HOST_PORT.match(value)
    return match.group("host") if match else value


def dedup_key_for(source, *, resource: str, check_name: str, ci_ref: str, labels: dict[str, str]) -> str:
    """The dedup key from the source's ``dedup_fields`` (default: resource and check). An event that
    names only its CI stands for that CI in the resource's place (else two CIs' alerts with the same
    check would share the key ``|check`` and merge)."""
    parts = []
    for name in source.dedup_fields or ["resource", "check"]:
        if name == "resource":
            parts.append(resource or (f"ci:{ci_ref}" if ci_ref else ""))
        elif name == "check":
            parts.append(check_name)
        elif name == "ci":
            parts.append(ci_ref)
        elif name.startswith("label."):
            parts.append(labels.get(name[len("label.") :], ""))
        else:
            parts.append(labels.get(name, ""))
    return "|".join(parts)[:MAX_TEXT]


def _derived_key(*parts: str) -> str:
    return "auto:" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:48]


def normalise_generic(item: Any, source, *, received_at: datetime.datetime, at: str = "") -> Normalised:
    """One event in our JSON format (after the source's field mapping). ``at`` prefixes error names
    (``events[3].``) in a batch."""
    if not isinstance(item, dict):
        raise PayloadError({at.rstrip(".") or "non_field_errors": ["An event must be a JSON object."]})
    mapping = source.field_mapping if isinstance(source.field_mapping, dict) else {}

    def read(name: str) -> Any:
        path = mapping.get(name)
        return _dig(item, path) if isinstance(path, str) and path else item.get(name)

    errors: dict[str, list[str]] = {}
    resource = _text(read("resource"), f"{at}resource", errors)
    ci_ref = _text(read("ci"), f"{at}ci", errors)
    check_name = _text(read("check"), f"{at}check", errors)
    if not check_name and f"{at}check" not in errors:
        errors[f"{at}check"] = ["Name the check or metric that changed state."]
    if not resource and not ci_ref and f"{at}resource" not in errors:
        errors[f"{at}resource"] = ["Give the resource (host, node) or the ci it is about."]
    labels = _labels(read("labels"), f"{at}labels", errors)
    event = Normalised(
        resource=resource,
        ci_ref=ci_ref,
        check_name=check_name,
        severity=_severity(read("severity"), f"{at}severity", errors, lenient=False),
        state=_state(read("state"), f"{at}state", errors),
        value=_value(read("value"), f"{at}value", errors),
        message=_text(read("message"), f"{at}message", errors, limit=MAX_MESSAGE),
        labels=labels,
        occurred_at=_time(read("occurred_at"), f"{at}occurred_at", errors, received_at),
        dedup_key=_text(read("dedup_key"), f"{at}dedup_key", errors),
        idempotency_key=_text(read("idempotency_key"), f"{at}idempotency_key", errors, limit=200),
    )
    if errors:
        raise PayloadError(errors)
    if not event.dedup_key:
        event.dedup_key = dedup_key_for(
            source, resource=resource, check_name=check_name, ci_ref=ci_ref, labels=labels
        )
    if not event.idempotency_key:
        event.idempotency_key = _derived_key(event.dedup_key, event.occurred_at.isoformat(), event.state)
    return event


def normalise_alertmanager(alert: Any, source, *, received_at: datetime.datetime, at: str = "") -> Normalised:
    """One entry of an Alertmanager webhook's ``alerts`` (version 4)."""
    if not isinstance(alert, dict):
        raise PayloadError({at.rstrip(".") or "alerts": ["An alert must be a JSON object."]})
    errors: dict[str, list[str]] = {}
    status = alert.get("status")
    if status not in ("firing", "resolved"):
        errors[f"{at}status"] = ["Must be firing or resolved."]
    raw_labels = alert.get("labels")
    if not isinstance(raw_labels, dict):
        errors[f"{at}labels"] = ["Required: an object of label names to values."]
        raw_labels = {}
    labels = _labels(raw_labels, f"{at}labels", errors)
    annotations = _labels(alert.get("annotations"), f"{at}annotations", errors)
    check_name = labels.get("alertname", "")
    if not check_name and f"{at}labels" not in errors:
        errors[f"{at}labels.alertname"] = ["Required: the alert's name."]
    starts_at = _time(alert.get("startsAt"), f"{at}startsAt", errors, received_at)
    if alert.get("startsAt") in (None, "") and f"{at}startsAt" not in errors:
        errors[f"{at}startsAt"] = ["Required: when the alert started (RFC 3339)."]
    ends_raw = alert.get("endsAt")
    ends_at = _time(ends_raw, f"{at}endsAt", errors, received_at)
    fingerprint = _text(alert.get("fingerprint"), f"{at}fingerprint", errors)
    if errors:
        raise PayloadError(errors)
    state = EventState.FIRING if status == "firing" else EventState.CLEAR
    # A firing alert's endsAt is a zero time (year 1) or a guess; a resolved one's is when it ended.
    occurred_at = starts_at if state == EventState.FIRING else (ends_at if ends_at.year > 1 else received_at)
    lookup = source.ci_lookup_label or "instance"
    resource = labels.get(lookup) or labels.get("instance") or labels.get("job", "")
    value = None
    if "value" in annotations:
        value = _value(annotations["value"], f"{at}annotations.value", {})
    if source.dedup_fields or not fingerprint:
        dedup_key = dedup_key_for(source, resource=resource, check_name=check_name, ci_ref="", labels=labels)
    else:
        dedup_key = f"am:{fingerprint}"
    return Normalised(
        resource=resource,
        ci_ref="",
        check_name=check_name,
        severity=_severity(labels.get("severity"), f"{at}labels.severity", {}, lenient=True),
        state=state,
        value=value,
        message=(annotations.get("summary") or annotations.get("description") or "")[:MAX_MESSAGE],
        labels=labels,
        occurred_at=occurred_at,
        dedup_key=dedup_key,
        # Alertmanager re-sends the same alert every repeat_interval: the same start and status are
        # the same event, not another occurrence.
        idempotency_key=_derived_key(
            dedup_key, starts_at.isoformat(), status, ends_raw if state == "clear" else ""
        ),
        extra={"generator_url": str(alert.get("generatorURL", ""))[:500]},
    )
