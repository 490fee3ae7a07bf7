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
            # Predicted breaches read the running resolution clocks due first (most open incidents
            # have none running: breached, paused or met); 470 ms -> under 1 ms at a million.
            models.Index(
                fields=["resolution_due"],
                condition=Q(resolution_state="running"),
                name="fact_running_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"facts of incident {self.incident_id}"


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

    def __str__(self) -> str:
        return f"facts refreshed at {self.refreshed_at}"
