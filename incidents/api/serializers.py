"""API shapes of incident management: the queue row, the full incident, the create and edit requests,
one request shape per action, and the reference data (categories, matrix, routing rules, saved views).

Serializers check the shape of a request only; every rule (lifecycle, matrix, routing, intake
script, who may do what) lives in ``incidents.services``, whose errors name the field.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from configuration.models import CIClass, ConfigurationItem
from incidents.choices import TRANSITIONS, HoldReason, HopKind, Impact, ResolutionCode, Status, Urgency
from incidents.models import (
    Category,
    Incident,
    IntakeQuestion,
    PostIncidentReview,
    PriorityMatrixEntry,
    RoutingRule,
    SatisfactionResponse,
    SavedView,
    SwarmMember,
)
from incidents.services import UPDATE_FIELDS
from itsm.api.serializers import RecordSerializer, UserSummarySerializer
from people.models import Supplier, SupportGroup, User

VERSION_HELP = "The version you act on (or send If-Match). If it is no longer current you get 409."


@extend_schema_field({"type": "string", "nullable": True})
class UserNameField(serializers.Field):
    """A user's display name (full name, else username), read-only."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, user) -> str:
        return user.get_full_name() or user.get_username()


def name_of(source: str) -> serializers.CharField:
    return serializers.CharField(source=source, read_only=True, allow_null=True)


def _listing(choices) -> str:
    return "; ".join(f"{value}: {label}" for value, label in choices)


# Status, impact and urgency are plain values in the schema: as enums they would collide with the
# CMDB's "status" and with each other (impact and urgency share the values 1-4).
STATUS_HELP = "One of " + ", ".join(Status.values) + "."
IMPACT_HELP = _listing(Impact.choices)
URGENCY_HELP = _listing(Urgency.choices)


def status_field() -> serializers.CharField:
    return serializers.CharField(read_only=True, help_text=STATUS_HELP)


def level_field(help_text: str, **kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=4, help_text=help_text, **kwargs)


class StrictFieldsMixin:
    """Refuse keys the request does not take, instead of ignoring them silently: a ``status`` or
    ``assignee`` sent in an edit would otherwise look accepted while nothing changed."""

    refused_help = "It is not a field of this request."
    # Sent by HTML forms (the browsable API) along with the fields.
    form_keys = frozenset({"csrfmiddlewaretoken"})

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields) - self.form_keys)
            if unknown:
                raise serializers.ValidationError(dict.fromkeys(unknown, [self.refused_help]))
        return super().to_internal_value(data)


# ------------------------------------------------------------------------------------ reads


class AffectedCISerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    ci_class = serializers.CharField(source="ci_class.slug", read_only=True)


class IntakeAnswerSerializer(serializers.Serializer):
    question = serializers.IntegerField(help_text="The intake question's id.")
    text = serializers.CharField(help_text="The question as it was asked.")
    answer = serializers.CharField()


class SwarmMemberSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)
    group = serializers.PrimaryKeyRelatedField(read_only=True)
    group_name = name_of("group.name")
    added_by = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = SwarmMember
        fields = ["id", "user", "group", "group_name", "role", "added_by", "added_at", "removed_at"]
        read_only_fields = fields


