"""Serializers of problem management's API. Reads show the records; writes validate the input's shape
only (every rule is in ``problems.services``). Choice fields are plain strings in the schema, with the
values listed (as enums they would collide with other apps' ``status`` fields)."""

from __future__ import annotations

from rest_framework import serializers

from configuration.api.serializers import CISummarySerializer
from configuration.models import ConfigurationItem
from incidents.api.serializers import StrictFieldsMixin
from incidents.models import Category, Incident
from itsm.api.serializers import RecordSerializer, UserSummarySerializer
from people.models import Supplier, SupportGroup, User
from problems import choices as c
from problems.models import (
    FixOption,
    FixProposal,
    Improvement,
    KnownError,
    Problem,
    ProblemCandidate,
    ProblemIncident,
    Reassessment,
    RiskLevel,
    Workaround,
    WorkaroundUse,
)
from problems.services.problems import PROBLEM_FIELDS

VERSION_HELP = "The version you are changing (or send If-Match); a stale one gets 409."


def choice(choices, **kwargs) -> serializers.CharField:
    """A choice as a plain string (the values listed in the help), validated against the choices."""
    values = [value for value, _ in choices]

    def valid(value):
        if value not in values:
            raise serializers.ValidationError(f"'{value}' is not one of: {', '.join(values)}.")

    help_text = "; ".join(f"{value}: {label}" for value, label in choices)
    return serializers.CharField(validators=[valid], help_text=help_text, **kwargs)


def shown(choices) -> serializers.CharField:
    return serializers.CharField(read_only=True, help_text="; ".join(f"{v}: {label}" for v, label in choices))


class RiskLevelSerializer(serializers.ModelSerializer):
    scale = shown(c.RiskScale.choices)

    class Meta:
        model = RiskLevel
        fields = ["id", "scale", "value", "label", "description"]


# -- problems -------------------------------------------------------------------------------------


class ProblemListSerializer(serializers.ModelSerializer):
    status = shown(c.Status.choices)
    source = shown(c.Source.choices)
    problem_manager = UserSummarySerializer(read_only=True, allow_null=True)
    assignment_group_name = serializers.CharField(
        source="assignment_group.name", read_only=True, allow_null=True
    )
    impact = RiskLevelSerializer(read_only=True, allow_null=True)
    probability = RiskLevelSerializer(read_only=True, allow_null=True)
    incident_count = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Problem
        fields = [
            "id",
            "number",
            "title",
            "status",
            "source",
            "risk",
            "impact",
            "probability",
            "problem_manager",
            "assignment_group_name",
            "incident_count",
            "created_at",
            "updated_at",
            "version",
        ]


class ProblemSerializer(ProblemListSerializer):
    services = CISummarySerializer(many=True, read_only=True)
    cis = CISummarySerializer(many=True, read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True, allow_null=True)

    class Meta(ProblemListSerializer.Meta):
        fields = [
            *ProblemListSerializer.Meta.fields,
            "description",
            "category",
            "category_name",
            "assignment_group",
            "services",
            "cis",
            "analysis_people",
            "analysis_technology",
            "analysis_partners",
            "analysis_value_streams",
            "root_cause",
            "contributing_causes",
            "resolution_notes",
            "closure_notes",
            "resolved_at",
            "closed_at",
        ]
        read_only_fields = fields


