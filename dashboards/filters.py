"""The filters every dashboard takes (date range, group, service, priority, organisation), read from
the query string so a filtered dashboard is a URL to share."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django import forms
from django.db.models import Q
from django.utils import timezone

from configuration.models import ConfigurationItem
from dashboards.models import IncidentFact
from incidents.choices import Priority
from itsm import roles
from people.models import Organisation, SupportGroup

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366


class DashboardFilterForm(forms.Form):
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    group = forms.ModelChoiceField(
        queryset=SupportGroup.objects.order_by("name"), required=False, empty_label="Any"
    )
    service = forms.ModelChoiceField(
        queryset=ConfigurationItem.objects.filter(ci_class__is_service=True)
        .only("id", "name", "number")
        .order_by("name"),
        required=False,
        empty_label="Any",
    )
    priority = forms.TypedChoiceField(
        choices=[("", "Any"), *Priority.choices], coerce=int, empty_value=None, required=False
    )
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.only("id", "name").order_by("name"), required=False, empty_label="Any"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            field.widget.attrs.setdefault("class", css)

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        until = data.get("until") or today
        since = data.get("since") or until - datetime.timedelta(days=DEFAULT_DAYS - 1)
        if since > until:
            raise forms.ValidationError({"since": "The start date must not be after the end date."})
        if (until - since).days >= MAX_DAYS:
            raise forms.ValidationError({"since": f"At most {MAX_DAYS} days at a time."})
        data["since"], data["until"] = since, until
        return data


@dataclass(frozen=True)
class Scope:
    """The dashboards' filters, resolved: local days ``since``..``until`` (both included)."""

    since: datetime.date
    until: datetime.date
    group_id: int | None = None
    service_id: int | None = None
    priority: int | None = None
    organisation_id: int | None = None

    @classmethod
    def from_form(cls, form: DashboardFilterForm) -> Scope:
        data = form.cleaned_data
        return cls(
            since=data["since"],
            until=data["until"],
            group_id=data["group"].pk if data.get("group") else None,
            service_id=data["service"].pk if data.get("service") else None,
            priority=data.get("priority"),
            organisation_id=data["organisation"].pk if data.get("organisation") else None,
        )

    @classmethod
    def default(cls) -> Scope:
        until = timezone.localdate()
        return cls(since=until - datetime.timedelta(days=DEFAULT_DAYS - 1), until=until)

    @property
    def start(self) -> datetime.datetime:
        return datetime.datetime.combine(
            self.since, datetime.time.min, tzinfo=timezone.get_current_timezone()
        )

    @property
    def end(self) -> datetime.datetime:
        return datetime.datetime.combine(
            self.until + datetime.timedelta(days=1), datetime.time.min, tzinfo=timezone.get_current_timezone()
        )

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def as_query(self) -> dict:
        """The query string of this scope (for shareable links between dashboards)."""
        query = {"since": self.since.isoformat(), "until": self.until.isoformat()}
        for key in ("group", "service", "priority", "organisation"):
            value = self.dims().get(key)
            if value is not None:
                query[key] = value
        return query

    def dims(self) -> dict:
        """The incident list's filter names for the group/service/priority/organisation filters."""
        return {
            key: value
            for key, value in (
                ("group", self.group_id),
                ("service", self.service_id),
                ("priority", self.priority),
                ("organisation", self.organisation_id),
            )
            if value is not None
        }

    def created_params(self) -> dict:
        return {**self.dims(), "created_after": self.start, "created_before": self.end}

    def facts(self, user):
        """Facts of the incidents ``user`` may see (as ``Incident.visible_to``) within the filters
        other than the date range."""
        rows = IncidentFact.objects.all()
        if not roles.has_role(user, roles.SECURITY):
            rows = rows.filter(Q(is_security=False) | Q(caller_id=user.pk))
        if self.group_id is not None:
            rows = rows.filter(group_id=self.group_id)
        if self.service_id is not None:
            rows = rows.filter(service_id=self.service_id)
        if self.priority is not None:
            rows = rows.filter(priority=self.priority)
        if self.organisation_id is not None:
            rows = rows.filter(organisation_id=self.organisation_id)
        return rows

    def created(self, user):
        return self.facts(user).filter(created_at__gte=self.start, created_at__lt=self.end)
