"""Admin for problem management's reference data (the risk scales). Problems, known errors and the
rest are worked in the agent UI and the API; the admin shows them read-only."""

from django.contrib import admin

from itsm.admin import ReadOnlyAdmin, RecordAdmin
from problems import services
from problems.models import (
    FixProposal,
    Improvement,
    KnownError,
    Problem,
    ProblemCandidate,
    RiskLevel,
    WorkaroundUse,
)


@admin.register(RiskLevel)
class RiskLevelAdmin(RecordAdmin):
    """Changing a step's value recomputes the risk of the problems that use it."""

    list_display = ["scale", "value", "label", "description"]
    list_filter = ["scale"]
    ordering = ["scale", "value"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.recompute_risks(form.instance)


@admin.register(Problem)
class ProblemAdmin(ReadOnlyAdmin):
    list_display = ["number", "title", "status", "risk", "source", "problem_manager", "created_at"]
    list_filter = ["status", "source"]
    search_fields = ["number", "title"]
    list_select_related = ["problem_manager"]


@admin.register(KnownError)
class KnownErrorAdmin(ReadOnlyAdmin):
    list_display = ["number", "title", "status", "publish_to_portal", "next_reassessment_on", "owner"]
    list_filter = ["status", "publish_to_portal"]
    search_fields = ["number", "title"]
    list_select_related = ["owner"]


@admin.register(WorkaroundUse)
class WorkaroundUseAdmin(ReadOnlyAdmin):
    list_display = ["known_error", "incident", "applied_by", "applied_at", "outcome"]
    list_filter = ["outcome"]
    list_select_related = ["known_error", "incident", "applied_by"]


@admin.register(FixProposal)
class FixProposalAdmin(ReadOnlyAdmin):
    list_display = ["number", "title", "status", "requested_by", "created_at"]
    list_filter = ["status"]


@admin.register(ProblemCandidate)
class ProblemCandidateAdmin(ReadOnlyAdmin):
    list_display = ["title", "rule", "status", "incident_count", "created_at"]
    list_filter = ["status", "rule"]


@admin.register(Improvement)
class ImprovementAdmin(ReadOnlyAdmin):
    list_display = ["number", "title", "status", "benefit_level", "effort", "owner"]
    list_filter = ["status"]
