"""Admin for incident reference data: categories with intake scripts, the priority matrix, routing
rules. Incidents themselves are worked in the agent UI and the API; the admin shows them read-only."""

from django.contrib import admin

from incidents.models import (
    Category,
    Incident,
    IntakeQuestion,
    PriorityMatrixEntry,
    RoutingRule,
    SatisfactionResponse,
)
from itsm.admin import ReadOnlyAdmin, RecordAdmin


class IntakeQuestionInline(admin.TabularInline):
    model = IntakeQuestion
    extra = 1
    fields = [
        "order",
        "text",
        "kind",
        "choices",
        "required",
        "help_text",
        "fix_on_answer",
        "fix_text",
        "is_active",
    ]


@admin.register(Category)
class CategoryAdmin(RecordAdmin):
    list_display = ["__str__", "parent", "order", "is_active"]
    list_filter = ["is_active", ("parent", admin.EmptyFieldListFilter)]
    search_fields = ["name", "parent__name"]
    list_select_related = ["parent"]
    inlines = [IntakeQuestionInline]


@admin.register(PriorityMatrixEntry)
class PriorityMatrixAdmin(RecordAdmin):
    """Changing a cell affects incidents logged or re-prioritised afterwards, not existing ones."""

    list_display = ["impact", "urgency", "priority"]
    list_editable = ["priority"]
    list_filter = ["impact", "urgency"]
    ordering = ["impact", "urgency"]

    def has_add_permission(self, request) -> bool:
        return not PriorityMatrixEntry.objects.count() >= 16


@admin.register(RoutingRule)
class RoutingRuleAdmin(RecordAdmin):
    list_display = [
        "order",
        "name",
        "category",
        "service",
        "ci_class",
        "keywords",
        "assignment_group",
        "is_active",
    ]
    list_display_links = ["name"]
    list_editable = ["order", "is_active"]
    list_filter = ["is_active", "assignment_group"]
    search_fields = ["name", "keywords"]
    list_select_related = ["category", "category__parent", "service", "ci_class", "assignment_group"]
    autocomplete_fields = ["service"]


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "short_description",
        "status",
        "priority",
        "assignment_group",
        "is_major",
        "is_security",
    ]
    list_filter = ["status", "priority", "is_major"]
    search_fields = ["number", "short_description"]
    list_select_related = ["assignment_group"]
    show_full_result_count = False

    def get_queryset(self, request):
        # Security incidents only for the security team, as everywhere else.
        return Incident.objects.visible_to(request.user)


@admin.register(SatisfactionResponse)
class SatisfactionResponseAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "incident", "rating", "respondent", "assignment_group", "service"]
    list_filter = ["rating", "assignment_group"]
    list_select_related = ["incident", "respondent", "assignment_group", "service"]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).filter(incident__in=Incident.objects.visible_to(request.user))
