"""``/api/v1/servicelevels/``: calendars, SLA and escalation policies (staff read, admins write), clocks (read)."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from itsm import roles
from itsm.api.permissions import ReadStaffWriteRoles
from itsm.api.viewsets import RecordViewSet
from servicelevels import calendars, services
from servicelevels.api import serializers
from servicelevels.filters import ClockFilterSet
from servicelevels.models import Calendar, Clock, ClockEvent, EscalationPolicy, SLAPolicy

ADMINS = (roles.ADMIN,)


class CalendarViewSet(RecordViewSet):
    """Calendars: business hours per weekday (several ranges a day), time zone, holidays."""

    serializer_class = serializers.CalendarSerializer
    queryset = Calendar.objects.prefetch_related("hours", "holidays")
    permission_classes = [ReadStaffWriteRoles]
    write_roles = ADMINS
    ordering_fields = ["id", "name"]

    def create_record(self, validated_data):
        hours = validated_data.pop("hours", None)
        validated_data.pop("version", None)
        return services.calendar_save(actor=self.request.user, fields=validated_data, hours=hours)

    def update_record(self, instance, validated_data, expected_version):
        hours = validated_data.pop("hours", None)
        validated_data.pop("version", None)
        return services.calendar_save(
            actor=self.request.user,
            calendar=instance,
            fields=validated_data,
            hours=hours,
            expected_version=expected_version,
        )

    @extend_schema(
        request=serializers.GenerateHolidaysSerializer, responses=serializers.GeneratedHolidaysSerializer
    )
    @action(detail=True, methods=["post"], url_path="generate-holidays", filter_backends=[])
    def generate_holidays(self, request, pk=None):
        """Add the public holidays of the calendar's country/region for the given years."""
        calendar = self.get_object()
        payload = serializers.GenerateHolidaysSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        added = calendars.generate_holidays(calendar, payload.validated_data["years"])
        return Response({"added": added})


class EscalationPolicyViewSet(RecordViewSet):
    serializer_class = serializers.EscalationPolicySerializer
    queryset = EscalationPolicy.objects.prefetch_related("steps__users")
    permission_classes = [ReadStaffWriteRoles]
    write_roles = ADMINS
    ordering_fields = ["id", "name"]


class SLAPolicyViewSet(RecordViewSet):
    """SLA policies: conditions (first match by order wins), targets, calendar, pauses, warnings."""

    serializer_class = serializers.SLAPolicySerializer
    queryset = SLAPolicy.objects.prefetch_related("services", "organisations")
    permission_classes = [ReadStaffWriteRoles]
    write_roles = ADMINS
    ordering_fields = ["id", "order", "name"]


class ClockViewSet(viewsets.ReadOnlyModelViewSet):
    """Clocks of the records you may see, with their event timeline."""

    serializer_class = serializers.ClockSerializer
    filterset_class = ClockFilterSet
    queryset = Clock.objects.none()
    ordering_fields = ["id", "deadline", "breached_at"]

    def get_queryset(self):
        return (
            Clock.objects.visible_to(self.request.user)
            .select_related("policy", "content_type")
            .prefetch_related(Prefetch("events", queryset=ClockEvent.objects.order_by("at", "id")))
        )
