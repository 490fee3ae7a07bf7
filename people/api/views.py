"""API viewsets for the people app. Reads for staff; writes for admins (and managers for groups)."""

from __future__ import annotations

from django.db.models import Prefetch

from itsm import roles
from itsm.api.permissions import ReadStaffWriteRoles
from itsm.api.viewsets import RecordViewSet
from people import filters, queries, services
from people.api import serializers
from people.models import SupplierContact


class UserViewSet(RecordViewSet):
    """People who sign in, with their roles."""

    serializer_class = serializers.UserSerializer
    filterset_class = filters.UserFilterSet
    permission_classes = [ReadStaffWriteRoles]
    write_roles = (roles.ADMIN,)
    ordering_fields = ["username", "last_name", "date_joined"]
    ordering = ["username"]

    def base_queryset(self):
        return queries.users()

    def create_record(self, validated_data):
        data = dict(validated_data)
        data.pop("version", None)
        return services.user_create(
            actor=self.request.user,
            username=data.pop("username"),
            password=data.pop("password", None),
            role_names=data.pop("roles", ()),
            **data,
        )

    def update_record(self, instance, validated_data, expected_version):
        data = dict(validated_data)
        data.pop("version", None)
        data.pop("password", None)
        role_names = data.pop("roles", None)
        return services.user_update(
            actor=self.request.user,
            user=instance,
            changes=data,
            role_names=role_names,
            expected_version=expected_version,
        )


class SupportGroupViewSet(RecordViewSet):
    """Teams that handle work, with members, manager and escalation group."""

    serializer_class = serializers.SupportGroupSerializer
    filterset_class = filters.SupportGroupFilterSet
    permission_classes = [ReadStaffWriteRoles]
    write_roles = (roles.ADMIN, roles.MANAGER)
    ordering_fields = ["name"]
    ordering = ["name"]

    def base_queryset(self):
        return queries.support_groups().prefetch_related("members")


class OrganisationViewSet(RecordViewSet):
    """Customers and departments whose people use the services."""

    serializer_class = serializers.OrganisationSerializer
    filterset_class = filters.OrganisationFilterSet
    permission_classes = [ReadStaffWriteRoles]
    write_roles = (roles.ADMIN,)
    ordering_fields = ["name", "code"]
    ordering = ["name"]

    def base_queryset(self):
        return queries.organisations()


class SupplierViewSet(RecordViewSet):
    """External parties that support our services."""

    serializer_class = serializers.SupplierSerializer
    filterset_class = filters.SupplierFilterSet
    permission_classes = [ReadStaffWriteRoles]
    write_roles = (roles.ADMIN, roles.MANAGER)
    ordering_fields = ["name", "contract_expires_on"]
    ordering = ["name"]

    def base_queryset(self):
        return queries.suppliers().prefetch_related(
            Prefetch("contacts", queryset=SupplierContact.objects.all())
        )


class LocationViewSet(RecordViewSet):
    """Sites, buildings and floors."""

    serializer_class = serializers.LocationSerializer
    filterset_class = filters.LocationFilterSet
    permission_classes = [ReadStaffWriteRoles]
    write_roles = (roles.ADMIN,)
    ordering_fields = ["name"]
    ordering = ["name"]

    def base_queryset(self):
        return queries.locations()
