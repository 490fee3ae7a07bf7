"""Import of CIs from discovery and infrastructure-as-code feeds, with reconciliation.

Two passes in one transaction:
1. validate every row (class, fields, attributes against the schema, identifiers, relationship
   targets, duplicates inside the feed) and match it to an existing CI by the class's identifier
   keys (or by class and name for classes without identifiers). A row in error writes nothing,
   and a row whose relationship points at a row in error is in error too.
2. write: new CIs in bulk (numbers, identifiers and history rows in a few statements per batch),
   changed CIs one by one through ``services.ci_update`` (history, version), relationships in bulk.
Running the same feed twice changes nothing: every row comes back "unchanged" (only ``last_seen_at``,
bookkeeping for the audit, moves).
"""

from __future__ import annotations

import csv
import gc
import io
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from configuration import schema as schemas
from configuration import services
from configuration.choices import CIStatus, Criticality, Environment
from configuration.models import (
    CIClass,
    CIIdentifier,
    ConfigurationItem,
    DiscoveredItem,
    RelationshipType,
)
from itsm import bulk
from itsm.models import ChangeRecord, allocate_numbers
from people.models import SupportGroup

MODES = ("upsert", "audit")
ITEM_KEYS = {
    "class",
    "name",
    "identifiers",
    "attributes",
    "status",
    "environment",
    "criticality",
    "owner_group",
    "description",
    "relationships",
}
# Memory per batch is ~3 model instances per row; 1,000 rows is a few MB.
BATCH_SIZE = 1000


@dataclass
class RowResult:
    row: int
    status: str  # created, updated, unchanged, error, discovered, seen
    ci: int | None = None
    number: str = ""
    message: str = ""


@dataclass
class ImportReport:
    source: str
    mode: str
    rows: list[RowResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for row in self.rows if row.status == status)

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "mode": self.mode,
            **{status: self.count(status) for status in ("created", "updated", "unchanged")},
            "errors": self.count("error"),
            "discovered": self.count("discovered"),
            "seen": self.count("seen"),
            "rows": [row.__dict__ for row in self.rows],
        }


@dataclass
class _Row:
    index: int
    ci_class: CIClass
    name: str
    identifiers: dict[str, str]
    attributes: dict[str, Any]
    fields: dict[str, Any]
    relationships: list[tuple[RelationshipType, Any]]
    raw: dict
    match: ConfigurationItem | None = None
    targets: list[tuple[RelationshipType, str, Any]] = field(default_factory=list)  # (type, "ci"|"row", id)


class _Context:
    """Reference data loaded once per import, and an attribute validator per class compiled once."""

    def __init__(self):
        self.classes = {c.slug: c for c in CIClass.objects.filter(is_active=True)}
        self.schemas = schemas.all_schemas()
        self.types = {t.slug: t for t in RelationshipType.objects.all()}
        self.groups = {g.name.lower(): g.pk for g in SupportGroup.objects.filter(is_active=True)}
        self.content_type_id = ContentType.objects.get_for_model(ConfigurationItem).pk
        self._validators: dict[int, schemas.AttributeValidator] = {}

    def validate_attributes(self, ci_class: CIClass, values: Any) -> dict[str, Any]:
        validator = self._validators.get(ci_class.pk)
        if validator is None:
            validator = self._validators[ci_class.pk] = schemas.AttributeValidator(
                ci_class, self.schemas.get(ci_class.pk, {})
            )
        return validator(values)


# Django rebuilds ``Choices.values`` on every access; an import asks three times per row.
_CHOICE_VALUES = {
    choices: {str(v): v for v in choices.values} for choices in (CIStatus, Environment, Criticality)
}


def _choice(value, choices, label: str):
    if value is None or value == "":
        return None
    allowed = _CHOICE_VALUES[choices]
    if str(value) in allowed:
        return allowed[str(value)]
    raise ValidationError({label: f"'{value}' is not one of {', '.join(allowed)}."})


