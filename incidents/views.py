"""Agent pages of incident management (first cut: queue, detail, create on the generic views)."""

from __future__ import annotations

from django import forms

from incidents import queries, services
from incidents.filters import IncidentFilterSet
from incidents.models import Incident
from itsm import roles
from itsm.views.generic import Column, RecordDetailView, RecordFormView, RecordListView

STAFF = roles.STAFF_ROLES

COLUMNS = [
    Column("Number", "number", "number", link=True),
    Column("Short description", "short_description"),
    Column("Priority", lambda i: i.get_priority_display(), "priority"),
    Column("Status", lambda i: i.get_status_display(), "status"),
    Column("Group", "assignment_group.name"),
    Column("Assignee", "assignee"),
    Column("Service", "service.name"),
    Column("Opened", "created_at", "created_at"),
]


class Queue(RecordListView):
    model = Incident
    filterset_class = IncidentFilterSet
    columns = COLUMNS
    allowed_roles = STAFF
    create_url_name = "incidents:create"
    create_roles = STAFF
    title = "Incidents"

    def base_queryset(self):
        return queries.incidents(self.request.user)


class MajorQueue(Queue):
    title = "Major incidents"

    def base_queryset(self):
        return queries.queue(self.request.user, "major")


class IncidentDetail(RecordDetailView):
    model = Incident
    allowed_roles = STAFF
    fields = [
        Column("Short description", "short_description"),
        Column("Status", lambda i: i.get_status_display()),
        Column("Priority", lambda i: i.get_priority_display()),
        Column("Caller", "caller"),
        Column("Group", "assignment_group.name"),
        Column("Assignee", "assignee"),
        Column("Description", "description"),
    ]

    def base_queryset(self):
        return queries.incident_detail(self.request.user)


class IncidentForm(forms.ModelForm):
    class Meta:
        model = Incident
        fields = list(services.EDITABLE_FIELDS) + ["assignment_group", "assignee"]


class IncidentCreate(RecordFormView):
    model = Incident
    form_class = IncidentForm
    allowed_roles = STAFF

    def save(self, record, form):
        data = dict(form.cleaned_data)
        data.pop("version", None)
        cis, watchers = data.pop("cis", []), data.pop("watchers", [])
        return services.incident_create(actor=self.request.user, fields=data, cis=cis, watchers=watchers)
