"""Incident management: incidents, their reference data (categories, priority matrix, routing rules,
intake scripts) and what happens to them (status periods, assignment hops, swarms, reviews).

Every write goes through ``incidents.services``; these classes hold data and visibility only.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse

from configuration.choices import Environment
from incidents.choices import (
    OPEN_STATUSES,
    Channel,
    ConfirmationState,
    HoldReason,
    HopKind,
    Impact,
    Priority,
    QuestionKind,
    ResolutionCode,
    Status,
    Urgency,
)
from itsm import roles
from itsm.models import NumberedRecord, Record, RecordQuerySet
from itsm.search import search_vector

OPEN = Q(status__in=OPEN_STATUSES)


class CategoryQuerySet(RecordQuerySet):
    def visible_to(self, user):
        # Categories are reference data every signed-in user picks from (the portal too).
        return self if user.is_authenticated else self.none()


class Category(Record):
    """A category of incident, in a two-level tree: a category and its subcategories."""

    name = models.CharField(max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    description = models.CharField(max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(default=100)
    is_active = models.BooleanField(default=True)

    objects = CategoryQuerySet.as_manager()

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="unique_category_name_per_parent", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        return f"{self.parent.name} › {self.name}" if self.parent_id else self.name

    def clean(self):
        if self.parent_id and self.parent.parent_id:
            raise ValidationError(
                {"parent": "Categories have two levels: a subcategory cannot have children."}
            )
        if self.pk and self.parent_id == self.pk:
            raise ValidationError({"parent": "A category cannot be its own parent."})

    def get_absolute_url(self) -> str:
        return reverse("admin:incidents_category_change", args=[self.pk])


class PriorityMatrixEntry(models.Model):
    """One cell of the impact x urgency matrix. The priority of an incident is read from it."""

    impact = models.PositiveSmallIntegerField(choices=Impact.choices)
    urgency = models.PositiveSmallIntegerField(choices=Urgency.choices)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)

    class Meta:
        ordering = ["impact", "urgency"]
        verbose_name = "priority matrix cell"
        verbose_name_plural = "priority matrix"
        constraints = [models.UniqueConstraint(fields=["impact", "urgency"], name="unique_matrix_cell")]

    def __str__(self) -> str:
        return f"impact {self.impact} x urgency {self.urgency} = P{self.priority}"


class RoutingRule(Record):
    """Sends new incidents without a group to a support group. Rules are tried in order; every
    condition set on a rule must hold (category, service, CI class of an affected CI, keyword)."""

    name = models.CharField(max_length=100)
    order = models.PositiveSmallIntegerField(default=100)
    is_active = models.BooleanField(default=True)
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="routing_rules",
        help_text="Matches the category or any of its subcategories.",
    )
    service = models.ForeignKey(
        "configuration.ConfigurationItem",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="routing_rules",
        limit_choices_to={"ci_class__is_service": True},
    )
    ci_class = models.ForeignKey(
        "configuration.CIClass",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="routing_rules",
        help_text="Matches when an affected CI is of this class.",
    )
    keywords = models.CharField(
        max_length=300,
        blank=True,
        help_text="Comma-separated words; matches when any appears in the short description or description.",
    )
    assignment_group = models.ForeignKey(
        "people.SupportGroup", on_delete=models.CASCADE, related_name="routing_rules"
    )

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if not (self.category_id or self.service_id or self.ci_class_id or self.keywords.strip()):
            raise ValidationError(
                "A routing rule needs at least one condition (category, service, CI class or keywords)."
            )

    def get_absolute_url(self) -> str:
        return reverse("admin:incidents_routingrule_change", args=[self.pk])

    @property
    def keyword_list(self) -> list[str]:
        return [word.strip().lower() for word in self.keywords.split(",") if word.strip()]


class IntakeQuestion(models.Model):
    """A question of a category's intake script, asked when an incident is logged (desk or portal).

    A question may lead straight to a known fix: when the answer equals ``fix_on_answer``, the
    ``fix_text`` is suggested to the agent (and to the user in the portal).
    """

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveSmallIntegerField(default=100)
    text = models.CharField(max_length=300)
    kind = models.CharField(max_length=10, choices=QuestionKind.choices, default=QuestionKind.TEXT)
    choices = models.JSONField(
        default=list, blank=True, help_text='For "one of a list": the answers offered.'
    )
    required = models.BooleanField(default=False)
    help_text = models.CharField(max_length=300, blank=True)
    fix_on_answer = models.CharField(
        max_length=200,
        blank=True,
        help_text='The answer that suggests the known fix (e.g. "no" or a choice).',
    )
    fix_text = models.TextField(blank=True, help_text="The fix suggested when that answer is given.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category", "order", "id"]

    def __str__(self) -> str:
        return self.text

    def clean(self):
        if self.kind == QuestionKind.CHOICE and not self.choices:
            raise ValidationError({"choices": "A one-of-a-list question needs its answers."})
        if self.fix_on_answer and not self.fix_text.strip():
            raise ValidationError({"fix_text": "Say what the fix is for that answer."})


class IncidentQuerySet(RecordQuerySet):
    def visible_to(self, user):
        """Who sees which incident.

        * the security team sees every incident;
        * other staff see every incident except security incidents (unless they raised it);
        * an end user sees the incidents they raised, and those shared with them (watchers) that are
          not security incidents.
        """
        if user is None or not user.is_authenticated:
            return self.none()
        held = roles.roles_of(user)
        if roles.SECURITY in held:
            return self
        if held & roles.STAFF_ROLES:
            return self.filter(Q(is_security=False) | Q(caller=user))
        watched = Incident.watchers.through.objects.filter(incident_id=OuterRef("pk"), user_id=user.pk)
        return self.filter(Q(caller=user) | (Q(is_security=False) & Exists(watched)))

    def open(self):
        return self.filter(OPEN)


class Incident(NumberedRecord):
    """An unplanned interruption to a service, or reduction in its quality (ITIL 4, 5.2.5)."""

    number_prefix = "INC"

    short_description = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    symptoms = models.TextField(blank=True)
    # caller and service: no index of their own; incident_caller_idx and incident_service_idx
    # (column, id DESC) serve their look-ups and their deletions' SET NULL.
    caller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="incidents_raised",
        db_index=False,
    )
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=50, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.AGENT)
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incidents",
        limit_choices_to={"parent__isnull": True},
    )
    subcategory = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sub_incidents",
        limit_choices_to={"parent__isnull": False},
    )
    service = models.ForeignKey(
        "configuration.ConfigurationItem",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="service_incidents",
        limit_choices_to={"ci_class__is_service": True},
        db_index=False,
    )
    cis = models.ManyToManyField(
        "configuration.ConfigurationItem", blank=True, related_name="incidents", verbose_name="affected CIs"
    )
    environment = models.CharField(max_length=20, choices=Environment.choices, default=Environment.PRODUCTION)
    impact = models.PositiveSmallIntegerField(choices=Impact.choices, default=Impact.MINOR)
    urgency = models.PositiveSmallIntegerField(choices=Urgency.choices, default=Urgency.MEDIUM)
    priority = models.PositiveSmallIntegerField(
        choices=Priority.choices, default=Priority.LOW, editable=False
    )
    assignment_group = models.ForeignKey(
        "people.SupportGroup", null=True, blank=True, on_delete=models.PROTECT, related_name="incidents"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="incidents_assigned",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW, editable=False)
    hold_reason = models.CharField(max_length=20, choices=HoldReason.choices, blank=True, editable=False)
    resolution_code = models.CharField(
        max_length=30, choices=ResolutionCode.choices, blank=True, editable=False
    )
    resolution_notes = models.TextField(blank=True, editable=False)
    confirmation = models.CharField(
        max_length=15, choices=ConfirmationState.choices, blank=True, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    # Milestones (set by the services, never by hand).
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    responded_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolved_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Deadlines, written by the service-level engine (indexed for "due first" queues).
    response_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolve_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Improvement measures [INC-11].
    reassignment_count = models.PositiveIntegerField(default=0, editable=False)
    reopen_count = models.PositiveIntegerField(default=0, editable=False)
    first_contact_resolution = models.BooleanField(default=False, editable=False)
    # Supplier escalation.
    supplier = models.ForeignKey(
        "people.Supplier",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incidents",
        editable=False,
    )
    supplier_reference = models.CharField(max_length=100, blank=True, editable=False)
    # Links between incidents.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children", editable=False
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates", editable=False
    )
    # Major incidents [INC-4].
    is_major = models.BooleanField(default=False, editable=False)
    major_declared_at = models.DateTimeField(null=True, blank=True, editable=False)
    major_declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    major_reason = models.TextField(blank=True, editable=False)
    incident_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    update_cadence_minutes = models.PositiveIntegerField(null=True, blank=True, editable=False)
    last_public_update_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Information security incidents: visible only to the security team and the caller.
    is_security = models.BooleanField(default=False, editable=False)
    # Intake script answers: [{"question": id, "text": "...", "answer": "..."}].
    intake_answers = models.JSONField(default=list, blank=True, editable=False)
    watchers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="watched_incidents")

    search_vector = models.GeneratedField(
        expression=search_vector(
            ("number", "A"),
            ("short_description", "A"),
            ("description", "B"),
            ("symptoms", "B"),
            ("resolution_notes", "C"),
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    history_exclude = frozenset(
        {
            "id",
            "created_at",
            "updated_at",
            "version",
            "search_vector",
            "status_changed_at",
            "last_public_update_at",
        }
    )

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            GinIndex(fields=["search_vector"], name="incident_search_idx"),
            # Queues read open incidents only: partial indexes stay small at a million rows
            # (PERFORMANCE.md: 111 ms -> 0.37 ms for a group queue page).
            models.Index(
                fields=["assignment_group", "priority", "id"], condition=OPEN, name="incident_open_group_idx"
            ),
            models.Index(
                fields=["assignee", "priority", "id"], condition=OPEN, name="incident_open_assignee_idx"
            ),
            # A group's queue filtered by status (e.g. its on-hold incidents) in priority order: without
            # it the planner sorted the whole group's rows (66 ms -> 0.13 ms at a million; bench/incidents).
            models.Index(
                fields=["assignment_group", "status", "priority", "id"],
                condition=OPEN,
                name="incident_open_group_status_idx",
            ),
            models.Index(fields=["priority", "id"], condition=OPEN, name="incident_open_idx"),
            models.Index(
                fields=["priority", "id"],
                condition=OPEN & Q(assignee__isnull=True),
                name="incident_unassigned_idx",
            ),
            models.Index(fields=["id"], condition=OPEN & Q(is_major=True), name="incident_open_major_idx"),
            models.Index(fields=["resolve_due_at"], condition=OPEN, name="incident_open_due_idx"),
            models.Index(fields=["caller", "-id"], name="incident_caller_idx"),
            models.Index(fields=["service", "-id"], name="incident_service_idx"),
            models.Index(fields=["status", "resolved_at"], name="incident_status_resolved_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.short_description}"

    @property
    def record_label(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("incidents:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def internal_visible_to(self, user) -> bool:
        """Work notes and internal files: staff, but on a security incident only the security team."""
        if self.is_security:
            return roles.has_role(user, roles.SECURITY)
        return roles.is_staff_role(user)

    def redact_history(self, changes: list, user) -> None:
        """Whoever may not read the internal parts (the caller of a security incident) sees no
        change history: who was assigned, escalated or told is internal."""
        if not self.internal_visible_to(user):
            changes.clear()


class StatusPeriod(models.Model):
    """A stretch of time an incident spent in one status (with the group holding it): time in each
    state [INC-11] and the pause intervals the SLA clocks read."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="status_periods")
    status = models.CharField(max_length=20, choices=Status.choices)
    hold_reason = models.CharField(max_length=20, choices=HoldReason.choices, blank=True)
    assignment_group = models.ForeignKey(
        "people.SupportGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["incident", "started_at", "id"]
        indexes = [models.Index(fields=["incident", "started_at"], name="status_period_incident_idx")]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.status} from {self.started_at:%Y-%m-%d %H:%M}"