def _parse_row(index: int, item: Any, context: _Context) -> _Row:
    if not isinstance(item, dict):
        raise ValidationError({"item": "Each item must be an object."})
    unknown = set(item) - ITEM_KEYS
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Unknown field."))
    slug = str(item.get("class") or "").strip()
    ci_class = context.classes.get(slug)
    if ci_class is None:
        raise ValidationError({"class": f"Unknown CI class '{slug}'." if slug else "A class is required."})
    name = str(item.get("name") or "").strip()
    if not name:
        raise ValidationError({"name": "A name is required."})
    if len(name) > 200:
        raise ValidationError({"name": "At most 200 characters."})
    attributes = context.validate_attributes(ci_class, item.get("attributes") or {})
    identifiers = services.clean_identifiers(item.get("identifiers") or {})
    keys = ci_class.identifier_keys or []
    if keys and not set(identifiers) & set(keys):
        raise ValidationError(
            {"identifiers": f"{ci_class.name} is recognised by {' or '.join(keys)}; give at least one."}
        )
    fields: dict[str, Any] = {}
    for name_, choices in (("status", CIStatus), ("environment", Environment), ("criticality", Criticality)):
        value = _choice(item.get(name_), choices, name_)
        if value is not None:
            fields[name_] = value
    if item.get("description") is not None:
        fields["description"] = str(item["description"])
    group = item.get("owner_group")
    if group not in (None, ""):
        group_id = context.groups.get(str(group).strip().lower())
        if group_id is None:
            raise ValidationError({"owner_group": f"No active support group named '{group}'."})
        fields["owner_group_id"] = group_id
    relationships = []
    raw_relationships = item.get("relationships") or []
    if not isinstance(raw_relationships, list):
        raise ValidationError({"relationships": "Relationships must be a list."})
    for position, relation in enumerate(raw_relationships):
        if not isinstance(relation, dict) or "type" not in relation or "target" not in relation:
            raise ValidationError(
                {f"relationships.{position}": "Each relationship needs a type and a target."}
            )
        rel_type = context.types.get(str(relation["type"]))
        if rel_type is None:
            raise ValidationError(
                {f"relationships.{position}.type": f"Unknown relationship type '{relation['type']}'."}
            )
        relationships.append((rel_type, relation["target"]))
    return _Row(
        index=index,
        ci_class=ci_class,
        name=name,
        identifiers=identifiers,
        attributes=attributes,
        fields=fields,
        relationships=relationships,
        raw=item,
    )