class IncidentListSerializer(serializers.ModelSerializer):
    """A queue row: only what the queue shows (relations read by id: ``queries.LIST_RELATIONS``)."""

    status = status_field()
    assignment_group_name = name_of("assignment_group.name")
    assignee_name = UserNameField(source="assignee")
    service_name = name_of("service.name")
    caller_name = UserNameField(source="caller")

    class Meta:
        model = Incident
        fields = [
            "id",
            "number",
            "short_description",
            "status",
            "priority",
            "assignment_group",
            "assignment_group_name",
            "assignee",
            "assignee_name",
            "service",
            "service_name",
            "caller",
            "caller_name",
            "is_major",
            "is_security",
            "resolve_due_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


from servicelevels.api.serializers import ClockSummarySerializer  # noqa: E402
from servicelevels.queries import clocks_for  # noqa: E402


class IncidentSerializer(serializers.ModelSerializer):
    """The full incident (its timeline, history, attachments and links are sub-resources)."""

    status = status_field()
    impact = level_field(IMPACT_HELP, read_only=True)
    urgency = level_field(URGENCY_HELP, read_only=True)
    caller_name = UserNameField(source="caller")
    category_name = name_of("category.name")
    subcategory_name = name_of("subcategory.name")
    service_name = name_of("service.name")
    cis = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    cis_summary = AffectedCISerializer(source="cis", many=True, read_only=True)
    watchers = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    watchers_summary = UserSummarySerializer(source="watchers", many=True, read_only=True)
    assignment_group_name = name_of("assignment_group.name")
    assignee_name = UserNameField(source="assignee")
    created_by_name = UserNameField(source="created_by")
    resolved_by_name = UserNameField(source="resolved_by")
    supplier_name = name_of("supplier.name")
    parent_number = name_of("parent.number")
    duplicate_of_number = name_of("duplicate_of.number")
    incident_manager_name = UserNameField(source="incident_manager")
    intake_answers = IntakeAnswerSerializer(many=True, read_only=True)
    swarm = serializers.SerializerMethodField(help_text="The active swarm participants.")
    allowed_transitions = serializers.SerializerMethodField(
        help_text="The statuses the lifecycle allows from the current one."
    )
    service_levels = serializers.SerializerMethodField(
        help_text="The SLA clocks of the incident (response, resolution, updates) with time left and why."
    )

    class Meta:
        model = Incident
        fields = [
            "id",
            "number",
            "short_description",
            "description",
            "symptoms",
            "caller",
            "caller_name",
            "contact_name",
            "contact_email",
            "contact_phone",
            "channel",
            "category",
            "category_name",
            "subcategory",
            "subcategory_name",
            "service",
            "service_name",
            "cis",
            "cis_summary",
            "environment",
            "impact",
            "urgency",
            "priority",
            "assignment_group",
            "assignment_group_name",
            "assignee",
            "assignee_name",
            "status",
            "allowed_transitions",
            "hold_reason",
            "resolution_code",
            "resolution_notes",
            "confirmation",
            "created_by",
            "created_by_name",
            "status_changed_at",
            "responded_at",
            "resolved_at",
            "resolved_by",
            "resolved_by_name",
            "closed_at",
            "response_due_at",
            "resolve_due_at",
            "service_levels",
            "reassignment_count",
            "reopen_count",
            "first_contact_resolution",
            "supplier",
            "supplier_name",
            "supplier_reference",
            "parent",
            "parent_number",
            "duplicate_of",
            "duplicate_of_number",
            "is_major",
            "major_declared_at",
            "major_declared_by",
            "major_reason",
            "incident_manager",
            "incident_manager_name",
            "update_cadence_minutes",
            "last_public_update_at",
            "swarm",
            "is_security",
            "intake_answers",
            "watchers",
            "watchers_summary",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(SwarmMemberSerializer(many=True))
    def get_swarm(self, incident) -> list[dict]:
        # queries.incident_detail prefetches the active seats only; an incident read otherwise has all.
        active = [member for member in incident.swarm.all() if member.removed_at is None]
        return SwarmMemberSerializer(active, many=True).data

    def get_allowed_transitions(self, incident) -> list[str]:
        return sorted(TRANSITIONS[incident.status])

    @extend_schema_field(ClockSummarySerializer(many=True))
    def get_service_levels(self, incident) -> list[dict]:
        return ClockSummarySerializer(clocks_for(incident, with_events=False), many=True).data


# ----------------------------------------------------------------------------- create, edit


class RelatedById(serializers.PrimaryKeyRelatedField):
    """A relation by id. In a batch the rows every item names are read beforehand, one query a
    model (``context["related"]``: {(model, pk): row}, see ``prefetch_related_ids``); otherwise, or
    for an id not found there, one query as usual (which also words the error)."""

    def to_internal_value(self, data):
        known = self.context.get("related")
        if known and isinstance(data, int | str) and not isinstance(data, bool):
            try:
                row = known.get((self.get_queryset().model, int(data)))
            except ValueError:
                row = None
            if row is not None:
                return row
        return super().to_internal_value(data)


def prefetch_related_ids(serializer_class, items: list) -> dict:
    """The rows named by id in ``items`` (request dicts) through ``serializer_class``'s
    ``RelatedById`` fields, one query per model: the ``related`` context of a batch."""
    wanted: dict = {}
    fields = serializer_class().fields
    for name, declared in fields.items():
        child = getattr(declared, "child_relation", declared)
        if not isinstance(child, RelatedById):
            continue
        model = child.get_queryset().model
        for item in items:
            value = item.get(name) if isinstance(item, dict) else None
            for pk in value if isinstance(value, list) else [value]:
                if isinstance(pk, int) and not isinstance(pk, bool):
                    wanted.setdefault(model, set()).add(pk)
    return {
        (model, row.pk): row
        for model, ids in wanted.items()
        for row in model._default_manager.filter(pk__in=ids)
    }


class IncidentWriteSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """The fields an agent sets directly; relations by id. The service checks the classification
    (category vs subcategory, service is a service) and names the field it refuses."""

    refused_help = (
        "It cannot be set here: it changes through an action (assign/, escalate/, hold/, resolve/, "
        "security/, parent/, ...) or is computed."
    )

    caller = RelatedById(queryset=User.objects.all(), required=False, allow_null=True)
    category = RelatedById(
        queryset=Category.objects.all(), required=False, allow_null=True, help_text="A top-level category."
    )
    subcategory = RelatedById(
        queryset=Category.objects.all(),
        required=False,
        allow_null=True,
        help_text="A subcategory of the category.",
    )
    service = RelatedById(
        queryset=ConfigurationItem.objects.all(),
        required=False,
        allow_null=True,
        help_text="The affected service (a CI whose class is a service).",
    )
    cis = RelatedById(
        many=True, queryset=ConfigurationItem.objects.all(), required=False, help_text="Affected CI ids."
    )
    watchers = RelatedById(
        many=True, queryset=User.objects.all(), required=False, help_text="User ids kept informed."
    )
    impact = level_field(IMPACT_HELP, required=False)
    urgency = level_field(URGENCY_HELP, required=False)

    class Meta:
        model = Incident
        fields = [
            "short_description",
            "description",
            "symptoms",
            "caller",
            "contact_name",
            "contact_email",
            "contact_phone",
            "channel",
            "category",
            "subcategory",
            "service",
            "cis",
            "environment",
            "impact",
            "urgency",
            "watchers",
        ]


class IncidentCreateSerializer(IncidentWriteSerializer):
    assignment_group = RelatedById(
        queryset=SupportGroup.objects.all(),
        required=False,
        allow_null=True,
        help_text="Leave empty to let the routing rules choose.",
    )
    assignee = RelatedById(
        queryset=User.objects.all(), required=False, allow_null=True, help_text="A member of the group."
    )
    answers = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text='Intake script answers, {"<question id>": "<answer>"} (see intake-questions/). '
        "A missing required answer is refused naming answer_<id>.",
    )
    is_security = serializers.BooleanField(
        default=False, help_text="An information security incident: only the security team sees it."
    )

    class Meta(IncidentWriteSerializer.Meta):
        fields = [
            *IncidentWriteSerializer.Meta.fields,
            "assignment_group",
            "assignee",
            "answers",
            "is_security",
        ]


class IncidentUpdateSerializer(IncidentWriteSerializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=500,
        help_text="Why: required when a change of impact or urgency changes the priority.",
    )
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)

    class Meta(IncidentWriteSerializer.Meta):
        fields = [*IncidentWriteSerializer.Meta.fields, "reason", "version"]


