"""FilterSets of event management, shared by the console and the API."""

from __future__ import annotations

import django_filters

from events.choices import AlertState
from events.models import Alert, AlertGroup, Check, Storm


class AlertFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=AlertState.choices)

    class Meta:
        model = Alert
        fields = ["state", "source", "group", "ci"]


class AlertGroupFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=AlertState.choices)

    class Meta:
        model = AlertGroup
        fields = ["state", "ci", "service", "incident"]


class CheckFilterSet(django_filters.FilterSet):
    class Meta:
        model = Check
        fields = ["ci", "kind", "enabled", "last_ok"]


class StormFilterSet(django_filters.FilterSet):
    open = django_filters.BooleanFilter(field_name="ended_at", lookup_expr="isnull", label="Going on now")

    class Meta:
        model = Storm
        fields = ["source", "open"]