def _message(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(f"{key}: {' '.join(messages)}" for key, messages in error.message_dict.items())
    return " ".join(error.messages)


def _target_key(target: Any, context: _Context) -> tuple[str, Any]:
    """("number", "CI0001234") or ("identifiers", {scheme: value}); ValidationError if neither."""
    if isinstance(target, str) and target.strip():
        text = target.strip()
        if "=" in text:
            scheme, _, value = text.partition("=")
            return "identifiers", services.clean_identifiers({scheme: value})
        return "number", text.upper()
    if isinstance(target, dict) and isinstance(target.get("identifiers"), dict) and target["identifiers"]:
        return "identifiers", services.clean_identifiers(target["identifiers"])
    if isinstance(target, dict) and target.get("number"):
        return "number", str(target["number"]).upper()
    raise ValidationError('A target is a CI number, scheme=value, or {"identifiers": {...}}.')


def import_items(*, actor, source: str, items: list, mode: str = "upsert") -> ImportReport:
    """Create or update CIs (and relationships) from a feed; report what happened to each row."""
    source = (source or "").strip()
    if not source:
        raise ValidationError({"source": "Name the feed (e.g. the discovery tool or repository)."})
    if len(source) > 100:
        raise ValidationError({"source": "At most 100 characters."})
    if mode not in MODES:
        raise ValidationError({"mode": f"Mode must be one of {', '.join(MODES)}."})
    if not isinstance(items, list):
        raise ValidationError({"items": "Items must be a list."})
    with _collector_paused(), transaction.atomic():
        return _import(actor=actor, source=source, items=items, mode=mode)


_gc_lock = threading.Lock()
_gc_pause = {"imports": 0, "was_enabled": False}


@contextmanager
def _collector_paused():
    """No cyclic garbage collection while imports run; the last one to end turns it back on.

    An import allocates a few hundred thousand small dicts and lists; the allocation bursts set off
    collections that walk every object of the process, the caller's whole feed included. Measured
    at 100,000 CIs (``python -m bench cmdb``): 0.2-0.5 s per 2,000-item call, a third of its Python
    time. Whatever cyclic garbage an import leaves is collected once the collector is back on."""
    with _gc_lock:
        if _gc_pause["imports"] == 0:
            _gc_pause["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_pause["imports"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pause["imports"] -= 1
            if _gc_pause["imports"] == 0 and _gc_pause["was_enabled"]:
                gc.enable()


def _import(*, actor, source: str, items: list, mode: str) -> ImportReport:
    report = ImportReport(source=source, mode=mode)
    context = _Context()
    results: dict[int, RowResult] = {}
    rows: list[_Row] = []
    for index, item in enumerate(items, start=1):
        try:
            rows.append(_parse_row(index, item, context))
        except ValidationError as error:
            results[index] = RowResult(row=index, status="error", message=_message(error))

    # Duplicates inside the feed: the first row with an identifier (or class+name) wins.
    seen: dict[tuple, int] = {}
    valid: list[_Row] = []
    for row in rows:
        keys = [("id", s, v) for s, v in row.identifiers.items()] or [
            ("name", row.ci_class.pk, row.name.lower())
        ]
        clash = next((seen[key] for key in keys if key in seen), None)
        if clash is not None:
            results[row.index] = RowResult(
                row=row.index, status="error", message=f"Duplicate of row {clash} in this feed."
            )
            continue
        for key in keys:
            seen[key] = row.index
        valid.append(row)

    _match_existing(valid, results)
    valid = [row for row in valid if row.index not in results]
    _resolve_targets(valid, results, _identifiers_of_failed_rows(items, results), context)
    valid = [row for row in valid if row.index not in results]

    now = timezone.now()
    if mode == "audit":
        _audit(valid, results, source, now)
    else:
        _write(valid, results, actor, source, now, context)
    report.rows = [results[index] for index in sorted(results)]
    return report


_IDENTIFIER_OWNERS_SQL = f"""
SELECT value, ci_id FROM {CIIdentifier._meta.db_table} WHERE scheme = %s AND value = ANY(%s::varchar[])
"""  # noqa: S608 (the table name is the model's)


def _identifier_owners(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The CI owning each (scheme, value), looked up through the unique (scheme, value) index: one
    query per scheme with the values as one array (the ORM's ``__in`` costs ~10 µs per value)."""
    owners: dict[tuple[str, str], int] = {}
    by_scheme: dict[str, list[str]] = {}
    for scheme, value in pairs:
        by_scheme.setdefault(scheme, []).append(value)
    with connection.cursor() as cursor:
        for scheme, values in by_scheme.items():
            for start in range(0, len(values), 20000):
                cursor.execute(_IDENTIFIER_OWNERS_SQL, [scheme, values[start : start + 20000]])
                for value, ci_id in cursor.fetchall():
                    owners[(scheme, value)] = ci_id
    return owners


def _match_existing(rows: list[_Row], results: dict[int, RowResult]) -> None:
    by_pair = _identifier_owners({pair for row in rows for pair in row.identifiers.items()})
    unnamed = [row for row in rows if not row.ci_class.identifier_keys]
    by_name: dict[tuple[int, str], list[int]] = {}
    if unnamed:
        names = {row.name for row in unnamed}
        for pk, class_id, name in ConfigurationItem.objects.filter(name__in=names).values_list(
            "pk", "ci_class_id", "name"
        ):
            by_name.setdefault((class_id, name.lower()), []).append(pk)
    matched: dict[int, int] = {}
    for row in rows:
        keys = row.ci_class.identifier_keys or list(row.identifiers)
        ids = {by_pair[(s, v)] for s, v in row.identifiers.items() if s in keys and (s, v) in by_pair}
        if not row.ci_class.identifier_keys and not ids:
            ids = set(by_name.get((row.ci_class.pk, row.name.lower()), []))
        if len(ids) > 1:
            results[row.index] = RowResult(
                row=row.index,
                status="error",
                message="Its identifiers point at different CIs; fix the CMDB or the feed.",
            )
        elif ids:
            matched[row.index] = ids.pop()
    existing = ConfigurationItem.objects.select_related("ci_class").in_bulk(set(matched.values()))
    for row in rows:
        if row.index in matched:
            ci = existing[matched[row.index]]
            if ci.ci_class_id != row.ci_class.pk:
                results[row.index] = RowResult(
                    row=row.index,
                    status="error",
                    ci=ci.pk,
                    number=ci.number,
                    message=f"Its identifiers belong to {ci.number} {ci.name}, a {ci.ci_class.name}, not a {row.ci_class.name}.",
                )
            else:
                row.match = ci


def _identifiers_of_failed_rows(items: list, results: dict[int, RowResult]) -> dict[tuple[str, str], int]:
    """Best-effort identifiers of rows already in error, so a row pointing at one says so."""
    pairs = {}
    for index, result in results.items():
        item = items[index - 1]
        if result.status == "error" and isinstance(item, dict) and isinstance(item.get("identifiers"), dict):
            try:
                pairs.update(dict.fromkeys(services.clean_identifiers(item["identifiers"]).items(), index))
            except ValidationError:
                continue
    return pairs


def _resolve_targets(
    rows: list[_Row], results: dict[int, RowResult], failed_pairs: dict, context: _Context
) -> None:
    """Point each relationship at an existing CI or at another (valid) row of this feed."""
    feed_pairs = {(s, v): row.index for row in rows for s, v in row.identifiers.items()}
    rows_by_index = {row.index: row for row in rows}
    numbers, pairs = set(), set()
    parsed: dict[int, list] = {}
    for row in rows:
        parsed[row.index] = []
        for position, (rel_type, target) in enumerate(row.relationships):
            try:
                kind, key = _target_key(target, context)
            except ValidationError as error:
                results[row.index] = RowResult(
                    row=row.index,
                    status="error",
                    message=f"relationships.{position}.target: {_message(error)}",
                )
                break
            parsed[row.index].append((position, rel_type, kind, key))
            if kind == "number":
                numbers.add(key)
            else:
                pairs.update(key.items())
    by_number = (
        dict(ConfigurationItem.objects.filter(number__in=numbers).values_list("number", "pk"))
        if numbers
        else {}
    )
    by_pair = _identifier_owners(pairs)
    for row in rows:
        if row.index in results:
            continue
        for position, rel_type, kind, key in parsed[row.index]:
            target = None
            if kind == "number":
                target = ("ci", by_number.get(key)) if key in by_number else None
            else:
                for pair in key.items():
                    if pair in feed_pairs and feed_pairs[pair] in rows_by_index:
                        other = rows_by_index[feed_pairs[pair]]
                        target = ("ci", other.match.pk) if other.match else ("row", other.index)
                        break
                    if pair in by_pair:
                        target = ("ci", by_pair[pair])
                        break
            failed = (
                next((failed_pairs[p] for p in key.items() if p in failed_pairs), None)
                if target is None and kind != "number" and failed_pairs
                else None
            )
            if target is None and failed is not None:
                results[row.index] = RowResult(
                    row=row.index,
                    status="error",
                    message=f"A relationship targets row {failed}, which is in error.",
                )
                break
            if target is None:
                shown = key if kind == "number" else ", ".join(f"{s}={v}" for s, v in key.items())
                results[row.index] = RowResult(
                    row=row.index,
                    status="error",
                    message=f"relationships.{position}.target: no CI found for {shown}.",
                )
                break
            if target == ("row", row.index) or (row.match and target == ("ci", row.match.pk)):
                results[row.index] = RowResult(
                    row=row.index,
                    status="error",
                    message=f"relationships.{position}.target: a CI cannot be related to itself.",
                )
                break
            row.targets.append((rel_type, *target))
    # A row whose relationship needs a row in error is in error too (repeat until stable).
    changed = True
    while changed:
        changed = False
        for row in rows:
            if row.index in results:
                continue
            broken = next((idx for _t, kind, idx in row.targets if kind == "row" and idx in results), None)
            if broken is not None:
                results[row.index] = RowResult(
                    row=row.index,
                    status="error",
                    message=f"A relationship targets row {broken}, which is in error.",
                )
                changed = True


def _audit(rows: list[_Row], results: dict[int, RowResult], source: str, now) -> None:
    """Audit mode: known CIs are marked seen; unknown items are recorded as undocumented."""
    seen_ids = [row.match.pk for row in rows if row.match]
    ConfigurationItem.objects.filter(pk__in=seen_ids).update(last_seen_at=now)
    for row in rows:
        if row.match:
            results[row.index] = RowResult(
                row=row.index, status="seen", ci=row.match.pk, number=row.match.number
            )
            continue
        existing = DiscoveredItem.objects.filter(
            source=source, identifiers=row.identifiers, resolved_ci=None
        ).first()
        if existing:
            existing.payload = row.raw
            existing.save(update_fields=["payload", "last_seen_at"])
        else:
            DiscoveredItem.objects.create(
                source=source,
                identifiers=row.identifiers,
                payload=row.raw,
                reason=f"No {row.ci_class.name} in the CMDB matches it.",
            )
        results[row.index] = RowResult(
            row=row.index,
            status="discovered",
            message=f"Undocumented {row.ci_class.name}: recorded for the audit.",
        )


def _write(rows, results, actor, source, now, context) -> None:
    new_rows = [row for row in rows if row.match is None]
    known_rows = [row for row in rows if row.match is not None]
    for start in range(0, len(new_rows), BATCH_SIZE):
        _create_batch(new_rows[start : start + BATCH_SIZE], results, actor, source, now, context)
    for row in known_rows:
        _update_row(row, results, actor, source)
    _write_relationships(
        [row for row in rows if results.get(row.index) and results[row.index].status != "error"],
        results,
        actor,
        context,
    )
    # Created rows already carry last_seen_at; only the CIs the feed matched need the stamp.
    touched = [row.match.pk for row in known_rows if results[row.index].status != "error"]
    for start in range(0, len(touched), 5000):
        ConfigurationItem.objects.filter(pk__in=touched[start : start + 5000]).update(last_seen_at=now)


@dataclass(slots=True)
class _Created:
    """What the rest of an import needs of a CI it has just created (no model instance)."""

    pk: int
    number: str
    name: str
    version: int = 1

    @property
    def record_label(self) -> str:
        return f"{self.number} {self.name}"


def _create_batch(rows: list[_Row], results, actor, source, now, context) -> None:
    """Create a batch of new CIs with identifiers and history: three COPY statements per batch.

    Rows go to COPY as dicts built from one template of the model's defaults, without a model
    instance per row."""
    if not rows:
        return
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    blank = ConfigurationItem()
    template = {field.attname: getattr(blank, field.attname) for field in _CI_FIELDS}
    template.update(source=source, last_seen_at=now, created_at=now, updated_at=now)
    reason = f"Imported from {source}"
    created = []
    try:
        with transaction.atomic():
            numbers = allocate_numbers(ConfigurationItem.number_prefix, len(rows))
            ids = bulk.allocate_ids(ConfigurationItem, len(rows))
            ci_rows, identifier_rows, history_rows = [], [], []
            for row, number, pk in zip(rows, numbers, ids, strict=True):
                values = {
                    **template,
                    **row.fields,
                    "id": pk,
                    "number": number,
                    "ci_class_id": row.ci_class.pk,
                    "name": row.name,
                    "attributes": row.attributes,
                }
                values["search_text"] = services.search_text(
                    SimpleNamespace(attributes=row.attributes),
                    context.schemas.get(row.ci_class.pk, {}),
                    row.identifiers,
                )
                ci_rows.append(values)
                identifier_rows += [
                    {"ci_id": pk, "scheme": s, "value": v} for s, v in row.identifiers.items()
                ]
                new = _Created(pk, number, row.name)
                created.append(new)
                history_rows.append(
                    {
                        "content_type_id": context.content_type_id,
                        "object_id": pk,
                        "object_repr": new.record_label[:200],
                        "action": ChangeRecord.Action.CREATE,
                        "actor_id": actor_id,
                        "at": now,
                        "version": 1,
                        "changes": _creation_changes(values, row),
                        "reason": reason,
                    }
                )
            bulk.copy_rows(ConfigurationItem, ci_rows)
            bulk.copy_rows(CIIdentifier, identifier_rows)
            bulk.copy_rows(ChangeRecord, history_rows)
    except IntegrityError:
        # Someone created one of these identifiers meanwhile: create row by row to report which.
        for row in rows:
            _create_one(row, results, actor, source)
        return
    for row, new in zip(rows, created, strict=True):
        row.match = new
        results[row.index] = RowResult(row=row.index, status="created", ci=new.pk, number=new.number)


_CI_FIELDS = [f for f in ConfigurationItem._meta.concrete_fields if not f.generated]


def _creation_changes(values: dict, row: _Row) -> dict:
    changes = {
        "name": values["name"],
        "ci_class": values["ci_class_id"],
        "status": values["status"],
        "environment": values["environment"],
        "criticality": values["criticality"],
        "source": values["source"],
    }
    changes.update({k: v for k, v in row.fields.items() if k == "owner_group_id" or k == "description"})
    if values["attributes"]:
        changes["attributes"] = values["attributes"]
    if row.identifiers:
        changes["identifiers"] = row.identifiers
    return {key: {"old": None, "new": value} for key, value in changes.items() if value not in (None, "")}


def _create_one(row: _Row, results, actor, source) -> None:
    try:
        with transaction.atomic():
            fields = {("owner_group_id" if k == "owner_group_id" else k): v for k, v in row.fields.items()}
            ci = services.ci_create(
                actor=actor,
                ci_class=row.ci_class,
                name=row.name,
                attributes=row.attributes,
                identifiers=row.identifiers,
                source=source,
                **fields,
            )
    except ValidationError as error:
        results[row.index] = RowResult(row=row.index, status="error", message=_message(error))
        return
    row.match = ci
    results[row.index] = RowResult(row=row.index, status="created", ci=ci.pk, number=ci.number)


def _update_row(row: _Row, results, actor, source) -> None:
    ci = row.match
    changes: dict[str, Any] = {"name": row.name, "source": source}
    for key, value in row.fields.items():
        changes["owner_group" if key == "owner_group_id" else key] = (
            SupportGroup(pk=value) if key == "owner_group_id" else value
        )
    # The feed owns the attributes it sends; attributes it does not send are kept.
    merged = {**ci.attributes, **row.attributes}
    if merged != ci.attributes:
        changes["attributes"] = merged
    current_ids = dict(ci.identifiers.values_list("scheme", "value"))
    identifiers = {**current_ids, **row.identifiers}
    differs = (
        any(
            (ci.owner_group_id != value.pk) if key == "owner_group" else getattr(ci, key) != value
            for key, value in changes.items()
        )
        or identifiers != current_ids
    )
    if not differs:
        results[row.index] = RowResult(row=row.index, status="unchanged", ci=ci.pk, number=ci.number)
        return
    try:
        with transaction.atomic():
            updated = services.ci_update(
                actor=actor,
                ci=ci,
                changes=changes,
                identifiers=identifiers if identifiers != current_ids else None,
                reason=f"Imported from {source}",
            )
    except ValidationError as error:
        results[row.index] = RowResult(
            row=row.index, status="error", ci=ci.pk, number=ci.number, message=_message(error)
        )
        return
    row.match = updated
    results[row.index] = RowResult(row=row.index, status="updated", ci=updated.pk, number=updated.number)


# The new rows come back with their target's number (for the history entry) in the same round trip.
_INSERT_RELATIONSHIPS = """
WITH added AS (
    INSERT INTO configuration_relationship (created_at, updated_at, version, source_id, target_id, type_id,
                                            description)
    SELECT %(now)s, %(now)s, 1, s, t, ty, ''
    FROM unnest(%(sources)s::bigint[], %(targets)s::bigint[], %(types)s::bigint[]) AS wanted(s, t, ty)
    ON CONFLICT (source_id, target_id, type_id) DO NOTHING
    RETURNING id, source_id, target_id, type_id
)
SELECT added.source_id, added.target_id, added.type_id, ci.number
FROM added LEFT JOIN configuration_configurationitem ci ON ci.id = added.target_id
ORDER BY added.id
"""


def _write_relationships(rows: list[_Row], results, actor, context: _Context) -> None:
    """Add the feed's missing relationships in one statement; a history row on the source of each new one."""
    rows_by_index = {row.index: row for row in rows}
    wanted: dict[tuple[int, int, int], int] = {}
    for row in rows:
        source_id = row.match.pk
        for rel_type, kind, target in row.targets:
            if kind == "ci":
                target_id = target
            else:
                other = rows_by_index.get(target)
                target_id = other.match.pk if other is not None and other.match is not None else None
            if target_id:
                wanted[(source_id, target_id, rel_type.pk)] = row.index
    if not wanted:
        return
    keys = list(wanted)
    now = timezone.now()
    with connection.cursor() as cursor:
        # Concurrent imports of the same wiring cannot collide: existing rows are skipped.
        cursor.execute(
            _INSERT_RELATIONSHIPS,
            {
                "now": now,
                "sources": [k[0] for k in keys],
                "targets": [k[1] for k in keys],
                "types": [k[2] for k in keys],
            },
        )
        inserted = cursor.fetchall()
    if not inserted:
        return
    labels = {rel_type.pk: rel_type.forward_label for rel_type in context.types.values()}
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    history = []
    for source_id, target_id, type_id, target_number in inserted:
        row = rows_by_index[wanted[(source_id, target_id, type_id)]]
        result = results[row.index]
        if result.status == "unchanged":
            result.status = "updated"
        history.append(
            {
                "content_type_id": context.content_type_id,
                "object_id": source_id,
                "object_repr": row.match.record_label[:200],
                "action": ChangeRecord.Action.UPDATE,
                "actor_id": actor_id,
                "at": now,
                "version": row.match.version,
                "reason": "Relationship imported",
                "changes": {
                    "relationship": {
                        "old": None,
                        "new": f"{labels[type_id]} {target_number or target_id}",
                    }
                },
            }
        )
    bulk.copy_rows(ChangeRecord, history)


# ------------------------------------------------------------------------------------ file formats


def parse_json(text: str) -> list[dict]:
    """A JSON list of items, or an object with an ``items`` list."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValidationError({"file": f"Not valid JSON: {error.msg} at line {error.lineno}."}) from error
    if isinstance(data, dict):
        data = data.get("items")
    if not isinstance(data, list):
        raise ValidationError({"file": 'Expected a list of items, or {"items": [...]}.'})
    return data


def parse_csv(text: str) -> list[dict]:
    """CSV with columns class, name, status, environment, criticality, owner_group, description,
    ``id.<scheme>`` (identifiers), ``attr.<key>`` (attributes), ``rel.<type slug>`` (relationship
    targets: a CI number or scheme=value; several separated by ``;``)."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "class" not in reader.fieldnames or "name" not in reader.fieldnames:
        raise ValidationError(
            {"file": "The CSV needs a header row with at least the columns class and name."}
        )
    plain = {"class", "name", "status", "environment", "criticality", "owner_group", "description"}
    unknown = [c for c in reader.fieldnames if c not in plain and not c.startswith(("id.", "attr.", "rel."))]
    if unknown:
        raise ValidationError({"file": f"Unknown column(s): {', '.join(unknown)}."})
    items = []
    for record in reader:
        item: dict[str, Any] = {"identifiers": {}, "attributes": {}, "relationships": []}
        for column, value in record.items():
            value = (value or "").strip()
            if not value or column is None:
                continue
            if column.startswith("id."):
                item["identifiers"][column[3:]] = value
            elif column.startswith("attr."):
                item["attributes"][column[5:]] = value
            elif column.startswith("rel."):
                item["relationships"] += [
                    {"type": column[4:], "target": t.strip()} for t in value.split(";") if t.strip()
                ]
            else:
                item[column] = value
        items.append(item)
    return items
