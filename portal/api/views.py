"""The portal API, ``/api/v1/portal/``: everything the portal's pages do, for anyone signed in
(end users first). Tickets are read through ``portal.queries.tickets`` (``visible_to``, then the
user's own or watched): any other id is a 404, in every sub-resource. Writes call
``portal.services``; rate limits answer 429 with ``Retry-After``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from incidents.api.serializers import SatisfactionSerializer
from itsm.api.pagination import CursorPagination
from portal import queries, services
from portal.api import serializers as s
from portal.models import TicketShare
from portal.ratelimit import RateLimited

ERROR = OpenApiResponse(OpenApiTypes.OBJECT, description='{"detail", "code", "errors": {field: [..]}}')
LIMITED = OpenApiResponse(
    OpenApiTypes.OBJECT, description="Too many in the last hour (Retry-After says when)."
)


def _call(function, **kwargs):
    try:
        return function(**kwargs)
    except RateLimited as limited:
        raise exceptions.Throttled(wait=limited.retry_after, detail=str(limited)) from limited
    except DjangoPermissionDenied as error:
        raise exceptions.PermissionDenied(str(error) or None) from error


class TicketPagination(CursorPagination):
    ordering = "-id"


class PortalTicketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your tickets: the incidents you raised or follow. Raise one, reply, add files, confirm or
    reopen the resolution, rate it, share it with a colleague of your organisation."""

    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    filter_backends = []
    pagination_class = TicketPagination
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if self.action == "list":
            return queries.ticket_list(self.request.user)
        return queries.ticket_detail(self.request.user)

    def get_serializer_class(self):
        return s.PortalTicketListSerializer if self.action == "list" else s.PortalTicketSerializer

    def _detail(self, pk, code=status.HTTP_200_OK) -> Response:
        ticket = get_object_or_404(queries.ticket_detail(self.request.user), pk=pk)
        return Response(
            s.PortalTicketSerializer(ticket, context=self.get_serializer_context()).data, status=code
        )

    @extend_schema(
        request=s.PortalRaiseSerializer, responses={201: s.PortalTicketSerializer, 400: ERROR, 429: LIMITED}
    )
    def create(self, request):
        """Raise an incident (channel ``portal``, you as the caller). ``impact``/``urgency`` in the
        portal's plain levels; ``answers`` for the category's intake questions
        (``/api/v1/portal/categories/``); ``service`` one of ``/api/v1/portal/services/``. Add files
        after with ``attachments/``."""
        payload = s.PortalRaiseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        answers = data.pop("answers", {})
        service_id = data.pop("service", None)
        if service_id is not None:
            service = queries.services_for(request.user).filter(pk=service_id).first()
            if service is None:
                raise DjangoValidationError({"service": "Choose one of the services your organisation uses."})
            data["service"] = service
        if data.get("category") is None:
            data.pop("category", None)
        data["impact"], data["urgency"] = int(data["impact"]), int(data["urgency"])
        incident = _call(services.ticket_raise, user=request.user, fields=data, answers=answers)
        return self._detail(incident.pk, status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses=s.PortalTimelineEntrySerializer(many=True))
    @extend_schema(
        methods=["post"],
        request=s.PortalBodySerializer,
        responses={201: s.PortalTimelineEntrySerializer, 400: ERROR, 409: ERROR, 429: LIMITED},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def comments(self, request, pk=None):
        """GET: the public conversation, oldest first (never the desk's internal notes). POST: reply."""
        ticket = self.get_object()
        people = {ticket.caller_id, *ticket.watchers.values_list("pk", flat=True)}
        if request.method == "GET":
            rows = [
                {
                    "id": entry.pk,
                    "kind": entry.kind,
                    "author": queries.author_label(entry, ticket, people),
                    "body": entry.body,
                    "created_at": entry.created_at,
                }
                for entry in queries.public_timeline(ticket, request.user)
            ]
            return Response(s.PortalTimelineEntrySerializer(rows, many=True).data)
        payload = s.PortalBodySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        entry = _call(
            services.ticket_comment, user=request.user, incident=ticket, body=payload.validated_data["body"]
        )
        row = {
            "id": entry.pk,
            "kind": entry.kind,
            "author": queries.author_label(entry, ticket, people),
            "body": entry.body,
            "created_at": entry.created_at,
        }
        return Response(s.PortalTimelineEntrySerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses=s.PortalAttachmentSerializer(many=True))
    @extend_schema(
        methods=["post"],
        request={"multipart/form-data": s.PortalUploadSerializer},
        responses={201: s.PortalAttachmentSerializer, 400: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def attachments(self, request, pk=None):
        """GET: the ticket's public files. POST (multipart, field ``file``): add one within the limits."""
        ticket = self.get_object()
        if request.method == "GET":
            return Response(
                s.PortalAttachmentSerializer(queries.public_attachments(ticket, request.user), many=True).data
            )
        payload = s.PortalUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        attachment = _call(
            services.ticket_attach, user=request.user, incident=ticket, upload=payload.validated_data["file"]
        )
        return Response(s.PortalAttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None, responses={200: s.PortalTicketSerializer, 403: ERROR, 404: ERROR, 409: ERROR}
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """You agree the resolution: the ticket closes. Only its caller, only when resolved."""
        ticket = self.get_object()
        _call(services.ticket_confirm, user=request.user, incident=ticket)
        return self._detail(ticket.pk)

    @extend_schema(
        request=s.PortalReasonSerializer,
        responses={200: s.PortalTicketSerializer, 400: ERROR, 403: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """It is not solved: the ticket reopens with your reason. Only its caller, only when resolved."""
        ticket = self.get_object()
        payload = s.PortalReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        _call(
            services.ticket_reopen,
            user=request.user,
            incident=ticket,
            reason=payload.validated_data["reason"],
        )
        return self._detail(ticket.pk)

    @extend_schema(
        request=s.PortalRateSerializer,
        responses={201: SatisfactionSerializer, 400: ERROR, 403: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"])
    def satisfaction(self, request, pk=None):
        """Rate the latest resolution 1-5 with an optional comment; once per resolution (409 again)."""
        ticket = self.get_object()
        payload = s.PortalRateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        answer = _call(services.ticket_rate, user=request.user, incident=ticket, **payload.validated_data)
        return Response(SatisfactionSerializer(answer).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses=s.PortalShareSummarySerializer(many=True))
    @extend_schema(
        methods=["post"],
        request=s.PortalShareSerializer,
        responses={201: s.PortalShareSummarySerializer, 400: ERROR, 403: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def shares(self, request, pk=None):
        """GET: whom the ticket is shared with (the caller only; others get an empty list). POST: the
        caller shares it with a colleague of the same organisation, who then follows it."""
        ticket = self.get_object()
        if request.method == "GET":
            rows = queries.shares_of(ticket) if ticket.caller_id == request.user.pk else []
            return Response(s.PortalShareSummarySerializer(rows, many=True).data)
        payload = s.PortalShareSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        colleague = queries.colleague(request.user, payload.validated_data["colleague"])
        share = _call(services.ticket_share, user=request.user, incident=ticket, colleague=colleague)
        return Response(s.PortalShareSummarySerializer(share).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("user_id", int, OpenApiParameter.PATH, description="The colleague's user id.")
        ],
        request=None,
        responses={204: None, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    @action(
        detail=True, methods=["post"], url_path=r"shares/(?P<user_id>\d+)/revoke", url_name="share-revoke"
    )
    def share_revoke(self, request, pk=None, user_id=None):
        """The caller stops sharing the ticket with that colleague (they stop following it)."""
        ticket = self.get_object()
        share = next((row for row in queries.shares_of(ticket) if str(row.user_id) == str(user_id)), None)
        if share is None:
            raise exceptions.NotFound("The ticket is not shared with that person.")
        _call(services.ticket_unshare, user=request.user, incident=ticket, colleague=share.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={204: None, 403: ERROR, 404: ERROR, 409: ERROR})
    @action(detail=True, methods=["post"])
    def unwatch(self, request, pk=None):
        """Stop following a ticket a colleague shared with you (follow it again with ``/watch/``)."""
        ticket = self.get_object()
        _call(services.ticket_watch, user=request.user, incident=ticket, watching=False)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SharedViewSet(viewsets.GenericViewSet):
    """Tickets colleagues shared with you, followed or not; follow one (again) with ``watch``."""

    permission_classes = [IsAuthenticated]
    filter_backends = []
    pagination_class = None
    serializer_class = s.PortalSharedWithMeSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return queries.shared_with(self.request.user)

    def list(self, request):
        return Response(self.get_serializer(self.get_queryset()[:200], many=True).data)

    @extend_schema(request=None, responses={200: s.PortalTicketSerializer, 404: ERROR, 409: ERROR})
    @action(detail=True, methods=["post"])
    def watch(self, request, pk=None):
        """Follow the shared ticket ``pk`` (an incident id): 404 unless it was shared with you."""
        share: TicketShare = get_object_or_404(self.get_queryset(), incident_id=pk)
        _call(services.ticket_watch, user=request.user, incident=share.incident, watching=True)
        ticket = get_object_or_404(queries.ticket_detail(request.user), pk=pk)
        return Response(s.PortalTicketSerializer(ticket, context={"request": request}).data)


@extend_schema(responses=s.PortalNamedSerializer(many=True), summary="Services you may report about")
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def services_list(request):
    """The live services your organisation uses: the ``service`` of a new ticket is one of these."""
    return Response(
        s.PortalNamedSerializer(queries.services_for(request.user).only("id", "name"), many=True).data
    )


@extend_schema(
    responses=s.PortalCategorySerializer(many=True), summary="Categories with their intake questions"
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def categories_list(request):
    """Categories a new ticket may have, each with its intake script (``answers`` keys)."""
    return Response(s.PortalCategorySerializer(queries.categories(), many=True).data)


@extend_schema(
    parameters=[
        OpenApiParameter("text", str, required=True, description="What the user has typed so far."),
        OpenApiParameter("service", int, required=False),
    ],
    responses=s.PortalFoundSerializer,
    summary="Self-help suggestions while a problem is described",
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def suggestions(request):
    """Articles you may read and published workarounds matching the text. When one solves it, record
    it with ``POST /api/v1/knowledge/self-help/``: no ticket is raised."""
    service = request.query_params.get("service", "")
    found = queries.suggestions(
        request.user, request.query_params.get("text", ""), int(service) if service.isdigit() else None
    )
    return Response(s.PortalFoundSerializer(found).data)


@extend_schema(
    parameters=[OpenApiParameter("q", str, required=True)],
    responses=s.PortalFoundSerializer,
    summary="Search self-help",
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def search(request):
    """The portal's search box: published articles you may read, and published workarounds."""
    return Response(
        s.PortalFoundSerializer(queries.search(request.user, request.query_params.get("q", ""))).data
    )


@extend_schema(
    responses=s.PortalMajorNoticeSerializer(many=True), summary="Known major incidents on your services"
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def major_incidents(request):
    """Open major incidents on your organisation's services ("we know, we're on it") with the latest
    public update."""
    return Response(s.PortalMajorNoticeSerializer(queries.major_incidents(request.user), many=True).data)
