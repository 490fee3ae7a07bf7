"""Managers' dashboards (roles manager and admin) and every staff member's own dashboard.

``?csv=<table key>`` downloads one table of the page as CSV with the same filters."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.views.generic import TemplateView

from dashboards import queries
from dashboards.filters import DashboardFilterForm, Scope
from itsm import roles
from itsm.views.mixins import RoleRequiredMixin

MANAGERS = frozenset({roles.MANAGER, roles.ADMIN})


def _csv(table, name: str) -> HttpResponse:
    response = HttpResponse(table.as_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{table.key}.csv"'
    return response


class Dashboard(RoleRequiredMixin, TemplateView):
    template_name = "dashboards/dashboard.html"
    allowed_roles = MANAGERS
    name = "sla"

    def get(self, request, *args, **kwargs):
        form = DashboardFilterForm(request.GET or None)
        if form.is_bound and not form.is_valid():
            scope, invalid = None, True
        else:
            if not form.is_bound:
                form = DashboardFilterForm({})
                form.is_valid()
            scope, invalid = Scope.from_form(form), False
        freshness = queries.freshness()
        tables = (
            queries.dashboard(self.name, request.user, scope, refreshed_at=freshness["refreshed_at"])
            if scope
            else []
        )
        wanted = request.GET.get("csv")
        if wanted:
            for table in tables:
                if table.key == wanted:
                    return _csv(table, self.name)
            raise Http404("No such table on this dashboard.")
        context = self.get_context_data(
            form=form,
            scope=scope,
            invalid=invalid,
            tables=tables,
            charts={t.key: t.as_data() for t in tables if t.chart and t.rows},
            dashboards=queries.DASHBOARDS,
            current=self.name,
            title=f"Dashboard: {queries.DASHBOARDS[self.name]}",
            freshness=freshness,
            query=request.GET.urlencode(),
        )
        return self.render_to_response(context, status=400 if invalid else 200)


class MyDashboard(RoleRequiredMixin, TemplateView):
    """Anyone on staff: their own work only (no parameter names another person)."""

    template_name = "dashboards/dashboard.html"

    def get(self, request, *args, **kwargs):
        tables = queries.my_work(request.user)
        wanted = request.GET.get("csv")
        if wanted:
            for table in tables:
                if table.key == wanted:
                    return _csv(table, "me")
            raise Http404("No such table on this dashboard.")
        context = self.get_context_data(
            tables=tables,
            charts={t.key: t.as_data() for t in tables if t.chart and t.rows},
            dashboards=queries.DASHBOARDS if roles.has_role(request.user, *MANAGERS) else {},
            current="me",
            title="My dashboard",
            freshness=queries.freshness(),
            personal=True,
            query="",
        )
        return self.render_to_response(context)
