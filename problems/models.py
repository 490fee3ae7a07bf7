"""Problem management (ITIL 4, 5.2.8): problems, workarounds, known errors, their use on incidents,
error control (fix options, fix proposals, re-assessments), candidates proposed from recurring
incidents and repeated alerts, and the continual improvement register.

Every write goes through ``problems.services``; these classes hold data and visibility only.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.urls import reverse

from itsm import roles
from itsm.models import NumberedRecord, Record, RecordQuerySet
from itsm.search import search_vector
from problems.choices import (
    KE_OPEN_STATUSES,
    OPEN_STATUSES,
    CandidateRule,
    CandidateStatus,
    Decision,
    FixOptionStatus,
    FixProposalStatus,
    FixRisk,
    ImprovementStatus,
    KnownErrorStatus,
    Level,
    Outcome,
    RiskScale,
    Source,
    Status,
)

USER = settings.AUTH_USER_MODEL


class RiskLevelQuerySet(RecordQuerySet):
    def visible_to(self, user):
        # Reference data staff pick from; end users have no use for it.
        return self if roles.is_staff_role(user) else self.none()


class RiskLevel(Record):
    """One step of a risk scale (impact or probability). A problem's risk is impact x probability
    of the steps chosen; the scales are reference data, edited in the admin [PRB-3]."""

    scale = models.CharField(max_length=12, choices=RiskScale.choices)
    value = models.PositiveSmallIntegerField(help_text="The number multiplied into the risk.")
    label = models.CharField(max_length=50)
    description = models.CharField(max_length=300, blank=True)

    objects = RiskLevelQuerySet.as_manager()

    class Meta:
        ordering = ["scale", "value"]
        constraints = [models.UniqueConstraint(fields=["scale", "value"], name="unique_risk_level")]

    def __str__(self) -> str:
        return f"{self.value} - {self.label}"

    def get_absolute_url(self) -> str:
        return reverse("admin:problems_risklevel_change", args=[self.pk])


class Problem(NumberedRecord):
    """A cause, or potential cause, of one or more incidents (ITIL 4, 5.2.8)."""

    number_prefix = "PRB"

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=25, choices=Status.choices, default=Status.NEW, editable=False)
    source = models.CharField(max_length=25, choices=Source.choices, default=Source.PROACTIVE)
    category = models.ForeignKey(
        "incidents.Category",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="problems",
        limit_choices_to={"parent__isnull": True},
    )
    services = models.ManyToManyField(
        "configuration.ConfigurationItem",
        blank=True,
        related_name="service_problems",
        limit_choices_to={"ci_class__is_service": True},
        verbose_name="affected services",
    )
    cis = models.ManyToManyField(
        "configuration.ConfigurationItem", blank=True, related_name="problems", verbose_name="affected CIs"
    )
    incidents = models.ManyToManyField(
        "incidents.Incident", through="ProblemIncident", related_name="problems", blank=True
    )
    problem_manager = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="problems_managed"
    )
    assignment_group = models.ForeignKey(
        "people.SupportGroup", null=True, blank=True, on_delete=models.PROTECT, related_name="problems"
    )
    impact = models.ForeignKey(
        RiskLevel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"scale": RiskScale.IMPACT},
    )
    probability = models.ForeignKey(
        RiskLevel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"scale": RiskScale.PROBABILITY},
    )
    risk = models.PositiveSmallIntegerField(default=0, editable=False, help_text="Impact x probability.")
    # Problem control across the four dimensions of service management [PRB-4].
    analysis_people = models.TextField("organisations and people", blank=True)
    analysis_technology = models.TextField("information and technology", blank=True)
    analysis_partners = models.TextField("partners and suppliers", blank=True)
    analysis_value_streams = models.TextField("value streams and processes", blank=True)
    root_cause = models.TextField(blank=True)
    contributing_causes = models.TextField(
        blank=True, help_text="Causes of the incidents' duration and impact too."
    )
    resolution_notes = models.TextField(blank=True, editable=False)
    closure_notes = models.TextField(blank=True, editable=False)
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolved_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolved_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)

    search_vector = models.GeneratedField(
        expression=search_vector(
            ("number", "A"),
            ("title", "A"),
            ("description", "B"),
            ("root_cause", "B"),
            ("contributing_causes", "C"),
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    # Linked incidents are recorded by their own history rows (a problem may have hundreds).
    history_exclude = frozenset(
        {"id", "created_at", "updated_at", "version", "search_vector", "status_changed_at", "incidents"}
    )

    objects = RecordQuerySet.as_manager()

    class Meta:
        ordering = ["-risk", "-id"]
        indexes = [
            GinIndex(fields=["search_vector"], name="problem_search_idx"),
            models.Index(
                fields=["risk", "id"], condition=Q(status__in=OPEN_STATUSES), name="problem_open_risk_idx"
            ),
            models.Index(fields=["status", "-risk"], name="problem_status_risk_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def record_label(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("problems:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ProblemIncident(models.Model):
    """An incident linked to a problem, with who linked it and when. ``is_cause``: the problem caused it
    (resolving the problem may resolve it); otherwise it is only related."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="incident_links")
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="problem_links")
    is_cause = models.BooleanField(default=True, help_text="This problem caused the incident.")
    linked_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["problem", "-linked_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["problem", "incident"], name="unique_problem_incident")
        ]
        indexes = [models.Index(fields=["incident"], name="problem_incident_incident_idx")]

    def __str__(self) -> str:
        return f"{self.problem_id} <- {self.incident_id}"


