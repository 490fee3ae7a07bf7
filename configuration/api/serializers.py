"""API shapes of the CMDB: CIs (with class-validated attributes), relationships, classes, impact, import.

Attributes are validated by ``configuration.services`` (a 400 names ``attributes.<key>``); on reads
they pass through ``schema.visible_attributes`` so sensitive values never reach a reader without
the right. The schemas of every class are loaded once per request (``AttributeSchemas``).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from configuration import imports, queries
from configuration import schema as schemas
from configuration.models import CIClass, ConfigurationItem, Relationship, RelationshipType
from itsm.api.serializers import RecordSerializer
from people.models import Location, Organisation, SupportGroup


class AttributeSchemas:
    """Every class's attribute schema, loaded on first use (two queries) and kept for the request."""

    def __init__(self) -> None:
        self._schemas: dict[int, dict[str, schemas.Attribute]] | None = None

    def all(self) -> dict[int, dict[str, schemas.Attribute]]:
        if self._schemas is None:
            self._schemas = schemas.all_schemas()
        return self._schemas

    def for_class(self, ci_class: CIClass) -> dict[str, schemas.Attribute]:
        found = self.all().get(ci_class.pk)
        return found if found is not None else schemas.class_schema(ci_class)

    def sensitive_keys(self) -> set[str]:
        """Keys sensitive in any class (what history redaction hides when the class may have changed)."""
        return set().union(*(schemas.sensitive_keys(schema) for schema in self.all().values()))


def schemas_in(context: dict) -> AttributeSchemas:
    """The request's schema cache from the serializer context (created there if the view gave none)."""
    found = context.get("attribute_schemas")
    if found is None:
        found = context["attribute_schemas"] = AttributeSchemas()
    return found


def reader_of(context: dict):
    request = context.get("request")
    return getattr(request, "user", None)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {},
        "description": "Attribute key: value, validated against the class's schema (see classes/). "
        "Sensitive attributes are left out for readers without the right.",
    }
)
class AttributesField(serializers.Field):
    """Reads the CI's attributes a reader may see; writes pass the object on for the service to validate."""

    def __init__(self, **kwargs):
        kwargs["source"] = "*"
        super().__init__(**kwargs)

    def to_representation(self, ci: ConfigurationItem) -> dict[str, Any]:
        schema = schemas_in(self.context).for_class(ci.ci_class)
        return schemas.visible_attributes(ci.attributes or {}, schema, reader_of(self.context))

    def to_internal_value(self, data) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError("Attributes must be an object of key: value.")
        return {"attributes": data}


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": 'Identifier scheme: value, e.g. {"hostname": "web-01", "serial": "X123"}. '
        "On update the object replaces the CI's identifiers.",
    }
)
class IdentifiersField(serializers.Field):
    """Reads the prefetched identifiers as scheme: value; writes are cleaned by the service."""

    def to_representation(self, identifiers) -> dict[str, str]:
        return {identifier.scheme: identifier.value for identifier in identifiers.all()}

    def to_internal_value(self, data) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError("Identifiers must be an object of scheme: value.")
        for scheme, value in data.items():
            if value is not None and not isinstance(value, str | int):
                raise serializers.ValidationError(f"The value of '{scheme}' must be text.")
        return data


class CISerializer(RecordSerializer):
    number = serializers.CharField(read_only=True)
    ci_class = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=CIClass.objects.all(),
        help_text="The class's slug, e.g. server (see classes/).",
        error_messages={"does_not_exist": "'{value}' is not a CI class; see /api/v1/configuration/classes/."},
    )
    ci_class_name = serializers.CharField(source="ci_class.name", read_only=True)
    is_service = serializers.BooleanField(source="ci_class.is_service", read_only=True)
    owner_group = serializers.PrimaryKeyRelatedField(
        queryset=SupportGroup.objects.all(), required=False, allow_null=True
    )
    organisations = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Organisation.objects.all(), required=False
    )
    location = serializers.PrimaryKeyRelatedField(
        queryset=Location.objects.all(), required=False, allow_null=True
    )
    attributes = AttributesField(required=False)
    identifiers = IdentifiersField(required=False)

    class Meta:
        model = ConfigurationItem
        fields = [
            "id",
            "number",
            "name",
            "ci_class",
            "ci_class_name",
            "is_service",
            "description",
            "status",
            "environment",
            "criticality",
            "owner_group",
            "organisations",
            "location",
            "attributes",
            "identifiers",
            "source",
            "last_seen_at",
            "last_verified_at",
            "last_verified_by",
            "version",
            "created_at",
            "updated_at",
        ]
        # The source is "manual" for CIs made here; feeds set it through the import.
        read_only_fields = [
            "source",
            "last_seen_at",
            "last_verified_at",
            "last_verified_by",
            "created_at",
            "updated_at",
        ]


class CISummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    name = serializers.CharField()


class CIVerifySerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