class AssignmentHop(models.Model):
    """A change of who holds an incident: routing, assignment, functional or hierarchical
    escalation, or escalation to a supplier, with the reason."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="hops")
    kind = models.CharField(max_length=15, choices=HopKind.choices)
    from_group = models.ForeignKey(
        "people.SupportGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_group = models.ForeignKey(
        "people.SupportGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    supplier = models.ForeignKey(
        "people.Supplier", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["incident", "at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.incident_id}"


class SwarmMember(models.Model):
    """A participant of a major incident's swarm, from any group, with their role in it."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="swarm")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(
        "people.SupportGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    role = models.CharField(max_length=100, help_text="E.g. network lead, communications, DBA.")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["incident", "added_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "user"],
                condition=Q(removed_at__isnull=True),
                name="one_active_swarm_seat",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class PostIncidentReview(Record):
    """The review of a major incident after its resolution: what happened, impact, timeline,
    causes and actions; and whether a problem should be opened to find the root cause."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="review")
    what_happened = models.TextField()
    impact = models.TextField(blank=True)
    timeline_summary = models.TextField(blank=True)
    causes = models.TextField(blank=True)
    actions = models.TextField(blank=True, help_text="One action per line: what, who, by when.")
    lessons = models.TextField(blank=True)
    problem_requested = models.BooleanField(
        default=False, help_text="Open a problem to find and remove the root cause."
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = RecordQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Review of {self.incident.number}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:review", args=[self.incident_id])


class SavedView(models.Model):
    """A queue filter an agent saved under a name (the query string of the queue page)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_incident_views"
    )
    name = models.CharField(max_length=100)
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="unique_saved_view_name")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("incidents:queue") + (f"?{self.query}" if self.query else "")


class SatisfactionResponseQuerySet(RecordQuerySet):
    def visible_to(self, user):
        """Staff see every answer (managers measure them); a caller sees their own."""
        if user is None or not user.is_authenticated:
            return self.none()
        if roles.roles_of(user) & roles.STAFF_ROLES:
            return self
        return self.filter(respondent=user)


class SatisfactionResponse(models.Model):
    """The caller's satisfaction with one resolution of their incident: a rating from 1 (very
    dissatisfied) to 5 (very satisfied) and an optional comment [INC-10]. One answer per resolution
    (``resolved_at`` names it): an incident reopened and resolved again may be rated again.
    Group and service are copied from the incident when it is answered, so satisfaction by group
    and service stays what it was when the user answered."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="satisfaction")
    respondent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="satisfaction_responses"
    )
    resolved_at = models.DateTimeField(help_text="The resolution this answer is about.")
    rating = models.PositiveSmallIntegerField(
        choices=[(1, "1 - very dissatisfied"), (2, "2"), (3, "3"), (4, "4"), (5, "5 - very satisfied")]
    )
    comment = models.TextField(blank=True)
    assignment_group = models.ForeignKey(
        "people.SupportGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    service = models.ForeignKey(
        "configuration.ConfigurationItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = SatisfactionResponseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "resolved_at"], name="one_answer_per_resolution"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="satisfaction_rating_1_5"),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 for {self.incident_id}"
