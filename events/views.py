"""The operator's event console: open alert groups with their alerts, refreshed by HTMX, and the
actions on a group (acknowledge, open an incident, link an existing one)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from events import queries, services, storm
from events.models import AlertGroup
from incidents.models import Incident
from itsm.exceptions import ConflictError
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
        context["storms"] = list(storm.open_storms())
        context["now"] = timezone.now()
        return context


def _incident_named(user, text: str) -> Incident:
    text = text.strip()
    visible = Incident.objects.visible_to(user)
    found = visible.filter(pk=text).first() if text.isdigit() else visible.filter(number=text.upper()).first()
    if found is None:
        raise ValidationError(f"No incident '{text[:40]}' that you may see.")
    return found


class GroupAction(RoleRequiredMixin, View):
    """POST /events/groups/<id>/<action>/: acknowledge, open-incident, link-incident (``incident``),
    silence (``minutes``, 0 ends it)."""

    def post(self, request, pk, action):
        group = get_object_or_404(AlertGroup.objects.visible_to(request.user), pk=pk)
        try:
            if action == "acknowledge":
                services.group_acknowledge(group=group, actor=request.user)
                done = f"Alert group {group.pk} acknowledged."
            elif action == "open-incident":
                group = services.group_open_incident(group=group, actor=request.user)
                done = f"Incident {group.incident.number} opened for alert group {group.pk}."
            elif action == "link-incident":
                incident = _incident_named(request.user, request.POST.get("incident", ""))
                services.group_link_incident(group=group, incident=incident, actor=request.user)
                done = f"Alert group {group.pk} linked to {incident.number}."
            elif action == "silence":
                minutes = request.POST.get("minutes", "60")
                group = services.group_silence(
                    group=group, actor=request.user, minutes=int(minutes) if minutes.isdigit() else -1
                )
                done = f"Alert group {group.pk} silenced." if group.silenced_until else "Silence ended."
            else:
                raise Http404
        except ConflictError as error:
            messages.error(request, error.message)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, done)
        if request.htmx:
            groups = list(queries.open_groups(request.user)[: queries.CONSOLE_GROUPS])
            context = {"groups": groups, "storms": list(storm.open_storms()), "now": timezone.now()}
            return render(request, "events/partials/groups.html", context)
        return redirect("events:console")
