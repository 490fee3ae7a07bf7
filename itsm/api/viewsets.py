"""The base viewset of every record: visibility, optimistic locking, history, timeline, attachments.

Writes go through service functions: ``create_record`` / ``update_record`` call the kernel's
generic services unless an app's viewset overrides them with its own ``<entity>_<verb>`` service.
Records are never hard-deleted through the API.
"""

from __future__ import annotations

import re

from django.db import models
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from itsm import queries, roles, services
from itsm.api.serializers import (
    AttachmentSerializer,
    AttachmentUploadSerializer,
    ChangeRecordSerializer,
    TimelineEntryCreateSerializer,
    TimelineEntrySerializer,
)
from itsm.models import TimelineEntry

_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')

IF_MATCH_PARAMETER = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description='The version being updated, e.g. "3" (as returned in ETag). A stale version gets 409.',
)


class RecordViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """List, read, create and update records; history, timeline and attachments as sub-resources."""

    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def base_queryset(self) -> models.QuerySet:
        """The read query with its joins decided (usually from the app's ``queries.py``)."""
        return self.queryset.all()

    def get_queryset(self):
        return self.base_queryset().visible_to(self.request.user)

    # -- writes ---------------------------------------------------------------------------------

    def split_validated(self, data: dict) -> tuple[dict, dict]:
        model = self.get_serializer_class().Meta.model
        m2m_names = {field.name for field in model._meta.many_to_many}
        fields = {key: value for key, value in data.items() if key not in m2m_names and key != "version"}
        m2m = {key: value for key, value in data.items() if key in m2m_names}
        return fields, m2m

    def create_record(self, validated_data: dict):
        fields, m2m = self.split_validated(validated_data)
        model = self.get_serializer_class().Meta.model
        return services.record_create(model=model, actor=self.request.user, fields=fields, m2m=m2m)

    def update_record(self, instance, validated_data: dict, expected_version: int | None):
        fields, m2m = self.split_validated(validated_data)
        return services.record_update(
            instance=instance,
            actor=self.request.user,
            changes={**fields, **m2m},
            expected_version=expected_version,
        )

    def expected_version(self, serializer) -> int | None:
        header = self.request.headers.get("If-Match")
        if header:
            match = _IF_MATCH.match(header)
            if not match:
                raise ValidationError(
                    {"If-Match": [f"'{header}' is not a version; send the ETag you received, e.g. \"3\"."]}
                )
            return int(match.group(1))
        return serializer.validated_data.get("version")

    def perform_create(self, serializer):
        serializer.instance = self.create_record(serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = self.update_record(
            serializer.instance, serializer.validated_data, self.expected_version(serializer)
        )

    @extend_schema(parameters=[IF_MATCH_PARAMETER])
    def update(self, request, *args, **kwargs):
        return super().update(request, *args, **kwargs)

    @extend_schema(parameters=[IF_MATCH_PARAMETER])
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        version = response.data.get("version") if isinstance(response.data, dict) else None
        if version is not None:
            response["ETag"] = f'"{version}"'
        return response

    # -- sub-resources ----------------------------------------------------------------------------

    @extend_schema(responses=ChangeRecordSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filter_backends=[])
    def history(self, request, pk=None):
        """The record's change history: who changed which field, when, from what to what."""
        record = self.get_object()
        page = queries.readable_history(
            record, self.paginate_queryset(queries.history_for(record)), request.user
        )
        return self.get_paginated_response(ChangeRecordSerializer(page, many=True).data)

    @extend_schema(methods=["get"], responses=TimelineEntrySerializer(many=True), filters=False)
    @extend_schema(
        methods=["post"], request=TimelineEntryCreateSerializer, responses={201: TimelineEntrySerializer}
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def timeline(self, request, pk=None):
        """The record's timeline; POST adds a comment (public by default) or a work note (internal)."""
        record = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(queries.timeline_for(record, request.user))
            return self.get_paginated_response(TimelineEntrySerializer(page, many=True).data)
        payload = TimelineEntryCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        default = (
            TimelineEntry.Visibility.INTERNAL
            if data["kind"] == TimelineEntry.Kind.WORK_NOTE
            else TimelineEntry.Visibility.PUBLIC
        )
        visibility = data.get("visibility") or default
        if not roles.is_staff_role(request.user):
            visibility = TimelineEntry.Visibility.PUBLIC
        entry = services.timeline_add(
            record=record,
            author=request.user,
            kind=data["kind"],
            visibility=visibility,
            body=data.get("body", ""),
            fields=data.get("fields"),
        )
        return Response(TimelineEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses=AttachmentSerializer(many=True), filters=False)
    @extend_schema(
        methods=["post"],
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: AttachmentSerializer},
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def attachments(self, request, pk=None):
        """The record's attachments; POST (multipart, field ``file``) uploads one within the limits."""
        record = self.get_object()
        if request.method == "GET":
            return Response(
                AttachmentSerializer(queries.attachments_for(record, request.user), many=True).data
            )
        payload = AttachmentUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        attachment = services.attachment_add(
            record=record,
            upload=payload.validated_data["file"],
            actor=request.user,
            visibility=payload.validated_data["visibility"],
        )
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)
