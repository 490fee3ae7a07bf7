"""Every write to the CMDB: CIs (with schema validation and identifiers), relationships, verification.

All functions run in one transaction and record history through the kernel.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from configuration import schema as schemas
from configuration.models import CIClass, CIIdentifier, ConfigurationItem, Relationship, RelationshipType
from itsm import history, services
from itsm.models import ChangeRecord, TimelineEntry

IDENTIFIER_MAX = 255


def search_text(
    ci: ConfigurationItem, schema: dict[str, schemas.Attribute], identifiers: dict[str, str]
) -> str:
    """Text indexed for search: identifiers and non-sensitive attribute values only."""
    hidden = schemas.sensitive_keys(schema)
    parts = [f"{value}" for value in identifiers.values()]
    parts += [str(value) for key, value in (ci.attributes or {}).items() if key not in hidden]
    return " ".join(parts)[:10000]


def clean_identifiers(identifiers: dict[str, Any] | None) -> dict[str, str]:
    """Identifier schemes are lower-case slugs; values are trimmed text. Raises ValidationError."""
    if identifiers is None:
        return {}
    if not isinstance(identifiers, dict):
        raise ValidationError({"identifiers": "Identifiers must be an object of scheme: value."})
    clean: dict[str, str] = {}
    errors = {}
    for scheme, value in identifiers.items():
        key = str(scheme).strip().lower()
        if not key.replace("_", "").replace("-", "").isalnum() or len(key) > 30:
            errors[f"identifiers.{scheme}"] = (
                "A scheme is a short lower-case word such as hostname or serial."
            )
            continue
        if value is None or str(value).strip() == "":
            continue
        text = str(value).strip()
        if len(text) > IDENTIFIER_MAX:
            errors[f"identifiers.{scheme}"] = f"At most {IDENTIFIER_MAX} characters."
            continue
        clean[key] = text.lower() if key in {"hostname", "fqdn"} else text
    if errors:
        raise ValidationError(errors)
    return clean


def _identifiers_of(ci: ConfigurationItem) -> dict[str, str]:
    return dict(ci.identifiers.values_list("scheme", "value"))


def _check_identifiers_free(identifiers: dict[str, str], *, exclude_ci_id: int | None = None) -> None:
    if not identifiers:
        return
    from django.db.models import Q

    query = Q()
    for scheme, value in identifiers.items():
        query |= Q(scheme=scheme, value=value)
    taken = CIIdentifier.objects.filter(query).exclude(ci_id=exclude_ci_id).select_related("ci")
    errors = {
        f"identifiers.{i.scheme}": f"{i.scheme}={i.value} already identifies {i.ci.number} {i.ci.name}."
        for i in taken
    }
    if errors:
        raise ValidationError(errors)


def _set_identifiers(ci: ConfigurationItem, identifiers: dict[str, str]) -> None:
    current = _identifiers_of(ci)
    for scheme in set(current) - set(identifiers):
        CIIdentifier.objects.filter(ci=ci, scheme=scheme).delete()
    for scheme, value in identifiers.items():
        if current.get(scheme) != value:
            CIIdentifier.objects.update_or_create(ci=ci, scheme=scheme, defaults={"value": value})


@transaction.atomic
def ci_create(
    *,
    actor,
    ci_class: CIClass,
    name: str,
    attributes: dict | None = None,
    identifiers: dict | None = None,
    organisations: Iterable = (),
    source: str = "manual",
    **fields,
) -> ConfigurationItem:
    """Create a CI after validating its attributes against the class schema and its identifiers."""
    schema = schemas.class_schema(ci_class)
    clean_attributes = schemas.validate_attributes(ci_class, attributes or {}, schema=schema)
    clean_ids = clean_identifiers(identifiers)
    _check_identifiers_free(clean_ids)
    ci = ConfigurationItem(ci_class=ci_class, name=name, attributes=clean_attributes, source=source, **fields)
    ci.search_text = search_text(ci, schema, clean_ids)
    ci.full_clean(exclude=["number", "search_text"])
    try:
        with transaction.atomic():
            ci.save()
            CIIdentifier.objects.bulk_create(
                [CIIdentifier(ci=ci, scheme=s, value=v) for s, v in clean_ids.items()]
            )
    except IntegrityError as error:  # a concurrent writer took an identifier first
        raise ValidationError(
            {"identifiers": "An identifier was just taken by another CI; reload and retry."}
        ) from error
    organisations = list(organisations)
    if organisations:
        ci.organisations.set(organisations)
    changes = {
        key: {"old": None, "new": value}
        for key, value in history.snapshot(ci).items()
        if value not in (None, "", [], {})
    }
    if clean_ids:
        changes["identifiers"] = {"old": None, "new": clean_ids}
    services.history_record(instance=ci, actor=actor, action=ChangeRecord.Action.CREATE, changes=changes)
    return ci


@transaction.atomic
def ci_update(
    *,
    actor,
    ci: ConfigurationItem,
    changes: dict[str, Any],
    identifiers: dict | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> ConfigurationItem:
    """Change a CI's fields (attributes validated against its - possibly new - class) and identifiers.

    ``attributes`` replaces the whole attribute set, except that an actor who may not see sensitive
    attributes keeps their stored values. A change that sets what is stored is a no-op.
    """
    changes = dict(changes)
    ci_class = changes.get("ci_class") or ci.ci_class
    schema = schemas.class_schema(ci_class)
    if (
        ("attributes" in changes or "ci_class" in changes)
        and actor is not None
        and not schemas.can_see_sensitive(actor)
    ):
        # The actor never saw the sensitive values: what they send can neither erase nor overwrite
        # them. Read under the row lock so a concurrent privileged edit is not lost.
        stored = ConfigurationItem.objects.select_for_update().get(pk=ci.pk).attributes or {}
        hidden = schemas.sensitive_keys(schemas.class_schema(ci.ci_class)) & set(schema)
        kept = {key: value for key, value in stored.items() if key in hidden}
        changes["attributes"] = {**changes.get("attributes", stored), **kept}
    if "attributes" in changes or "ci_class" in changes:
        changes["attributes"] = schemas.validate_attributes(
            ci_class, changes.get("attributes", ci.attributes), schema=schema
        )
    clean_ids = None if identifiers is None else clean_identifiers(identifiers)
    if clean_ids is not None:
        _check_identifiers_free(clean_ids, exclude_ci_id=ci.pk)
    locked = services.record_update(
        instance=ci, actor=actor, changes=changes, expected_version=expected_version, reason=reason
    )
    current_ids = _identifiers_of(locked)
    ids = current_ids if clean_ids is None else clean_ids
    if clean_ids is not None and clean_ids != current_ids:
        _set_identifiers(locked, clean_ids)
        if locked.version == ci.version:  # record_update found nothing else to change
            locked.version += 1
            locked.save(update_fields=["version", "updated_at"])
        services.history_record(
            instance=locked,
            actor=actor,
            action=ChangeRecord.Action.UPDATE,
            changes={"identifiers": {"old": current_ids, "new": clean_ids}},
            reason=reason,
        )
    text = search_text(locked, schema, ids)
    if text != locked.search_text:
        ConfigurationItem.objects.filter(pk=locked.pk).update(search_text=text)
        locked.search_text = text
    return locked


@transaction.atomic
def ci_verify(*, actor, ci: ConfigurationItem, note: str = "") -> ConfigurationItem:
    """Stamp that ``actor`` checked the CI's record against reality (the verify process)."""
    locked = ConfigurationItem.objects.select_for_update().get(pk=ci.pk)
    now = timezone.now()
    previous = locked.last_verified_at
    locked.last_verified_at = now
    locked.last_verified_by = actor
    locked.save(update_fields=["last_verified_at", "last_verified_by", "updated_at"])
    services.history_record(
        instance=locked,
        actor=actor,
        action=ChangeRecord.Action.UPDATE,
        reason="Verified",
        changes={
            "last_verified_at": {"old": previous.isoformat() if previous else None, "new": now.isoformat()}
        },
    )
    services.timeline_add(
        record=locked,
        author=actor,
        kind=TimelineEntry.Kind.SYSTEM,
        body="Record verified against the live configuration." + (f" {note}" if note else ""),
    )
    return locked


