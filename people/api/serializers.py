"""API shapes of people, groups, organisations, suppliers and locations."""

from __future__ import annotations

from rest_framework import serializers

from itsm import roles
from itsm.api.serializers import RecordSerializer
from people.models import Location, Organisation, Supplier, SupplierContact, SupportGroup, User


class UserSerializer(RecordSerializer):
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=list(roles.ALL_ROLES)),
        required=False,
        help_text="Role names: " + ", ".join(roles.ALL_ROLES),
    )
    password = serializers.CharField(
        write_only=True,
        required=False,
        style={"input_type": "password"},
        help_text="Only on creation; checked by the password validators.",
    )
    display_name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "display_name",
            "first_name",
            "last_name",
            "email",
            "phone",
            "mobile",
            "job_title",
            "organisation",
            "location",
            "time_zone",
            "is_vip",
            "is_active",
            "roles",
            "password",
            "date_joined",
            "last_login",
            "version",
        ]
        read_only_fields = ["date_joined", "last_login"]

    def get_display_name(self, user) -> str:
        return user.get_full_name() or user.username

    def to_representation(self, user):
        data = super().to_representation(user)
        held = getattr(user, "role_groups", None)
        data["roles"] = (
            sorted(group.name for group in held) if held is not None else sorted(roles.roles_of(user))
        )
        return data

    def validate_username(self, value):
        if self.instance is not None and value != self.instance.username:
            raise serializers.ValidationError("A username cannot be changed.")
        return value


class SupportGroupSerializer(RecordSerializer):
    members = serializers.PrimaryKeyRelatedField(many=True, queryset=User.objects.all(), required=False)
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = SupportGroup
        fields = [
            "id",
            "name",
            "email",
            "phone",
            "description",
            "manager",
            "members",
            "member_count",
            "escalation_group",
            "is_active",
            "created_at",
            "updated_at",
            "version",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        escalation = attrs.get("escalation_group")
        if escalation is not None and self.instance is not None and escalation.pk == self.instance.pk:
            raise serializers.ValidationError({"escalation_group": "A group cannot escalate to itself."})
        return attrs


class OrganisationSerializer(RecordSerializer):
    people_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Organisation
        fields = [
            "id",
            "name",
            "code",
            "parent",
            "email_domain",
            "phone",
            "notes",
            "is_active",
            "people_count",
            "created_at",
            "updated_at",
            "version",
        ]
        read_only_fields = ["created_at", "updated_at"]


class SupplierContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = SupplierContact
        fields = ["id", "name", "role", "email", "phone"]


class SupplierSerializer(RecordSerializer):
    contacts = SupplierContactSerializer(many=True, read_only=True)

    class Meta:
        model = Supplier
        fields = [
            "id",
            "name",
            "contract_reference",
            "support_email",
            "support_phone",
            "support_url",
            "support_hours",
            "contract_expires_on",
            "notes",
            "is_active",
            "contacts",
            "created_at",
            "updated_at",
            "version",
        ]
        read_only_fields = ["created_at", "updated_at"]


class LocationSerializer(RecordSerializer):
    class Meta:
        model = Location
        fields = [
            "id",
            "name",
            "parent",
            "address",
            "time_zone",
            "is_active",
            "created_at",
            "updated_at",
            "version",
        ]
        read_only_fields = ["created_at", "updated_at"]
