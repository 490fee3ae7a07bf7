"""The incident FilterSet, shared by the queue page and the API (``?status=new&priority=1&group=3``).

``ci_attr`` reuses the CMDB's attribute filter: incidents whose affected CIs match, e.g.
``?ci_class=<software class id>&ci_attr=version=2.4.1``.
"""

from __future__ import annotations

import datetime

import django_filters
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from configuration import queries as cmdb
from configuration.filters import CIFilterForm
from configuration.models import CIClass, ConfigurationItem
from incidents.choices import DONE_STATUSES, OPEN_STATUSES, Channel, Priority, Status
from incidents.models import Category, Incident, SatisfactionResponse
from itsm import roles
from itsm.filters import RecordFilterSet
from itsm.models import RecordLink
from people.models import SupportGroup, User
from servicelevels import queries as sla
from servicelevels.models import Clock

AGE_BUCKETS = {
    "1d": ("Older than a day", datetime.timedelta(days=1)),
    "3d": ("Older than 3 days", datetime.timedelta(days=3)),
    "7d": ("Older than a week", datetime.timedelta(days=7)),
    "30d": ("Older than 30 days", datetime.timedelta(days=30)),
}


SLA_CHOICES = [
    (f"{target}_{outcome}", f"{target_label}: {outcome_label}")
    for target, target_label in (("response", "Response"), ("resolution", "Resolution"))
    for outcome, outcome_label in (
        ("met", "met"),
        ("breached", "breached"),
        ("running", "running"),
        ("at_risk", "due within 24 h"),
        ("finished", "stopped"),
    )
]


class IncidentFilterForm(CIFilterForm):
    """Parses ``ci_attr`` (syntax and sensitivity) with the CMDB's ``attr`` check."""

    column_classes = {"q": "col-12 col-md-4 col-xl-3", "ci_attr": "col-6 col-md-3 col-xl-2"}

    attribute_field = "ci_attr"