def _relationship_note(relationship: Relationship, verb: str) -> dict:
    return {
        "relationship": {
            "old": None if verb == "added" else str(relationship),
            "new": str(relationship) if verb == "added" else None,
        }
    }


@transaction.atomic
def relationship_create(
    *,
    actor,
    source: ConfigurationItem,
    target: ConfigurationItem,
    type: RelationshipType,
    description: str = "",
) -> Relationship:  # noqa: A002
    """Relate two CIs. The same (source, type, target) twice is refused; cycles are allowed."""
    if source.pk == target.pk:
        raise ValidationError({"target": "A CI cannot be related to itself."})
    if Relationship.objects.filter(source=source, target=target, type=type).exists():
        raise ValidationError({"non_field_errors": f"{source} already {type.forward_label} {target}."})
    try:
        with transaction.atomic():
            relationship = Relationship.objects.create(
                source=source, target=target, type=type, description=description
            )
    except IntegrityError as error:
        raise ValidationError(
            {"non_field_errors": f"{source} already {type.forward_label} {target}."}
        ) from error
    for ci in (source, target):
        services.history_record(
            instance=ci,
            actor=actor,
            action=ChangeRecord.Action.UPDATE,
            changes=_relationship_note(relationship, "added"),
            reason="Relationship added",
        )
    return relationship


@transaction.atomic
def relationship_delete(*, actor, relationship: Relationship) -> None:
    """Remove a relationship; both CIs' histories keep what it was."""
    for ci in (relationship.source, relationship.target):
        services.history_record(
            instance=ci,
            actor=actor,
            action=ChangeRecord.Action.UPDATE,
            changes=_relationship_note(relationship, "removed"),
            reason="Relationship removed",
        )
    relationship.delete()
