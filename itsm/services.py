"""Kernel service functions: the only writers of history, timeline entries and attachments,
and the generic optimistic-locking update that practice apps build their own services on.

Every function runs in one transaction; callers may wrap several in an outer ``atomic``.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction

from itsm import history
from itsm.exceptions import StaleVersion
from itsm.models import Attachment, ChangeRecord, TimelineEntry


def history_record(
    *,
    instance: models.Model,
    actor,
    action: str,
    changes: dict[str, Any],
    reason: str = "",
) -> ChangeRecord:
    """Write one change-history row for ``instance`` (call inside the transaction that changed it)."""
    return ChangeRecord.objects.create(
        content_type=ContentType.objects.get_for_model(type(instance)),
        object_id=instance.pk,
        object_repr=str(getattr(instance, "record_label", instance))[:200],
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        version=getattr(instance, "version", 1),
        changes=changes,
        reason=reason[:500],
    )


@transaction.atomic
def record_create(
    *, model: type[models.Model], actor, fields: dict[str, Any], m2m: dict | None = None, reason: str = ""
):
    """Create a record from validated field values and record its creation in the history."""
    instance = model(**fields)
    instance.full_clean(exclude=list(m2m or {}))
    instance.save()
    for name, values in (m2m or {}).items():
        getattr(instance, name).set(values)
    changes = {
        key: {"old": None, "new": value}
        for key, value in history.snapshot(instance).items()
        if value not in (None, "", [], {})
    }
    history_record(
        instance=instance, actor=actor, action=ChangeRecord.Action.CREATE, changes=changes, reason=reason
    )
    return instance


@transaction.atomic
def record_update(
    *,
    instance: models.Model,
    actor,
    changes: dict[str, Any],
    expected_version: int | None = None,
    reason: str = "",
):
    """Apply ``changes`` (field name -> new value, M2M as iterables) to a record under a row lock.

    Locks the row (``SELECT ... FOR UPDATE``). Refuses with ``StaleVersion`` when
    ``expected_version`` is given and differs from the stored version. Setting the values a record
    already has is a no-op: no version bump, no history row. Returns the fresh, locked instance.
    """
    model = type(instance)
    locked = model._default_manager.select_for_update().get(pk=instance.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(expected=expected_version, current=locked.version)

    fields = {f.name: f for f in history.tracked_fields(model)}
    unknown = set(changes) - set(fields)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed here."))

    before = history.snapshot(locked)
    m2m = {name: value for name, value in changes.items() if fields[name].many_to_many}
    for name, value in changes.items():
        if name not in m2m:
            setattr(locked, name, value)
    locked.full_clean(exclude=list(m2m))
    after = history.snapshot(locked, fields=[f for f in fields.values() if not f.many_to_many])
    after.update({name: sorted(getattr(v, "pk", v) for v in values) for name, values in m2m.items()})
    after = {**before, **after}
    delta = history.diff(before, after)
    if not delta:
        return locked

    if hasattr(locked, "version"):
        locked.version += 1
    locked.save()
    for name, values in m2m.items():
        getattr(locked, name).set(values)
    history_record(
        instance=locked, actor=actor, action=ChangeRecord.Action.UPDATE, changes=delta, reason=reason
    )
    return locked


def timeline_add(
    *,
    record: models.Model,
    author,
    body: str = "",
    kind: str = TimelineEntry.Kind.COMMENT,
    visibility: str = TimelineEntry.Visibility.INTERNAL,
    fields: dict[str, Any] | None = None,
    involved: Iterable = (),
) -> TimelineEntry:
    """Add an entry to a record's timeline. An entry must say something: a body or structured fields."""
    fields = {key: value for key, value in (fields or {}).items() if value not in (None, "", [])}
    if not body.strip() and not fields:
        raise ValidationError({"body": "Write something: the entry is empty."})
    if kind not in TimelineEntry.Kind.values:
        raise ValidationError({"kind": f"Unknown kind '{kind}'."})
    if visibility not in TimelineEntry.Visibility.values:
        raise ValidationError({"visibility": f"Unknown visibility '{visibility}'."})
    entry = TimelineEntry(
        content_type=ContentType.objects.get_for_model(type(record)),
        object_id=record.pk,
        kind=kind,
        visibility=visibility,
        author=author if author is not None and author.is_authenticated else None,
        body=body,
        fields=fields,
    )
    people = list(involved)
    if not people:
        entry.save()  # one statement: no transaction of its own (a savepoint is two round trips)
        return entry
    with transaction.atomic():
        entry.save()
        entry.involved.set(people)
    return entry


def _check_upload(upload) -> str:
    """Validate an uploaded file against the size and type limits; return its extension."""
    name = os.path.basename(upload.name or "")
    if not name:
        raise ValidationError({"file": "The file has no name."})
    if upload.size == 0:
        raise ValidationError({"file": f"'{name}' is empty."})
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        limit = settings.ATTACHMENT_MAX_BYTES / (1024 * 1024)
        raise ValidationError(
            {"file": f"'{name}' is {upload.size / (1024 * 1024):.1f} MB; the limit is {limit:.0f} MB."}
        )
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    allowed = settings.ATTACHMENT_ALLOWED_EXTENSIONS
    if extension not in allowed:
        raise ValidationError(
            {"file": f"Files of type '.{extension or '?'}' are not accepted. Allowed: {', '.join(allowed)}."}
        )
    return extension


@transaction.atomic
def attachment_add(
    *, record: models.Model, upload, actor, visibility: str = Attachment.Visibility.PUBLIC
) -> Attachment:
    """Store an uploaded file on a record after checking size and type; note it on the timeline."""
    _check_upload(upload)
    if visibility not in Attachment.Visibility.values:
        raise ValidationError({"visibility": f"Unknown visibility '{visibility}'."})
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    name = os.path.basename(upload.name)
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    attachment = Attachment(
        content_type=ContentType.objects.get_for_model(type(record)),
        object_id=record.pk,
        filename=name[:255],
        media_type=media_type,
        size=upload.size,
        sha256=digest.hexdigest(),
        visibility=visibility,
        uploaded_by=actor,
    )
    attachment.file.save(name, upload, save=False)
    try:
        attachment.save()
        timeline_add(
            record=record,
            author=actor,
            kind=TimelineEntry.Kind.SYSTEM,
            visibility=visibility,
            body=f"Attached {name} ({upload.size} bytes).",
        )
    except Exception:
        # The row was not written: do not leave the stored file behind.
        attachment.file.delete(save=False)
        raise
    return attachment


@transaction.atomic
def link_add(*, source: models.Model, target: models.Model, actor, kind: str = "related", note: str = ""):
    """Link two records (stored once; a second identical link is refused) and note it on both timelines."""
    from itsm.exceptions import ConflictError
    from itsm.models import RecordLink

    if type(source) is type(target) and source.pk == target.pk:
        raise ValidationError({"target": "A record cannot be linked to itself."})
    source_type = ContentType.objects.get_for_model(type(source))
    target_type = ContentType.objects.get_for_model(type(target))
    pair = models.Q(
        source_type=source_type, source_id=source.pk, target_type=target_type, target_id=target.pk
    )
    reverse = models.Q(
        source_type=target_type, source_id=target.pk, target_type=source_type, target_id=source.pk
    )
    if RecordLink.objects.filter(pair | reverse, kind=kind).exists():
        raise ConflictError(f"{_label(source)} and {_label(target)} are already linked ({kind}).")
    link = RecordLink.objects.create(
        source_type=source_type,
        source_id=source.pk,
        target_type=target_type,
        target_id=target.pk,
        kind=kind,
        note=note[:500],
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    for record, other in ((source, target), (target, source)):
        timeline_add(
            record=record,
            author=actor,
            kind=TimelineEntry.Kind.SYSTEM,
            body=f"Linked to {_label(other)} ({kind}).",
        )
    return link


@transaction.atomic
def link_remove(*, link, actor) -> None:
    source, target = link.source, link.target
    link.delete()
    for record, other in ((source, target), (target, source)):
        if record is not None and other is not None:
            timeline_add(
                record=record,
                author=actor,
                kind=TimelineEntry.Kind.SYSTEM,
                body=f"Unlinked from {_label(other)}.",
            )


def _label(record) -> str:
    return str(getattr(record, "record_label", record))
