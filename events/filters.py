"""FilterSets of event management, shared by the console and the API."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Exists, OuterRef

from events.choices import AlertState, Severity
from events.models import Alert, AlertGroup, Check, EventSource, Storm


class AlertFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=AlertState.choices)

    class Meta:
        model = Alert
        fields = ["state", "source", "group", "ci"]


class AlertGroupFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=AlertState.choices, empty_label="Any state")
    severity = django_filters.ChoiceFilter(choices=Severity.choices, empty_label="Any severity")
    source = django_filters.ModelChoiceFilter(
        queryset=EventSource.objects.order_by("name"),
        method="filter_source",
        empty_label="Any source",
        label="Source",
    )
    acknowledged = django_filters.BooleanFilter(
        field_name="acknowledged_at",
        lookup_expr="isnull",
        exclude=True,
        label="Acknowledged",
        widget=forms.Select(choices=[("", "Either"), ("true", "Yes"), ("false", "No")]),
    )

    class Meta:
        model = AlertGroup
        fields = [
            "state",
            "severity",
            "source",
            "ci",
            "service",
            "incident",
            "acknowledged",
            "assignee",
            "assignment_group",
        ]

    def filter_source(self, queryset, name, value: EventSource):
        # A group holds alerts of one or more sources: EXISTS, not a join (no duplicate rows, no DISTINCT).
        return queryset.filter(Exists(Alert.objects.filter(group=OuterRef("pk"), source=value)))


class CheckFilterSet(django_filters.FilterSet):
    class Meta:
        model = Check
        fields = ["ci", "kind", "enabled", "last_ok"]


class StormFilterSet(django_filters.FilterSet):
    open = django_filters.BooleanFilter(field_name="ended_at", lookup_expr="isnull", label="Going on now")

    class Meta:
        model = Storm
        fields = ["source", "open"]
