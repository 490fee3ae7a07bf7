"""Admin base for reference data: every save is written to the change history like any other write,
and records are deactivated rather than deleted."""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction

from itsm import history, services
from itsm.models import Attachment, ChangeRecord, KernelState, TimelineEntry


class RecordAdmin(admin.ModelAdmin):
    """ModelAdmin that records history (with ``version`` bumped) and never hard-deletes."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        if change:
            stored = type(obj)._default_manager.get(pk=obj.pk)
            request._itsm_before = history.snapshot(stored)
            if hasattr(obj, "version"):
                obj.version = stored.version + 1
        super().save_model(request, obj, form, change)

    @transaction.atomic
    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        after = history.snapshot(obj)
        if change:
            delta = history.diff(getattr(request, "_itsm_before", {}), after)
            if delta:
                services.history_record(
                    instance=obj,
                    actor=request.user,
                    action=ChangeRecord.Action.UPDATE,
                    changes=delta,
                    reason="Changed in the admin",
                )
        else:
            changes = {k: {"old": None, "new": v} for k, v in after.items() if v not in (None, "", [])}
            services.history_record(
                instance=obj,
                actor=request.user,
                action=ChangeRecord.Action.CREATE,
                changes=changes,
                reason="Created in the admin",
            )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ChangeRecord)
class ChangeRecordAdmin(ReadOnlyAdmin):
    list_display = ["at", "action", "object_repr", "content_type", "actor", "version"]
    list_filter = ["action", "content_type"]
    search_fields = ["object_repr"]
    date_hierarchy = "at"
    list_select_related = ["actor", "content_type"]


@admin.register(TimelineEntry)
class TimelineEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "visibility", "content_type", "object_id", "author"]
    list_filter = ["kind", "visibility", "content_type"]
    list_select_related = ["author", "content_type"]


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = [
        "uploaded_at",
        "filename",
        "size",
        "visibility",
        "content_type",
        "object_id",
        "uploaded_by",
    ]
    list_filter = ["visibility", "content_type"]
    list_select_related = ["uploaded_by", "content_type"]


@admin.register(KernelState)
class KernelStateAdmin(ReadOnlyAdmin):
    list_display = ["key", "updated_at"]
