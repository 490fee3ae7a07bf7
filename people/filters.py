"""One FilterSet per model, used by both the pages and the API."""

from __future__ import annotations

import django_filters

from itsm import roles
from itsm.filters import RecordFilterSet
from people.models import Location, Organisation, Supplier, SupportGroup, User


class UserFilterSet(RecordFilterSet):
    role = django_filters.ChoiceFilter(
        choices=[(name, roles.ROLE_LABELS[name]) for name in roles.ALL_ROLES],
        method="filter_role",
        label="Role",
    )
    support_group = django_filters.ModelChoiceFilter(
        field_name="support_groups", queryset=SupportGroup.objects.all(), label="Support group"
    )

    class Meta:
        model = User
        fields = ["organisation", "location", "is_active", "is_vip"]

    def filter_role(self, queryset, name, value):
        return queryset.filter(groups__name=value)


class SupportGroupFilterSet(RecordFilterSet):
    member = django_filters.ModelChoiceFilter(
        field_name="members", queryset=User.objects.all(), label="Member"
    )

    class Meta:
        model = SupportGroup
        fields = ["manager", "is_active"]


class OrganisationFilterSet(RecordFilterSet):
    class Meta:
        model = Organisation
        fields = ["parent", "is_active"]


class SupplierFilterSet(RecordFilterSet):
    class Meta:
        model = Supplier
        fields = ["is_active"]


class LocationFilterSet(RecordFilterSet):
    class Meta:
        model = Location
        fields = ["parent", "is_active"]
