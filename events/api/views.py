"""Event management's API: ingestion by source token, and staff reads (admin writes) of alerts,
groups, sources, rules and maintenance windows."""

from __future__ import annotations

import io
import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.authentication import get_authorization_header
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from events import queries, services
from events.api import serializers
from events.api.authentication import HasSourceToken, SourceTokenAuthentication, source_from_header
from events.choices import SourceKind
from events.filters import AlertFilterSet, AlertGroupFilterSet
from events.models import Alert, AlertGroup, EventSource, MaintenanceWindow, Rule
from events.normalise import PayloadError
from itsm import roles
from itsm import services as kernel
from itsm.api.permissions import IsStaffRole, ReadStaffWriteRoles
from itsm.api.viewsets import RecordViewSet

ERRORS = {
    400: OpenApiResponse(description="Malformed payload; `errors` names each field."),
    401: OpenApiResponse(description="Missing, unknown or revoked source token."),
    413: OpenApiResponse(description="More events than the source's max_batch_size, or too large a body."),
    429: OpenApiResponse(
        description="Over the source's rate_limit_per_minute; retry after Retry-After seconds."
    ),
}


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request is too large."


def _body_too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"The body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")


class BoundedJSONParser(JSONParser):
    """JSON nested deeper than Python's parser goes is bad input (400), not a crash."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None


class _Ingest(APIView):
    """Ingestion by source token. A POST of JSON takes a short path past DRF's request, negotiation
    and rendering (a fifth of a one-event request's CPU, docs/events.md); its errors and every other
    request (another content type, OPTIONS, a 405) are answered by DRF as for any API view."""

    authentication_classes = [SourceTokenAuthentication]
    permission_classes = [HasSourceToken]
    parser_classes = [BoundedJSONParser]
    throttle_classes = []

    def parse(self, source, body, received_at):  # pragma: no cover - subclasses
        raise NotImplementedError

    def dispatch(self, request, *args, **kwargs):
        charset = request.content_params.get("charset", "utf-8").lower()
        if request.method != "POST" or request.content_type != "application/json" or charset != "utf-8":
            return super().dispatch(request, *args, **kwargs)
        try:
            source = source_from_header(get_authorization_header(request))
            if source is None:
                raise exceptions.NotAuthenticated()
            answer = self.store(source, request.META, lambda: self.read_json(request))
        except Exception as error:  # DRF's handling decides, as in APIView.dispatch
            return self.answer_error(request, error, *args, **kwargs)
        body = json.dumps(answer, separators=(",", ":")).encode()  # as DRF's JSONRenderer writes it
        return HttpResponse(body, status=status.HTTP_202_ACCEPTED, content_type="application/json")

    def answer_error(self, request, error, *args, **kwargs):
        """What ``APIView.dispatch`` does with an exception: the API's error format and headers
        (``WWW-Authenticate`` on 401, ``Retry-After`` on 429); what the API's handler does not map is
        raised again (a 500)."""
        self.args, self.kwargs = args, kwargs
        self.request = self.initialize_request(request, *args, **kwargs)
        self.headers = self.default_response_headers
        response = self.handle_exception(error)
        self.response = self.finalize_response(self.request, response, *args, **kwargs)
        return self.response

    def read_json(self, request):
        try:
            body = request.body
        except RequestDataTooBig:
            raise _body_too_large() from None
        if not body:
            return {}  # as DRF reads an empty body
        return self.parser_classes[0]().parse(io.BytesIO(body), "application/json", {})

    def post(self, request):
        answer = self.store(request.auth, request.META, lambda: request.data)
        return Response(answer, status=status.HTTP_202_ACCEPTED)

    def store(self, source: EventSource, meta, read_body) -> dict:
        """Check the size and the rate, validate and store; answers the 202's body. Raises
        APIException (413, 429, 400 naming each field)."""
        length = meta.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise _body_too_large()
        body = read_body()
        count = self.count(body)
        if count > source.max_batch_size:
            raise PayloadTooLarge(
                f"{count} events in one request; this source accepts at most {source.max_batch_size}."
            )
        wait = services.rate_limit_wait(source, count)
        if wait is not None:
            raise exceptions.Throttled(
                wait, detail=f"This source may send {source.rate_limit_per_minute} events a minute."
            )
        received_at = timezone.now()
        try:
            parsed = self.parse(source, body, received_at)
            # One INSERT statement, durable when it returns (its own transaction: no BEGIN/COMMIT
            # round trips); processing is enqueued after it.
            accepted = services.events_ingest(source=source, parsed=parsed, received_at=received_at)
        except PayloadError as error:
            raise exceptions.ValidationError(error.errors) from None
        except RecursionError:
            raise exceptions.ValidationError(
                {"non_field_errors": ["The payload is nested too deeply."]}
            ) from None
        return {
            "ids": accepted.ids,
            "accepted": len(accepted.ids) - accepted.duplicates,
            "duplicates": accepted.duplicates,
        }


class EventIngest(_Ingest):
    """Post one event, a list of events, or ``{"events": [...]}`` in our format."""

    @staticmethod
    def count(body) -> int:
        if isinstance(body, list):
            return len(body)
        if isinstance(body, dict) and isinstance(body.get("events"), list):
            return len(body["events"])
        return 1

    def parse(self, source, body, received_at):
        if source.kind != SourceKind.GENERIC:
            raise PayloadError(
                {"source": [f"This source sends {source.kind} payloads; post them to its endpoint."]}
            )
        return services.parse_generic(source, body, received_at=received_at)

    @extend_schema(
        operation_id="events_ingest",
        request=serializers.EventInSerializer,
        responses={202: serializers.AcceptedSerializer, **ERRORS},
        description="Store events for processing; answers 202 with the raw event ids. Also takes a list "
        'of events or {"events": [...]} (up to the source\'s max_batch_size). Authenticate with the '
        "source token: `Authorization: Bearer <token>`.",
    )
    def post(self, request):
        return super().post(request)


class AlertmanagerIngest(_Ingest):
    """Prometheus Alertmanager's webhook (version 4)."""

    @staticmethod
    def count(body) -> int:
        alerts = body.get("alerts") if isinstance(body, dict) else None
        return len(alerts) if isinstance(alerts, list) else 0

    def parse(self, source, body, received_at):
        if source.kind != SourceKind.ALERTMANAGER:
            raise PayloadError(
                {"source": ["This source is not an Alertmanager source; post to /api/v1/events/."]}
            )
        return services.parse_alertmanager(source, body, received_at=received_at)

    @extend_schema(
        operation_id="events_ingest_alertmanager",
        request=serializers.AlertmanagerWebhookSerializer,
        responses={202: serializers.AcceptedSerializer, **ERRORS},
        description="Alertmanager's webhook payload as it sends it (`http_config.authorization` with the "
        "source token as credentials). Each alert becomes one raw event.",
    )
    def post(self, request):
        return super().post(request)


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Alerts (deduplicated events), newest first."""

    serializer_class = serializers.AlertSerializer
    queryset = Alert.objects.none()
    filterset_class = AlertFilterSet
    ordering_fields = ["id"]

    def get_queryset(self):
        return Alert.objects.visible_to(self.request.user).select_related("source", "ci")


class AlertGroupViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Alert groups with their alerts, newest first; ``acknowledge`` marks one seen."""

    serializer_class = serializers.AlertGroupSerializer
    queryset = AlertGroup.objects.none()
    filterset_class = AlertGroupFilterSet
    ordering_fields = ["id"]

    def get_queryset(self):
        alerts = Alert.objects.select_related("source", "ci").order_by("-last_seen_at", "-id")
        return (
            AlertGroup.objects.visible_to(self.request.user)
            .select_related("ci", "service", "incident")
            .prefetch_related(Prefetch("alerts", queryset=alerts))
        )

    def _answer(self, group):
        return Response(self.get_serializer(self.get_queryset().get(pk=group.pk)).data)

    @extend_schema(request=None, responses=serializers.AlertGroupSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def acknowledge(self, request, pk=None):
        return self._answer(services.group_acknowledge(group=self.get_object(), actor=request.user))

    @extend_schema(request=None, responses=serializers.AlertGroupSerializer)
    @action(detail=True, methods=["post"], url_path="open-incident", filter_backends=[])
    def open_incident(self, request, pk=None):
        """Open the group's incident by hand (409 if it has one)."""
        return self._answer(services.group_open_incident(group=self.get_object(), actor=request.user))

    @extend_schema(request=serializers.SilenceSerializer, responses=serializers.AlertGroupSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def silence(self, request, pk=None):
        """Silence the group for some minutes: events still recorded, no incident, no notification."""
        group = self.get_object()
        payload = serializers.SilenceSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        minutes = payload.validated_data["minutes"]
        return self._answer(services.group_silence(group=group, actor=request.user, minutes=minutes))

    @extend_schema(request=serializers.LinkIncidentSerializer, responses=serializers.AlertGroupSerializer)
    @action(detail=True, methods=["post"], url_path="link-incident", filter_backends=[])
    def link_incident(self, request, pk=None):
        """Attach the group to an existing open incident (409 if it has another one)."""
        group = self.get_object()
        payload = serializers.LinkIncidentSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        incident = payload.validated_data["incident"]
        return self._answer(services.group_link_incident(group=group, incident=incident, actor=request.user))


class EventSourceViewSet(RecordViewSet):
    """Event sources; admins create them (the token is answered once) and rotate their tokens."""

    serializer_class = serializers.EventSourceSerializer
    queryset = EventSource.objects.all()
    permission_classes = [ReadStaffWriteRoles]
    write_roles = (roles.ADMIN,)
    filter_backends = []

    @extend_schema(responses={201: serializers.EventSourceWithTokenSerializer})
    def create(self, request, *args, **kwargs):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields = {k: v for k, v in payload.validated_data.items() if k != "version"}
        source, token = services.source_create(actor=request.user, fields=fields)
        data = {**serializers.EventSourceSerializer(source).data, "token": token}
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=serializers.EventSourceWithTokenSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-token", filter_backends=[])
    def rotate_token(self, request, pk=None):
        source = get_object_or_404(self.get_queryset(), pk=pk)
        source, token = services.source_rotate_token(source=source, actor=request.user)
        return Response({**serializers.EventSourceSerializer(source).data, "token": token})

    def update_record(self, instance, validated_data, expected_version):
        return kernel.record_update(
            instance=instance,
            actor=self.request.user,
            changes=validated_data,
            expected_version=expected_version,
        )


class RuleViewSet(RecordViewSet):
    """Event rules in order; staff read, admins write. ``preview`` tries a rule on recent events."""

    serializer_class = serializers.RuleSerializer
    queryset = Rule.objects.all()
    permission_classes = [ReadStaffWriteRoles]
    write_roles = (roles.ADMIN,)
    filter_backends = []

    @extend_schema(
        request=serializers.RulePreviewRequestSerializer, responses=serializers.RulePreviewSerializer
    )
    @action(detail=False, methods=["post"], filter_backends=[], permission_classes=[IsStaffRole])
    def preview(self, request):
        """Try an unsaved rule alone on the most recent events: how many it matches, and what it would
        make of the first 50. Nothing is stored."""
        payload = serializers.RulePreviewRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        limit = fields.pop("limit", queries.PREVIEW_DEFAULT)
        fields.pop("version", None)
        fields.setdefault("name", "preview")
        result = queries.rule_preview(Rule(**fields), request.user, limit=limit)
        return Response(serializers.RulePreviewSerializer(result).data)


class MaintenanceWindowViewSet(RecordViewSet):
    """Maintenance windows: events on their CIs are recorded but open no incident."""

    serializer_class = serializers.MaintenanceWindowSerializer
    queryset = MaintenanceWindow.objects.all()
    permission_classes = [ReadStaffWriteRoles]
    write_roles = (roles.ADMIN, roles.MANAGER)
    filter_backends = []

    def base_queryset(self):
        return MaintenanceWindow.objects.prefetch_related("cis")
