"""Read-side querysets for people pages and API: the joins are decided here, once.

``search_vector`` is only ever filtered on, never read: deferring it halves the bytes fetched per row.
"""

from __future__ import annotations

from django.db.models import Count, Prefetch

from itsm import roles
from people.models import Location, Organisation, Supplier, SupportGroup, User


def users():
    from django.contrib.auth.models import Group

    return (
        User.objects.defer("search_vector")
        .select_related("organisation", "location")
        .prefetch_related(
            Prefetch("groups", queryset=Group.objects.filter(name__in=roles.ALL_ROLES), to_attr="role_groups")
        )
    )


def support_groups():
    return (
        SupportGroup.objects.defer("search_vector")
        .select_related("manager", "escalation_group")
        .annotate(member_count=Count("members"))
    )


def organisations():
    return (
        Organisation.objects.defer("search_vector")
        .select_related("parent")
        .annotate(people_count=Count("people"))
    )


def suppliers():
    return Supplier.objects.defer("search_vector").annotate(contact_count=Count("contacts"))


def locations():
    return Location.objects.defer("search_vector").select_related("parent")
