"""Serializers of event management's API: the documented ingestion formats (validation itself is in
``events.normalise``, which names each field), alerts, groups and reference data."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from configuration.models import CIClass, ConfigurationItem
from events.checks import target_error
from events.choices import CheckKind, Classification, EventState, Severity, SourceKind
from events.models import Alert, AlertGroup, Check, Event, EventSource, MaintenanceWindow, Rule, Storm
from itsm.api.serializers import RecordSerializer
from people.models import SupportGroup


def _listing(values) -> str:
    return "One of " + ", ".join(values) + "."


class EventInSerializer(serializers.Serializer):
    """One event in our format (for the schema; ``POST /api/v1/events/`` also takes a list of them,
    or ``{"events": [...]}``)."""

    resource = serializers.CharField(required=False, help_text="Host or node the event is about.")
    ci = serializers.CharField(
        required=False, help_text="The CI: its number (CI0001001), scheme=value (hostname=web-01) or a value."
    )
    check = serializers.CharField(help_text="The check or metric that changed state.")
    severity = serializers.CharField(
        required=False, help_text=_listing(Severity.values) + " Default warning."
    )
    state = serializers.CharField(required=False, help_text=_listing(EventState.values) + " Default firing.")
    value = serializers.FloatField(required=False, allow_null=True)
    message = serializers.CharField(required=False)
    labels = serializers.DictField(child=serializers.CharField(), required=False)
    occurred_at = serializers.DateTimeField(required=False, help_text="Default: when it was received.")
    dedup_key = serializers.CharField(required=False, help_text="Default: from the source's dedup fields.")
    idempotency_key = serializers.CharField(
        required=False, help_text="A retried delivery with the same key is not counted twice."
    )


class AlertmanagerAlertSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="firing or resolved")
    labels = serializers.DictField(child=serializers.CharField())
    annotations = serializers.DictField(child=serializers.CharField(), required=False)
    startsAt = serializers.DateTimeField()  # noqa: N815 - Alertmanager's names
    endsAt = serializers.DateTimeField(required=False)  # noqa: N815
    generatorURL = serializers.CharField(required=False)  # noqa: N815
    fingerprint = serializers.CharField(required=False)


class AlertmanagerWebhookSerializer(serializers.Serializer):
    version = serializers.CharField(required=False, help_text="4")
    groupKey = serializers.CharField(required=False)  # noqa: N815
    truncatedAlerts = serializers.IntegerField(required=False)  # noqa: N815
    status = serializers.CharField(required=False)
    receiver = serializers.CharField(required=False)
    groupLabels = serializers.DictField(child=serializers.CharField(), required=False)  # noqa: N815
    commonLabels = serializers.DictField(child=serializers.CharField(), required=False)  # noqa: N815
    commonAnnotations = serializers.DictField(child=serializers.CharField(), required=False)  # noqa: N815
    externalURL = serializers.CharField(required=False)  # noqa: N815
    alerts = AlertmanagerAlertSerializer(many=True)


class AcceptedSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="Raw event ids, in the posted order."
    )
    accepted = serializers.IntegerField(help_text="Events stored by this request.")
    duplicates = serializers.IntegerField(help_text="Retried deliveries already stored (not counted again).")


class AlertSerializer(serializers.ModelSerializer):
    source_name = serializers.CharField(source="source.name", read_only=True)
    ci_name = serializers.CharField(source="ci.name", read_only=True, allow_null=True)
    severity = serializers.CharField(read_only=True, help_text=_listing(Severity.values))
    classification = serializers.CharField(read_only=True, help_text=_listing(Classification.values))
    state = serializers.CharField(read_only=True, help_text="open or closed")

    class Meta:
        model = Alert
        fields = [
            "id",
            "source",
            "source_name",
            "dedup_key",
            "resource",
            "check_name",
            "ci",
            "ci_name",
            "severity",
            "classification",
            "state",
            "message",
            "labels",
            "first_seen_at",
            "last_seen_at",
            "count",
            "last_value",
            "closed_at",
            "group",
            "is_symptom",
        ]
        read_only_fields = fields


class AlertGroupSerializer(serializers.ModelSerializer):
    ci_name = serializers.CharField(source="ci.name", read_only=True, allow_null=True)
    service_name = serializers.CharField(source="service.name", read_only=True, allow_null=True)
    incident_number = serializers.CharField(source="incident.number", read_only=True, allow_null=True)
    assignee_name = serializers.CharField(source="assignee.username", read_only=True, allow_null=True)
    assignment_group_name = serializers.CharField(
        source="assignment_group.name", read_only=True, allow_null=True
    )
    severity = serializers.CharField(read_only=True, help_text=_listing(Severity.values))
    state = serializers.CharField(read_only=True, help_text="open or closed")
    alerts = AlertSerializer(many=True, read_only=True)

    class Meta:
        model = AlertGroup
        fields = [
            "id",
            "title",
            "ci",
            "ci_name",
            "service",
            "service_name",
            "state",
            "severity",
            "opened_at",
            "closed_at",
            "last_alert_at",
            "probable_cause",
            "incident",
            "incident_number",
            "suppressed",
            "acknowledged_at",
            "silenced_until",
            "assignee",
            "assignee_name",
            "assignment_group",
            "assignment_group_name",
            "alerts",
        ]
        read_only_fields = fields


class EventSourceSerializer(RecordSerializer):
    # A plain string in the schema: an enum named "kind" would collide with the timeline's.
    kind = serializers.CharField(required=False, help_text=_listing(SourceKind.values) + " Default generic.")

    class Meta:
        model = EventSource
        fields = [
            "id",
            "name",
            "kind",
            "description",
            "token_prefix",
            "token_rotated_at",
            "is_revoked",
            "field_mapping",
            "ci_lookup_label",
            "ci_lookup_scheme",
            "dedup_fields",
            "max_batch_size",
            "rate_limit_per_minute",
            "resolve_incident_on_clear",
            "warning_opens_incident",
            "storm_threshold_per_minute",
            "storm_quiet_minutes",
            "storm_notify_group",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "token_prefix", "token_rotated_at", "created_at", "updated_at"]

    def validate_kind(self, value):
        if value not in SourceKind.values:
            raise serializers.ValidationError(_listing(SourceKind.values))
        return value

    def validate_field_mapping(self, value):
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise serializers.ValidationError(
                'An object of our field names to dotted paths, e.g. {"resource": "host"}.'
            )
        return value

    def validate_dedup_fields(self, value):
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise serializers.ValidationError(
                'A list of field names, e.g. ["resource", "check", "label.job"].'
            )
        return value


class EventSourceWithTokenSerializer(EventSourceSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown only now: copy it into the sending tool.")

    class Meta(EventSourceSerializer.Meta):
        fields = [*EventSourceSerializer.Meta.fields, "token"]


class RuleSerializer(RecordSerializer):
    match_source = serializers.PrimaryKeyRelatedField(
        queryset=EventSource.objects.all(), required=False, allow_null=True
    )
    match_ci_class = serializers.PrimaryKeyRelatedField(
        queryset=CIClass.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Rule
        fields = [
            "id",
            "name",
            "order",
            "is_active",
            "match_source",
            "match_labels",
            "match_ci_class",
            "match_check",
            "value_above",
            "value_below",
            "set_classification",
            "set_severity",
            "set_dedup_key",
            "drop",
            "open_incident_on_warning",
            "version",
        ]

    def validate_match_labels(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError('An object of label names to values, e.g. {"env": "test"}.')
        return value


class MaintenanceWindowSerializer(RecordSerializer):
    cis = serializers.PrimaryKeyRelatedField(queryset=ConfigurationItem.objects.all(), many=True)

    class Meta:
        model = MaintenanceWindow
        fields = ["id", "name", "reason", "cis", "starts_at", "ends_at", "version"]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        starts = attrs.get("starts_at", getattr(self.instance, "starts_at", None))
        ends = attrs.get("ends_at", getattr(self.instance, "ends_at", None))
        if starts and ends and ends <= starts:
            raise serializers.ValidationError({"ends_at": "Must be after starts_at."})
        return attrs


class RulePreviewRequestSerializer(RuleSerializer):
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=2000, default=200, help_text="How many recent events to try."
    )

    class Meta(RuleSerializer.Meta):
        fields = [*RuleSerializer.Meta.fields, "limit"]
        extra_kwargs = {"name": {"required": False}}


class RulePreviewExampleSerializer(serializers.Serializer):
    event = serializers.IntegerField()
    resource = serializers.CharField()
    check_name = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    severity = serializers.CharField()
    classification = serializers.CharField()
    dedup_key = serializers.CharField()
    dropped = serializers.BooleanField()
    new_severity = serializers.CharField()
    new_classification = serializers.CharField()
    new_dedup_key = serializers.CharField()


class RulePreviewSerializer(serializers.Serializer):
    examined = serializers.IntegerField()
    matched = serializers.IntegerField()
    examples = RulePreviewExampleSerializer(many=True)


class LinkIncidentSerializer(serializers.Serializer):
    incident = serializers.CharField(help_text="The incident's number (INC0001234) or id; it must be open.")

    def validate_incident(self, value):
        from incidents.models import Incident

        value = value.strip()
        visible = Incident.objects.visible_to(self.context["request"].user)
        found = (
            visible.filter(number=value.upper()).first()
            if not value.isdigit()
            else visible.filter(pk=value).first()
        )
        if found is None:
            raise serializers.ValidationError(f"No incident '{value[:40]}' that you may see.")
        return found


class SilenceSerializer(serializers.Serializer):
    minutes = serializers.IntegerField(min_value=0, max_value=7 * 24 * 60, help_text="0 ends the silence.")


class CheckSerializer(RecordSerializer):
    ci = serializers.PrimaryKeyRelatedField(queryset=ConfigurationItem.objects.all())
    ci_number = serializers.CharField(source="ci.number", read_only=True)
    # Plain strings in the schema (enums named "kind"/"severity" would collide with other components).
    kind = serializers.CharField(required=False, help_text=_listing(CheckKind.values) + " Default http.")
    severity = serializers.CharField(
        required=False, help_text=_listing(Severity.values) + " Of a failure's event; default critical."
    )

    class Meta:
        model = Check
        fields = [
            "id",
            "ci",
            "ci_number",
            "name",
            "kind",
            "target",
            "expected_status",
            "interval_seconds",
            "timeout_seconds",
            "severity",
            "enabled",
            "next_run_at",
            "last_run_at",
            "last_ok",
            "last_result",
            "last_duration_ms",
            "version",
        ]
        read_only_fields = ["next_run_at", "last_run_at", "last_ok", "last_result", "last_duration_ms"]

    def validate_kind(self, value):
        if value not in CheckKind.values:
            raise serializers.ValidationError(_listing(CheckKind.values))
        return value

    def validate_severity(self, value):
        if value not in Severity.values:
            raise serializers.ValidationError(_listing(Severity.values))
        return value

    def validate(self, attrs):
        attrs = super().validate(attrs)
        kind = attrs.get("kind", getattr(self.instance, "kind", CheckKind.HTTP))
        target = attrs.get("target", getattr(self.instance, "target", ""))
        if "kind" in attrs or "target" in attrs:
            error = target_error(kind, target)
            if error:
                raise serializers.ValidationError({"target": error})
        timeout = attrs.get("timeout_seconds", getattr(self.instance, "timeout_seconds", None))
        interval = attrs.get("interval_seconds", getattr(self.instance, "interval_seconds", None))
        if timeout and interval and timeout >= interval:
            raise serializers.ValidationError({"timeout_seconds": "Must be shorter than interval_seconds."})
        return attrs


class StormSerializer(serializers.ModelSerializer):
    source_name = serializers.CharField(source="source.name", read_only=True)

    class Meta:
        model = Storm
        fields = [
            "id",
            "source",
            "source_name",
            "started_at",
            "ended_at",
            "last_busy_at",
            "peak_per_minute",
            "events",
            "group",
        ]
        read_only_fields = fields


class GroupAssignSerializer(serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(),
        allow_null=True,
        required=False,
        help_text="A user id; null: nobody.",
    )
    assignment_group = serializers.PrimaryKeyRelatedField(
        queryset=SupportGroup.objects.all(), allow_null=True, required=False, help_text="A support group id."
    )


class EventSerializer(serializers.ModelSerializer):
    """A normalised event with the raw event it came from (``raw_payload``: as the source posted it;
    null once the raw event has expired)."""

    raw_payload = serializers.JSONField(source="raw.payload", read_only=True, allow_null=True)
    rule_name = serializers.CharField(source="rule.name", read_only=True, allow_null=True)
    severity = serializers.CharField(read_only=True, help_text=_listing(Severity.values))
    state = serializers.CharField(read_only=True, help_text=_listing(EventState.values))
    classification = serializers.CharField(read_only=True, help_text=_listing(Classification.values))

    class Meta:
        model = Event
        fields = [
            "id",
            "raw",
            "resource",
            "check_name",
            "severity",
            "state",
            "classification",
            "value",
            "message",
            "labels",
            "occurred_at",
            "received_at",
            "dedup_key",
            "rule",
            "rule_name",
            "raw_payload",
        ]
        read_only_fields = fields