# ---------------------------------------------------------------------------------- actions


class VersionedSerializer(StrictFieldsMixin, serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)


def _reason(help_text: str = "Why.") -> serializers.CharField:
    # Blank is let through: the service says what it needs, in one place for UI and API.
    return serializers.CharField(required=False, allow_blank=True, default="", help_text=help_text)


class AssignParams(StrictFieldsMixin, serializers.Serializer):
    group = serializers.PrimaryKeyRelatedField(
        queryset=SupportGroup.objects.all(),
        required=False,
        allow_null=True,
        help_text="The group; empty keeps the current one.",
    )
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True, help_text="A member of the group."
    )
    reason = _reason()


class EscalateParams(StrictFieldsMixin, serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[HopKind.FUNCTIONAL, HopKind.HIERARCHICAL, HopKind.SUPPLIER],
        help_text="functional: to another group; hierarchical: the group's manager is told; "
        "supplier: to a supplier.",
    )
    group = serializers.PrimaryKeyRelatedField(
        queryset=SupportGroup.objects.all(),
        required=False,
        allow_null=True,
        help_text="Functional: the group (default: the group's escalation group).",
    )
    supplier = serializers.PrimaryKeyRelatedField(
        queryset=Supplier.objects.all(), required=False, allow_null=True, help_text="Supplier escalation."
    )
    supplier_reference = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=100,
        help_text="The supplier's own reference.",
    )
    reason = _reason("Why it is escalated (required).")


