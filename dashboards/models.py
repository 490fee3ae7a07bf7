"""The dashboards' summary table: one narrow row per incident with what the managers' figures count,
maintained incrementally by ``services.facts_refresh`` (Celery beat) from the incidents, their SLA
clocks, status periods, callers and problem links.

Reading a million wide incident rows (text, search vectors) for every aggregate costs 0.1-1 s; these
rows are ~150 bytes and indexed for the dashboards' filters, so each aggregate reads only them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

OPEN = ("new", "in_progress", "on_hold")


# The medians over long ranges are read as the middle rows of these (value, instant) indexes
# (``queries._ranked_median``): an index-only scan instead of sorting up to a million values.
RANKED = [
    ("seconds_new", ["created_at"], "new"),
    ("seconds_in_progress", ["created_at"], "progress"),
    ("seconds_on_hold", ["created_at"], "hold"),
    ("respond_seconds", ["created_at", "responded_at"], "respond"),
    ("response_business_seconds", ["created_at", "responded_at"], "response"),
    ("resolve_seconds", ["resolved_at"], "resolve"),
    ("resolution_business_seconds", ["resolved_at"], "resolution"),
]


class SLAState(models.TextChoices):
    NONE = "", "No clock"
    MET = "met", "Met"
    BREACHED = "breached", "Breached"
    RUNNING = "running", "Running"


class IncidentFact(models.Model):
    """What the dashboards count of one incident, as of ``refreshed_at``. SLA states and business
    times are read from the incident's clocks (never recomputed); time in each status from its
    status periods (wall-clock, open periods up to the refresh)."""

    incident = models.OneToOneField(
        "incidents.Incident", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True)
    resolved_at = models.DateTimeField(null=True)
    # When it stopped being open: resolved_at, or closed_at of a cancelled incident.
    done_at = models.DateTimeField(null=True)
    status = models.CharField(max_length=20)
    priority = models.PositiveSmallIntegerField()
    group_id = models.BigIntegerField(null=True)
    assignee_id = models.BigIntegerField(null=True)
    service_id = models.BigIntegerField(null=True)
    category_id = models.BigIntegerField(null=True)
    caller_id = models.BigIntegerField(null=True)
    organisation_id = models.BigIntegerField(null=True)
    channel = models.CharField(max_length=10)
    is_major = models.BooleanField(default=False)
    is_security = models.BooleanField(default=False)
    reopen_count = models.PositiveIntegerField(default=0)
    reassignment_count = models.PositiveIntegerField(default=0)
    first_contact_resolution = models.BooleanField(default=False)
    has_problem = models.BooleanField(default=False)
    response_state = models.CharField(max_length=10, choices=SLAState.choices, blank=True)
    response_due = models.DateTimeField(null=True)
    response_business_seconds = models.FloatField(null=True)
    resolution_state = models.CharField(max_length=10, choices=SLAState.choices, blank=True)
    resolution_due = models.DateTimeField(null=True)
    resolution_business_seconds = models.FloatField(null=True)
    seconds_new = models.FloatField(default=0)
    seconds_in_progress = models.FloatField(default=0)
    seconds_on_hold = models.FloatField(default=0)
    # Wall-clock seconds to respond and to resolve (their medians read indexes ordered by them).
    respond_seconds = models.FloatField(null=True)
    resolve_seconds = models.FloatField(null=True)
    refreshed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["created_at"], name="fact_created_idx"),
            models.Index(
                fields=["resolved_at"], condition=Q(resolved_at__isnull=False), name="fact_resolved_idx"
            ),
            models.Index(fields=["group_id", "created_at"], name="fact_group_created_idx"),
            models.Index(fields=["service_id", "created_at"], name="fact_service_created_idx"),
            models.Index(fields=["organisation_id", "created_at"], name="fact_org_created_idx"),
            models.Index(fields=["priority", "created_at"], name="fact_priority_created_idx"),
            models.Index(
                fields=["group_id", "assignee_id", "priority"],
                condition=Q(status__in=OPEN),
                name="fact_open_idx",
            ),
            models.Index(fields=["done_at"], name="fact_done_idx"),
            # The open backlog (by group, assignee, age, priority) read by index-only scans.
            models.Index(
                fields=["group_id", "priority", "created_at"],
                include=["assignee_id", "is_security", "caller_id", "resolution_state", "incident_id"],
                condition=Q(status__in=OPEN),
                name="fact_open_cover_idx",
            ),
            models.Index(fields=["created_at"], condition=Q(is_major=True), name="fact_major_idx"),
            # A person's own security incidents, added to the rollup's figures for them.
            models.Index(
                fields=["caller_id"], condition=Q(is_security=True), name="fact_security_caller_idx"
            ),
            models.Index(
                fields=["response_due"], condition=Q(response_state="running"), name="fact_response_due_idx"
            ),
            # Predicted breaches read the running resolution clocks due first (most open incidents
            # have none running: breached, paused or met); 470 ms -> under 1 ms at a million.
            models.Index(
                fields=["resolution_due"],
                condition=Q(resolution_state="running"),
                name="fact_running_due_idx",
            ),
            *[
                models.Index(
                    fields=[field],
                    include=[*instants, "group_id", "priority", "is_security", "caller_id"],
                    condition=Q(**{f"{field}__isnull": False}),
                    name=f"fact_rank_{short}_idx",
                )
                for field, instants, short in RANKED
            ],
        ]

    def __str__(self) -> str:
        return f"facts of incident {self.incident_id}"


class DailyRollup(models.Model):
    """The facts summed per local day, group, priority and security flag (``dashboards.rollup``):
    what the long ranges read instead of a million facts. Counts of the incidents logged that day
    unless named otherwise (``resolved*``: resolved that day; ``done``: stopped being open that day);
    seconds are sums (means = sum / count). Rewritten from the facts, day by day, by the refresh."""

    day = models.DateField()
    group_id = models.BigIntegerField(null=True)
    priority = models.PositiveSmallIntegerField()
    is_security = models.BooleanField()
    logged = models.PositiveIntegerField(default=0)
    response_met = models.PositiveIntegerField(default=0)
    response_breached = models.PositiveIntegerField(default=0)
    response_running = models.PositiveIntegerField(default=0)
    resolution_met = models.PositiveIntegerField(default=0)
    resolution_breached = models.PositiveIntegerField(default=0)
    resolution_running = models.PositiveIntegerField(default=0)
    resolved_now = models.PositiveIntegerField(default=0)
    first_contact = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    problem_linked = models.PositiveIntegerField(default=0)
    portal = models.PositiveIntegerField(default=0)
    hops_0 = models.PositiveIntegerField(default=0)
    hops_1 = models.PositiveIntegerField(default=0)
    hops_2 = models.PositiveIntegerField(default=0)
    hops_3 = models.PositiveIntegerField(default=0)
    hops_4 = models.PositiveIntegerField(default=0)
    hops_5 = models.PositiveIntegerField(default=0)  # five or more
    seconds_new = models.DecimalField(max_digits=24, decimal_places=3, default=0)
    seconds_in_progress = models.DecimalField(max_digits=24, decimal_places=3, default=0)
    seconds_on_hold = models.DecimalField(max_digits=24, decimal_places=3, default=0)
    responded = models.PositiveIntegerField(default=0)
    respond_seconds = models.DecimalField(max_digits=24, decimal_places=3, default=0)
    response_clocked = models.PositiveIntegerField(default=0)
    response_business = models.DecimalField(max_digits=24, decimal_places=3, default=0)
    resolved = models.PositiveIntegerField(default=0)
    resolve_seconds = models.DecimalField(max_digits=24, decimal_places=3, default=0)
    resolution_clocked = models.PositiveIntegerField(default=0)
    resolution_business = models.DecimalField(max_digits=24, decimal_places=3, default=0)
    done = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "group_id", "priority", "is_security"],
                nulls_distinct=False,
                name="rollup_key",
            )
        ]

    def __str__(self) -> str:
        return f"rollup of {self.day} group {self.group_id} P{self.priority}"


class DailyVolume(models.Model):
    """Incidents logged per local day and category or service (``key_id`` None: without one), and
    security flag, with their SLA outcomes: the trends' volumes and SLA by service over long ranges
    (``dashboards.rollup.volumes``) when no group, priority, service or organisation filter applies.
    Rewritten from the facts with ``DailyRollup``, day by day."""

    day = models.DateField()
    dimension = models.CharField(max_length=10)  # "category" or "service"
    key_id = models.BigIntegerField(null=True)
    is_security = models.BooleanField()
    logged = models.PositiveIntegerField()
    response_met = models.PositiveIntegerField(default=0)
    response_breached = models.PositiveIntegerField(default=0)
    resolution_met = models.PositiveIntegerField(default=0)
    resolution_breached = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "dimension", "key_id", "is_security"], nulls_distinct=False, name="volume_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.dimension} {self.key_id} on {self.day}"


class PendingFact(models.Model):
    """An incident changed since its facts were last written (queued by the ``incident_changed``
    receiver in the writing transaction, so no change is missed; drained by the refresh)."""

    incident_id = models.BigIntegerField(primary_key=True)
    queued_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"incident {self.incident_id} pending"


class RefreshState(models.Model):
    """One row: when the facts were last brought up to date (shown on every dashboard)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    refreshed_at = models.DateTimeField(null=True)
    full_rebuild_at = models.DateTimeField(null=True)
    rows_last_run = models.PositiveIntegerField(default=0)
    seconds_last_run = models.FloatField(default=0)
    # Median business seconds to resolve per "group:priority" over 90 days, with the sample size
    # (breach prediction); recomputed by the refresh every MEDIANS_EVERY, not by a page.
    resolution_medians = models.JSONField(default=dict, blank=True)
    medians_at = models.DateTimeField(null=True)
    # The time zone whose local days the rollup counts in (a new TIME_ZONE rebuilds it).
    rollup_time_zone = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"facts refreshed at {self.refreshed_at}"
