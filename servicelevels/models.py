"""Service levels: calendars, SLA policies, escalation policies, and the clocks they run.

A clock counts business time towards one target (respond, resolve, update) of one record. Its
deadline is stored and indexed; the sweep reads clocks whose ``next_check_at`` is due. Everything a
clock goes through (start, pause, resume, threshold, breach, escalation step, policy change, met)
is a ``ClockEvent`` row with a unique key per clock, so nothing is recorded or sent twice.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse

from itsm.models import Record, RecordQuerySet


def _valid_zone(value: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(f"'{value}' is not a time zone name (e.g. Europe/Berlin).") from error


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class Calendar(Record):
    """Business hours per weekday, a time zone and holidays. ``is_24x7`` ignores hours and holidays."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[_valid_zone])
    is_24x7 = models.BooleanField("24x7", default=False)
    holiday_country = models.CharField(
        max_length=2, blank=True, help_text="ISO country code to generate public holidays from, e.g. DE."
    )
    holiday_subdivision = models.CharField(
        max_length=10, blank=True, help_text="Region within the country, e.g. BY (Bavaria) or NY."
    )
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("admin:servicelevels_calendar_change", args=[self.pk])


class BusinessHours(models.Model):
    """One working range of a weekday in the calendar's local time (several per day allowed)."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField(null=True, blank=True, help_text="Empty: until midnight.")

    class Meta:
        ordering = ["calendar", "weekday", "start"]
        verbose_name_plural = "business hours"

    def __str__(self) -> str:
        end = self.end.strftime("%H:%M") if self.end else "24:00"
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{end}"

    def clean(self):
        if self.end is not None and self.end <= self.start:
            raise ValidationError({"end": "The range must end after it starts (leave empty for midnight)."})


class Holiday(models.Model):
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100)
    generated = models.BooleanField(default=False, help_text="Generated from the country's public holidays.")

    class Meta:
        ordering = ["calendar", "date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="one_holiday_per_date")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class EscalationPolicy(Record):
    """Ordered steps run at a threshold or at breach of a clock."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "escalation policies"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("admin:servicelevels_escalationpolicy_change", args=[self.pk])


class StepAction(models.TextChoices):
    NOTIFY_ASSIGNEE = "notify_assignee", "Notify the assignee"
    NOTIFY_GROUP = "notify_group", "Notify the assignment group"
    NOTIFY_MANAGER = "notify_manager", "Notify the group's manager"
    NOTIFY_USERS = "notify_users", "Notify named people"
    REASSIGN = "reassign", "Reassign to another group"
    RAISE_PRIORITY = "raise_priority", "Raise the priority by one"


