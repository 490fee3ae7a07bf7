"""FilterSets of the CMDB, shared by the pages and the API.

``attr`` filters by attribute value and may be repeated: ``?attr=version=2.4.1&attr=model=XYZ-800``.
Filtering on a sensitive attribute is refused for users who may not see it, so values cannot be
probed through filters.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from configuration import queries
from configuration import schema as schemas
from configuration.choices import CIStatus, Criticality, Environment
from configuration.models import CIClass, ConfigurationItem, Relationship, RelationshipType
from itsm.filters import RecordFilterSet
from people.models import Organisation, SupportGroup


def parse_attribute_criteria(values: list[str]) -> dict[str, str]:
    """``["version=2.4.1", "model:XYZ; os=linux"]`` -> a key: value dict; ValidationError if malformed."""
    criteria = {}
    for raw in values:
        for part in (piece.strip() for piece in raw.split(";")):
            if not part:
                continue
            separator = "=" if "=" in part else ":" if ":" in part else None
            if separator is None:
                raise ValidationError(f"'{part}' is not key=value (e.g. version=2.4.1).")
            key, value = (piece.strip() for piece in part.split(separator, 1))
            if not key or not value:
                raise ValidationError(f"'{part}' needs both a key and a value (e.g. version=2.4.1).")
            criteria[key.lower()] = value
    return criteria


class CIFilterForm(forms.Form):
    """Checks the ``attr`` criteria (syntax, and sensitivity for this user) before any query runs."""

    user = None

    # Wider boxes for the free-text filters (read by templates/itsm/partials/filter_form.html).
    column_classes = {
        "attr": "col-12 col-md-4 col-xl-3",
        "q": "col-6 col-md-3 col-xl-2",
        "identifier": "col-6 col-md-3 col-xl-2",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, css in self.column_classes.items():
            if name in self.fields:
                self.fields[name].column_class = css

    # The field holding attribute criteria; a form reusing this check for another field (e.g. the
    # incidents' ``ci_attr``) names it here.
    attribute_field = "attr"

    def clean(self):
        cleaned = super().clean()
        name = self.attribute_field
        raw = self.data.getlist(name) if hasattr(self.data, "getlist") else [self.data.get(name, "")]
        try:
            criteria = parse_attribute_criteria([value for value in raw if value])
        except ValidationError as error:
            self.add_error(name, error.messages)
            return cleaned
        if criteria and not schemas.can_see_sensitive(self.user):
            sensitive = set().union(*(schemas.sensitive_keys(s) for s in schemas.all_schemas().values()))
            hidden = sorted(set(criteria) & sensitive)
            if hidden:
                self.add_error(name, f"You may not filter on the sensitive attribute '{hidden[0]}'.")
                return cleaned
        # The filter receives the parsed criteria as its value: FilterSet.filter_queryset applies one
        # filter per cleaned_data key, so an extra key (one that is no filter) would raise KeyError.
        if name in cleaned:
            cleaned[name] = criteria
        return cleaned


class CIFilterSet(RecordFilterSet):
    ci_class = django_filters.ModelChoiceFilter(
        queryset=CIClass.objects.all(), method="filter_class", label="Class"
    )
    status = django_filters.MultipleChoiceFilter(choices=CIStatus.choices)
    environment = django_filters.ChoiceFilter(choices=Environment.choices)
    criticality = django_filters.ChoiceFilter(choices=Criticality.choices)
    owner_group = django_filters.ModelChoiceFilter(queryset=SupportGroup.objects.all(), label="Owner group")
    organisation = django_filters.ModelChoiceFilter(
        field_name="organisations", queryset=Organisation.objects.all()
    )
    source = django_filters.CharFilter()
    is_service = django_filters.BooleanFilter(field_name="ci_class__is_service", label="Services only")
    identifier = django_filters.CharFilter(
        method="filter_identifier",
        label="Identifier",
        help_text="scheme=value, e.g. hostname=web-01, or just the value",
    )
    attr = django_filters.CharFilter(
        method="filter_attr", label="Attribute", help_text="key=value, e.g. version=2.4.1 (repeatable)"
    )

    class Meta:
        model = ConfigurationItem
        fields = ["ci_class", "status", "environment", "criticality", "owner_group", "source"]
        form = CIFilterForm

    def filter_class(self, queryset, name, value):
        return queryset.filter(ci_class_id__in=queries.class_and_descendants(value))

    def filter_identifier(self, queryset, name, value):
        if "=" in value:
            scheme, _, text = value.partition("=")
            return queryset.filter(
                identifiers__scheme=scheme.strip().lower(), identifiers__value__iexact=text.strip()
            )
        # One CI may carry the same value under two schemes (hostname and fqdn): list it once.
        return queryset.filter(identifiers__value__iexact=value.strip()).distinct()

    def filter_attr(self, queryset, name, value):
        return queries.matching_attributes(queryset, value if isinstance(value, dict) else {})


class RelationshipFilterSet(django_filters.FilterSet):
    ci = django_filters.ModelChoiceFilter(
        queryset=ConfigurationItem.objects.all(), method="filter_ci", label="Either end"
    )
    type = django_filters.ModelChoiceFilter(queryset=RelationshipType.objects.all())

    class Meta:
        model = Relationship
        fields = ["source", "target", "type"]

    @extend_schema_field(OpenApiTypes.INT)  # the OpenAPI schema: a CI id (no model field is called ci)
    def filter_ci(self, queryset, name, value):
        from django.db.models import Q

        return queryset.filter(Q(source=value) | Q(target=value))
