"""FilterSets of problem management, shared by the pages and the API (``?status=new&min_risk=12``)."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from configuration import queries as cmdb
from configuration.filters import CIFilterForm
from configuration.models import CIClass, ConfigurationItem
from itsm.filters import RecordFilterSet
from people.models import SupportGroup
from problems.choices import (
    KE_OPEN_STATUSES,
    OPEN_STATUSES,
    CandidateRule,
    CandidateStatus,
    ImprovementStatus,
    KnownErrorStatus,
    Source,
    Status,
)
from problems.models import Improvement, KnownError, Problem, ProblemCandidate


class CIAttributeForm(CIFilterForm):
    """Parses ``ci_attr`` (syntax and sensitivity for the user) with the CMDB's check [CMDB-5]."""

    attribute_field = "ci_attr"


class CIAttributeFilters(django_filters.FilterSet):
    """Problems or known errors by the class and attributes of their CIs, as the incident queue does
    (``?ci_class=<id>&ci_attr=version=2.4.1``)."""

    ci_class = django_filters.ModelChoiceFilter(
        queryset=CIClass.objects.all(), method="filter_ci_class", label="CI class"
    )
    ci_attr = django_filters.CharFilter(
        method="filter_ci_attr", label="CI attribute", help_text="key=value of a CI, e.g. version=2.4.1"
    )

    def _with_cis(self, cis) -> Q:
        model = self.queryset.model
        through = model.cis.through.objects.filter(
            **{f"{model._meta.model_name}_id": OuterRef("pk")}, configurationitem__in=cis
        )
        return Q(Exists(through))

    @extend_schema_field(OpenApiTypes.INT)
    def filter_ci_class(self, queryset, name, value):
        if value is None or self.form.cleaned_data.get("ci_attr"):
            return queryset  # filter_ci_attr applies class and attributes together
        return queryset.filter(self._with_cis(cmdb.cis_matching(ci_class=value)))

    def filter_ci_attr(self, queryset, name, value):
        criteria = value if isinstance(value, dict) else {}
        if not criteria:
            return queryset
        ci_class = self.form.cleaned_data.get("ci_class")
        return queryset.filter(self._with_cis(cmdb.cis_matching(ci_class=ci_class, attributes=criteria)))


class ProblemFilterSet(CIAttributeFilters, RecordFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, distinct=False)
    open = django_filters.BooleanFilter(method="filter_open", label="Open only")
    source = django_filters.ChoiceFilter(choices=Source.choices)
    group = django_filters.ModelChoiceFilter(
        field_name="assignment_group", queryset=SupportGroup.objects.filter(is_active=True), label="Group"
    )
    ci = django_filters.ModelChoiceFilter(
        field_name="cis", queryset=ConfigurationItem.objects.all(), label="Affected CI", distinct=True
    )
    service = django_filters.ModelChoiceFilter(
        field_name="services",
        queryset=ConfigurationItem.objects.filter(ci_class__is_service=True),
        label="Service",
        distinct=True,
    )
    min_risk = django_filters.NumberFilter(field_name="risk", lookup_expr="gte", label="Risk at least")

    class Meta:
        model = Problem
        fields = ["q", "status", "open", "source", "group", "ci", "service", "min_risk"]
        form = CIAttributeForm

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        return (
            queryset.filter(status__in=OPEN_STATUSES) if value else queryset.exclude(status__in=OPEN_STATUSES)
        )


class KnownErrorFilterSet(CIAttributeFilters, RecordFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=KnownErrorStatus.choices, distinct=False)
    open = django_filters.BooleanFilter(method="filter_open", label="Open only")
    published = django_filters.BooleanFilter(field_name="publish_to_portal", label="Published")
    ci = django_filters.ModelChoiceFilter(
        field_name="cis", queryset=ConfigurationItem.objects.all(), label="Faulty CI", distinct=True
    )
    due = django_filters.BooleanFilter(method="filter_due", label="Re-assessment due")

    class Meta:
        model = KnownError
        fields = ["q", "status", "open", "published", "ci", "due"]
        form = CIAttributeForm

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        return (
            queryset.filter(status__in=KE_OPEN_STATUSES)
            if value
            else queryset.exclude(status__in=KE_OPEN_STATUSES)
        )

    def filter_due(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(status__in=KE_OPEN_STATUSES, next_reassessment_on__lte=timezone.localdate())


class CandidateFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CandidateStatus.choices)
    rule = django_filters.ChoiceFilter(choices=CandidateRule.choices)

    class Meta:
        model = ProblemCandidate
        fields = ["status", "rule"]


class ImprovementFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ImprovementStatus.choices)

    class Meta:
        model = Improvement
        fields = ["status", "owner", "problem", "known_error"]