class EscalationStep(models.Model):
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(default=10)
    at_percent = models.PositiveSmallIntegerField(
        help_text="Percentage of the target elapsed that triggers the step (100 = at breach)."
    )
    delay_minutes = models.PositiveIntegerField(default=0, help_text="Wait this long after the trigger.")
    action = models.CharField(max_length=20, choices=StepAction.choices)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    group = models.ForeignKey(
        "people.SupportGroup",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="For reassign: the group that takes over.",
    )
    repeat_every_minutes = models.PositiveIntegerField(null=True, blank=True)
    max_repeats = models.PositiveSmallIntegerField(
        default=0, help_text="How many times it repeats (0: once only)."
    )

    class Meta:
        ordering = ["policy", "order", "id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.at_percent}%"

    def clean(self):
        if self.action == StepAction.REASSIGN and self.group_id is None:
            raise ValidationError({"group": "Reassigning needs the group that takes over."})
        if self.at_percent == 0 or self.at_percent > 1000:
            raise ValidationError({"at_percent": "Between 1 and 1000 percent."})
        if self.max_repeats and not self.repeat_every_minutes:
            raise ValidationError({"repeat_every_minutes": "Say how often it repeats."})


class Target(models.TextChoices):
    RESPONSE = "response", "Time to respond"
    RESOLUTION = "resolution", "Time to resolve"
    UPDATE = "update", "Time between updates"


def _default_thresholds() -> list[int]:
    return [50, 75, 90]


def _default_pause() -> list[str]:
    return ["on_hold:awaiting_user", "on_hold:awaiting_supplier"]


class SLAPolicy(Record):
    """Targets for the records that match its conditions; the first active policy by order wins.

    An empty condition matches everything. Conditions are matched against the facts a record's app
    passes in (``servicelevels.services.Facts``), never against the record's model: this app does
    not know incidents (or, later, service requests). ``pause_on`` lists ``status`` or ``status:reason``
    values of the record that stop the clocks (default: on hold awaiting the user or a supplier).
    """

    name = models.CharField(max_length=100, unique=True)
    order = models.PositiveSmallIntegerField(default=100)
    is_active = models.BooleanField(default=True)
    priorities = ArrayField(models.PositiveSmallIntegerField(), blank=True, default=list)
    channels = ArrayField(models.CharField(max_length=10), blank=True, default=list)
    services = models.ManyToManyField(
        "configuration.ConfigurationItem",
        blank=True,
        related_name="sla_policies",
        limit_choices_to={"ci_class__is_service": True},
    )
    categories = ArrayField(
        models.CharField(max_length=200),
        blank=True,
        default=list,
        help_text='Category names as the record shows them, e.g. "Network" or "Network › VPN".',
    )
    organisations = models.ManyToManyField("people.Organisation", blank=True, related_name="sla_policies")
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="policies")
    response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    update_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Longest time between public updates while open."
    )
    pause_on = ArrayField(models.CharField(max_length=40), blank=True, default=_default_pause)
    warning_percents = ArrayField(models.PositiveSmallIntegerField(), blank=True, default=_default_thresholds)
    escalation_policy = models.ForeignKey(
        EscalationPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="sla_policies"
    )
    notify_24x7 = models.BooleanField(
        default=False, help_text="Send warnings and escalations outside the calendar's hours too."
    )

    class Meta:
        ordering = ["order", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("admin:servicelevels_slapolicy_change", args=[self.pk])

    def clean(self):
        if not (self.response_minutes or self.resolution_minutes or self.update_minutes):
            raise ValidationError("Set at least one target (response, resolution or update).")
        if any(p <= 0 or p >= 100 for p in self.warning_percents or []):
            raise ValidationError({"warning_percents": "Warnings are percentages between 1 and 99."})

    def minutes_for(self, target: str) -> int | None:
        return {
            Target.RESPONSE: self.response_minutes,
            Target.RESOLUTION: self.resolution_minutes,
            Target.UPDATE: self.update_minutes,
        }[target]


class ClockState(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    MET = "met", "Met"
    CANCELLED = "cancelled", "Cancelled"


class ClockQuerySet(RecordQuerySet):
    def visible_to(self, user):
        """A clock is visible to whoever may see its record."""
        from django.db.models import Exists, OuterRef

        rows = self.none()
        for content_type_id in self.values_list("content_type_id", flat=True).distinct().order_by():
            model = ContentType.objects.get_for_id(content_type_id).model_class()
            visible = model._default_manager.visible_to(user).filter(pk=OuterRef("object_id"))
            rows = rows | self.filter(content_type_id=content_type_id).filter(Exists(visible))
        return rows


class Clock(models.Model):
    """Business time counted towards one target of one record.

    While running, ``deadline`` = the calendar's ``add(running_since, target_seconds -
    elapsed_seconds)``; pausing adds the business time since ``running_since`` to ``elapsed_seconds``
    and clears ``running_since``, so a pause moves the deadline by the paused business time only.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    target = models.CharField(max_length=12, choices=Target.choices)
    policy = models.ForeignKey(SLAPolicy, on_delete=models.PROTECT, related_name="clocks")
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="clocks")
    target_seconds = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=ClockState.choices, default=ClockState.RUNNING)
    started_at = models.DateTimeField()
    running_since = models.DateTimeField(null=True, blank=True)
    elapsed_seconds = models.FloatField(default=0, help_text="Business seconds counted before running_since.")
    deadline = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    # The facts last seen, kept for reporting and breach prediction (no link to the record's app).
    group = models.ForeignKey(
        "people.SupportGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    priority = models.PositiveSmallIntegerField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = ClockQuerySet.as_manager()

    class Meta:
        ordering = ["content_type", "object_id", "target"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "target"],
                condition=Q(state__in=["running", "paused"]),
                name="one_live_clock_per_target",
            )
        ]
        indexes = [
            models.Index(fields=["next_check_at"], condition=Q(state="running"), name="clock_due_idx"),
            models.Index(fields=["content_type", "object_id"], name="clock_record_idx"),
            models.Index(
                fields=["deadline"],
                condition=Q(state__in=["running", "paused"]),
                name="clock_live_deadline_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_target_display()} of {self.content_type.model} {self.object_id}"

    @property
    def is_breached(self) -> bool:
        return self.breached_at is not None

    @property
    def is_live(self) -> bool:
        return self.state in (ClockState.RUNNING, ClockState.PAUSED)

    def elapsed_at(self, now: datetime.datetime, schedule) -> float:
        """Business seconds counted up to ``now``."""
        if self.state == ClockState.RUNNING and self.running_since is not None:
            return self.elapsed_seconds + schedule.business_seconds(self.running_since, now)
        return self.elapsed_seconds


class EventKind(models.TextChoices):
    STARTED = "started", "Started"
    PAUSED = "paused", "Paused"
    RESUMED = "resumed", "Resumed"
    THRESHOLD = "threshold", "Warning threshold reached"
    BREACHED = "breached", "Breached"
    ESCALATION = "escalation", "Escalation step"
    POLICY_CHANGED = "policy_changed", "Policy changed"
    MET = "met", "Met"
    CANCELLED = "cancelled", "Cancelled"


class ClockEvent(models.Model):
    """Something that happened to a clock. ``key`` (e.g. ``threshold:75``, ``step:3:1``) is unique per
    clock when set: a second sweep, a redelivered task or a second beat cannot record it again."""

    clock = models.ForeignKey(Clock, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    key = models.CharField(max_length=50, blank=True)
    at = models.DateTimeField(help_text="When it happened (for a threshold: when it was due).")
    recorded_at = models.DateTimeField(auto_now_add=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["clock", "at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["clock", "key"], condition=~Q(key=""), name="clock_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"