class ProblemWriteSerializer(StrictFieldsMixin, RecordSerializer):
    source = choice(c.Source.choices, required=False)
    services = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=ConfigurationItem.objects.filter(ci_class__is_service=True)
    )
    cis = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=ConfigurationItem.objects.all()
    )
    category = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=Category.objects.filter(parent__isnull=True)
    )
    problem_manager = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=User.objects.filter(is_active=True)
    )
    assignment_group = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=SupportGroup.objects.filter(is_active=True)
    )
    impact = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=RiskLevel.objects.filter(scale=c.RiskScale.IMPACT)
    )
    probability = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=RiskLevel.objects.filter(scale=c.RiskScale.PROBABILITY)
    )
    incidents = serializers.PrimaryKeyRelatedField(
        many=True,
        required=False,
        write_only=True,
        queryset=Incident.objects.all(),
        help_text="On create: incidents this problem causes (linked with who and when).",
    )

    class Meta:
        model = Problem
        fields = ["version", *PROBLEM_FIELDS, "incidents"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # Only incidents the caller may see can be linked.
            self.fields["incidents"].child_relation.queryset = Incident.objects.visible_to(request.user)


class TransitionSerializer(StrictFieldsMixin, serializers.Serializer):
    status = choice(c.Status.choices)
    notes = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Resolution or closure notes."
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    resolve_incidents = serializers.BooleanField(
        required=False, default=False, help_text="When resolving: also resolve the open incidents it caused."
    )
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)


class LinkIncidentsSerializer(StrictFieldsMixin, serializers.Serializer):
    incidents = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=500
    )
    is_cause = serializers.BooleanField(required=False, default=True)


class UnlinkIncidentSerializer(StrictFieldsMixin, serializers.Serializer):
    incident = serializers.IntegerField(min_value=1)


class ProblemIncidentSerializer(serializers.ModelSerializer):
    incident = serializers.IntegerField(source="incident_id", read_only=True)
    number = serializers.CharField(source="incident.number", read_only=True)
    short_description = serializers.CharField(source="incident.short_description", read_only=True)
    incident_status = serializers.CharField(source="incident.status", read_only=True)
    linked_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = ProblemIncident
        fields = [
            "incident",
            "number",
            "short_description",
            "incident_status",
            "is_cause",
            "linked_by",
            "linked_at",
        ]


class IncidentResultSerializer(serializers.Serializer):
    resolved = serializers.ListField(child=serializers.CharField())


# -- workarounds ----------------------------------------------------------------------------------


class WorkaroundSerializer(serializers.ModelSerializer):
    reviewed_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Workaround
        fields = [
            "id",
            "problem",
            "known_error",
            "title",
            "symptoms",
            "steps",
            "automatable",
            "runbook_reference",
            "is_active",
            "reviewed_by",
            "reviewed_at",
            "review_notes",
            "created_at",
            "version",
        ]
        read_only_fields = fields


class WorkaroundWriteSerializer(StrictFieldsMixin, RecordSerializer):
    problem = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=Problem.objects.all()
    )
    known_error = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=KnownError.objects.all()
    )

    class Meta:
        model = Workaround
        fields = [
            "version",
            "problem",
            "known_error",
            "title",
            "symptoms",
            "steps",
            "automatable",
            "runbook_reference",
            "is_active",
        ]


class ReviewSerializer(StrictFieldsMixin, serializers.Serializer):
    notes = serializers.CharField(allow_blank=True)


# -- known errors ---------------------------------------------------------------------------------


class KnownErrorListSerializer(serializers.ModelSerializer):
    status = shown(c.KnownErrorStatus.choices)
    problem_number = serializers.CharField(source="problem.number", read_only=True, allow_null=True)
    owner = UserSummarySerializer(read_only=True, allow_null=True)
    use_count = serializers.IntegerField(read_only=True, required=False)
    effectiveness = serializers.SerializerMethodField(
        help_text="Worked 1, partly 0.5, did not 0; null until rated."
    )

    class Meta:
        model = KnownError
        fields = [
            "id",
            "number",
            "title",
            "status",
            "problem",
            "problem_number",
            "owner",
            "next_reassessment_on",
            "publish_to_portal",
            "use_count",
            "effectiveness",
            "created_at",
            "updated_at",
            "version",
        ]

    def get_effectiveness(self, ke) -> float | None:
        from problems.services import effectiveness

        if not hasattr(ke, "worked_count"):
            return None
        rate = effectiveness(
            {"worked": ke.worked_count, "partly": ke.partly_count, "failed": ke.failed_count}
        )
        return None if rate is None else float(rate)


