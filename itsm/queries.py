"""Read-side queries of the kernel, shared by pages and the API."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import Http404

from itsm import roles
from itsm.models import Attachment, ChangeRecord, TimelineEntry


def _for_record(queryset: models.QuerySet, record: models.Model) -> models.QuerySet:
    content_type = ContentType.objects.get_for_model(type(record))
    return queryset.filter(content_type=content_type, object_id=record.pk)


def timeline_for(record: models.Model, user) -> models.QuerySet:
    """Timeline entries of a record that ``user`` may read: internal ones only for staff."""
    entries = (
        _for_record(TimelineEntry.objects.all(), record).select_related("author").prefetch_related("involved")
    )
    if not roles.is_staff_role(user):
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
    if not roles.is_staff_role(user):
        attachments = attachments.filter(visibility=Attachment.Visibility.PUBLIC)
    return attachments


def attachment_visible_to(attachment_id: int, user) -> Attachment:
    """The attachment if ``user`` may see its record (and, for internal files, is staff); else 404.

    The same 404 for "does not exist" and "not yours", so ids cannot be probed.
    """
    attachment = Attachment.objects.select_related("content_type").filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404("No such attachment.")
    if attachment.visibility == Attachment.Visibility.INTERNAL and not roles.is_staff_role(user):
        raise Http404("No such attachment.")
    model = attachment.content_type.model_class()
    manager = model._default_manager
    visible = manager.visible_to(user) if hasattr(manager, "visible_to") else manager.none()
    if not visible.filter(pk=attachment.object_id).exists():
        raise Http404("No such attachment.")
    return attachment


def recent_changes_by(user, *, limit: int = 10) -> models.QuerySet:
    """The latest changes a user made, for their home page."""
    return ChangeRecord.objects.filter(actor=user).select_related("content_type")[:limit]
