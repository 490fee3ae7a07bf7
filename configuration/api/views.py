"""API views of the CMDB: CIs, relationships, classes, impact analysis, export, import and audit.

Staff read; agents, managers and admins write (the CMDB is kept by the support teams). Every write
goes through ``configuration.services`` (or ``configuration.imports``); sensitive attributes are
left out of every read for users who may not see them - list, detail, export and history alike.
"""

from __future__ import annotations

from functools import cached_property

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from configuration import audit, imports, queries, services
from configuration.api import serializers
from configuration.filters import CIFilterSet, RelationshipFilterSet
from configuration.models import CIClass, ConfigurationItem, Relationship, RelationshipType
from itsm import roles
from itsm.api.permissions import IsStaffRole, ReadStaffWriteRoles
from itsm.api.viewsets import RecordViewSet

CMDB_WRITERS = (roles.AGENT, roles.MANAGER, roles.ADMIN)
# One export holds at most this many CIs (about 20 MB of JSON); narrower filters fetch the rest.
EXPORT_LIMIT = 10_000
# One import request holds at most this many items; larger feeds are sent in several requests.
IMPORT_MAX_ITEMS = 10_000
IMPORT_MAX_BYTES = 20 * 1024 * 1024

ERROR_RESPONSE = OpenApiResponse(
    OpenApiTypes.OBJECT, description='{"detail", "code", "errors": {field: [..]}}'
)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is too large."
    default_code = "payload_too_large"


