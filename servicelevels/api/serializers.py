from __future__ import annotations

from rest_framework import serializers

from itsm.api.serializers import RecordSerializer
from servicelevels.models import (
    BusinessHours,
    Calendar,
    Clock,
    ClockEvent,
    EscalationPolicy,
    EscalationStep,
    Holiday,
    SLAPolicy,
)


class BusinessHoursSerializer(serializers.ModelSerializer):
    class Meta:
        model = BusinessHours
        fields = ["weekday", "start", "end"]


class HolidaySerializer(serializers.ModelSerializer):
    class Meta:
        model = Holiday
        fields = ["date", "name", "generated"]
        read_only_fields = ["generated"]


class CalendarSerializer(RecordSerializer):
    hours = BusinessHoursSerializer(
        many=True, required=False, help_text="Replaces the business hours when sent."
    )
    holidays = HolidaySerializer(many=True, read_only=True)

    class Meta:
        model = Calendar
        fields = [
            "id",
            "name",
            "time_zone",
            "is_24x7",
            "holiday_country",
            "holiday_subdivision",
            "description",
            "hours",
            "holidays",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class GenerateHolidaysSerializer(serializers.Serializer):
    years = serializers.ListField(
        child=serializers.IntegerField(min_value=1970, max_value=2100), min_length=1, max_length=10
    )


class GeneratedHolidaysSerializer(serializers.Serializer):
    added = serializers.IntegerField()


class EscalationStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = EscalationStep
        fields = [
            "id",
            "order",
            "at_percent",
            "delay_minutes",
            "action",
            "users",
            "group",
            "repeat_every_minutes",
            "max_repeats",
        ]


class EscalationPolicySerializer(RecordSerializer):
    steps = EscalationStepSerializer(many=True, read_only=True)

    class Meta:
        model = EscalationPolicy
        fields = ["id", "name", "description", "steps", "version", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class SLAPolicySerializer(RecordSerializer):
    class Meta:
        model = SLAPolicy
        fields = [
            "id",
            "name",
            "order",
            "is_active",
            "priorities",
            "channels",
            "categories",
            "services",
            "organisations",
            "calendar",
            "response_minutes",
            "resolution_minutes",
            "update_minutes",
            "pause_on",
            "warning_percents",
            "escalation_policy",
            "notify_24x7",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        merged = {
            **(
                {
                    f: getattr(self.instance, f)
                    for f in ("response_minutes", "resolution_minutes", "update_minutes")
                }
                if self.instance
                else {}
            ),
            **attrs,
        }
        if not any(merged.get(f) for f in ("response_minutes", "resolution_minutes", "update_minutes")):
            raise serializers.ValidationError(
                {"resolution_minutes": "Set at least one target (response, resolution or update)."}
            )
        if any(p <= 0 or p >= 100 for p in attrs.get("warning_percents") or []):
            raise serializers.ValidationError(
                {"warning_percents": "Warnings are percentages between 1 and 99."}
            )
        return attrs


class ClockEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClockEvent
        fields = ["kind", "key", "at", "recorded_at", "detail"]


class ClockSerializer(serializers.ModelSerializer):
    record_type = serializers.CharField(source="content_type.model", read_only=True)
    record_id = serializers.IntegerField(source="object_id", read_only=True)
    policy_name = serializers.CharField(source="policy.name", read_only=True)
    events = ClockEventSerializer(many=True, read_only=True)

    class Meta:
        model = Clock
        fields = [
            "id",
            "record_type",
            "record_id",
            "target",
            "policy",
            "policy_name",
            "calendar",
            "target_seconds",
            "state",
            "started_at",
            "running_since",
            "elapsed_seconds",
            "deadline",
            "breached_at",
            "stopped_at",
            "group",
            "priority",
            "events",
        ]


class ClockSummarySerializer(serializers.Serializer):
    """A record's clock as other apps embed it (e.g. in the incident API)."""

    id = serializers.IntegerField(source="clock.id")
    target = serializers.CharField(source="clock.target")
    state = serializers.CharField(source="clock.state")
    policy = serializers.CharField(source="clock.policy.name")
    deadline = serializers.DateTimeField(source="clock.deadline", allow_null=True)
    breached_at = serializers.DateTimeField(source="clock.breached_at", allow_null=True)
    percent_used = serializers.FloatField(source="percent")
    remaining_seconds = serializers.FloatField()
    risk = serializers.CharField(help_text="ok, warning, danger, breached or done")
    explanation = serializers.CharField(help_text="Why the deadline is what it is.")