class HoldParams(StrictFieldsMixin, serializers.Serializer):
    hold_reason = serializers.ChoiceField(
        choices=HoldReason.choices, required=False, allow_blank=True, default=""
    )
    reason = _reason("A note on the wait.")


class ResolveParams(StrictFieldsMixin, serializers.Serializer):
    resolution_code = serializers.ChoiceField(
        choices=ResolutionCode.choices, required=False, allow_blank=True, default=""
    )
    resolution_notes = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="What was done (the caller reads this)."
    )


class StartParams(StrictFieldsMixin, serializers.Serializer):
    pass


class AssignSerializer(AssignParams, VersionedSerializer):
    pass


class EscalateSerializer(EscalateParams, VersionedSerializer):
    pass


class HoldSerializer(HoldParams, VersionedSerializer):
    pass


class ResolveSerializer(ResolveParams, VersionedSerializer):
    pass


class ReasonSerializer(VersionedSerializer):
    reason = _reason()


class MergeSerializer(StrictFieldsMixin, serializers.Serializer):
    survivor = serializers.IntegerField(
        min_value=1, help_text="The incident this one duplicates; this one is closed into it."
    )
    reason = _reason("An optional note.")


class ParentSerializer(StrictFieldsMixin, serializers.Serializer):
    parent = serializers.IntegerField(
        min_value=1, allow_null=True, help_text="The parent incident's id; null detaches this incident."
    )


class DeclareMajorSerializer(VersionedSerializer):
    reason = _reason("Why this is a major incident (required).")
    incident_manager = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True, help_text="Default: you."
    )
    update_cadence_minutes = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Stakeholder updates every N minutes (5 to 1440; default 30).",
    )


class SecuritySerializer(StrictFieldsMixin, serializers.Serializer):
    flagged = serializers.BooleanField(
        default=True, help_text="true flags; false removes the flag (security team only)."
    )
    reason = _reason("Why (required).")


class SwarmAddSerializer(StrictFieldsMixin, serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    group = serializers.PrimaryKeyRelatedField(
        queryset=SupportGroup.objects.all(),
        required=False,
        allow_null=True,
        help_text="The group they come from.",
    )
    role = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="What they do in the swarm (required)."
    )


class SwarmRemoveSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = _reason("An optional note.")


class CommentSerializer(StrictFieldsMixin, serializers.Serializer):
    body = serializers.CharField(required=False, allow_blank=True, default="", max_length=50000)
    public = serializers.BooleanField(
        default=True, help_text="true: a comment the caller sees; false: an internal work note."
    )
    symptoms = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    business_impact = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    cis_affected = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    actions_completed = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    actions_planned = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    involved = serializers.PrimaryKeyRelatedField(
        many=True, queryset=User.objects.all(), required=False, help_text="User ids of the people involved."
    )

    def structured(self) -> dict[str, str]:
        return {name: self.validated_data[name] for name in UPDATE_FIELDS if name in self.validated_data}


class SatisfactionSerializer(serializers.ModelSerializer):
    """The caller's rating of one resolution (1 very dissatisfied - 5 very satisfied)."""

    class Meta:
        model = SatisfactionResponse
        fields = ["id", "incident", "resolved_at", "rating", "comment", "created_at"]
        read_only_fields = fields


