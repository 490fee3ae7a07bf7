"""API views of problem management. Every write goes through ``problems.services`` (or
``problems.detection`` for candidates); every read through the models' ``visible_to(user)``.
Actions answer with the updated record and its ``ETag``; bad input is a 400 naming the field, an
illegal transition a 409 listing the allowed ones."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from incidents.api.pagination import KeysetCursorPagination
from incidents.models import Incident
from itsm import roles
from itsm.api.viewsets import IF_MATCH_PARAMETER, RecordViewSet
from problems import detection, queries, services
from problems.api import serializers as s
from problems.filters import CandidateFilterSet, ImprovementFilterSet, KnownErrorFilterSet, ProblemFilterSet
from problems.models import (
    FixOption,
    Improvement,
    KnownError,
    Problem,
    ProblemCandidate,
    RiskLevel,
    Workaround,
    WorkaroundUse,
)

ERROR = OpenApiResponse(OpenApiTypes.OBJECT, description='{"detail", "code", "errors": {field: [..]}}')
CONFLICT = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description='Illegal transition ({"code": "transition_not_allowed", "current", "requested", "allowed"}), '
    'stale version ({"code": "stale_version"}) or another conflict.',
)


def _call(call: Callable):
    """Run a service call; its PermissionDenied keeps the service's message in the 403."""
    try:
        return call()
    except DjangoPermissionDenied as error:
        raise exceptions.PermissionDenied(str(error) or None) from error


def _payload(serializer_class, request, **kwargs):
    payload = serializer_class(data=request.data, **kwargs)
    payload.is_valid(raise_exception=True)
    return payload


class _Versioned(RecordViewSet):
    def respond(self, record, status_code=status.HTTP_200_OK, serializer_class=None) -> Response:
        serializer_class = serializer_class or self.read_serializer
        fresh = self.detail_queryset().filter(pk=record.pk).first() or record
        data = serializer_class(fresh, context=self.get_serializer_context()).data
        response = Response(data, status=status_code)
        if "version" in data:
            response["ETag"] = f'"{data["version"]}"'
        return response

    def expected_from(self, payload) -> int | None:
        return self.expected_version(payload)


# -- problems -------------------------------------------------------------------------------------


class RiskLevelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The impact and probability scales a problem's risk is computed from (edited in the admin)."""

    serializer_class = s.RiskLevelSerializer
    queryset = RiskLevel.objects.order_by("scale", "value")
    pagination_class = None
    filter_backends = []


PROBLEM_RESPONSES = {200: s.ProblemSerializer, 400: ERROR, 404: ERROR, 409: CONFLICT}