class IncidentFilterSet(RecordFilterSet):
    # distinct=False: a column of the incident joins nothing, and django-filter's default (True)
    # turns the list into SELECT DISTINCT over every column, which cannot read the queue indexes in
    # order (bench "incidents": 38 ms -> under 1 ms for on hold in a group at a million incidents).
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, distinct=False)
    open = django_filters.BooleanFilter(method="filter_open", label="Open only")
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices, distinct=False)
    group = django_filters.ModelChoiceFilter(
        field_name="assignment_group", queryset=SupportGroup.objects.filter(is_active=True), label="Group"
    )
    assignee = django_filters.ModelChoiceFilter(
        queryset=User.objects.filter(is_active=True, groups__name__in=roles.STAFF_ROLES).distinct(),
        label="Assignee",
    )
    unassigned = django_filters.BooleanFilter(field_name="assignee", lookup_expr="isnull", label="Unassigned")
    service = django_filters.ModelChoiceFilter(
        queryset=ConfigurationItem.objects.filter(ci_class__is_service=True), label="Service"
    )
    ci = django_filters.ModelChoiceFilter(
        field_name="cis", queryset=ConfigurationItem.objects.all(), label="Affected CI", distinct=True
    )
    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.filter(parent__isnull=True), label="Category"
    )
    subcategory = django_filters.ModelChoiceFilter(
        queryset=Category.objects.filter(parent__isnull=False).select_related("parent"), label="Subcategory"
    )
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    caller = django_filters.ModelChoiceFilter(queryset=User.objects.all(), label="Caller")
    is_major = django_filters.BooleanFilter(label="Major")
    is_security = django_filters.BooleanFilter(label="Security")
    age = django_filters.ChoiceFilter(
        choices=[(key, label) for key, (label, _) in AGE_BUCKETS.items()], method="filter_age", label="Age"
    )
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    # Reporting filters: the managers' dashboards link each number to the list that produces it.
    resolved_after = django_filters.IsoDateTimeFilter(field_name="resolved_at", lookup_expr="gte")
    resolved_before = django_filters.IsoDateTimeFilter(field_name="resolved_at", lookup_expr="lt")
    responded = django_filters.BooleanFilter(
        field_name="responded_at", lookup_expr="isnull", exclude=True, label="Responded"
    )
    open_at = django_filters.IsoDateTimeFilter(
        method="filter_open_at",
        label="Open at",
        help_text="Logged before and not resolved, closed or cancelled by then",
    )
    organisation = django_filters.NumberFilter(
        field_name="caller__organisation", label="Caller's organisation"
    )
    sla = django_filters.ChoiceFilter(choices=SLA_CHOICES, method="filter_sla", label="SLA")
    reopened = django_filters.BooleanFilter(method="filter_reopened", label="Reopened")
    first_contact = django_filters.BooleanFilter(field_name="first_contact_resolution", label="First contact")
    reassignments = django_filters.NumberFilter(field_name="reassignment_count", label="Reassignments")
    reassignments_min = django_filters.NumberFilter(
        field_name="reassignment_count", lookup_expr="gte", label="Reassignments at least"
    )
    rating = django_filters.ChoiceFilter(
        choices=[(str(n), str(n)) for n in range(1, 6)], method="filter_rating", label="Satisfaction rating"
    )
    # With ``rating``: the rating was given in this period (the same answer; the dashboards' CSAT).
    rated_after = django_filters.IsoDateTimeFilter(method="filter_rated", label="Rated from")
    rated_before = django_filters.IsoDateTimeFilter(method="filter_rated", label="Rated before")
    problem = django_filters.BooleanFilter(method="filter_problem", label="Linked to a problem")
    ci_class = django_filters.ModelChoiceFilter(
        queryset=CIClass.objects.all(), method="filter_ci_class", label="Affected CI class"
    )
    ci_attr = django_filters.CharFilter(
        method="filter_ci_attr",
        label="Affected CI attribute",
        help_text="key=value of an affected CI, e.g. version=2.4.1 (repeatable)",
    )

    class Meta:
        model = Incident
        fields = ["status", "priority", "channel", "is_major", "is_security"]
        form = IncidentFilterForm

    # The form class of each filter set class, built once: django-filter builds a class and a form
    # field per filter on every request (a fifth of the queue page's form work). None of these
    # filters depends on the request; the user goes on the form instance (RecordFilterSet.form).
    _form_classes: dict[type, type] = {}

    def get_form_class(self):
        cls = type(self)
        if cls not in self._form_classes:
            self._form_classes[cls] = super().get_form_class()
        return self._form_classes[cls]

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        return (
            queryset.filter(status__in=OPEN_STATUSES) if value else queryset.exclude(status__in=OPEN_STATUSES)
        )

    def filter_age(self, queryset, name, value):
        if value not in AGE_BUCKETS:
            return queryset
        return queryset.filter(created_at__lt=timezone.now() - AGE_BUCKETS[value][1])

    def filter_open_at(self, queryset, name, value):
        if value is None:
            return queryset
        done = Q(status__in=DONE_STATUSES) & Q(
            Q(resolved_at__lt=value) | Q(resolved_at__isnull=True, closed_at__lt=value)
        )
        return queryset.filter(created_at__lt=value).exclude(done)

    def filter_sla(self, queryset, name, value):
        target, _, outcome = value.partition("_")
        clocks = Clock.objects.filter(
            sla.outcome_q(outcome, timezone.now()),
            content_type=ContentType.objects.get_for_model(Incident),
            object_id=OuterRef("pk"),
            target=target,
        )
        return queryset.filter(Exists(clocks))

    def filter_reopened(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(reopen_count__gt=0) if value else queryset.filter(reopen_count=0)

    def _answered(self, **criteria) -> Exists:
        """An answer of the incident's caller with ``criteria``, given within ``rated_after``/``rated_before``."""
        answers = SatisfactionResponse.objects.filter(incident_id=OuterRef("pk"), **criteria)
        data = self.form.cleaned_data
        if data.get("rated_after"):
            answers = answers.filter(created_at__gte=data["rated_after"])
        if data.get("rated_before"):
            answers = answers.filter(created_at__lt=data["rated_before"])
        return Exists(answers)

    def filter_rating(self, queryset, name, value):
        return queryset.filter(self._answered(rating=int(value)))

    def filter_rated(self, queryset, name, value):
        data = self.form.cleaned_data
        if value is None or data.get("rating") or (name == "rated_before" and data.get("rated_after")):
            return queryset  # one answer within both bounds (and of the rating): applied once
        return queryset.filter(self._answered())

    def filter_problem(self, queryset, name, value):
        """Linked through a problem's incident list or a record link either way (the dashboards' rule)."""
        if value is None:
            return queryset
        problem_type = ContentType.objects.get_by_natural_key("problems", "problem")
        incident_type = ContentType.objects.get_for_model(Incident)
        links = apps.get_model("problems", "ProblemIncident").objects.filter(incident_id=OuterRef("pk"))
        outgoing = RecordLink.objects.filter(
            source_type=incident_type, source_id=OuterRef("pk"), target_type=problem_type
        )
        incoming = RecordLink.objects.filter(
            target_type=incident_type, target_id=OuterRef("pk"), source_type=problem_type
        )
        linked = Q(Exists(links)) | Q(Exists(outgoing)) | Q(Exists(incoming))
        return queryset.filter(linked) if value else queryset.exclude(linked)

    def _affected(self, cis) -> Q:
        through = Incident.cis.through.objects.filter(incident_id=OuterRef("pk"), configurationitem__in=cis)
        return Q(Exists(through))

    @extend_schema_field(OpenApiTypes.INT)
    def filter_ci_class(self, queryset, name, value):
        if value is None:
            return queryset
        if self.form.cleaned_data.get("ci_attr"):
            return queryset  # filter_ci_attr applies class and attributes together
        return queryset.filter(self._affected(cmdb.cis_matching(ci_class=value)))

    def filter_ci_attr(self, queryset, name, value):
        criteria = value if isinstance(value, dict) else {}
        if not criteria:
            return queryset
        ci_class = self.form.cleaned_data.get("ci_class")
        return queryset.filter(self._affected(cmdb.cis_matching(ci_class=ci_class, attributes=criteria)))
