"""The operator's event console: alert groups with their alerts (filtered; refreshed by HTMX), the
actions on a group (acknowledge, assign, silence, open an incident, link an existing one), and the
raw events behind an alert."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from configuration.models import ConfigurationItem
from events import assignment, queries, services, stats, storm
from events.choices import AlertState
from events.filters import AlertGroupFilterSet
from events.models import Alert, AlertGroup, Check, EventSource
from incidents.models import Incident
from itsm.exceptions import ConflictError
from itsm.views.mixins import RoleRequiredMixin
from people.models import SupportGroup


def console_context(request, params: QueryDict) -> dict:
    """The console's groups for these filters (open groups unless a state is chosen), the storms
    going on, and what the assignment forms offer."""
    data = params.copy()
    if "state" not in data:
        data["state"] = AlertState.OPEN
    filterset = AlertGroupFilterSet(data, queryset=queries.console_groups(request.user), request=request)
    for field in filterset.form.fields.values():
        field.widget.attrs["class"] = "form-select form-select-sm"
    return {
        "filter": filterset,
        "groups": list(filterset.qs[: queries.CONSOLE_GROUPS]),
        "storms": list(storm.open_storms()),
        "now": timezone.now(),
        "query": data.urlencode(),
    }


class Console(RoleRequiredMixin, TemplateView):
    template_name = "events/console.html"

    def get_template_names(self):
        if self.request.htmx:
            return ["events/partials/groups.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(console_context(self.request, self.request.GET))
        if not self.request.htmx:
            context["support_groups"] = list(
                SupportGroup.objects.filter(is_active=True).order_by("name").values_list("name", flat=True)
            )
            context["services"] = list(
                ConfigurationItem.objects.visible_to(self.request.user)
                .filter(ci_class__is_service=True)
                .order_by("name")
                .values_list("pk", "name")
            )
            context["service_id"] = filter_value(context["filter"], "service")
        return context


def filter_value(filterset, name: str) -> int | None:
    value = filterset.form.cleaned_data.get(name) if filterset.form.is_valid() else None
    return getattr(value, "pk", None)


class CheckList(RoleRequiredMixin, TemplateView):
    """Active checks with their last result, failing first (two queries)."""

    template_name = "events/checks.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["checks"] = list(
            Check.objects.visible_to(self.request.user)
            .select_related("ci")
            .order_by(F("last_ok").asc(nulls_last=True), "ci__name", "name")[:500]
        )
        return context


def _incident_named(user, text: str) -> Incident:
    text = text.strip()
    visible = Incident.objects.visible_to(user)
    found = visible.filter(pk=text).first() if text.isdigit() else visible.filter(number=text.upper()).first()
    if found is None:
        raise ValidationError(f"No incident '{text[:40]}' that you may see.")
    return found


def _assign(request, group: AlertGroup) -> str:
    username = request.POST.get("assignee", "").strip()
    group_name = request.POST.get("assignment_group", "").strip()
    assignee = support_group = None
    if username:
        assignee = get_user_model().objects.filter(username=username).first()
        if assignee is None:
            raise ValidationError(f"No user '{username[:40]}'.")
    if group_name:
        support_group = SupportGroup.objects.filter(name=group_name).first()
        if support_group is None:
            raise ValidationError(f"No support group '{group_name[:60]}'.")
    assignment.group_assign(
        group=group, actor=request.user, assignee=assignee, assignment_group=support_group
    )
    who = " / ".join(x for x in (group_name, username) if x) or "nobody"
    return f"Alert group {group.pk} assigned to {who}."


class GroupAction(RoleRequiredMixin, View):
    """POST /events/groups/<id>/<action>/: acknowledge, assign (``assignee`` username,
    ``assignment_group`` name), open-incident, link-incident (``incident``), silence (``minutes``, 0
    ends it)."""

    def post(self, request, pk, action):
        group = get_object_or_404(AlertGroup.objects.visible_to(request.user), pk=pk)
        try:
            if action == "acknowledge":
                services.group_acknowledge(group=group, actor=request.user)
                done = f"Alert group {group.pk} acknowledged."
            elif action == "assign":
                done = _assign(request, group)
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
        # Re-render with the filters of the page the operator is on.
        page = urlsplit(request.headers.get("HX-Current-URL", "")).query
        if request.htmx:
            return render(request, "events/partials/groups.html", console_context(request, QueryDict(page)))
        return redirect("events:console")


class AlertEvents(RoleRequiredMixin, TemplateView):
    """The events behind one alert, newest first, each with the raw event as the source posted it."""

    template_name = "events/alert_events.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        alert = get_object_or_404(
            Alert.objects.visible_to(self.request.user).select_related("source", "ci", "group"),
            pk=kwargs["pk"],
        )
        events = list(queries.alert_events(alert)[: queries.RAW_SHOWN])
        for event in events:
            payload = event.raw.payload if event.raw_id else None
            event.raw_text = json.dumps(payload, indent=2, sort_keys=True) if payload is not None else ""
        context.update({"alert": alert, "events": events, "shown": queries.RAW_SHOWN})
        return context


class Statistics(RoleRequiredMixin, TemplateView):
    """Events received, alerts, alert groups and incidents per source and per day, and the noise
    reduction ratio, for a period (default: the last two weeks)."""

    template_name = "events/statistics.html"

    def get_context_data(self, **kwargs):
        from events.api.stats import StatisticsQuerySerializer

        context = super().get_context_data(**kwargs)
        query = StatisticsQuerySerializer(data={k: v for k, v in self.request.GET.items() if v})
        if query.is_valid():
            data = query.validated_data
            context["stats"] = stats.statistics(
                self.request.user, since=data["since"], until=data["until"], source=data.get("source")
            )
            context["source_id"] = getattr(data.get("source"), "pk", None)
        else:
            context["errors"] = query.errors
            since, until = stats.period(None, None)
            context["stats"] = stats.statistics(self.request.user, since=since, until=until)
        context["sources"] = EventSource.objects.order_by("name").only("pk", "name")
        return context
