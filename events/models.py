"""Event management: sources and their tokens, raw and normalised events, alerts, alert groups,
rules and maintenance windows (ITIL 4, 5.2.7).

Raw events are what a source posted, kept as received; processing turns each into a normalised
``Event``, deduplicates events into ``Alert``s by dedup key, and correlates alerts into
``AlertGroup``s (one per failing CI, with the alerts of dependent CIs as symptoms), which open and
resolve incidents.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from events.choices import (
    AlertState,
    CheckKind,
    Classification,
    EventState,
    RawEventOutcome,
    Severity,
    SourceKind,
)
from itsm.models import Record, RecordQuerySet

TOKEN_PREFIX_LENGTH = 12


def hash_token(token: str) -> str:
    """The sha256 of a source token, as stored (the token itself is never kept)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return "evt_" + secrets.token_urlsafe(32)


class EventSource(Record):
    """A monitoring tool that posts events, with its ingestion token (stored as a sha256 hash; the
    first characters are kept to recognise it), how its payload maps to ours, and its limits."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=SourceKind.choices, default=SourceKind.GENERIC)
    description = models.TextField(blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=TOKEN_PREFIX_LENGTH, editable=False)
    token_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_revoked = models.BooleanField(default=False, help_text="A revoked source's token is refused (401).")
    field_mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text='Our field -> a dotted path in the posted event, e.g. {"resource": "host.name", '
        '"check": "service"}. Unmapped fields are read under their own names.',
    )
    ci_lookup_label = models.CharField(
        max_length=100,
        default="instance",
        blank=True,
        help_text="Label whose value identifies the CI when an event names none (e.g. instance, host).",
    )
    ci_lookup_scheme = models.SlugField(
        max_length=30,
        default="hostname",
        help_text="CMDB identifier scheme that label's value is, e.g. hostname.",
    )
    dedup_fields = models.JSONField(
        default=list,
        blank=True,
        help_text='Fields whose values make the dedup key when an event gives none, e.g. ["resource", '
        '"check"] or ["resource", "check", "label.job"]. Empty: resource and check.',
    )
    max_batch_size = models.PositiveIntegerField(
        default=1000, help_text="Most events in one request (413 above).", validators=[MinValueValidator(1)]
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        default=0, help_text="Most events accepted per minute (0: no limit); above it requests get 429."
    )
    resolve_incident_on_clear = models.BooleanField(
        default=True, help_text="Resolve the incident when every alert of its group has cleared."
    )
    warning_opens_incident = models.BooleanField(
        default=False,
        help_text="Warnings from this source also open a low-priority incident (exceptions always do).",
    )
    storm_threshold_per_minute = models.PositiveIntegerField(
        default=0,
        help_text="Above this many events in a minute the source is in storm mode: its new alerts join "
        "one storm group and operators are told; nothing is refused (0: never).",
    )
    storm_quiet_minutes = models.PositiveIntegerField(
        default=5,
        validators=[MinValueValidator(1)],
        help_text="A storm ends after this many minutes without a minute over the threshold.",
    )
    storm_notify_group = models.ForeignKey(
        "people.SupportGroup",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Told when a storm starts and ends (default: the managers).",
    )

    history_exclude = Record.history_exclude | {"token_hash"}

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("admin:events_eventsource_change", args=[self.pk])

    def set_token(self, token: str) -> None:
        self.token_hash = hash_token(token)
        self.token_prefix = token[:TOKEN_PREFIX_LENGTH]


class RawEvent(models.Model):
    """An event as a source posted it, written in the request's transaction before the 202.

    ``idempotency_key`` is the sender's key or one derived from the dedup key, time and state, unique
    per source: a retried delivery is recognised, never counted twice.
    """

    source = models.ForeignKey(EventSource, on_delete=models.PROTECT, related_name="raw_events")
    received_at = models.DateTimeField()
    payload = models.JSONField()
    idempotency_key = models.CharField(max_length=200)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=RawEventOutcome.choices, blank=True, default="")
    error = models.TextField(blank=True, default="")

    objects = RecordQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "idempotency_key"], name="events_raw_idempotency"),
        ]
        indexes = [
            # The sweeper's scan: only rows not processed yet (small, whatever the table's size).
            models.Index(
                fields=["id"], name="events_raw_unprocessed_idx", condition=Q(processed_at__isnull=True)
            ),
            BrinIndex(fields=["received_at"], name="events_raw_received_brin"),  # retention's scan
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.idempotency_key}"


class Event(models.Model):
    """A normalised event: what changed state, where, how badly, and the alert it counted towards."""

    source = models.ForeignKey(EventSource, on_delete=models.PROTECT, related_name="events")
    raw = models.OneToOneField(
        RawEvent,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="event",
        help_text="Empty once the raw event has expired (EVENTS_RAW_RETENTION_DAYS).",
    )
    resource = models.CharField(max_length=255, blank=True)
    ci = models.ForeignKey(
        "configuration.ConfigurationItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
    )
    check_name = models.CharField(max_length=255, blank=True, help_text="The check or metric.")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    state = models.CharField(max_length=10, choices=EventState.choices)
    classification = models.CharField(max_length=15, choices=Classification.choices)
    value = models.FloatField(null=True, blank=True)
    message = models.TextField(blank=True)
    labels = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    dedup_key = models.CharField(max_length=255)
    alert = models.ForeignKey(
        "Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    rule = models.ForeignKey("Rule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = RecordQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["source", "occurred_at"], name="events_event_source_time_idx"),
            # Statistics and retention scan by receipt time; BRIN: tiny, and next to free on insert.
            BrinIndex(fields=["received_at"], name="events_event_received_brin"),
        ]

    def __str__(self) -> str:
        return f"{self.resource} {self.check_name} {self.state}"


class AlertGroup(models.Model):
    """Alerts that are one situation: those on one CI (its ``anchor``), plus, as symptoms, alerts on
    CIs that depend on it. The group opens at most one incident; ``probable_cause`` is its first alert
    on the anchor CI."""

    anchor = models.CharField(
        max_length=300, help_text='"ci:<id>", or "resource:<source>:<name>" without a CI.'
    )
    ci = models.ForeignKey(
        "configuration.ConfigurationItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    service = models.ForeignKey(
        "configuration.ConfigurationItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=300)
    state = models.CharField(max_length=10, choices=AlertState.choices, default=AlertState.OPEN)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    last_alert_at = models.DateTimeField()
    probable_cause = models.ForeignKey(
        "Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="alert_groups"
    )
    suppressed = models.BooleanField(
        default=False, help_text="Opened during a maintenance window (no incident while it lasts)."
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    silenced_until = models.DateTimeField(
        null=True, blank=True, help_text="Until then the group opens no incident and notifies no one."
    )
    silenced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The operator looking into it.",
    )
    assignment_group = models.ForeignKey(
        "people.SupportGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    incident_from_warning = models.BooleanField(
        default=False,
        help_text="Its incident is a warning's low-priority one: raised once when an exception joins.",
    )

    objects = RecordQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # One open group per anchor: concurrent first alerts on a CI share it (get-or-create).
            models.UniqueConstraint(
                fields=["anchor"], condition=Q(state=AlertState.OPEN), name="events_group_one_open_per_anchor"
            ),
        ]
        indexes = [
            models.Index(fields=["ci"], name="events_group_open_ci_idx", condition=Q(state=AlertState.OPEN)),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("events:console") + f"#group-{self.pk}"

    def is_silenced(self, now) -> bool:
        return self.silenced_until is not None and self.silenced_until > now


class Alert(models.Model):
    """Events with one dedup key while it is open: first and last seen, how many, the last value.
    A clear event closes it; the next firing event opens a new one."""

    source = models.ForeignKey(EventSource, on_delete=models.PROTECT, related_name="alerts")
    dedup_key = models.CharField(max_length=255)
    resource = models.CharField(max_length=255, blank=True)
    check_name = models.CharField(max_length=255, blank=True, help_text="The check or metric.")
    ci = models.ForeignKey(
        "configuration.ConfigurationItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
    )
    severity = models.CharField(max_length=10, choices=Severity.choices)
    classification = models.CharField(max_length=15, choices=Classification.choices)
    state = models.CharField(max_length=10, choices=AlertState.choices, default=AlertState.OPEN)
    message = models.TextField(blank=True)
    labels = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=1)
    last_value = models.FloatField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    group = models.ForeignKey(
        AlertGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    is_symptom = models.BooleanField(default=False, help_text="Joined the group of a CI it depends on.")

    objects = RecordQuerySet.as_manager()

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            # Race-free deduplication: one open alert per source and key (upserted ON CONFLICT).
            models.UniqueConstraint(
                fields=["source", "dedup_key"],
                condition=Q(state=AlertState.OPEN),
                name="events_alert_one_open_per_key",
            ),
        ]
        indexes = [models.Index(fields=["group"], name="events_alert_group_idx")]

    def __str__(self) -> str:
        return f"{self.resource} {self.check_name}".strip() or self.dedup_key

    def get_absolute_url(self) -> str:
        return reverse("events:console") + (f"#group-{self.group_id}" if self.group_id else "")


class Rule(Record):
    """An ordered event rule. Every set condition must hold; for each action the first matching rule
    (by ``order``) that sets it wins, and a matching drop rule drops the event."""

    name = models.CharField(max_length=100)
    order = models.PositiveIntegerField(default=100)
    is_active = models.BooleanField(default=True)
    match_source = models.ForeignKey(
        EventSource, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    match_labels = models.JSONField(
        default=dict,
        blank=True,
        help_text='Labels that must have these values, e.g. {"env": "test"}; "*": present.',
    )
    match_ci_class = models.ForeignKey(
        "configuration.CIClass",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The event's CI is of this class or one below it.",
    )
    match_check = models.CharField(max_length=255, blank=True, help_text="The check or metric name, exactly.")
    value_above = models.FloatField(null=True, blank=True, help_text="Matches when the value is above this.")
    value_below = models.FloatField(null=True, blank=True, help_text="Matches when the value is below this.")
    set_classification = models.CharField(max_length=15, choices=Classification.choices, blank=True)
    set_severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    set_dedup_key = models.CharField(
        max_length=255,
        blank=True,
        help_text="Template, e.g. {resource}:{check} or {label.job}:{check}; fields: source, resource, check, ci, label.<name>.",
    )
    drop = models.BooleanField(default=False, help_text="Ignore matching events (kept as raw events only).")
    open_incident_on_warning = models.BooleanField(
        default=False, help_text="Matching events classified as warnings open a low-priority incident."
    )

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("admin:events_rule_change", args=[self.pk])


class MaintenanceWindow(Record):
    """A period in which events on its CIs (and on CIs of its services) are recorded but open no incident."""

    name = models.CharField(max_length=200)
    reason = models.TextField(blank=True)
    cis = models.ManyToManyField(
        "configuration.ConfigurationItem",
        related_name="maintenance_windows",
        help_text="CIs or services under maintenance.",
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["ends_at", "starts_at"], name="events_window_time_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="events_window_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("admin:events_maintenancewindow_change", args=[self.pk])


class Check(Record):
    """An active check on a CI: an HTTP(S) GET expecting a status, or a TCP connect, run by beat every
    ``interval_seconds`` (``events.checks``). A failure is a firing event on the CI through the same
    pipeline as posted events; the first success after it, a clear."""

    ci = models.ForeignKey("configuration.ConfigurationItem", on_delete=models.CASCADE, related_name="checks")
    name = models.CharField(max_length=100, help_text="The check's name on its events, e.g. http or smtp.")
    kind = models.CharField(max_length=10, choices=CheckKind.choices, default=CheckKind.HTTP)
    target = models.CharField(
        max_length=500, help_text="HTTP: the URL (http:// or https://). TCP: host:port, e.g. db-01:5432."
    )
    expected_status = models.PositiveSmallIntegerField(
        default=200,
        validators=[MinValueValidator(100), MaxValueValidator(599)],
        help_text="HTTP: the status a healthy target answers.",
    )
    interval_seconds = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(10), MaxValueValidator(86400)]
    )
    timeout_seconds = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    severity = models.CharField(
        max_length=10, choices=Severity.choices, default=Severity.CRITICAL, help_text="Of a failure's event."
    )
    enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(
        null=True, blank=True, help_text="When beat runs it next (empty: now)."
    )
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_ok = models.BooleanField(null=True, blank=True, editable=False, help_text="Empty: never run.")
    last_result = models.CharField(max_length=500, blank=True, editable=False)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True, editable=False)

    history_exclude = Record.history_exclude | {
        "next_run_at",
        "last_run_at",
        "last_ok",
        "last_result",
        "last_duration_ms",
    }

    class Meta:
        ordering = ["ci_id", "name", "id"]
        constraints = [models.UniqueConstraint(fields=["ci", "name"], name="events_check_one_name_per_ci")]
        indexes = [
            # The runner's scan: enabled checks by when they are due.
            models.Index(fields=["next_run_at"], name="events_check_due_idx", condition=Q(enabled=True)),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.target})"

    def get_absolute_url(self) -> str:
        return reverse("admin:events_check_change", args=[self.pk])

    def clean(self) -> None:
        from events.checks import target_error

        error = target_error(self.kind, self.target)
        if error:
            raise ValidationError({"target": error})


class EventRate(models.Model):
    """Events received from a source in one minute, counted by processing for sources with a storm
    threshold (one upsert per batch); storm detection reads it. Expired with the raw events."""

    source = models.ForeignKey(EventSource, on_delete=models.CASCADE, related_name="+")
    minute = models.DateTimeField()
    events = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "minute"], name="events_rate_one_per_minute")
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.minute:%Y-%m-%d %H:%M}: {self.events}"


class Storm(models.Model):
    """A period in which a source sent more events a minute than its ``storm_threshold_per_minute``:
    its new alerts join one storm group instead of one group each, and operators are told when it
    starts and ends. Ends ``storm_quiet_minutes`` after the last busy minute."""

    source = models.ForeignKey(EventSource, on_delete=models.CASCADE, related_name="storms")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    last_busy_at = models.DateTimeField(help_text="The end of the last minute over the threshold.")
    peak_per_minute = models.PositiveIntegerField(default=0)
    events = models.PositiveIntegerField(default=0, help_text="Events received from the source during it.")
    group = models.ForeignKey(AlertGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = RecordQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source"], condition=Q(ended_at__isnull=True), name="events_storm_one_open_per_source"
            ),
        ]

    def __str__(self) -> str:
        return f"Storm from {self.source} since {self.started_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("events:console")