class SatisfactionSubmitSerializer(StrictFieldsMixin, serializers.Serializer):
    # Range and type are the service's rule (one message for the UI and the API).
    rating = serializers.IntegerField(help_text="1 (very dissatisfied) to 5 (very satisfied).")
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class ReviewSerializer(serializers.ModelSerializer):
    author = UserSummarySerializer(read_only=True)
    incident = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = PostIncidentReview
        fields = [
            "id",
            "incident",
            "what_happened",
            "impact",
            "timeline_summary",
            "causes",
            "actions",
            "lessons",
            "problem_requested",
            "author",
            "completed_at",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ReviewWriteSerializer(StrictFieldsMixin, serializers.Serializer):
    what_happened = serializers.CharField(required=False, allow_blank=True)
    impact = serializers.CharField(required=False, allow_blank=True)
    timeline_summary = serializers.CharField(required=False, allow_blank=True)
    causes = serializers.CharField(required=False, allow_blank=True)
    actions = serializers.CharField(required=False, allow_blank=True, help_text="One action per line.")
    lessons = serializers.CharField(required=False, allow_blank=True)
    problem_requested = serializers.BooleanField(required=False)
    complete = serializers.BooleanField(required=False, help_text="Mark the review complete.")


class LinkSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The link's id.")
    kind = serializers.CharField()
    note = serializers.CharField()
    type = serializers.CharField(help_text='The other record\'s type, e.g. "incidents.incident".')
    type_label = serializers.CharField()
    object_id = serializers.IntegerField(help_text="The other record's id.")
    label = serializers.CharField(help_text="The other record's number or name.")
    title = serializers.CharField()
    url = serializers.CharField(help_text="The other record's page.")
    created_at = serializers.DateTimeField()


class LinkCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    type = serializers.CharField(
        max_length=100,
        help_text='The other record\'s type, e.g. "incidents.incident" (see link_types in GET).',
    )
    id = serializers.IntegerField(min_value=1, help_text="The other record's id.")
    kind = serializers.CharField(max_length=30, default="related", help_text="The link kind the type offers.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class LinkTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    label = serializers.CharField()
    kinds = serializers.ListField(child=serializers.CharField())


class LinksSerializer(serializers.Serializer):
    links = LinkSerializer(many=True)
    link_types = LinkTypeSerializer(many=True, help_text="The record types a link may point to.")


# ------------------------------------------------------------------------- list-level actions


class SuggestParametersSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000, help_text="What the caller reports (short description).")
    service = serializers.IntegerField(required=False, min_value=1, help_text="The affected service's id.")
    exclude = serializers.IntegerField(
        required=False, min_value=1, help_text="An incident to leave out (the one being edited)."
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=20, default=5)


class SimilarIncidentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    short_description = serializers.CharField()
    status = serializers.CharField()
    priority = serializers.IntegerField()
    is_major = serializers.BooleanField()
    assignment_group_name = name_of("assignment_group.name")
    service_name = name_of("service.name")
    created_at = serializers.DateTimeField()


class RecommendationSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="value")
    label = serializers.CharField()
    share = serializers.IntegerField(help_text="How many of the similar resolved incidents had it.")
    out_of = serializers.IntegerField()
    why = serializers.CharField()


class SuggestionsSerializer(serializers.Serializer):
    similar_open = SimilarIncidentSerializer(
        many=True, help_text="Running major incidents first, then by rank."
    )
    category = RecommendationSerializer(allow_null=True, help_text="Recommended category, with why.")
    group = RecommendationSerializer(allow_null=True, help_text="Recommended assignment group, with why.")
    words = serializers.ListField(child=serializers.CharField(), help_text="The words matched on.")
    more = serializers.SerializerMethodField(
        help_text="Other apps' suggestions (e.g. matching known errors): [{name, label, items: [...]}]."
    )

    def get_more(self, result) -> list[dict]:
        return [
            {
                "name": block["provider"].name,
                "label": block["provider"].label,
                "items": [block["provider"].as_data(item) for item in block["items"]],
            }
            for block in result.more
        ]


BULK_ACTIONS = {
    "assign": AssignParams,
    "start": StartParams,
    "hold": HoldParams,
    "resolve": ResolveParams,
    "escalate": EscalateParams,
}