@extend_schema_field(OpenApiTypes.STR)
class RelationshipTypeField(serializers.RelatedField):
    """A relationship type by slug (``depends-on``) or id on writes; its slug on reads."""

    default_error_messages = {
        "does_not_exist": "'{value}' is not a relationship type; see /api/v1/configuration/relationship-types/.",
        "incorrect_type": "A relationship type is its slug (e.g. depends-on) or id.",
    }

    def to_representation(self, value: RelationshipType) -> str:
        return value.slug

    def to_internal_value(self, data) -> RelationshipType:
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("incorrect_type")
        text = str(data).strip()
        lookup = {"pk": int(text)} if text.isdigit() else {"slug": text}
        found = self.get_queryset().filter(**lookup).first()
        if found is None:
            self.fail("does_not_exist", value=text)
        return found


class RelationshipSerializer(serializers.ModelSerializer):
    source = serializers.PrimaryKeyRelatedField(queryset=ConfigurationItem.objects.all(), help_text="CI id.")
    target = serializers.PrimaryKeyRelatedField(queryset=ConfigurationItem.objects.all(), help_text="CI id.")
    type = RelationshipTypeField(
        queryset=RelationshipType.objects.all(), help_text="The type's slug (e.g. depends-on) or id."
    )
    source_number = serializers.CharField(source="source.number", read_only=True)
    source_name = serializers.CharField(source="source.name", read_only=True)
    target_number = serializers.CharField(source="target.number", read_only=True)
    target_name = serializers.CharField(source="target.name", read_only=True)
    forward_label = serializers.CharField(source="type.forward_label", read_only=True)
    reverse_label = serializers.CharField(source="type.reverse_label", read_only=True)

    class Meta:
        model = Relationship
        fields = [
            "id",
            "source",
            "source_number",
            "source_name",
            "type",
            "forward_label",
            "reverse_label",
            "target",
            "target_number",
            "target_name",
            "description",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        # The service refuses duplicates with a message that says which relationship exists.
        validators = []


class AttributeDefinitionSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    type = serializers.CharField()
    required = serializers.BooleanField()
    sensitive = serializers.BooleanField()
    choices = serializers.ListField(child=serializers.CharField())


class CIClassSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    attributes = serializers.SerializerMethodField(
        help_text="The effective schema: the ancestors' attributes first, the class's own overriding by key."
    )

    class Meta:
        model = CIClass
        fields = [
            "id",
            "slug",
            "name",
            "parent",
            "description",
            "is_service",
            "identifier_keys",
            "icon",
            "is_active",
            "attributes",
        ]

    @extend_schema_field(AttributeDefinitionSerializer(many=True))
    def get_attributes(self, ci_class: CIClass) -> list[dict]:
        schema = schemas_in(self.context).for_class(ci_class)
        return AttributeDefinitionSerializer(list(schema.values()), many=True).data


class RelationshipTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = RelationshipType
        fields = ["id", "slug", "forward_label", "reverse_label", "impact_direction", "description"]


# ------------------------------------------------------------------------- impact analysis


class ImpactParametersSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(
        choices=["impacts", "depends_on"],
        default="impacts",
        help_text="impacts: what this CI failing would affect; depends_on: what this CI needs.",
    )
    depth = serializers.IntegerField(
        min_value=1,
        max_value=queries.MAX_IMPACT_DEPTH,
        default=queries.DEFAULT_IMPACT_DEPTH,
        help_text=f"How many relationships deep to follow (1-{queries.MAX_IMPACT_DEPTH}).",
    )


class ImpactNodeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    name = serializers.CharField()
    ci_class = serializers.CharField(help_text="The CI's class slug.")
    is_service = serializers.BooleanField()
    status = serializers.CharField()
    depth = serializers.IntegerField(help_text="Relationships between the analysed CI and this one.")
    path = CISummarySerializer(many=True, help_text="From the analysed CI to this one, both included.")
    relationships = serializers.ListField(
        child=serializers.IntegerField(), help_text="Relationship ids along the path."
    )
    organisations = serializers.ListField(
        child=serializers.CharField(), help_text="Organisations known to use this CI."
    )


class ImpactSerializer(serializers.Serializer):
    ci = CISummarySerializer()
    direction = serializers.ChoiceField(choices=["impacts", "depends_on"])
    max_depth = serializers.IntegerField()
    truncated = serializers.BooleanField(
        help_text="True when the walk hit its limit or items lists only the nearest CIs reached."
    )
    reached = serializers.IntegerField(help_text="How many CIs the walk reached in all.")
    services = ImpactNodeSerializer(many=True, help_text="Every service reached.")
    items = ImpactNodeSerializer(
        many=True, help_text="Every service and the 200 nearest other CIs, nearest first."
    )


def impact_payload(result: queries.ImpactResult) -> dict[str, Any]:
    """The impact endpoint's body: every reached CI with its shortest path, and the services among them."""
    start = result.start
    summaries = {
        pk: {"id": pk, "number": number, "name": name} for pk, (number, name) in result.labels.items()
    }
    summaries[start.pk] = {"id": start.pk, "number": start.number, "name": start.name}

    def shape(node: queries.ImpactNode) -> dict[str, Any]:
        ci = node.ci
        return {
            "id": ci.pk,
            "number": ci.number,
            "name": ci.name,
            "ci_class": ci.ci_class.slug,
            "is_service": ci.ci_class.is_service,
            "status": ci.status,
            "depth": node.depth,
            "path": [summaries[ci_id] for ci_id in node.path if ci_id in summaries],
            "relationships": node.relationships,
            "organisations": node.organisations,
        }

    items = [shape(node) for node in result.nodes]
    return {
        "ci": summaries[start.pk],
        "direction": result.direction,
        "max_depth": result.max_depth,
        "truncated": result.truncated,
        "reached": result.reached,
        "services": [item for item in items if item["is_service"]],
        "items": items,
    }


# ------------------------------------------------------------------------------------ export


class ExportedRelationshipSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="The source CI's number.")
    type = serializers.CharField(help_text="The relationship type's slug.")
    target = serializers.CharField(help_text="The target CI's number.")