class ProblemViewSet(_Versioned):
    """Problems, highest risk first (``ordering=-risk`` by default; ``risk``, ``id``, ``created_at``);
    ProblemFilterSet filters and ``q=``; the lifecycle, incident links, workarounds and known errors as
    actions."""

    filterset_class = ProblemFilterSet
    lookup_value_regex = r"\d+"
    pagination_class = KeysetCursorPagination
    ordering_fields = ["risk", "id", "created_at"]
    ordering = ["-risk"]
    read_serializer = s.ProblemSerializer

    def get_queryset(self):
        user = self.request.user
        if self.action == "list":
            return queries.problems(user)
        if self.action == "retrieve":
            return queries.problem_detail(user)
        return Problem.objects.visible_to(user)

    def detail_queryset(self):
        return queries.problem_detail(self.request.user)

    def get_serializer_class(self):
        if self.action == "list":
            return s.ProblemListSerializer
        if self.action in ("create", "update", "partial_update"):
            return s.ProblemWriteSerializer
        return s.ProblemSerializer

    @extend_schema(request=s.ProblemWriteSerializer, responses={201: s.ProblemSerializer, 400: ERROR})
    def create(self, request, *args, **kwargs):
        """Log a problem (source, scope, risk, analysis); ``incidents`` are linked as caused by it."""
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        incidents = fields.pop("incidents", [])
        problem = services.problem_create(actor=request.user, fields=fields, incidents=incidents)
        return self.respond(problem, status.HTTP_201_CREATED)

    def _update(self, request, partial: bool):
        problem = self.get_object()
        payload = self.get_serializer(data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        changes = dict(payload.validated_data)
        changes.pop("version", None)
        if "incidents" in changes:
            raise DjangoValidationError({"incidents": "Link incidents with the link-incidents action."})
        updated = services.problem_update(
            problem=problem,
            actor=request.user,
            changes=changes,
            expected_version=self.expected_version(payload),
        )
        return self.respond(updated)

    @extend_schema(
        parameters=[IF_MATCH_PARAMETER], request=s.ProblemWriteSerializer, responses=PROBLEM_RESPONSES
    )
    def update(self, request, *args, **kwargs):
        return self._update(request, partial=False)

    @extend_schema(
        parameters=[IF_MATCH_PARAMETER], request=s.ProblemWriteSerializer, responses=PROBLEM_RESPONSES
    )
    def partial_update(self, request, *args, **kwargs):
        return self._update(request, partial=True)

    @extend_schema(request=s.TransitionSerializer, responses=PROBLEM_RESPONSES, filters=False)
    @action(detail=True, methods=["post"], filter_backends=[])
    def transition(self, request, pk=None):
        """Change status (new -> under investigation -> known error -> resolved -> closed). Resolving
        needs ``notes`` and informs the linked open incidents; ``resolve_incidents`` resolves those it
        caused. An illegal change is a 409 listing the allowed statuses."""
        problem = self.get_object()
        payload = _payload(s.TransitionSerializer, request)
        data = payload.validated_data
        updated = services.problem_transition(
            problem=problem,
            actor=request.user,
            to=data["status"],
            notes=data["notes"],
            reason=data["reason"],
            resolve_incidents=data["resolve_incidents"],
            expected_version=self.expected_version(payload),
        )
        return self.respond(updated)

    @extend_schema(request=None, responses={200: s.IncidentResultSerializer, 409: CONFLICT}, filters=False)
    @action(detail=True, methods=["post"], filter_backends=[], url_path="resolve-incidents")
    def resolve_incidents(self, request, pk=None):
        """Resolve, in one action, the open incidents a resolved problem caused."""
        problem = self.get_object()
        return Response({"resolved": services.problem_resolve_incidents(problem=problem, actor=request.user)})

    @extend_schema(methods=["get"], responses=s.ProblemIncidentSerializer(many=True), filters=False)
    @extend_schema(
        methods=["post"],
        request=s.LinkIncidentsSerializer,
        responses={200: s.ProblemIncidentSerializer(many=True), 400: ERROR, 409: CONFLICT},
        filters=False,
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def incidents(self, request, pk=None):
        """GET the linked incidents you may see (who linked them, when); POST links more."""
        problem = self.get_object()
        if request.method == "POST":
            data = _payload(s.LinkIncidentsSerializer, request).validated_data
            ids = list(dict.fromkeys(data["incidents"]))
            found = list(Incident.objects.visible_to(request.user).filter(pk__in=ids))
            missing = sorted(set(ids) - {incident.pk for incident in found})
            if missing:
                raise DjangoValidationError({"incidents": f"No incidents you may see with ids {missing}."})
            services.problem_link_incidents(
                problem=problem, actor=request.user, incidents=found, is_cause=data["is_cause"]
            )
        rows = queries.linked_incidents(problem, request.user)
        return Response(s.ProblemIncidentSerializer(rows, many=True).data)

    @extend_schema(
        request=s.UnlinkIncidentSerializer, responses={204: None, 400: ERROR, 409: CONFLICT}, filters=False
    )
    @action(detail=True, methods=["post"], filter_backends=[], url_path="unlink-incident")
    def unlink_incident(self, request, pk=None):
        problem = self.get_object()
        data = _payload(s.UnlinkIncidentSerializer, request).validated_data
        incident = Incident.objects.visible_to(request.user).filter(pk=data["incident"]).first()
        if incident is None:
            raise DjangoValidationError(
                {"incident": f"No incident with id {data['incident']} that you may see."}
            )
        services.problem_unlink_incident(problem=problem, actor=request.user, incident=incident)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=s.WorkaroundSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def workarounds(self, request, pk=None):
        """The problem's workarounds (record one with POST /api/v1/workarounds/)."""
        return Response(s.WorkaroundSerializer(queries.workarounds_of(self.get_object()), many=True).data)

    @extend_schema(
        request=s.KnownErrorWriteSerializer,
        responses={201: s.KnownErrorSerializer, 400: ERROR, 409: CONFLICT},
        filters=False,
    )
    @action(detail=True, methods=["post"], filter_backends=[], url_path="known-error")
    def known_error(self, request, pk=None):
        """Record a known error from this analysed problem (it moves to "known error")."""
        problem = self.get_object()
        payload = _payload(s.KnownErrorWriteSerializer, request, context=self.get_serializer_context())
        fields = dict(payload.validated_data)
        fields.pop("problem", None)
        fields.pop("version", None)
        workaround = fields.pop("workaround", None)
        known_error = _call(
            lambda: services.known_error_create(
                actor=request.user, fields=fields, problem=problem, workaround=workaround
            )
        )
        data = s.KnownErrorSerializer(queries.known_error_detail(request.user).get(pk=known_error.pk)).data
        return Response(data, status=status.HTTP_201_CREATED)


# -- known errors ---------------------------------------------------------------------------------

KE_RESPONSES = {200: s.KnownErrorSerializer, 400: ERROR, 404: ERROR, 409: CONFLICT}


class KnownErrorViewSet(_Versioned):
    """The known error database: KnownErrorFilterSet filters, ``q=`` full-text; the workaround applied to
    incidents (with its effectiveness), fix options and proposals, re-assessments as actions."""

    filterset_class = KnownErrorFilterSet
    lookup_value_regex = r"\d+"
    ordering_fields = ["id", "created_at", "next_reassessment_on"]
    ordering = ["-id"]
    read_serializer = s.KnownErrorSerializer

    def get_queryset(self):
        user = self.request.user
        if self.action == "list":
            return queries.known_errors(user)
        if self.action == "retrieve":
            return queries.known_error_detail(user)
        return KnownError.objects.visible_to(user)

    def detail_queryset(self):
        return queries.known_error_detail(self.request.user)

    def get_serializer_class(self):
        if self.action == "list":
            return s.KnownErrorListSerializer
        if self.action in ("create", "update", "partial_update"):
            return s.KnownErrorWriteSerializer
        return s.KnownErrorSerializer

    @extend_schema(request=s.KnownErrorWriteSerializer, responses={201: s.KnownErrorSerializer, 400: ERROR})
    def create(self, request, *args, **kwargs):
        """Record a known error directly (e.g. from a supplier) or, with ``problem``, from a problem."""
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        problem = fields.pop("problem", None)
        workaround = fields.pop("workaround", None)
        known_error = _call(
            lambda: services.known_error_create(
                actor=request.user, fields=fields, problem=problem, workaround=workaround
            )
        )
        return self.respond(known_error, status.HTTP_201_CREATED)

    def _update(self, request, partial: bool):
        known_error = self.get_object()
        payload = self.get_serializer(data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        changes = dict(payload.validated_data)
        changes.pop("version", None)
        for name in ("problem", "workaround"):
            if name in changes:
                raise DjangoValidationError({name: "Only given when the known error is recorded."})
        updated = _call(
            lambda: services.known_error_update(
                known_error=known_error,
                actor=request.user,
                changes=changes,
                expected_version=self.expected_version(payload),
            )
        )
        return self.respond(updated)

    @extend_schema(
        parameters=[IF_MATCH_PARAMETER], request=s.KnownErrorWriteSerializer, responses=KE_RESPONSES
    )
    def update(self, request, *args, **kwargs):
        return self._update(request, partial=False)

    @extend_schema(
        parameters=[IF_MATCH_PARAMETER], request=s.KnownErrorWriteSerializer, responses=KE_RESPONSES
    )
    def partial_update(self, request, *args, **kwargs):
        return self._update(request, partial=True)

    @extend_schema(request=s.KnownErrorTransitionSerializer, responses=KE_RESPONSES, filters=False)
    @action(detail=True, methods=["post"], filter_backends=[])
    def transition(self, request, pk=None):
        """Change status (active, fix planned, resolved, retired); 409 listing the allowed ones."""
        known_error = self.get_object()
        data = _payload(s.KnownErrorTransitionSerializer, request).validated_data
        updated = services.known_error_transition(
            known_error=known_error, actor=request.user, to=data["status"], reason=data["reason"]
        )
        return self.respond(updated)

    @extend_schema(
        request=s.ApplySerializer,
        responses={201: s.WorkaroundUseSerializer, 400: ERROR, 409: CONFLICT},
        filters=False,
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def apply(self, request, pk=None):
        """Apply the known error's workaround to an open incident: the use is recorded (who, when), the
        two are linked and the steps written to the incident; its outcome follows the incident."""
        known_error = self.get_object()
        data = _payload(s.ApplySerializer, request).validated_data
        incident = Incident.objects.visible_to(request.user).filter(pk=data["incident"]).first()
        if incident is None:
            raise DjangoValidationError(
                {"incident": f"No incident with id {data['incident']} that you may see."}
            )
        workaround = None
        if data.get("workaround"):
            workaround = Workaround.objects.filter(pk=data["workaround"], known_error=known_error).first()
            if workaround is None:
                raise DjangoValidationError(
                    {"workaround": f"{known_error.number} has no workaround {data['workaround']}."}
                )
        use = services.workaround_apply(
            known_error=known_error,
            incident=incident,
            actor=request.user,
            workaround=workaround,
            note=data["note"],
        )
        return Response(s.WorkaroundUseSerializer(use).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.WorkaroundUseSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def uses(self, request, pk=None):
        """The workaround's uses on incidents you may see, newest first, with their outcome."""
        return Response(
            s.WorkaroundUseSerializer(queries.uses_of(self.get_object(), request.user), many=True).data
        )

    @extend_schema(
        request=s.RateUseSerializer, responses={200: s.WorkaroundUseSerializer, 400: ERROR}, filters=False
    )
    @action(detail=True, methods=["post"], filter_backends=[], url_path="rate-use")
    def rate_use(self, request, pk=None):
        """Say how well the workaround worked on one incident (worked, partly, failed)."""
        known_error = self.get_object()
        data = _payload(s.RateUseSerializer, request).validated_data
        use = (
            WorkaroundUse.objects.visible_to(request.user)
            .filter(pk=data["use"], known_error=known_error)
            .first()
        )
        if use is None:
            raise DjangoValidationError(
                {"use": f"{known_error.number} has no use {data['use']} that you may see."}
            )
        rated = services.workaround_use_rate(
            use=use, actor=request.user, outcome=data["outcome"], note=data["note"]
        )
        return Response(s.WorkaroundUseSerializer(rated).data)

    @extend_schema(methods=["get"], responses=s.FixOptionSerializer(many=True), filters=False)
    @extend_schema(
        methods=["post"],
        request=s.FixOptionSerializer,
        responses={201: s.FixOptionSerializer, 400: ERROR},
        filters=False,
    )
    @action(
        detail=True,
        methods=["get", "post"],
        filter_backends=[],
        pagination_class=None,
        url_path="fix-options",
    )
    def fix_options(self, request, pk=None):
        """Permanent fix options, each with cost, effort, risk and benefit; POST adds one."""
        known_error = self.get_object()
        if request.method == "GET":
            return Response(s.FixOptionSerializer(known_error.fix_options.order_by("id"), many=True).data)
        data = _payload(s.FixOptionSerializer, request).validated_data
        option = services.fix_option_add(known_error=known_error, actor=request.user, fields=dict(data))
        return Response(s.FixOptionSerializer(option).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.ProposeFixSerializer,
        responses={201: s.FixProposalSerializer, 400: ERROR, 409: CONFLICT},
        filters=False,
    )
    @action(detail=True, methods=["post"], filter_backends=[], url_path="propose-fix")
    def propose_fix(self, request, pk=None):
        """Put a fix option forward: a structured fix proposal (FXP) that the changes app will turn into a
        change request; the known error becomes "permanent fix proposed"."""
        known_error = self.get_object()
        data = _payload(s.ProposeFixSerializer, request).validated_data
        option = FixOption.objects.filter(pk=data["fix_option"], known_error=known_error).first()
        if option is None:
            raise DjangoValidationError(
                {"fix_option": f"{known_error.number} has no fix option {data['fix_option']}."}
            )
        proposal = services.fix_propose(
            fix_option=option, actor=request.user, justification=data["justification"]
        )
        return Response(s.FixProposalSerializer(proposal).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses=s.ReassessmentSerializer(many=True), filters=False)
    @extend_schema(
        methods=["post"],
        request=s.ReassessmentSerializer,
        responses={201: s.ReassessmentSerializer, 400: ERROR, 409: CONFLICT},
        filters=False,
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def reassessments(self, request, pk=None):
        """Error control's re-assessments; POST records one (impact, fix cost, decision) and schedules
        the next (the workaround's effectiveness is taken as it is now)."""
        known_error = self.get_object()
        if request.method == "GET":
            rows = known_error.reassessments.select_related("assessed_by")
            return Response(s.ReassessmentSerializer(rows, many=True).data)
        data = _payload(s.ReassessmentSerializer, request).validated_data
        reassessment = services.reassessment_record(known_error=known_error, actor=request.user, **data)
        return Response(s.ReassessmentSerializer(reassessment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[s.MatchParametersSerializer],
        responses={200: s.MatchSerializer(many=True), 400: ERROR},
        filters=False,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def match(self, request):
        """Open known errors matching an incident's text, CIs (``cis=1&cis=2``), service and category,
        best first, each with its score and why."""
        data = dict(request.query_params.lists())
        params = {key: value if key == "cis" else value[-1] for key, value in data.items()}
        payload = s.MatchParametersSerializer(data=params)
        payload.is_valid(raise_exception=True)
        v = payload.validated_data
        found = queries.match_known_errors(
            request.user,
            text=v["text"],
            ci_ids=v["cis"],
            service_id=v.get("service"),
            category_id=v.get("category"),
            limit=v["limit"],
        )
        return Response([queries.match_as_data(match) for match in found])


class PublishedKnownErrorViewSet(viewsets.GenericViewSet):
    """Published known errors for anyone signed in (the portal): number, title and the user-facing
    text only."""

    permission_classes = [IsAuthenticated]
    filter_backends = []
    pagination_class = None
    serializer_class = s.PublishedKnownErrorSerializer
    queryset = KnownError.objects.none()  # for the schema

    @extend_schema(
        parameters=[s.PublishedParametersSerializer], responses=s.PublishedKnownErrorSerializer(many=True)
    )
    def list(self, request):
        payload = s.PublishedParametersSerializer(data=request.query_params)
        payload.is_valid(raise_exception=True)
        rows = queries.published_known_errors(request.user, payload.validated_data["text"])
        return Response(s.PublishedKnownErrorSerializer(rows, many=True).data)


# -- workarounds ----------------------------------------------------------------------------------


class WorkaroundViewSet(_Versioned):
    """Workarounds of problems and known errors: symptoms they apply to, steps, automation; reviewed
    after analysis."""

    lookup_value_regex = r"\d+"
    filter_backends = []
    ordering = "-id"
    read_serializer = s.WorkaroundSerializer

    def base_queryset(self):
        return Workaround.objects.select_related("reviewed_by")

    def detail_queryset(self):
        return self.base_queryset().visible_to(self.request.user)

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return s.WorkaroundWriteSerializer
        return s.WorkaroundSerializer

    @extend_schema(
        request=s.WorkaroundWriteSerializer,
        responses={201: s.WorkaroundSerializer, 400: ERROR, 409: CONFLICT},
    )
    def create(self, request, *args, **kwargs):
        """Record a workaround on a ``problem`` (at any stage) and/or a ``known_error``."""
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        fields.pop("version", None)
        problem, known_error = fields.pop("problem", None), fields.pop("known_error", None)
        workaround = services.workaround_create(
            actor=request.user, fields=fields, problem=problem, known_error=known_error
        )
        return self.respond(workaround, status.HTTP_201_CREATED)

    def _update(self, request, partial: bool):
        workaround = self.get_object()
        payload = self.get_serializer(data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        changes = dict(payload.validated_data)
        changes.pop("version", None)
        for name in ("problem", "known_error"):
            if name in changes:
                raise DjangoValidationError({name: "A workaround stays with the record it was recorded on."})
        updated = services.workaround_update(
            workaround=workaround,
            actor=request.user,
            changes=changes,
            expected_version=self.expected_version(payload),
        )
        return self.respond(updated)

    @extend_schema(
        parameters=[IF_MATCH_PARAMETER],
        request=s.WorkaroundWriteSerializer,
        responses={200: s.WorkaroundSerializer, 400: ERROR, 409: CONFLICT},
    )
    def update(self, request, *args, **kwargs):
        return self._update(request, partial=False)

    @extend_schema(
        parameters=[IF_MATCH_PARAMETER],
        request=s.WorkaroundWriteSerializer,
        responses={200: s.WorkaroundSerializer, 400: ERROR, 409: CONFLICT},
    )
    def partial_update(self, request, *args, **kwargs):
        return self._update(request, partial=True)

    @extend_schema(
        request=s.ReviewSerializer,
        responses={200: s.WorkaroundSerializer, 400: ERROR, 409: CONFLICT},
        filters=False,
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def review(self, request, pk=None):
        """Review the workaround after analysis (the problem's root cause is recorded)."""
        workaround = self.get_object()
        data = _payload(s.ReviewSerializer, request).validated_data
        return self.respond(
            services.workaround_review(workaround=workaround, actor=request.user, notes=data["notes"])
        )


# -- candidates -----------------------------------------------------------------------------------


class CandidateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Problems proposed from recurring incidents and repeated alerts (``status=proposed`` by default
    in the queue page; all here unless filtered). Managers accept or dismiss them."""

    serializer_class = s.CandidateSerializer
    filterset_class = CandidateFilterSet
    lookup_value_regex = r"\d+"
    ordering_fields = ["id", "incident_count"]
    ordering = ["-id"]

    def get_queryset(self):
        return queries.candidates(self.request.user, status="").prefetch_related("incidents")

    @extend_schema(
        request=s.AcceptSerializer,
        responses={201: s.ProblemSerializer, 400: ERROR, 403: ERROR, 409: CONFLICT},
        filters=False,
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def accept(self, request, pk=None):
        """Accept: a problem is raised with the incidents linked (manager or admin)."""
        candidate = self.get_object()
        data = _payload(s.AcceptSerializer, request).validated_data
        problem = _call(
            lambda: detection.candidate_accept(candidate=candidate, actor=request.user, fields=dict(data))
        )
        fresh = queries.problem_detail(request.user).get(pk=problem.pk)
        return Response(s.ProblemSerializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.DismissSerializer,
        responses={200: s.CandidateSerializer, 400: ERROR, 403: ERROR, 409: CONFLICT},
        filters=False,
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def dismiss(self, request, pk=None):
        """Dismiss: this group of incidents is never proposed again (manager or admin)."""
        candidate = self.get_object()
        data = _payload(s.DismissSerializer, request).validated_data
        done = _call(
            lambda: detection.candidate_dismiss(
                candidate=candidate, actor=request.user, reason=data["reason"]
            )
        )
        return Response(s.CandidateSerializer(done).data)

    @extend_schema(request=None, responses={200: s.DetectResultSerializer, 403: ERROR}, filters=False)
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def detect(self, request):
        """Run recurring-incident detection now (managers; beat runs it hourly)."""
        if not roles.has_role(request.user, *services.PROBLEM_MANAGER_ROLES):
            raise exceptions.PermissionDenied("Only a manager or an admin runs detection by hand.")
        result = detection.detect_recurring()
        return Response(s.DetectResultSerializer(result).data)


# -- improvements ---------------------------------------------------------------------------------


class ImprovementViewSet(_Versioned):
    """The continual improvement register: title, benefit, effort, status, owner, and the problem or
    known error that raised the entry."""

    serializer_class = s.ImprovementSerializer
    filterset_class = ImprovementFilterSet
    lookup_value_regex = r"\d+"
    ordering_fields = ["id", "created_at"]
    ordering = ["-id"]
    read_serializer = s.ImprovementSerializer

    def base_queryset(self):
        return Improvement.objects.select_related("owner", "problem", "known_error")

    def detail_queryset(self):
        return self.base_queryset().visible_to(self.request.user)

    def create_record(self, validated_data: dict):
        fields = {key: value for key, value in validated_data.items() if key != "version"}
        return services.improvement_create(actor=self.request.user, fields=fields)

    def update_record(self, instance, validated_data: dict, expected_version):
        changes = {key: value for key, value in validated_data.items() if key != "version"}
        return services.improvement_update(
            improvement=instance, actor=self.request.user, changes=changes, expected_version=expected_version
        )


__all__ = [
    "CandidateViewSet",
    "ImprovementViewSet",
    "KnownErrorViewSet",
    "ProblemCandidate",
    "ProblemViewSet",
    "PublishedKnownErrorViewSet",
    "WorkaroundViewSet",
]