class BulkSerializer(StrictFieldsMixin, serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=500, help_text="Incident ids."
    )
    action = serializers.ChoiceField(choices=list(BULK_ACTIONS))
    params = serializers.DictField(
        required=False,
        default=dict,
        help_text="The action's fields, as for the single action: assign {group, assignee, reason}, "
        "hold {hold_reason, reason}, resolve {resolution_code, resolution_notes}, "
        "escalate {kind, group, supplier, supplier_reference, reason}, start {}.",
    )


class BulkResultSerializer(serializers.Serializer):
    done = serializers.ListField(child=serializers.CharField(), help_text="Numbers of the incidents changed.")
    failed = serializers.DictField(
        child=serializers.CharField(), help_text="Number -> why that incident was refused."
    )
    not_found = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of no incident you may see."
    )


class IntakeQuestionParametersSerializer(serializers.Serializer):
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all(), required=False)
    subcategory = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all(), required=False)


class IntakeQuestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = IntakeQuestion
        fields = [
            "id",
            "category",
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
        read_only_fields = fields


# ------------------------------------------------------------------------------ reference data


class SubcategorySerializer(serializers.ModelSerializer):
    questions = IntakeQuestionSerializer(many=True, read_only=True)

    class Meta:
        model = Category
        fields = ["id", "name", "description", "order", "is_active", "questions"]
        read_only_fields = fields


class CategorySerializer(RecordSerializer):
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(),
        required=False,
        allow_null=True,
        help_text="Empty for a top-level one.",
    )
    questions = IntakeQuestionSerializer(many=True, read_only=True, help_text="Its intake script, in order.")
    children = SubcategorySerializer(many=True, read_only=True, help_text="Its subcategories.")

    class Meta:
        model = Category
        fields = [
            "id",
            "name",
            "parent",
            "description",
            "order",
            "is_active",
            "questions",
            "children",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        validators = []  # the model's own check names the field (full_clean in the service)


class PriorityMatrixEntrySerializer(serializers.ModelSerializer):
    impact = level_field(IMPACT_HELP, read_only=True)
    urgency = level_field(URGENCY_HELP, read_only=True)

    class Meta:
        model = PriorityMatrixEntry
        fields = ["id", "impact", "urgency", "priority"]
        read_only_fields = ["id", "impact", "urgency"]


class RoutingRuleSerializer(RecordSerializer):
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(), required=False, allow_null=True
    )
    category_name = name_of("category.name")
    service = serializers.PrimaryKeyRelatedField(
        queryset=ConfigurationItem.objects.filter(ci_class__is_service=True), required=False, allow_null=True
    )
    service_name = name_of("service.name")
    ci_class = serializers.PrimaryKeyRelatedField(
        queryset=CIClass.objects.all(), required=False, allow_null=True
    )
    ci_class_name = name_of("ci_class.name")
    assignment_group = serializers.PrimaryKeyRelatedField(queryset=SupportGroup.objects.all())
    assignment_group_name = name_of("assignment_group.name")

    class Meta:
        model = RoutingRule
        fields = [
            "id",
            "name",
            "order",
            "is_active",
            "category",
            "category_name",
            "service",
            "service_name",
            "ci_class",
            "ci_class_name",
            "keywords",
            "assignment_group",
            "assignment_group_name",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class SavedViewSerializer(serializers.ModelSerializer):
    class Meta:
        model = SavedView
        fields = ["id", "name", "query", "created_at"]
        read_only_fields = ["created_at"]
        validators = []  # the service refuses a second view of the same name, naming the field


class IncidentBatchSerializer(serializers.Serializer):
    """The shape of a batch (documentation; the view validates each item with the create request)."""

    incidents = IncidentCreateSerializer(
        many=True, help_text="The incidents to log, as POST incidents/ takes one."
    )


class CreatedIncidentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    url = serializers.CharField(help_text="The incident's API address.")
    priority = serializers.IntegerField()
    assignment_group = serializers.IntegerField(allow_null=True)
    version = serializers.IntegerField()


class IncidentBatchResultSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    incidents = CreatedIncidentSerializer(many=True)