class KnownErrorQuerySet(RecordQuerySet):
    """Staff see every known error (``visible_to``, the kernel's default): its record, files, timeline
    and search hits are theirs. End users get only the published text, through ``published_for``."""

    def published_for(self, user):
        """Published, open known errors for anyone signed in (the portal); callers expose only their
        number, title and user-facing text (``queries.published_known_errors``)."""
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(publish_to_portal=True, status__in=KE_OPEN_STATUSES)


class KnownError(NumberedRecord):
    """A problem that has been analysed but not resolved: its faulty components, the symptoms it shows,
    its root cause and workarounds, the permanent fix options, and when it is next re-assessed [PRB-5]."""

    number_prefix = "KE"

    title = models.CharField(max_length=200)
    problem = models.ForeignKey(
        Problem, null=True, blank=True, on_delete=models.PROTECT, related_name="known_errors"
    )
    status = models.CharField(
        max_length=15, choices=KnownErrorStatus.choices, default=KnownErrorStatus.ACTIVE, editable=False
    )
    symptoms = models.TextField(help_text="How it shows itself: what users and monitoring see.")
    root_cause = models.TextField(blank=True)
    category = models.ForeignKey(
        "incidents.Category",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="known_errors",
        limit_choices_to={"parent__isnull": True},
    )
    cis = models.ManyToManyField(
        "configuration.ConfigurationItem", blank=True, related_name="known_errors", verbose_name="faulty CIs"
    )
    services = models.ManyToManyField(
        "configuration.ConfigurationItem",
        blank=True,
        related_name="service_known_errors",
        limit_choices_to={"ci_class__is_service": True},
        verbose_name="affected services",
    )
    supplier = models.ForeignKey(
        "people.Supplier", null=True, blank=True, on_delete=models.PROTECT, related_name="known_errors"
    )
    supplier_reference = models.CharField(max_length=100, blank=True)
    owner = models.ForeignKey(
        USER,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="known_errors_owned",
        help_text="Told when the known error is due for re-assessment.",
    )
    assignment_group = models.ForeignKey(
        "people.SupportGroup", null=True, blank=True, on_delete=models.PROTECT, related_name="known_errors"
    )
    reassessment_interval_days = models.PositiveSmallIntegerField(default=90)
    next_reassessment_on = models.DateField(null=True, blank=True)
    publish_to_portal = models.BooleanField(
        default=False, help_text="End users may find the user-facing text."
    )
    public_text = models.TextField(
        "user-facing text",
        blank=True,
        help_text="What end users read in the portal: symptoms and what to do.",
    )
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    resolved_at = models.DateTimeField(null=True, blank=True, editable=False)

    search_vector = models.GeneratedField(
        expression=search_vector(
            ("number", "A"), ("title", "A"), ("symptoms", "A"), ("root_cause", "B"), ("public_text", "C")
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    objects = KnownErrorQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            GinIndex(fields=["search_vector"], name="known_error_search_idx"),
            models.Index(
                fields=["next_reassessment_on"],
                condition=Q(status__in=KE_OPEN_STATUSES),
                name="known_error_reassess_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def record_label(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("problems:known-error", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in KE_OPEN_STATUSES


class Workaround(Record):
    """A way to reduce or remove an incident's impact while no full resolution exists. Recorded on a
    problem at any stage and/or on a known error; says which symptoms it applies to; reviewed after
    analysis [PRB-4]."""

    problem = models.ForeignKey(
        Problem, null=True, blank=True, on_delete=models.PROTECT, related_name="workarounds"
    )
    known_error = models.ForeignKey(
        KnownError, null=True, blank=True, on_delete=models.PROTECT, related_name="workarounds"
    )
    title = models.CharField(max_length=200)
    symptoms = models.TextField(help_text="The symptoms it applies to.")
    steps = models.TextField(help_text="What to do, step by step.")
    automatable = models.BooleanField(default=False)
    runbook_reference = models.CharField(
        max_length=300, blank=True, help_text="The runbook or script that applies it."
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    reviewed_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    reviewed_at = models.DateTimeField(null=True, blank=True, editable=False)
    review_notes = models.TextField(blank=True, editable=False)

    objects = RecordQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        if self.known_error_id:
            return reverse("problems:known-error", args=[self.known_error_id]) + f"#workaround-{self.pk}"
        return reverse("problems:detail", args=[self.problem_id]) + f"#workaround-{self.pk}"


class WorkaroundUseQuerySet(RecordQuerySet):
    def visible_to(self, user):
        # Uses are about incidents: only those on incidents the user may see.
        from incidents.models import Incident

        if not roles.is_staff_role(user):
            return self.none()
        return self.filter(incident__in=Incident.objects.visible_to(user))


class WorkaroundUse(Record):
    """A known error's workaround applied to an incident: who applied it, when, and how well it
    worked once the incident was resolved or reopened [PRB-5]."""

    known_error = models.ForeignKey(KnownError, on_delete=models.CASCADE, related_name="uses")
    workaround = models.ForeignKey(
        Workaround, null=True, blank=True, on_delete=models.SET_NULL, related_name="uses"
    )
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="workaround_uses"
    )
    applied_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    applied_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    outcome_at = models.DateTimeField(null=True, blank=True)
    outcome_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=500, blank=True)

    objects = WorkaroundUseQuerySet.as_manager()

    class Meta:
        ordering = ["-applied_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["known_error", "incident"], name="one_use_per_incident_and_ke")
        ]
        indexes = [models.Index(fields=["incident"], name="workaround_use_incident_idx")]

    def __str__(self) -> str:
        return f"{self.known_error_id} on {self.incident_id}: {self.outcome}"

    def get_absolute_url(self) -> str:
        return reverse("problems:known-error", args=[self.known_error_id]) + "#uses"


class FixOption(Record):
    """A possible permanent fix of a known error, weighed by cost, risk and benefit [PRB-6]."""

    known_error = models.ForeignKey(KnownError, on_delete=models.CASCADE, related_name="fix_options")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    cost = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="Estimated cost."
    )
    effort_days = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    risk = models.CharField(max_length=10, choices=FixRisk.choices, default=FixRisk.MEDIUM)
    benefit = models.TextField(help_text="What fixing it gains: incidents avoided, time saved, risk removed.")
    status = models.CharField(
        max_length=10, choices=FixOptionStatus.choices, default=FixOptionStatus.CANDIDATE
    )

    objects = RecordQuerySet.as_manager()

    class Meta:
        ordering = ["known_error", "id"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("problems:known-error", args=[self.known_error_id]) + "#fixes"


class FixProposal(NumberedRecord):
    """A permanent fix put forward for implementation. There is no change management app yet: the
    changes issue will convert each proposed one into a change request (``change_reference``)."""

    number_prefix = "FXP"

    known_error = models.ForeignKey(KnownError, on_delete=models.PROTECT, related_name="fix_proposals")
    fix_option = models.ForeignKey(FixOption, on_delete=models.PROTECT, related_name="proposals")
    title = models.CharField(max_length=200)
    justification = models.TextField(help_text="Why the fix is justified in cost, risk and benefit.")
    cis = models.ManyToManyField("configuration.ConfigurationItem", blank=True, related_name="+")
    status = models.CharField(
        max_length=10, choices=FixProposalStatus.choices, default=FixProposalStatus.PROPOSED, editable=False
    )
    requested_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    change_reference = models.CharField(max_length=50, blank=True, editable=False)

    objects = RecordQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("problems:known-error", args=[self.known_error_id]) + "#fixes"


class Reassessment(Record):
    """Error control's periodic look at an unresolved known error: overall impact, the cost of a
    permanent fix, how well the workaround works, and the decision [PRB-6]."""

    known_error = models.ForeignKey(KnownError, on_delete=models.CASCADE, related_name="reassessments")
    due_on = models.DateField(null=True, blank=True)
    assessed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    impact = models.TextField(help_text="Overall impact on customers since the last assessment.")
    fix_cost = models.TextField(blank=True, help_text="Availability and cost of a permanent resolution.")
    workaround_effectiveness = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        editable=False,
        help_text="The rate when assessed.",
    )
    uses_counted = models.PositiveIntegerField(default=0, editable=False)
    decision = models.CharField(max_length=20, choices=Decision.choices)
    notes = models.TextField(blank=True)
    next_reassessment_on = models.DateField(null=True, blank=True)

    objects = RecordQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Re-assessment of {self.known_error_id} on {self.created_at:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return reverse("problems:known-error", args=[self.known_error_id]) + "#reassessments"


class ProblemCandidate(Record):
    """A problem proposed by detection: recurring similar incidents, or a repeated monitoring alert.

    ``key`` names the group (anchor and theme) and is unique: a dismissed group is never proposed
    again, an open one is updated in place [PRB-2]."""

    key = models.CharField(max_length=200, unique=True)
    rule = models.CharField(max_length=20, choices=CandidateRule.choices)
    title = models.CharField(max_length=200)
    explanation = models.TextField(help_text="Why it was proposed.")
    status = models.CharField(
        max_length=10, choices=CandidateStatus.choices, default=CandidateStatus.PROPOSED, editable=False
    )
    ci = models.ForeignKey(
        "configuration.ConfigurationItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    service = models.ForeignKey(
        "configuration.ConfigurationItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    category = models.ForeignKey(
        "incidents.Category", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ci_class = models.ForeignKey(
        "configuration.CIClass", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    alert = models.ForeignKey(
        "events.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    incidents = models.ManyToManyField("incidents.Incident", blank=True, related_name="+")
    incident_count = models.PositiveIntegerField(default=0)
    alert_count = models.PositiveIntegerField(default=0)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    problem = models.ForeignKey(
        Problem, null=True, blank=True, on_delete=models.SET_NULL, related_name="candidates", editable=False
    )
    decided_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    dismiss_reason = models.CharField(max_length=500, blank=True, editable=False)
    # When the problem managers' digest listed it (``detection.send_candidate_digest``); null: not yet.
    announced_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = RecordQuerySet.as_manager()

    class Meta:
        ordering = ["-incident_count", "-id"]
        indexes = [
            models.Index(fields=["status", "-incident_count", "-id"], name="candidate_status_idx"),
            models.Index(
                fields=["id"], condition=Q(announced_at__isnull=True), name="candidate_unannounced_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("problems:candidates") + f"#candidate-{self.pk}"


class Improvement(NumberedRecord):
    """An entry of the continual improvement register, raised by a problem or known error or by hand
    [PRB-7]."""

    number_prefix = "CIR"

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    benefit = models.TextField(help_text="What it would gain.")
    benefit_level = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.MEDIUM)
    effort = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.MEDIUM)
    status = models.CharField(
        max_length=15, choices=ImprovementStatus.choices, default=ImprovementStatus.PROPOSED
    )
    owner = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="improvements"
    )
    problem = models.ForeignKey(
        Problem, null=True, blank=True, on_delete=models.SET_NULL, related_name="improvements"
    )
    known_error = models.ForeignKey(
        KnownError, null=True, blank=True, on_delete=models.SET_NULL, related_name="improvements"
    )
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    objects = RecordQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("problems:improvements") + f"#improvement-{self.pk}"


class IncidentWeekCount(models.Model):
    """A weekly rollup of incident counts for the trend page (``trends.refresh_rollup``, beat): the
    page reads the incidents created before ``refreshed_at`` from here, those created since live.

    One row per week and dimension key, split by ``is_security`` (staff outside the security team
    must not count others' security incidents) and ``unlinked`` (not linked to any problem when the
    rollup was made). ``dimension``: ``all`` (no key), ``ci``, ``category``, ``service`` (``key_a``)
    and ``pair`` (unlinked incidents by category ``key_a``, subcategory ``key_b`` and service
    ``key_c``); a ``week`` row (n = 0) marks each week the rollup covers."""

    week = models.DateField()
    dimension = models.CharField(max_length=10)
    key_a = models.BigIntegerField(null=True)
    key_b = models.BigIntegerField(null=True)
    key_c = models.BigIntegerField(null=True)
    is_security = models.BooleanField(default=False)
    unlinked = models.BooleanField(default=True)
    n = models.PositiveIntegerField()
    refreshed_at = models.DateTimeField(help_text="The rollup counts the incidents created before this.")

    class Meta:
        indexes = [models.Index(fields=["week", "dimension"], name="incident_week_count_idx")]

    def __str__(self) -> str:
        return f"{self.week} {self.dimension} {self.key_a}: {self.n}"
