"""``/api/v1/dashboards/<name>/``: the same tables as the pages, as JSON (for Grafana's JSON data
source, a BI tool or a script). Managers and admins; ``me/`` for anyone on staff."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboards import queries
from dashboards.filters import DashboardFilterForm, Scope
from itsm import roles

FILTERS = [
    OpenApiParameter(
        "since", OpenApiTypes.DATE, description="First local day (default: 29 days before `until`)."
    ),
    OpenApiParameter("until", OpenApiTypes.DATE, description="Last local day, included (default: today)."),
    OpenApiParameter("group", OpenApiTypes.INT, description="Support group id."),
    OpenApiParameter("service", OpenApiTypes.INT, description="Service (CI) id."),
    OpenApiParameter("priority", OpenApiTypes.INT, description="1-5."),
    OpenApiParameter("organisation", OpenApiTypes.INT, description="The caller's organisation id."),
]

TABLE = inline_serializer(
    "DashboardTable",
    {
        "title": serializers.CharField(),
        "columns": serializers.ListField(child=serializers.DictField()),
        "rows": serializers.ListField(
            child=serializers.DictField(), help_text="One object per row, by column key."
        ),
        "links": serializers.ListField(
            child=serializers.DictField(),
            help_text="Per row: column key -> the list of records behind the number.",
        ),
        "chart": serializers.DictField(allow_null=True),
        "note": serializers.CharField(),
    },
)
ANSWER = inline_serializer(
    "Dashboard",
    {
        "dashboard": serializers.CharField(),
        "filters": serializers.DictField(),
        "refreshed_at": serializers.DateTimeField(
            allow_null=True, help_text="When the summary table was last updated."
        ),
        "tables": serializers.DictField(child=TABLE),
    },
)


class IsManager(BasePermission):
    message = "Dashboards are for managers and administrators."

    def has_permission(self, request, view):
        return roles.has_role(request.user, roles.MANAGER, roles.ADMIN)


def _answer(name: str, scope: Scope | None, tables, refreshed_at) -> Response:
    return Response(
        {
            "dashboard": name,
            "filters": scope.as_query() if scope else {},
            "refreshed_at": refreshed_at,
            "tables": {table.key: table.as_data() for table in tables},
        }
    )


class DashboardView(APIView):
    permission_classes = [IsManager]
    name = "sla"

    def get(self, request):
        form = DashboardFilterForm(request.query_params or {})
        if not form.is_valid():
            raise ValidationError({field: [str(e) for e in errors] for field, errors in form.errors.items()})
        scope = Scope.from_form(form)
        refreshed_at = queries.freshness()["refreshed_at"]
        tables = queries.dashboard(self.name, request.user, scope, refreshed_at=refreshed_at)
        return _answer(self.name, scope, tables, refreshed_at)


def _view(name: str, title: str):
    def get(self, request):
        return DashboardView.get(self, request)

    get = extend_schema(
        operation_id=f"dashboards_{name}",
        parameters=FILTERS,
        responses=ANSWER,
        tags=["dashboards"],
        summary=f"{title} dashboard",
    )(get)
    return type(
        f"{name.capitalize()}DashboardView",
        (DashboardView,),
        {"name": name, "get": get, "__doc__": f"The {title} dashboard's tables."},
    )


VIEWS = {name: _view(name, title) for name, title in queries.DASHBOARDS.items()}


class MyDashboardView(APIView):
    """The signed-in person's own work."""

    @extend_schema(
        operation_id="dashboards_me", responses=ANSWER, tags=["dashboards"], summary="My dashboard"
    )
    def get(self, request):
        return _answer("me", None, queries.my_work(request.user), queries.freshness()["refreshed_at"])