class CIViewSet(RecordViewSet):
    """Configuration items - services included. Attributes are checked against the class's schema;
    sensitive ones are shown only to admins, the security team and holders of the permission."""

    serializer_class = serializers.CISerializer
    filterset_class = CIFilterSet
    permission_classes = [ReadStaffWriteRoles]
    write_roles = CMDB_WRITERS
    ordering_fields = ["number", "name", "criticality", "created_at", "updated_at"]
    ordering = ["number"]

    def base_queryset(self):
        if self.action == "impact":  # the analysed CI shows only its number and name
            return ConfigurationItem.objects.only("id", "number", "name")
        return queries.ci_detail()

    @cached_property
    def attribute_schemas(self) -> serializers.AttributeSchemas:
        return serializers.AttributeSchemas()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "attribute_schemas": self.attribute_schemas}

    # -- writes ---------------------------------------------------------------------------------

    def create_record(self, validated_data):
        data = dict(validated_data)
        data.pop("version", None)
        return services.ci_create(
            actor=self.request.user,
            ci_class=data.pop("ci_class"),
            name=data.pop("name"),
            attributes=data.pop("attributes", None),
            identifiers=data.pop("identifiers", None),
            organisations=data.pop("organisations", ()),
            **data,
        )

    def update_record(self, instance, validated_data, expected_version):
        data = dict(validated_data)
        data.pop("version", None)
        identifiers = data.pop("identifiers", None)
        # ci_update keeps stored sensitive values when the actor may not see them.
        return services.ci_update(
            actor=self.request.user,
            ci=instance,
            changes=data,
            identifiers=identifiers,
            expected_version=expected_version,
        )

    # -- sub-resources ----------------------------------------------------------------------------

    @extend_schema(
        parameters=[serializers.ImpactParametersSerializer],
        responses={200: serializers.ImpactSerializer, 400: ERROR_RESPONSE},
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def impact(self, request, pk=None):
        """Impact analysis: what this CI failing would affect (``impacts``) - above all the services, with
        their organisations - or what it needs (``depends_on``); each CI with its shortest path.
        Depth-limited and cycle-safe."""
        ci = self.get_object()
        parameters = serializers.ImpactParametersSerializer(data=request.query_params)
        parameters.is_valid(raise_exception=True)
        result = queries.impact_analysis(
            ci, direction=parameters.validated_data["direction"], max_depth=parameters.validated_data["depth"]
        )
        return Response(serializers.impact_payload(result))

    @extend_schema(
        request=serializers.CIVerifySerializer, responses={200: serializers.CISerializer}, filters=False
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def verify(self, request, pk=None):
        """Stamp that you checked this CI's record against reality (who and when); an optional note
        goes on its timeline."""
        ci = self.get_object()
        payload = serializers.CIVerifySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.ci_verify(actor=request.user, ci=ci, note=payload.validated_data["note"])
        fresh = self.get_queryset().get(pk=ci.pk)
        return Response(self.get_serializer(fresh).data)

    @extend_schema(responses=serializers.RelationshipSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def relationships(self, request, pk=None):
        """Every relationship touching this CI, either way (``relationships/?ci=`` pages through them)."""
        ci = self.get_object()
        return Response(serializers.RelationshipSerializer(queries.relationships_of(ci), many=True).data)

    @extend_schema(responses={200: serializers.CIExportSerializer, 400: ERROR_RESPONSE}, filters=True)
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request):
        """The CIs matching the list's filters with their identifiers, visible attributes and the
        relationships among them, as JSON to configure environments. At most ``limit`` CIs."""
        queryset = self.filter_queryset(self.get_queryset())
        items = list(queryset[: EXPORT_LIMIT + 1])
        truncated = len(items) > EXPORT_LIMIT
        items = items[:EXPORT_LIMIT]
        ids = [ci.pk for ci in items]
        links = (
            Relationship.objects.visible_to(request.user)
            .filter(source_id__in=ids, target_id__in=ids)
            .order_by("id")
            .values_list("source__number", "type__slug", "target__number")
        )
        return Response(
            {
                "exported_at": timezone.now(),
                "limit": EXPORT_LIMIT,
                "truncated": truncated,
                "items": self.get_serializer(items, many=True).data,
                "relationships": [
                    {"source": source, "type": kind, "target": target} for source, kind, target in links
                ],
            }
        )


class RelationshipViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Relationships between CIs: "source <forward label> target". Duplicates and self-relations are
    refused; cycles are allowed. DELETE here is the one delete the API offers: the relationship goes,
    and both CIs' histories keep what it was."""

    serializer_class = serializers.RelationshipSerializer
    filterset_class = RelationshipFilterSet
    permission_classes = [ReadStaffWriteRoles]
    write_roles = CMDB_WRITERS
    ordering_fields = ["id", "created_at"]
    ordering = ["id"]

    def get_queryset(self):
        return (
            Relationship.objects.visible_to(self.request.user)
            .select_related("source", "target", "type")
            .defer(
                "source__search_vector",
                "source__search_text",
                "target__search_vector",
                "target__search_text",
            )
        )

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.relationship_create(
            actor=self.request.user,
            source=data["source"],
            target=data["target"],
            type=data["type"],
            description=data.get("description", ""),
        )

    def perform_destroy(self, instance):
        services.relationship_delete(actor=self.request.user, relationship=instance)


class CIClassViewSet(viewsets.ReadOnlyModelViewSet):
    """CI classes with their effective attribute schema and the identifiers an import matches on."""

    serializer_class = serializers.CIClassSerializer
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        return CIClass.objects.visible_to(self.request.user).select_related("parent").order_by("name")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "attribute_schemas": serializers.AttributeSchemas()}


class RelationshipTypeViewSet(viewsets.ReadOnlyModelViewSet):
    """Kinds of relationship with their forward and reverse names and how impact flows along them."""

    serializer_class = serializers.RelationshipTypeSerializer
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        return RelationshipType.objects.visible_to(self.request.user).order_by("forward_label")


# ------------------------------------------------------------------------------------ import


def items_from_file(upload) -> list[dict]:
    """The items of an uploaded CSV or JSON feed; ValidationError naming ``file`` if it is malformed."""
    if upload.size > IMPORT_MAX_BYTES:
        raise PayloadTooLarge(
            f"'{upload.name}' is {upload.size / (1024 * 1024):.1f} MB; the limit is "
            f"{IMPORT_MAX_BYTES // (1024 * 1024)} MB. Split the feed."
        )
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DjangoValidationError({"file": "The file is not UTF-8 text."}) from None
    if not text.strip():
        raise DjangoValidationError({"file": "The file is empty."})
    name = (upload.name or "").lower()
    if name.endswith(".json") or (not name.endswith(".csv") and text.lstrip().startswith(("[", "{"))):
        return imports.parse_json(text)
    return imports.parse_csv(text)


def check_item_count(count: int) -> None:
    if count > IMPORT_MAX_ITEMS:
        raise PayloadTooLarge(
            f"{count} items in one request; the limit is {IMPORT_MAX_ITEMS}. Send the feed in several requests."
        )


class ImportView(APIView):
    """Import a discovery or infrastructure-as-code feed (JSON, or a CSV/JSON file upload)."""

    permission_classes = [ReadStaffWriteRoles]
    write_roles = CMDB_WRITERS
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        request={
            "application/json": serializers.ImportFeedSerializer,
            "multipart/form-data": serializers.ImportUploadSerializer,
        },
        responses={
            200: serializers.ImportReportSerializer,
            400: ERROR_RESPONSE,
            413: OpenApiResponse(OpenApiTypes.OBJECT, description=f"More than {IMPORT_MAX_ITEMS} items."),
        },
    )
    def post(self, request):
        """Create or update CIs, recognised by their class's identifiers, and their relationships;
        the report says per row what happened. Rows in error change nothing; the same feed twice
        changes nothing. ``mode=audit`` changes no CI: rows matching one are "seen", the others are
        recorded as discovered items for the audit. At most 10,000 items a request."""
        if "file" in request.FILES:
            payload = serializers.ImportUploadSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            items = items_from_file(payload.validated_data["file"])
        else:
            if not isinstance(request.data, dict):
                raise DjangoValidationError(
                    {
                        "items": 'Send an object {"source": ..., "mode": ..., "items": [...]}, or upload a file.'
                    }
                )
            raw = request.data.get("items")
            if isinstance(raw, list):
                check_item_count(len(raw))
            payload = serializers.ImportFeedSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            items = payload.validated_data["items"]
        check_item_count(len(items))
        report = imports.import_items(
            actor=request.user,
            source=payload.validated_data["source"],
            items=items,
            mode=payload.validated_data["mode"],
        )
        return Response(report.as_dict())


class AuditView(APIView):
    """The CMDB audit: CIs not seen by their feed lately, CIs never or long ago verified, and
    discovered items with no CI."""

    permission_classes = [IsStaffRole]

    @extend_schema(
        parameters=[serializers.AuditParametersSerializer],
        responses={
            200: serializers.AuditReportSerializer,
            400: ERROR_RESPONSE,
        },
    )
    def get(self, request):
        """The audit report; ``not_seen_days`` and ``verify_days`` set the thresholds."""
        parameters = serializers.AuditParametersSerializer(data=request.query_params)
        parameters.is_valid(raise_exception=True)
        return Response(audit.audit_report(**parameters.validated_data))