class CIExportSerializer(serializers.Serializer):
    exported_at = serializers.DateTimeField()
    limit = serializers.IntegerField(help_text="The most CIs one export returns.")
    truncated = serializers.BooleanField(
        help_text="True when more CIs matched than the limit; narrow the filters."
    )
    items = CISerializer(many=True)
    relationships = ExportedRelationshipSerializer(
        many=True, help_text="Relationships whose both ends are among the exported CIs."
    )


# ------------------------------------------------------------------------------------ import


class ImportItemsField(serializers.ListField):
    """The feed's items. Only the list itself is checked here: a malformed item is a row in error
    in the import report, not a malformed request."""

    child = serializers.DictField()

    def to_internal_value(self, data) -> list:
        if isinstance(data, str | dict) or not isinstance(data, list | tuple):
            self.fail("not_a_list", input_type=type(data).__name__)
        return list(data)


class ImportFeedSerializer(serializers.Serializer):
    source = serializers.CharField(max_length=100, help_text="The feed's name, recorded as the CIs' source.")
    mode = serializers.ChoiceField(
        choices=imports.MODES,
        default="upsert",
        help_text="upsert: create or update CIs; audit: change no CI, report the rows that match one "
        "as seen and record the others as discovered items for the audit.",
    )
    items = ImportItemsField(
        help_text='Items: {"class", "name", "identifiers", "attributes", "status", "environment", '
        '"criticality", "owner_group", "description", "relationships": [{"type", "target"}]}.',
    )


class ImportUploadSerializer(serializers.Serializer):
    source = serializers.CharField(max_length=100, help_text="The feed's name, recorded as the CIs' source.")
    mode = serializers.ChoiceField(choices=imports.MODES, default="upsert")
    file = serializers.FileField(help_text="A CSV file (one CI a row) or a JSON file (a list of items).")


class ImportRowSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="The item's position in the feed, from 1.")
    status = serializers.CharField(
        help_text="created, updated, unchanged or error; in audit mode seen or discovered."
    )
    ci = serializers.IntegerField(allow_null=True, help_text="The CI's id, when there is one.")
    number = serializers.CharField(allow_blank=True)
    message = serializers.CharField(allow_blank=True, help_text="Why a row is in error, naming the field.")


class ImportReportSerializer(serializers.Serializer):
    source = serializers.CharField()
    mode = serializers.CharField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = serializers.IntegerField()
    discovered = serializers.IntegerField()
    seen = serializers.IntegerField()
    rows = ImportRowSerializer(many=True)


class AuditParametersSerializer(serializers.Serializer):
    not_seen_days = serializers.IntegerField(
        min_value=1, max_value=3650, default=7, help_text="A fed CI not seen by its feed for this many days."
    )
    verify_days = serializers.IntegerField(
        min_value=1, max_value=3650, default=90, help_text="A CI not verified for this many days."
    )


class AuditCISerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    name = serializers.CharField()
    ci_class = serializers.CharField(help_text="The class's name.")
    source = serializers.CharField()
    status = serializers.CharField()
    last_seen_at = serializers.DateTimeField(allow_null=True)
    last_verified_at = serializers.DateTimeField(allow_null=True)
    url = serializers.CharField()


class AuditDiscoveredSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.CharField()
    identifiers = serializers.DictField(child=serializers.CharField())
    reason = serializers.CharField()
    first_seen_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()


class AuditCountsSerializer(serializers.Serializer):
    not_seen = serializers.IntegerField()
    never_verified = serializers.IntegerField()
    verification_overdue = serializers.IntegerField()
    undocumented = serializers.IntegerField()


class AuditReportSerializer(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    not_seen_days = serializers.IntegerField()
    verify_days = serializers.IntegerField()
    not_seen = AuditCISerializer(many=True, help_text="Fed CIs their feed has not reported lately.")
    never_verified = AuditCISerializer(many=True)
    verification_overdue = AuditCISerializer(many=True)
    undocumented = AuditDiscoveredSerializer(many=True, help_text="Items feeds reported that match no CI.")
    counts = AuditCountsSerializer(help_text="Full counts; each list is capped.")
