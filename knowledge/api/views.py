"""API views of the knowledge base. Every write goes through ``knowledge.services``; every read through
``Article.objects.visible_to(user)``. Anyone signed in reads the articles they may see, votes on them
and records self-help; staff write. Bad input is a 400 naming the field, an illegal transition a 409
listing the allowed ones."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response

from itsm import roles
from itsm.api.pagination import CursorPagination
from itsm.api.viewsets import IF_MATCH_PARAMETER, RecordViewSet
from knowledge import queries, services, sources
from knowledge.api import serializers as s
from knowledge.filters import ArticleFilterSet
from knowledge.models import Article, Category, SelfHelpResolution

ERROR = OpenApiResponse(OpenApiTypes.OBJECT, description='{"detail", "code", "errors": {field: [..]}}')
CONFLICT = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description='Illegal transition ({"code": "transition_not_allowed", "current", "requested", "allowed"}), '
    'stale version ({"code": "stale_version"}) or another conflict.',
)
ARTICLE_RESPONSES = {200: s.ArticleSerializer, 400: ERROR, 404: ERROR, 409: CONFLICT}

# What readers (end users included) may do; every other action is for staff.
READER_ACTIONS = frozenset({"list", "retrieve", "vote"})


class ArticlePermission(BasePermission):
    """Readers list, read and vote on the articles they may see; staff do everything else."""

    message = "This part of the knowledge API is for service desk staff."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        if view.action in READER_ACTIONS:
            return True
        return roles.is_staff_role(request.user)


class ArticlePagination(CursorPagination):
    """Keyset pages: newest first, or best match first when searching (``q=``)."""

    def get_ordering(self, request, queryset, view):
        if (request.query_params.get("q") or "").strip():
            return ("-search_rank", "-id")
        return ("-id",)


class ArticleViewSet(RecordViewSet):
    """Knowledge articles: ``q=`` searches (ranked, with a highlighted ``snippet``), ArticleFilterSet
    filters; ``transition``, ``vote``, ``revisions``, ``diff`` and ``draft`` as actions."""

    permission_classes = [ArticlePermission]
    filterset_class = ArticleFilterSet
    pagination_class = ArticlePagination
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        user = self.request.user
        if self.action == "list":
            text = (self.request.query_params.get("q") or "").strip()[:200]
            return queries.search_list(user, text) if text else queries.articles(user)
        if self.action == "retrieve":
            return queries.article_detail(user)
        return Article.objects.visible_to(user)

    def get_serializer_class(self):
        if self.action == "list":
            return s.ArticleListSerializer
        if self.action == "create":
            return s.ArticleCreateSerializer
        if self.action in ("update", "partial_update"):
            return s.ArticleWriteSerializer
        return s.ArticleSerializer

    def respond(self, article, status_code=status.HTTP_200_OK) -> Response:
        fresh = queries.article_detail(self.request.user).get(pk=article.pk)
        data = s.ArticleSerializer(fresh, context=self.get_serializer_context()).data
        response = Response(data, status=status_code)
        response["ETag"] = f'"{data["version"]}"'
        return response

    def retrieve(self, request, *args, **kwargs):
        article = self.get_object()
        services.article_record_view(article=article)
        return self.respond(article)

    @extend_schema(request=s.ArticleCreateSerializer, responses={201: s.ArticleSerializer, 400: ERROR})
    def create(self, request, *args, **kwargs):
        """Write a draft. ``from_incident`` / ``from_known_error`` link it to the record it comes from
        (fields not sent are taken from that record's draft, see ``draft``)."""
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        note = fields.pop("note", "")
        fields.pop("version", None)
        draft = sources.draft_for(
            request.user,
            from_incident=fields.pop("from_incident", None),
            from_known_error=fields.pop("from_known_error", None),
        )
        if draft is not None:
            fields = {**{k: v for k, v in draft.initial.items() if v not in (None, "", [])}, **fields}
        article = services.article_create(
            actor=request.user, fields=fields, link_to=draft.source if draft else None, note=note
        )
        return self.respond(article, status.HTTP_201_CREATED)

    def _update(self, request, partial: bool):
        article = self.get_object()
        payload = self.get_serializer(data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        changes = dict(payload.validated_data)
        changes.pop("version", None)
        note = changes.pop("note", "")
        updated = services.article_update(
            article=article,
            actor=request.user,
            changes=changes,
            expected_version=self.expected_version(payload),
            note=note,
        )
        return self.respond(updated)

    @extend_schema(
        parameters=[IF_MATCH_PARAMETER], request=s.ArticleWriteSerializer, responses=ARTICLE_RESPONSES
    )
    def update(self, request, *args, **kwargs):
        return self._update(request, partial=False)

    @extend_schema(
        parameters=[IF_MATCH_PARAMETER], request=s.ArticleWriteSerializer, responses=ARTICLE_RESPONSES
    )
    def partial_update(self, request, *args, **kwargs):
        return self._update(request, partial=True)

    @extend_schema(request=s.ArticleTransitionSerializer, responses=ARTICLE_RESPONSES, filters=False)
    @action(detail=True, methods=["post"], filter_backends=[])
    def transition(self, request, pk=None):
        """Change status (draft -> in review -> published -> retired; see docs/knowledge.md). An illegal
        change is a 409 listing the allowed statuses; publishing needs a summary."""
        article = self.get_object()
        payload = s.ArticleTransitionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        updated = services.article_transition(
            article=article,
            actor=request.user,
            to=payload.validated_data["status"],
            note=payload.validated_data["note"],
            expected_version=self.expected_version(payload),
        )
        return self.respond(updated)

    @extend_schema(
        request=s.ArticleVoteSerializer,
        responses={200: s.ArticleVoteResultSerializer, 400: ERROR},
        filters=False,
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def vote(self, request, pk=None):
        """Helpful or not, with an optional comment: one vote per reader, voting again changes it."""
        article = self.get_object()
        payload = s.ArticleVoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        vote = services.article_vote(article=article, user=request.user, **payload.validated_data)
        vote.article.refresh_from_db(fields=["helpful_count", "not_helpful_count"])
        return Response(s.ArticleVoteResultSerializer(vote).data)

    @extend_schema(responses=s.ArticleRevisionSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def revisions(self, request, pk=None):
        """Every saved text of the article, newest first, with its author and time."""
        article = self.get_object()
        return Response(s.ArticleRevisionSerializer(queries.revisions(article), many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("old", int, description="Revision number (default: the one before new)"),
            OpenApiParameter("new", int, description="Revision number (default: the latest)"),
        ],
        responses={200: s.ArticleDiffSerializer, 400: ERROR, 404: ERROR},
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def diff(self, request, pk=None):
        """A line diff between two revisions (difflib): context, added and removed lines."""
        article = self.get_object()
        old, new = queries.revision_pair(
            article, request.query_params.get("old"), request.query_params.get("new")
        )
        data = {"old_number": old.number, "new_number": new.number, "lines": queries.revision_diff(old, new)}
        return Response(s.ArticleDiffSerializer(data).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("incident", int, description="A resolved incident's id"),
            OpenApiParameter("known_error", int, description="A known error's id"),
        ],
        responses={200: s.ArticleDraftSerializer, 400: ERROR},
        filters=False,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def draft(self, request):
        """The pre-filled fields of an article written from a resolved incident or a known error."""
        incident, known_error = request.query_params.get("incident"), request.query_params.get("known_error")
        if not incident and not known_error:
            raise DjangoValidationError({"incident": "Name an incident or a known error."})
        draft = sources.draft_for(request.user, from_incident=incident, from_known_error=known_error)
        initial = draft.initial
        data = {
            **initial,
            "category": initial["category"].pk if initial.get("category") else None,
            "source": draft.source.number,
        }
        return Response(s.ArticleDraftSerializer(data).data)


class CategoryPermission(BasePermission):
    message = "Only administrators change knowledge categories."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        return request.method in SAFE_METHODS or roles.has_role(request.user, roles.ADMIN)


class CategoryViewSet(RecordViewSet):
    """Knowledge categories (reference data): read by anyone signed in, written by administrators."""

    queryset = Category.objects.all()
    serializer_class = s.KnowledgeCategorySerializer
    permission_classes = [CategoryPermission]
    filter_backends = []
    pagination_class = None
    lookup_value_regex = r"\d+"


class SelfHelpViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Self-help resolutions ("this solved it"): a user's own, or all of them for staff. POST records one
    with the article or the published known error that helped [INC-8]."""

    serializer_class = s.SelfHelpSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = []

    def get_queryset(self):
        return SelfHelpResolution.objects.visible_to(self.request.user).order_by("-id")

    @extend_schema(request=s.SelfHelpCreateSerializer, responses={201: s.SelfHelpSerializer, 400: ERROR})
    def create(self, request, *args, **kwargs):
        payload = s.SelfHelpCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        article = known_error = None
        if data.get("article"):
            article = Article.objects.visible_to(request.user).filter(pk=data["article"]).first()
            if article is None:
                raise DjangoValidationError({"article": "No such article."})
        else:
            model = sources.known_error_model()
            known_error = (
                model.objects.published_for(request.user).filter(pk=data["known_error"]).first()
                if model
                else None
            )
            if known_error is None:
                raise DjangoValidationError({"known_error": "No such published known error."})
        record = services.self_help_record(
            user=request.user, article=article, known_error=known_error, query=data["query"]
        )
        return Response(s.SelfHelpSerializer(record).data, status=status.HTTP_201_CREATED)
