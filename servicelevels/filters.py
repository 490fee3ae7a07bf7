"""Clock filters shared by the breach page and the API."""

from __future__ import annotations

import django_filters

from people.models import SupportGroup
from servicelevels.models import Clock, ClockState, SLAPolicy, Target


class ClockFilterSet(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=ClockState.choices)
    target = django_filters.ChoiceFilter(choices=Target.choices)
    group = django_filters.ModelChoiceFilter(queryset=SupportGroup.objects.all())
    priority = django_filters.NumberFilter()
    policy = django_filters.ModelChoiceFilter(queryset=SLAPolicy.objects.all())
    breached = django_filters.BooleanFilter(
        field_name="breached_at", lookup_expr="isnull", exclude=True, label="Breached"
    )
    breached_after = django_filters.IsoDateTimeFilter(
        field_name="breached_at", lookup_expr="gte", label="Breached from"
    )
    breached_before = django_filters.IsoDateTimeFilter(
        field_name="breached_at", lookup_expr="lt", label="Breached before"
    )
    deadline_before = django_filters.IsoDateTimeFilter(
        field_name="deadline", lookup_expr="lt", label="Due before"
    )
    record_type = django_filters.CharFilter(
        field_name="content_type__model", label="Record type", help_text="e.g. incident"
    )
    record_id = django_filters.NumberFilter(field_name="object_id", label="Record id")

    class Meta:
        model = Clock
        fields = ["state", "target", "group", "priority", "policy"]

    @property
    def form(self):
        from itsm.forms import style_form

        form = super().form
        if not getattr(form, "_itsm_styled", False):
            style_form(form, small=True)
            form._itsm_styled = True
        return form
