"""Turning model field values into JSON-friendly history values, and diffs between snapshots."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

from django.db import models


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def tracked_fields(model: type[models.Model]) -> list[models.Field]:
    """Concrete and many-to-many fields that the change history records for a model."""
    exclude = getattr(model, "history_exclude", frozenset())
    fields = []
    for field in model._meta.get_fields():
        if field.auto_created or not field.concrete and not field.many_to_many:
            continue
        if field.name in exclude or isinstance(field, models.GeneratedField):
            continue
        if field.many_to_many and not field.concrete:
            continue
        fields.append(field)
    return fields


def snapshot(
    instance: models.Model, *, fields: list[models.Field] | None = None, known: dict[str, list] | None = None
) -> dict[str, Any]:
    """The recorded value of every tracked field: FKs as ids, M2M as sorted id lists (``known``: the
    sorted ids of M2M sets the caller has just written, so they are not read back)."""
    data: dict[str, Any] = {}
    known = known or {}
    for field in fields or tracked_fields(type(instance)):
        if field.many_to_many:
            if instance.pk is None:
                data[field.name] = []
            elif field.name in known:
                data[field.name] = known[field.name]
            else:
                data[field.name] = sorted(getattr(instance, field.name).values_list("pk", flat=True))
        elif field.is_relation:
            data[field.name] = getattr(instance, field.attname)
        else:
            data[field.name] = _plain(getattr(instance, field.attname))
    return data


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Changed keys between two snapshots, as ``{field: {"old": ..., "new": ...}}``."""
    return {
        key: {"old": before.get(key), "new": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }
