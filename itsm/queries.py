"""Read-side queries of the kernel, shared by pages and the API."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import Http404

from itsm import roles
from itsm.models import Attachment, ChangeRecord, TimelineEntry


def in_batches(queryset: models.QuerySet, size: int = 500) -> Iterator[models.Model]:
    """Every row of ``queryset`` in primary-key order, read ``size`` rows at a time by keyset (``pk >
    last``): constant memory over a million rows without a server-side cursor, which the project
    disables (settings: ``DISABLE_SERVER_SIDE_CURSORS``)."""
    last = None
    while True:
        page = queryset.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        rows = list(page[:size])
        yield from rows
        if len(rows) < size:
            return
        last = rows[-1].pk


def _for_record(queryset: models.QuerySet, record: models.Model) -> models.QuerySet:
    content_type = ContentType.objects.get_for_model(type(record))
    return queryset.filter(content_type=content_type, object_id=record.pk)


def _sees_internal(record: models.Model, user) -> bool:
    hook = getattr(record, "internal_visible_to", None)
    return hook(user) if hook is not None else roles.is_staff_role(user)


def timeline_for(record: models.Model, user) -> models.QuerySet:
    """Timeline entries of a record that ``user`` may read: internal ones only for staff."""
    entries = (
        _for_record(TimelineEntry.objects.all(), record).select_related("author").prefetch_related("involved")
    )
    if not _sees_internal(record, user):
        entries = entries.filter(visibility=TimelineEntry.Visibility.PUBLIC)
    return entries


def history_for(record: models.Model) -> models.QuerySet:
    """The change history of a record, newest first."""
    return _for_record(ChangeRecord.objects.all(), record).select_related("actor")


def readable_history(record: models.Model, changes, user) -> list[ChangeRecord]:
    """History entries as ``user`` may read them: a model with ``redact_history(changes, user)``
    removes what the user may not see (e.g. sensitive attribute values) from the loaded entries."""
    changes = list(changes)
    redact = getattr(record, "redact_history", None)
    if redact is not None:
        redact(changes, user)
    return changes


def attachments_for(record: models.Model, user) -> models.QuerySet:
    attachments = _for_record(Attachment.objects.all(), record).select_related("uploaded_by")
    if not _sees_internal(record, user):
        attachments = attachments.filter(visibility=Attachment.Visibility.PUBLIC)
    return attachments


def attachment_visible_to(attachment_id: int, user) -> Attachment:
    """The attachment if ``user`` may see its record (and, for internal files, is staff); else 404.

    The same 404 for "does not exist" and "not yours", so ids cannot be probed.
    """
    attachment = Attachment.objects.select_related("content_type").filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404("No such attachment.")
    model = attachment.content_type.model_class()
    manager = model._default_manager
    visible = manager.visible_to(user) if hasattr(manager, "visible_to") else manager.none()
    record = visible.filter(pk=attachment.object_id).first()
    if record is None:
        raise Http404("No such attachment.")
    if attachment.visibility == Attachment.Visibility.INTERNAL and not _sees_internal(record, user):
        raise Http404("No such attachment.")
    return attachment


def recent_changes_by(user, *, limit: int = 10) -> models.QuerySet:
    """The latest changes a user made, for their home page."""
    return ChangeRecord.objects.filter(actor=user).select_related("content_type")[:limit]


def links_for(record: models.Model, user) -> list[dict]:
    """The record's links that ``user`` may follow: each other record must be visible to them.

    Returns ``{"link", "kind", "other", "type_label"}`` dicts, one query per linked record type.
    """
    from itsm.models import RecordLink
    from itsm.registry import registry

    content_type = ContentType.objects.get_for_model(type(record))
    links = list(
        RecordLink.objects.filter(
            models.Q(source_type=content_type, source_id=record.pk)
            | models.Q(target_type=content_type, target_id=record.pk)
        ).select_related("source_type", "target_type")
    )
    wanted: dict[int, set[int]] = {}
    for link in links:
        other_type, other_id = _other_end(link, content_type, record.pk)
        wanted.setdefault(other_type.pk, set()).add(other_id)
    found: dict[tuple[int, int], models.Model] = {}
    for type_id, ids in wanted.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        manager = model._default_manager
        visible = manager.visible_to(user) if hasattr(manager, "visible_to") else manager.none()
        for obj in visible.filter(pk__in=ids):
            found[(type_id, obj.pk)] = obj
    rows = []
    for link in links:
        other_type, other_id = _other_end(link, content_type, record.pk)
        other = found.get((other_type.pk, other_id))
        if other is None:
            continue
        target = registry.link_target_for(type(other))
        rows.append(
            {
                "link": link,
                "kind": link.kind,
                "other": other,
                "type_label": target.label if target else other._meta.verbose_name.capitalize(),
            }
        )
    return rows


def _other_end(link, content_type, object_id):
    if link.source_type_id == content_type.pk and link.source_id == object_id:
        return link.target_type, link.target_id
    return link.source_type, link.source_id
