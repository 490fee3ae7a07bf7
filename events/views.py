"""The operator's event console: open alert groups with their alerts, refreshed by HTMX."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from django.views.generic import TemplateView

from events import queries, services
from events.models import AlertGroup
from itsm.views.mixins import RoleRequiredMixin


class Console(RoleRequiredMixin, TemplateView):
    template_name = "events/console.html"

    def get_template_names(self):
        if self.request.htmx:
            return ["events/partials/groups.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["groups"] = list(queries.open_groups(self.request.user)[: queries.CONSOLE_GROUPS])
        return context


class Acknowledge(RoleRequiredMixin, View):
    def post(self, request, pk):
        group = get_object_or_404(AlertGroup.objects.visible_to(request.user), pk=pk)
        services.group_acknowledge(group=group, actor=request.user)
        if request.htmx:
            return Console.as_view()(request)
        messages.success(request, f"Alert group {group.pk} acknowledged.")
        return redirect("events:console")
