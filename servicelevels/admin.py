"""Admin for service levels: calendars (hours, holidays, generate public holidays), SLA policies,
escalation policies with their steps. Clocks are shown read-only."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from itsm.admin import ReadOnlyAdmin, RecordAdmin
from servicelevels import calendars
from servicelevels.models import (
    BusinessHours,
    Calendar,
    Clock,
    EscalationPolicy,
    EscalationStep,
    Holiday,
    SLAPolicy,
)


class BusinessHoursInline(admin.TabularInline):
    model = BusinessHours
    extra = 1


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1
    fields = ["date", "name", "generated"]
    readonly_fields = ["generated"]


@admin.register(Calendar)
class CalendarAdmin(RecordAdmin):
    list_display = ["name", "time_zone", "is_24x7", "holiday_country", "holiday_subdivision"]
    search_fields = ["name"]
    inlines = [BusinessHoursInline, HolidayInline]
    actions = ["generate_holidays"]

    @admin.action(description="Generate public holidays for this year and next")
    def generate_holidays(self, request, queryset):
        for calendar in queryset:
            try:
                added = calendars.generate_holidays(calendar, calendars.this_and_next_years())
            except ValidationError as error:
                self.message_user(request, f"{calendar}: {' '.join(error.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"{calendar}: {added} holidays added.")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Hours and holidays are inlines: a new version makes every process rebuild the schedule.
        Calendar.objects.filter(pk=form.instance.pk).update(version=form.instance.version + 1)
        calendars.forget(form.instance.pk)


class EscalationStepInline(admin.TabularInline):
    model = EscalationStep
    extra = 1
    filter_horizontal = ["users"]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(RecordAdmin):
    list_display = ["name", "description"]
    inlines = [EscalationStepInline]


@admin.register(SLAPolicy)
class SLAPolicyAdmin(RecordAdmin):
    list_display = [
        "order",
        "name",
        "priorities",
        "calendar",
        "response_minutes",
        "resolution_minutes",
        "update_minutes",
        "escalation_policy",
        "is_active",
    ]
    list_display_links = ["name"]
    list_editable = ["order", "is_active"]
    list_select_related = ["calendar", "escalation_policy"]
    filter_horizontal = ["services", "organisations"]


@admin.register(Clock)
class ClockAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "policy", "state", "deadline", "breached_at", "next_check_at"]
    list_filter = ["state", "target"]
    list_select_related = ["policy", "content_type"]
    show_full_result_count = False
