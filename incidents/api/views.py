"""API views of incident management: incidents with their actions, and the reference data.

Every write goes through ``incidents.services`` (reference data through the kernel's generic
services); every incident read goes through ``Incident.objects.visible_to(user)`` (via
``incidents.queries``), so a security incident is a 404 for staff outside the security team, in the
list, the detail and every sub-resource. Actions answer with the updated incident and its ``ETag``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from incidents import queries, services
from incidents.api import serializers
from incidents.api.pagination import KeysetCursorPagination
from incidents.choices import Channel
from incidents.filters import IncidentFilterSet
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
from itsm import queries as kernel_queries
from itsm import roles
from itsm import services as kernel
from itsm.api.permissions import ReadStaffWriteRoles
from itsm.api.serializers import TimelineEntryCreateSerializer, TimelineEntrySerializer
from itsm.api.viewsets import IF_MATCH_PARAMETER, RecordViewSet
from itsm.models import TimelineEntry
from itsm.registry import registry
from people.models import User

ERROR = OpenApiResponse(OpenApiTypes.OBJECT, description='{"detail", "code", "errors": {field: [..]}}')
CONFLICT = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description='Illegal transition ({"detail", "code": "transition_not_allowed", "current", "requested", '
    '"allowed"}), stale version ({"code": "stale_version", "current_version"}) or another conflict.',
)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request is too large."


ACTION_RESPONSES = {200: serializers.IncidentSerializer, 400: ERROR, 404: ERROR, 409: CONFLICT}
REFERENCE_WRITERS = (roles.ADMIN,)


def _service_call(call: Callable):
    """Run a service call; its PermissionDenied keeps the service's message in the 403."""
    try:
        return call()
    except DjangoPermissionDenied as error:
        raise exceptions.PermissionDenied(str(error) or None) from error


def _known_relations(incident: Incident, **related: list) -> None:
    """Fill a just-created incident's prefetch cache with what its sets are known to hold, so that
    its answer does not read them back (only for that answer: the instance is not used after)."""
    cache = incident.__dict__.setdefault("_prefetched_objects_cache", {})
    for name, rows in related.items():
        queryset = getattr(incident, name).get_queryset()
        order = [name for name in queryset.model._meta.ordering if isinstance(name, str) and "__" not in name]
        reverse = bool(order) and order[0].startswith("-")
        fields = [name.lstrip("-") for name in order] or ["pk"]
        queryset._result_cache = sorted(
            rows, key=lambda row: tuple(getattr(row, field) for field in fields), reverse=reverse
        )
        queryset._prefetch_done = True
        cache[name] = queryset