class FixOptionSerializer(serializers.ModelSerializer):
    risk = choice(c.FixRisk.choices, required=False)
    status = choice(c.FixOptionStatus.choices, required=False)

    class Meta:
        model = FixOption
        fields = [
            "id",
            "title",
            "description",
            "cost",
            "effort_days",
            "risk",
            "benefit",
            "status",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]


class FixProposalSerializer(serializers.ModelSerializer):
    status = shown(c.FixProposalStatus.choices)

    class Meta:
        model = FixProposal
        fields = [
            "id",
            "number",
            "known_error",
            "fix_option",
            "title",
            "justification",
            "status",
            "change_reference",
            "created_at",
        ]
        read_only_fields = fields


class KnownErrorSerializer(KnownErrorListSerializer):
    cis = CISummarySerializer(many=True, read_only=True)
    services = CISummarySerializer(many=True, read_only=True)
    fix_options = FixOptionSerializer(many=True, read_only=True)

    class Meta(KnownErrorListSerializer.Meta):
        fields = [
            *KnownErrorListSerializer.Meta.fields,
            "symptoms",
            "root_cause",
            "category",
            "cis",
            "services",
            "supplier",
            "supplier_reference",
            "assignment_group",
            "reassessment_interval_days",
            "public_text",
            "resolved_at",
            "fix_options",
        ]
        read_only_fields = fields


class KnownErrorWriteSerializer(StrictFieldsMixin, RecordSerializer):
    cis = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=ConfigurationItem.objects.all()
    )
    services = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=ConfigurationItem.objects.filter(ci_class__is_service=True)
    )
    category = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=Category.objects.filter(parent__isnull=True)
    )
    supplier = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=Supplier.objects.all()
    )
    owner = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=User.objects.filter(is_active=True)
    )
    assignment_group = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=SupportGroup.objects.filter(is_active=True)
    )
    problem = serializers.PrimaryKeyRelatedField(
        required=False,
        allow_null=True,
        write_only=True,
        queryset=Problem.objects.all(),
        help_text="On create: the analysed problem it comes from.",
    )
    workaround = serializers.DictField(
        required=False, write_only=True, help_text="On create: a workaround {title, symptoms, steps, ...}."
    )

    class Meta:
        model = KnownError
        fields = [
            "version",
            "problem",
            "workaround",
            "title",
            "symptoms",
            "root_cause",
            "category",
            "cis",
            "services",
            "supplier",
            "supplier_reference",
            "owner",
            "assignment_group",
            "reassessment_interval_days",
            "next_reassessment_on",
            "publish_to_portal",
            "public_text",
        ]
        extra_kwargs = {"title": {"required": False}, "symptoms": {"required": False}}


