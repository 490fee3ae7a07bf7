"""Admin for event management's reference data: sources (token shown once), rules, maintenance windows."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone

from events import conf, queries, services
from events.models import Check, EventSource, MaintenanceWindow, Rule, Storm
from itsm.admin import ReadOnlyAdmin, RecordAdmin


@admin.register(EventSource)
class EventSourceAdmin(RecordAdmin):
    list_display = ["name", "kind", "token_prefix", "is_revoked", "max_batch_size", "token_rotated_at"]
    list_filter = ["kind", "is_revoked"]
    search_fields = ["name", "token_prefix"]
    readonly_fields = ["token_prefix", "token_rotated_at"]
    actions = ["rotate_tokens"]

    def save_model(self, request, obj, form, change):
        token = None
        if not change:
            token = services.new_token()
            obj.set_token(token)
        super().save_model(request, obj, form, change)
        if token:
            messages.warning(request, f"Token for {obj.name} (shown once, copy it now): {token}")

    @admin.action(description="Rotate the token of the selected sources")
    def rotate_tokens(self, request, queryset):
        for source in queryset.order_by("pk"):
            _source, token = services.source_rotate_token(source=source, actor=request.user)
            messages.warning(request, f"New token for {source.name} (shown once, copy it now): {token}")


@admin.register(Rule)
class RuleAdmin(RecordAdmin):
    list_display = [
        "order",
        "name",
        "match_source",
        "match_check",
        "match_ci_class",
        "set_classification",
        "set_severity",
        "drop",
        "is_active",
    ]
    list_display_links = ["name"]
    list_editable = ["order", "is_active"]
    list_filter = ["is_active", "drop", "set_classification"]
    search_fields = ["name", "match_check"]
    list_select_related = ["match_source", "match_ci_class"]
    change_form_template = "admin/events/rule/change_form.html"

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """ "Preview on recent events": the form's values, unsaved, tried alone on the most recent
        events (``queries.rule_preview``); nothing is written."""
        if request.method == "POST" and "_preview" in request.POST:
            return self._preview(request, object_id)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _preview(self, request, object_id):
        obj = self.get_object(request, object_id) if object_id else None
        if object_id and (obj is None or not self.has_change_permission(request, obj)):
            raise PermissionDenied
        if not object_id and not self.has_add_permission(request):
            raise PermissionDenied
        form = self.get_form(request, obj, change=obj is not None)(request.POST, request.FILES, instance=obj)
        preview = None
        if form.is_valid():
            preview = queries.rule_preview(form.save(commit=False), request.user)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Rule preview on recent events",
            "form": form,
            "preview": preview,
            "original": obj,
        }
        return TemplateResponse(request, "admin/events/rule/preview.html", context)


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(RecordAdmin):
    list_display = ["name", "starts_at", "ends_at"]
    search_fields = ["name", "reason"]
    autocomplete_fields = ["cis"]
    date_hierarchy = "starts_at"


@admin.register(Check)
class CheckAdmin(RecordAdmin):
    list_display = [
        "name",
        "ci",
        "kind",
        "target",
        "interval_seconds",
        "enabled",
        "last_ok",
        "last_run_at",
        "last_result",
    ]
    list_filter = ["kind", "enabled", "last_ok"]
    search_fields = ["name", "target", "ci__name", "ci__number"]
    autocomplete_fields = ["ci"]
    list_select_related = ["ci"]
    readonly_fields = ["last_run_at", "last_ok", "last_result", "last_duration_ms"]
    actions = ["run_now"]

    @admin.action(description="Run the selected checks at the next tick")
    def run_now(self, request, queryset):
        count = queryset.filter(enabled=True).update(next_run_at=timezone.now())
        messages.info(request, f"{count} enabled check(s) will run within {conf.check_tick_seconds():g} s.")


@admin.register(Storm)
class StormAdmin(ReadOnlyAdmin):
    list_display = ["source", "started_at", "ended_at", "peak_per_minute", "events", "group"]
    list_filter = ["source"]
    list_select_related = ["source", "group"]
    date_hierarchy = "started_at"