class IncidentViewSet(RecordViewSet):
    """Incidents: the queue (IncidentFilterSet filters, ``q=`` full-text, cursor pagination), the full
    record, logging and editing; the lifecycle and everything else as actions."""

    filterset_class = IncidentFilterSet
    lookup_value_regex = r"\d+"
    pagination_class = KeysetCursorPagination
    ordering_fields = ["id", "priority", "created_at"]
    ordering = ["-id"]

    def get_queryset(self):
        user = self.request.user
        if self.action == "list":
            return queries.incidents(user)
        if self.action == "retrieve":
            return queries.incident_detail(user)
        # Edits and actions lock and re-read the row in the service, then answer with a detail read.
        return Incident.objects.visible_to(user)

    def get_serializer_class(self):
        return {
            "list": serializers.IncidentListSerializer,
            "create": serializers.IncidentCreateSerializer,
            "update": serializers.IncidentUpdateSerializer,
            "partial_update": serializers.IncidentUpdateSerializer,
        }.get(self.action, serializers.IncidentSerializer)

    # -- helpers --------------------------------------------------------------------------------

    def _visible(self, pk: int, field: str) -> Incident:
        """Another incident named in a request: one the user may see, else a 400 naming the field."""
        found = Incident.objects.visible_to(self.request.user).filter(pk=pk).first()
        if found is None:
            raise DjangoValidationError({field: f"No incident with id {pk} that you may see."})
        return found

    def _respond(
        self, incident: Incident, status_code: int = status.HTTP_200_OK, *, reread: bool = True
    ) -> Response:
        """Answer with the incident as it now is. ``reread=False`` serialises the instance the service
        returned (a new incident: every related row it shows was given to the service in memory),
        which spares the detail query's many joins (~10 ms of planning and building)."""
        fresh = queries.incident_detail(self.request.user).filter(pk=incident.pk).first() if reread else None
        # Flagging as security by someone outside the security team hides it from them from now
        # on; they still get the result of what they just did.
        data = serializers.IncidentSerializer(fresh or incident, context=self.get_serializer_context()).data
        response = Response(data, status=status_code)
        response["ETag"] = f'"{data["version"]}"'
        return response

    def _act(self, request, payload_class, call: Callable) -> Response:
        """Validate the payload, call the service with (incident, data, expected_version), answer."""
        incident = self.get_object()
        payload = payload_class(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        expected = self.expected_version(payload)
        data = {key: value for key, value in payload.validated_data.items() if key != "version"}
        result = _service_call(lambda: call(incident, data, expected))
        return self._respond(result if isinstance(result, Incident) else incident)

    # -- create and edit ------------------------------------------------------------------------

    @extend_schema(
        request=serializers.IncidentCreateSerializer,
        responses={201: serializers.IncidentSerializer, 400: ERROR},
    )
    def create(self, request, *args, **kwargs):
        """Log an incident: prioritised from the matrix, routed when no group is given, intake answers
        checked against the category's script. The channel defaults to ``api``."""
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        cis, watchers = fields.pop("cis", []), fields.pop("watchers", [])
        answers, is_security = fields.pop("answers", None), fields.pop("is_security", False)
        fields.setdefault("channel", Channel.API)
        incident = services.incident_create(
            actor=request.user,
            fields=fields,
            cis=cis,
            watchers=watchers,
            answers=answers,
            is_security=is_security,
        )
        _known_relations(incident, cis=cis, watchers=watchers, swarm=[])
        return self._respond(incident, status.HTTP_201_CREATED, reread=False)

    @extend_schema(
        request=serializers.IncidentBatchSerializer,
        responses={
            201: serializers.IncidentBatchResultSerializer,
            400: ERROR,
            403: ERROR,
            413: OpenApiResponse(OpenApiTypes.OBJECT, description="More than INCIDENT_BATCH_MAX incidents."),
        },
    )
    @action(detail=False, methods=["post"], url_path="batch", filter_backends=[], pagination_class=None)
    def batch(self, request):
        """Log up to ``INCIDENT_BATCH_MAX`` incidents in one request (an import, a mail gateway's
        backlog), ``{"incidents": [...]}`` with each item as ``POST incidents/`` takes one. All or
        none: a refused item stores nothing and the errors name it (``incidents[2].caller``). Staff
        only. The answer lists each incident's id, number and address, in the order sent."""
        _service_call(lambda: services.check_can_batch(request.user))
        items = request.data.get("incidents") if isinstance(request.data, dict) else None
        if not isinstance(items, list) or not items or not all(isinstance(item, dict) for item in items):
            raise exceptions.ValidationError(
                {"incidents": ["Send a list of incidents (objects), at least one."]}
            )
        limit = settings.INCIDENT_BATCH_MAX
        if len(items) > limit:
            raise PayloadTooLarge(f"{len(items)} incidents in one request; at most {limit} are taken.")
        context = {
            **self.get_serializer_context(),
            "related": serializers.prefetch_related_ids(serializers.IncidentCreateSerializer, items),
        }
        batch, errors = [], {}
        for index, item in enumerate(items):
            payload = serializers.IncidentCreateSerializer(data=item, context=context)
            if not payload.is_valid():
                errors.update({f"incidents[{index}].{key}": value for key, value in payload.errors.items()})
                continue
            fields = dict(payload.validated_data)
            cis, watchers = fields.pop("cis", []), fields.pop("watchers", [])
            answers, is_security = fields.pop("answers", None), fields.pop("is_security", False)
            fields.setdefault("channel", Channel.API)
            batch.append(services.NewIncident(fields, cis, watchers, answers, is_security))
        if errors:
            raise exceptions.ValidationError(errors)
        created = _service_call(lambda: services.incident_create_batch(actor=request.user, items=batch))
        data = {
            "count": len(created),
            "incidents": [
                {
                    "id": incident.pk,
                    "number": incident.number,
                    "url": request.build_absolute_uri(f"{request.path.rsplit('batch/', 1)[0]}{incident.pk}/"),
                    "priority": incident.priority,
                    "assignment_group": incident.assignment_group_id,
                    "version": incident.version,
                }
                for incident in created
            ],
        }
        return Response(data, status=status.HTTP_201_CREATED)

    def _update(self, request, partial: bool) -> Response:
        incident = self.get_object()
        payload = self.get_serializer(data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        expected = self.expected_version(payload)
        changes = dict(payload.validated_data)
        changes.pop("version", None)
        reason = changes.pop("reason", "")
        updated = services.incident_update(
            incident=incident, actor=request.user, changes=changes, expected_version=expected, reason=reason
        )
        return self._respond(updated)

    @extend_schema(
        parameters=[IF_MATCH_PARAMETER],
        request=serializers.IncidentUpdateSerializer,
        responses=ACTION_RESPONSES,
    )
    def update(self, request, *args, **kwargs):
        """Edit the directly editable fields (``short_description`` required). A priority change needs
        ``reason``."""
        return self._update(request, partial=False)

    @extend_schema(
        parameters=[IF_MATCH_PARAMETER],
        request=serializers.IncidentUpdateSerializer,
        responses=ACTION_RESPONSES,
    )
    def partial_update(self, request, *args, **kwargs):
        """Edit some of the directly editable fields. A priority change needs ``reason``."""
        return self._update(request, partial=True)

    # -- lifecycle ------------------------------------------------------------------------------

    @extend_schema(request=serializers.AssignSerializer, responses=ACTION_RESPONSES, filters=False)
    @action(detail=True, methods=["post"], filter_backends=[])
    def assign(self, request, pk=None):
        """Give it to a group and/or a member of that group (a change of group is a hop)."""
        return self._act(
            request,
            serializers.AssignSerializer,
            lambda incident, data, expected: services.incident_assign(
                incident=incident, actor=request.user, expected_version=expected, **data
            ),
        )

    @extend_schema(request=serializers.EscalateSerializer, responses=ACTION_RESPONSES, filters=False)
    @action(detail=True, methods=["post"], filter_backends=[])
    def escalate(self, request, pk=None):
        """Functional (to another group), hierarchical (the manager is told) or supplier escalation."""
        return self._act(
            request,
            serializers.EscalateSerializer,
            lambda incident, data, expected: services.incident_escalate(
                incident=incident, actor=request.user, expected_version=expected, **data
            ),
        )

    @extend_schema(request=serializers.HoldSerializer, responses=ACTION_RESPONSES, filters=False)
    @action(detail=True, methods=["post"], filter_backends=[])
    def hold(self, request, pk=None):
        """Put it on hold, saying what it waits for (user, supplier, change)."""
        return self._act(
            request,
            serializers.HoldSerializer,
            lambda incident, data, expected: services.incident_hold(
                incident=incident, actor=request.user, expected_version=expected, **data
            ),
        )

    @extend_schema(request=serializers.VersionedSerializer, responses=ACTION_RESPONSES, filters=False)
    @action(detail=True, methods=["post"], filter_backends=[])
    def start(self, request, pk=None):
        """Take it in hand: new or on hold -> in progress."""
        return self._act(
            request,
            serializers.VersionedSerializer,
            lambda incident, data, expected: services.incident_start(
                incident=incident, actor=request.user, expected_version=expected
            ),
        )

    @extend_schema(request=serializers.ResolveSerializer, responses=ACTION_RESPONSES, filters=False)
    @action(detail=True, methods=["post"], filter_backends=[])
    def resolve(self, request, pk=None):
        """Resolve with a resolution code and notes; the caller is asked to confirm; open children
        are resolved with it."""
        return self._act(
            request,
            serializers.ResolveSerializer,
            lambda incident, data, expected: services.incident_resolve(
                incident=incident, actor=request.user, expected_version=expected, **data
            ),
        )

    @extend_schema(request=serializers.ReasonSerializer, responses=ACTION_RESPONSES, filters=False)
    @action(detail=True, methods=["post"], filter_backends=[])
    def reopen(self, request, pk=None):
        """Reopen a resolved incident (resolved -> in progress), saying why."""
        return self._act(
            request,
            serializers.ReasonSerializer,
            lambda incident, data, expected: services.incident_reopen(
                incident=incident, actor=request.user, expected_version=expected, **data
            ),
        )

    @extend_schema(request=serializers.VersionedSerializer, responses=ACTION_RESPONSES, filters=False)
    @action(detail=True, methods=["post"], filter_backends=[])
    def close(self, request, pk=None):
        """Close a resolved incident."""
        return self._act(
            request,
            serializers.VersionedSerializer,
            lambda incident, data, expected: services.incident_close(
                incident=incident, actor=request.user, expected_version=expected
            ),
        )

    @extend_schema(request=serializers.ReasonSerializer, responses=ACTION_RESPONSES, filters=False)
    @action(detail=True, methods=["post"], filter_backends=[])
    def cancel(self, request, pk=None):
        """Cancel an open incident (not an incident, logged twice, ...), saying why."""
        return self._act(
            request,
            serializers.ReasonSerializer,
            lambda incident, data, expected: services.incident_cancel(
                incident=incident, actor=request.user, expected_version=expected, **data
            ),
        )

    @extend_schema(request=None, responses={**ACTION_RESPONSES, 403: ERROR}, filters=False, parameters=[])
    @action(detail=True, methods=["post"], filter_backends=[])
    def confirm(self, request, pk=None):
        """The caller confirms the resolution: the incident closes. Only its caller may."""
        incident = self.get_object()
        result = _service_call(lambda: services.incident_confirm(incident=incident, actor=request.user))
        return self._respond(result)

    @extend_schema(methods=["get"], responses=serializers.SatisfactionSerializer(many=True), filters=False)
    @extend_schema(
        methods=["post"],
        request=serializers.SatisfactionSubmitSerializer,
        responses={
            201: serializers.SatisfactionSerializer,
            400: ERROR,
            403: ERROR,
            404: ERROR,
            409: CONFLICT,
        },
        filters=False,
    )
    @action(
        detail=True,
        methods=["get", "post"],
        filter_backends=[],
        pagination_class=None,
        # The caller rates their own incident, and callers are mostly end users: this action is
        # open to anyone signed in; the incident is still read through visible_to (404 otherwise)
        # and the service lets only its caller answer (403).
        permission_classes=[IsAuthenticated],
    )
    def satisfaction(self, request, pk=None):
        """GET: the answers about this incident's resolutions that you may see (staff: all; the caller:
        their own). POST: the caller rates the latest resolution, 1-5 with an optional comment; once
        per resolution (409 the second time); 409 too while it is not resolved."""
        incident = self.get_object()
        if request.method == "GET":
            rows = SatisfactionResponse.objects.visible_to(request.user).filter(incident=incident)
            return Response(serializers.SatisfactionSerializer(rows, many=True).data)
        payload = serializers.SatisfactionSubmitSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        answer = _service_call(
            lambda: services.satisfaction_submit(
                incident=incident, actor=request.user, **payload.validated_data
            )
        )
        return Response(serializers.SatisfactionSerializer(answer).data, status=status.HTTP_201_CREATED)

    # -- links between incidents ----------------------------------------------------------------

    @extend_schema(request=serializers.MergeSerializer, responses=ACTION_RESPONSES, filters=False)
    @action(detail=True, methods=["post"], filter_backends=[])
    def merge(self, request, pk=None):
        """This incident is a duplicate of ``survivor``: its entries, files and watchers move there
        and it is closed as a duplicate. Answers with this (closed) incident."""

        def call(incident, data, expected):
            survivor = self._visible(data["survivor"], "survivor")
            services.incident_merge(
                duplicate=incident, survivor=survivor, actor=request.user, reason=data["reason"]
            )
            return incident

        return self._act(request, serializers.MergeSerializer, call)

    @extend_schema(request=serializers.ParentSerializer, responses=ACTION_RESPONSES, filters=False)
    @action(detail=True, methods=["post"], filter_backends=[])
    def parent(self, request, pk=None):
        """Make this incident a child of ``parent`` (resolved when the parent is), or detach it (null)."""

        def call(incident, data, expected):
            parent = self._visible(data["parent"], "parent") if data["parent"] is not None else None
            return services.incident_set_parent(incident=incident, actor=request.user, parent=parent)

        return self._act(request, serializers.ParentSerializer, call)

    # -- major and security incidents ----------------------------------------------------------

    @extend_schema(
        request=serializers.DeclareMajorSerializer,
        responses={**ACTION_RESPONSES, 403: ERROR},
        filters=False,
    )
    @action(detail=True, methods=["post"], filter_backends=[], url_path="declare-major")
    def declare_major(self, request, pk=None):
        """Declare a major incident (major incident manager, manager or admin role): P1, an incident
        manager and a stakeholder update cadence."""
        return self._act(
            request,
            serializers.DeclareMajorSerializer,
            lambda incident, data, expected: services.incident_declare_major(
                incident=incident, actor=request.user, expected_version=expected, **data
            ),
        )

    @extend_schema(
        request=serializers.SecuritySerializer, responses={**ACTION_RESPONSES, 403: ERROR}, filters=False
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def security(self, request, pk=None):
        """Flag as an information security incident (or, security team only, remove the flag). From then
        on only the security team and the caller see it."""
        return self._act(
            request,
            serializers.SecuritySerializer,
            lambda incident, data, expected: services.incident_flag_security(
                incident=incident, actor=request.user, **data
            ),
        )

    @extend_schema(methods=["get"], responses=serializers.SwarmMemberSerializer(many=True), filters=False)
    @extend_schema(
        methods=["post"],
        request=serializers.SwarmAddSerializer,
        responses={201: serializers.SwarmMemberSerializer, 400: ERROR, 409: CONFLICT},
        filters=False,
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def swarm(self, request, pk=None):
        """The swarm of a major incident: GET the active participants; POST adds one with a role."""
        incident = self.get_object()
        if request.method == "GET":
            members = SwarmMember.objects.filter(incident=incident, removed_at__isnull=True).select_related(
                "user", "group"
            )
            return Response(serializers.SwarmMemberSerializer(members, many=True).data)
        payload = serializers.SwarmAddSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        member = services.swarm_add(incident=incident, actor=request.user, **payload.validated_data)
        return Response(serializers.SwarmMemberSerializer(member).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("user_id", int, OpenApiParameter.PATH, description="The user's id.")],
        request=serializers.SwarmRemoveSerializer,
        responses={200: serializers.SwarmMemberSerializer, 404: ERROR, 409: CONFLICT},
        filters=False,
    )
    @action(
        detail=True,
        methods=["post"],
        filter_backends=[],
        url_path=r"swarm/(?P<user_id>\d+)/remove",
        url_name="swarm-remove",
    )
    def swarm_remove(self, request, pk=None, user_id=None):
        """Take someone out of the swarm."""
        incident = self.get_object()
        payload = serializers.SwarmRemoveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = get_object_or_404(User, pk=user_id)
        member = services.swarm_remove(
            incident=incident, actor=request.user, user=user, reason=payload.validated_data["reason"]
        )
        return Response(serializers.SwarmMemberSerializer(member).data)

    @extend_schema(methods=["get"], responses={200: serializers.ReviewSerializer, 404: ERROR}, filters=False)
    @extend_schema(
        methods=["put"],
        request=serializers.ReviewWriteSerializer,
        responses={200: serializers.ReviewSerializer, 400: ERROR, 409: CONFLICT},
        filters=False,
    )
    @action(detail=True, methods=["get", "put"], filter_backends=[])
    def review(self, request, pk=None):
        """The post-incident review of a resolved major incident: GET it, PUT writes or updates it."""
        incident = self.get_object()
        if request.method == "GET":
            review = PostIncidentReview.objects.select_related("author").filter(incident=incident).first()
            if review is None:
                raise exceptions.NotFound(f"{incident.number} has no post-incident review yet.")
            return Response(serializers.ReviewSerializer(review).data)
        payload = serializers.ReviewWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        review = services.review_save(
            incident=incident, actor=request.user, data=dict(payload.validated_data)
        )
        return Response(serializers.ReviewSerializer(review).data)

    # -- updates --------------------------------------------------------------------------------

    @extend_schema(methods=["get"], responses=TimelineEntrySerializer(many=True), filters=False)
    @extend_schema(
        methods=["post"],
        request=serializers.CommentSerializer,
        responses={201: TimelineEntrySerializer, 400: ERROR, 409: CONFLICT},
        filters=False,
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def comments(self, request, pk=None):
        """GET: the timeline entries you may see (work notes only for staff who may read them). POST:
        a public comment or an internal work note, optionally structured (symptoms, business impact,
        CIs affected, actions completed, actions planned) with the people involved."""
        incident = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(kernel_queries.timeline_for(incident, request.user))
            return self.get_paginated_response(TimelineEntrySerializer(page, many=True).data)
        payload = serializers.CommentSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        entry = services.incident_comment(
            incident=incident,
            actor=request.user,
            body=data["body"],
            public=data["public"],
            fields=payload.structured(),
            involved=data.get("involved", ()),
        )
        return Response(TimelineEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses=TimelineEntrySerializer(many=True), filters=False)
    @extend_schema(
        methods=["post"], request=TimelineEntryCreateSerializer, responses={201: TimelineEntrySerializer}
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def timeline(self, request, pk=None):
        """The timeline; POST adds a comment (public) or a work note (internal), as ``comments/`` does."""
        incident = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(kernel_queries.timeline_for(incident, request.user))
            return self.get_paginated_response(TimelineEntrySerializer(page, many=True).data)
        payload = TimelineEntryCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        visibility = data.get("visibility") or (
            TimelineEntry.Visibility.INTERNAL
            if data["kind"] == TimelineEntry.Kind.WORK_NOTE
            else TimelineEntry.Visibility.PUBLIC
        )
        entry = services.incident_comment(
            incident=incident,
            actor=request.user,
            body=data.get("body", ""),
            public=visibility == TimelineEntry.Visibility.PUBLIC,
            fields=data.get("fields"),
        )
        return Response(TimelineEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    # -- generic links --------------------------------------------------------------------------

    @extend_schema(methods=["get"], responses=serializers.LinksSerializer, filters=False)
    @extend_schema(
        methods=["post"],
        request=serializers.LinkCreateSerializer,
        responses={201: serializers.LinkSerializer, 400: ERROR, 409: CONFLICT},
        filters=False,
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def links(self, request, pk=None):
        """Links to other records (CIs, problems, changes, articles as those apps arrive): GET the ones
        whose other end you may see, and the types you may link to; POST links to a record by type and id."""
        incident = self.get_object()
        if request.method == "GET":
            rows = kernel_queries.links_for(incident, request.user)
            return Response(
                {
                    "links": [_link_row(row) for row in rows],
                    "link_types": [
                        {"type": target.model._meta.label_lower, "label": target.label, "kinds": target.kinds}
                        for target in registry.link_targets
                    ],
                }
            )
        payload = serializers.LinkCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        target = next(
            (t for t in registry.link_targets if t.model._meta.label_lower == data["type"].strip().lower()),
            None,
        )
        if target is None:
            known = ", ".join(t.model._meta.label_lower for t in registry.link_targets)
            raise DjangoValidationError({"type": f"'{data['type']}' cannot be linked to. Known: {known}."})
        if data["kind"] not in target.kinds:
            raise DjangoValidationError(
                {"kind": f"A link to a {target.label.lower()} is one of: {', '.join(target.kinds)}."}
            )
        manager = target.model._default_manager
        visible = manager.visible_to(request.user) if hasattr(manager, "visible_to") else manager.none()
        other = visible.filter(pk=data["id"]).first()
        if other is None:
            raise DjangoValidationError(
                {"id": f"No {target.label.lower()} with id {data['id']} that you may see."}
            )
        link = kernel.link_add(
            source=incident, target=other, actor=request.user, kind=data["kind"], note=data["note"]
        )
        row = {"link": link, "kind": link.kind, "other": other, "type_label": target.label}
        return Response(_link_row(row), status=status.HTTP_201_CREATED)

    # -- list-level -----------------------------------------------------------------------------

    @extend_schema(
        parameters=[serializers.SuggestParametersSerializer],
        responses={200: serializers.SuggestionsSerializer, 400: ERROR},
        filters=False,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def suggest(self, request):
        """While logging: similar open incidents (running major incidents first) and the category and
        group that the most similar resolved incidents had, each saying why."""
        parameters = serializers.SuggestParametersSerializer(data=request.query_params)
        parameters.is_valid(raise_exception=True)
        data = parameters.validated_data
        result = queries.suggest(
            request.user,
            data["text"],
            service_id=data.get("service"),
            exclude_id=data.get("exclude"),
            limit=data["limit"],
        )
        return Response(serializers.SuggestionsSerializer(result).data)

    @extend_schema(
        request=serializers.BulkSerializer,
        responses={200: serializers.BulkResultSerializer, 400: ERROR},
        filters=False,
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def bulk(self, request):
        """Apply one action (assign, start, hold, resolve, escalate) to several incidents; each succeeds
        or fails on its own, and each refusal is reported with its reason."""
        payload = serializers.BulkSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        params = serializers.BULK_ACTIONS[data["action"]](data=data["params"])
        if not params.is_valid():
            raise DjangoValidationError(
                {f"params.{key}": value for key, value in _messages(params.errors).items()}
            )
        ids = list(dict.fromkeys(data["ids"]))
        found = {
            incident.pk: incident
            for incident in Incident.objects.visible_to(request.user).filter(pk__in=ids).order_by("pk")
        }
        result = _service_call(
            lambda: services.bulk_apply(
                incidents=[found[pk] for pk in ids if pk in found],
                actor=request.user,
                action=data["action"],
                **params.validated_data,
            )
        )
        return Response(
            {"done": result.done, "failed": result.failed, "not_found": [pk for pk in ids if pk not in found]}
        )

    @extend_schema(
        parameters=[serializers.IntakeQuestionParametersSerializer],
        responses={200: serializers.IntakeQuestionSerializer(many=True), 400: ERROR},
        filters=False,
    )
    @action(
        detail=False, methods=["get"], filter_backends=[], pagination_class=None, url_path="intake-questions"
    )
    def intake_questions(self, request):
        """The intake script of a classification, in the order it is asked: the category's questions,
        then the subcategory's. ``answers`` on create is keyed by these ids."""
        parameters = serializers.IntakeQuestionParametersSerializer(data=request.query_params)
        parameters.is_valid(raise_exception=True)
        questions = services.intake_questions(
            parameters.validated_data.get("category"), parameters.validated_data.get("subcategory")
        )
        return Response(serializers.IntakeQuestionSerializer(questions, many=True).data)


def _messages(errors) -> dict[str, list[str]]:
    return {key: [str(message) for message in value] for key, value in errors.items()}


def _link_row(row: dict) -> dict:
    link, other = row["link"], row["other"]
    return {
        "id": link.pk,
        "kind": row["kind"],
        "note": link.note,
        "type": other._meta.label_lower,
        "type_label": row["type_label"],
        "object_id": other.pk,
        "label": str(getattr(other, "record_label", other)),
        "title": str(other),
        "url": other.get_absolute_url(),
        "created_at": link.created_at,
    }


# ----------------------------------------------------------------------------- reference data


class CategoryViewSet(RecordViewSet):
    """The category tree with each category's intake script. The list gives the top-level categories
    with their subcategories; staff read, admins write (deactivate rather than delete)."""

    serializer_class = serializers.CategorySerializer
    permission_classes = [ReadStaffWriteRoles]
    write_roles = REFERENCE_WRITERS
    pagination_class = KeysetCursorPagination
    ordering_fields = ["order", "name", "id"]
    ordering = ["order", "id"]

    def base_queryset(self):
        questions = Prefetch("questions", queryset=IntakeQuestion.objects.order_by("order", "id"))
        children = Prefetch(
            "children", queryset=Category.objects.order_by("order", "name").prefetch_related(questions)
        )
        rows = Category.objects.prefetch_related(questions, children)
        return rows.filter(parent__isnull=True) if self.action == "list" else rows


class PriorityMatrixViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    """The impact x urgency -> priority matrix; admins change a cell's priority (new incidents and
    impact/urgency changes read it; existing priorities stay)."""

    serializer_class = serializers.PriorityMatrixEntrySerializer
    permission_classes = [ReadStaffWriteRoles]
    write_roles = REFERENCE_WRITERS
    pagination_class = None
    filter_backends = []
    queryset = PriorityMatrixEntry.objects.order_by("impact", "urgency")

    def perform_update(self, serializer):
        serializer.instance = kernel.record_update(
            instance=serializer.instance, actor=self.request.user, changes=dict(serializer.validated_data)
        )


class RoutingRuleViewSet(RecordViewSet):
    """Routing rules, tried in order on creation when no group is given; staff read, admins write."""

    serializer_class = serializers.RoutingRuleSerializer
    permission_classes = [ReadStaffWriteRoles]
    write_roles = REFERENCE_WRITERS
    pagination_class = KeysetCursorPagination
    ordering_fields = ["order", "name", "id"]
    ordering = ["order", "id"]

    def base_queryset(self):
        return RoutingRule.objects.select_related("category", "service", "ci_class", "assignment_group")


class SavedViewViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your own saved queue views: a name and the queue's query string (the list's filters)."""

    serializer_class = serializers.SavedViewSerializer
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        # Only your own: another user's view is a 404.
        return SavedView.objects.filter(user_id=getattr(self.request.user, "pk", None))

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.saved_view_save(
            user=self.request.user, name=data["name"], query=data.get("query", "")
        )

    def perform_update(self, serializer):
        view, data = serializer.instance, serializer.validated_data
        serializer.instance = services.saved_view_save(
            user=self.request.user,
            view=view,
            name=data.get("name", view.name),
            query=data.get("query", view.query),
        )

    def perform_destroy(self, instance):
        services.saved_view_delete(view=instance)