class KnownErrorTransitionSerializer(StrictFieldsMixin, serializers.Serializer):
    status = choice(c.KnownErrorStatus.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ApplySerializer(StrictFieldsMixin, serializers.Serializer):
    incident = serializers.IntegerField(min_value=1, help_text="The open incident it is applied to.")
    workaround = serializers.IntegerField(
        min_value=1, required=False, help_text="Default: the newest active one."
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class WorkaroundUseSerializer(serializers.ModelSerializer):
    outcome = shown(c.Outcome.choices)
    incident_number = serializers.CharField(source="incident.number", read_only=True)
    applied_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = WorkaroundUse
        fields = [
            "id",
            "known_error",
            "workaround",
            "incident",
            "incident_number",
            "applied_by",
            "applied_at",
            "outcome",
            "outcome_at",
            "note",
        ]
        read_only_fields = fields


class RateUseSerializer(StrictFieldsMixin, serializers.Serializer):
    use = serializers.IntegerField(min_value=1)
    outcome = choice([(value, label) for value, label in c.Outcome.choices if value != c.Outcome.PENDING])
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class ProposeFixSerializer(StrictFieldsMixin, serializers.Serializer):
    fix_option = serializers.IntegerField(min_value=1)
    justification = serializers.CharField(allow_blank=True)


class ReassessmentSerializer(serializers.ModelSerializer):
    decision = choice(c.Decision.choices)
    assessed_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Reassessment
        fields = [
            "id",
            "known_error",
            "due_on",
            "assessed_by",
            "impact",
            "fix_cost",
            "workaround_effectiveness",
            "uses_counted",
            "decision",
            "notes",
            "next_reassessment_on",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "known_error",
            "due_on",
            "assessed_by",
            "workaround_effectiveness",
            "uses_counted",
            "created_at",
        ]
        extra_kwargs = {"impact": {"allow_blank": True}}


class MatchParametersSerializer(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    service = serializers.IntegerField(required=False, min_value=1)
    cis = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list)
    category = serializers.IntegerField(required=False, min_value=1)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=20, default=5)


class WorkaroundBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    steps = serializers.CharField()


class MatchSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField()
    score = serializers.FloatField()
    why = serializers.CharField()
    words = serializers.ListField(child=serializers.CharField())
    url = serializers.CharField()
    workaround = WorkaroundBriefSerializer(allow_null=True)


class PublishedKnownErrorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    public_text = serializers.CharField()
    updated_at = serializers.DateTimeField()


class PublishedParametersSerializer(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


# -- candidates and improvements ----------------------------------------------------------------


class CandidateSerializer(serializers.ModelSerializer):
    rule = shown(c.CandidateRule.choices)
    status = shown(c.CandidateStatus.choices)
    incidents = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    problem_number = serializers.CharField(source="problem.number", read_only=True, allow_null=True)

    class Meta:
        model = ProblemCandidate
        fields = [
            "id",
            "key",
            "rule",
            "title",
            "explanation",
            "status",
            "ci",
            "service",
            "category",
            "ci_class",
            "alert",
            "incidents",
            "incident_count",
            "alert_count",
            "first_seen_at",
            "last_seen_at",
            "problem",
            "problem_number",
            "decided_at",
            "dismiss_reason",
            "created_at",
        ]
        read_only_fields = fields


class AcceptSerializer(StrictFieldsMixin, serializers.Serializer):
    title = serializers.CharField(required=False, max_length=200)
    problem_manager = serializers.PrimaryKeyRelatedField(
        required=False, queryset=User.objects.filter(is_active=True)
    )
    assignment_group = serializers.PrimaryKeyRelatedField(
        required=False, queryset=SupportGroup.objects.filter(is_active=True)
    )


class DismissSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(allow_blank=True)


class DetectResultSerializer(serializers.Serializer):
    examined = serializers.IntegerField()
    clusters = serializers.IntegerField()
    proposed = serializers.IntegerField()
    updated = serializers.IntegerField()
    skipped_dismissed = serializers.IntegerField()


class ImprovementSerializer(StrictFieldsMixin, RecordSerializer):
    number = serializers.CharField(read_only=True)
    status = choice(c.ImprovementStatus.choices, required=False)
    benefit_level = serializers.IntegerField(
        min_value=1, max_value=3, required=False, help_text="1 low, 2 medium, 3 high."
    )
    effort = serializers.IntegerField(
        min_value=1, max_value=3, required=False, help_text="1 low, 2 medium, 3 high."
    )
    owner = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=User.objects.filter(is_active=True)
    )
    problem = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=Problem.objects.all()
    )
    known_error = serializers.PrimaryKeyRelatedField(
        required=False, allow_null=True, queryset=KnownError.objects.all()
    )

    class Meta:
        model = Improvement
        fields = [
            "id",
            "number",
            "version",
            "title",
            "description",
            "benefit",
            "benefit_level",
            "effort",
            "status",
            "owner",
            "problem",
            "known_error",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "number", "created_at", "updated_at"]
