"""Writers of problems (lifecycle, risk, incident links, resolving), workarounds and their use on
incidents, and the improvement register; plus the helpers ``known_errors.py`` shares.

Each function runs in one transaction, locks the row it changes (``SELECT ... FOR UPDATE``), checks
the optimistic-lock version when one is given, enforces the lifecycles in ``choices``, and writes the
change history and the timeline. Incidents are changed only through ``incidents.services``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from incidents import services as incident_services
from incidents.choices import OPEN_STATUSES as INCIDENT_OPEN_STATUSES
from incidents.choices import ResolutionCode
from incidents.choices import Status as IncidentStatus
from incidents.models import Incident
from itsm import history, notifications, roles
from itsm import services as kernel
from itsm.exceptions import ConflictError, StaleVersion, TransitionNotAllowed
from itsm.models import ChangeRecord, TimelineEntry
from problems.choices import (
    KE_OPEN_STATUSES,
    OPEN_STATUSES,
    RATED_OUTCOMES,
    TRANSITIONS,
    ImprovementStatus,
    KnownErrorStatus,
    Outcome,
    RiskScale,
    Status,
)
from problems.models import (
    Improvement,
    KnownError,
    Problem,
    ProblemIncident,
    RiskLevel,
    Workaround,
    WorkaroundUse,
)

PROBLEM_FIELDS = (
    "title",
    "description",
    "source",
    "category",
    "services",
    "cis",
    "problem_manager",
    "assignment_group",
    "impact",
    "probability",
    "analysis_people",
    "analysis_technology",
    "analysis_partners",
    "analysis_value_streams",
    "root_cause",
    "contributing_causes",
)
KNOWN_ERROR_FIELDS = (
    "title",
    "symptoms",
    "root_cause",
    "category",
    "cis",
    "services",
    "supplier",
    "supplier_reference",
    "owner",
    "assignment_group",
    "reassessment_interval_days",
    "next_reassessment_on",
    "publish_to_portal",
    "public_text",
)
WORKAROUND_FIELDS = ("title", "symptoms", "steps", "automatable", "runbook_reference", "is_active")
IMPROVEMENT_FIELDS = (
    "title",
    "description",
    "benefit",
    "benefit_level",
    "effort",
    "status",
    "owner",
    "problem",
    "known_error",
)
FIX_OPTION_FIELDS = ("title", "description", "cost", "effort_days", "risk", "benefit", "status")
# Who accepts or dismisses proposed problems, and publishes known errors to the portal.
PROBLEM_MANAGER_ROLES = (roles.MANAGER, roles.ADMIN)


# -- helpers --------------------------------------------------------------------------------------


def _lock(obj: models.Model, expected_version: int | None = None):
    locked = type(obj)._default_manager.select_for_update(of=("self",)).get(pk=obj.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(expected=expected_version, current=locked.version)
    return locked


def _actor(actor):
    return actor if actor is not None and actor.is_authenticated else None


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "the system"


def _note(record, actor, body: str, *, kind=TimelineEntry.Kind.SYSTEM, public: bool = False):
    return kernel.timeline_add(
        record=record,
        author=actor,
        kind=kind,
        visibility=TimelineEntry.Visibility.PUBLIC if public else TimelineEntry.Visibility.INTERNAL,
        body=body,
    )


def _unknown(fields: Iterable[str], allowed: Iterable[str], message: str) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), message))


def _create(model, actor, fields: dict, m2m: dict[str, Iterable] | None = None):
    """Save a new record after ``full_clean`` and write its creation to the history."""
    instance = model(**fields)
    instance.full_clean(exclude=list(m2m or {}))
    instance.save()
    for name, values in (m2m or {}).items():
        values = list(values)
        if values:
            getattr(instance, name).set(values)
    changes = {
        key: {"old": None, "new": value}
        for key, value in history.snapshot(instance).items()
        if value not in (None, "", [], {}, False)
    }
    kernel.history_record(instance=instance, actor=actor, action=ChangeRecord.Action.CREATE, changes=changes)
    return instance


def _save(instance, actor, before: dict, *, reason: str = "") -> dict:
    """Bump the version, save and write one history row for what changed since ``before``."""
    delta = history.diff(before, history.snapshot(instance))
    if not delta:
        return {}
    instance.version += 1
    instance.save()
    kernel.history_record(
        instance=instance, actor=actor, action=ChangeRecord.Action.UPDATE, changes=delta, reason=reason
    )
    return delta


def _edit(locked, actor, changes: dict, *, reason: str = "", check=None) -> dict:
    """Apply field changes (M2M as iterables) to a locked record, validate, save, record history."""
    before = history.snapshot(locked)
    m2m_names = {field.name for field in type(locked)._meta.many_to_many}
    m2m = {name: list(changes.pop(name)) for name in list(changes) if name in m2m_names}
    for name, value in changes.items():
        setattr(locked, name, value)
    if check is not None:
        check(locked)
    locked.full_clean(exclude=list(m2m_names))
    for name, values in m2m.items():
        getattr(locked, name).set(values)
    return _save(locked, actor, before, reason=reason)


# -- risk -----------------------------------------------------------------------------------------


def risk_for(impact: RiskLevel | None, probability: RiskLevel | None) -> int:
    """Risk = impact x probability (0 while either is unknown) [PRB-3]."""
    if impact is None or probability is None:
        return 0
    return impact.value * probability.value


def _check_problem(problem: Problem) -> None:
    errors = {}
    if problem.impact_id and problem.impact.scale != RiskScale.IMPACT:
        errors["impact"] = f"'{problem.impact}' is a step of the probability scale, not of impact."
    if problem.probability_id and problem.probability.scale != RiskScale.PROBABILITY:
        errors["probability"] = f"'{problem.probability}' is a step of the impact scale, not of probability."
    if problem.category_id and problem.category.parent_id is not None:
        errors["category"] = f"'{problem.category}' is a subcategory; choose its top-level category."
    manager = problem.problem_manager
    if manager is not None and (not manager.is_active or not roles.is_staff_role(manager)):
        errors["problem_manager"] = f"{_name(manager)} is not active service desk staff."
    if errors:
        raise ValidationError(errors)
    problem.risk = risk_for(problem.impact, problem.probability)


def _check_services(services: Iterable, field: str = "services") -> list:
    services = list(services)
    wrong = [ci for ci in services if not ci.ci_class.is_service]
    if wrong:
        raise ValidationError({field: f"{wrong[0].number} {wrong[0].name} is not a service."})
    return services


def recompute_risks(level: RiskLevel) -> int:
    """After a scale step's value changes (admin): the risk of the problems using it, in one UPDATE."""
    rows = Problem.objects.filter(models.Q(impact=level) | models.Q(probability=level)).filter(
        impact__isnull=False, probability__isnull=False
    )
    impact = RiskLevel.objects.filter(pk=models.OuterRef("impact_id")).values("value")[:1]
    probability = RiskLevel.objects.filter(pk=models.OuterRef("probability_id")).values("value")[:1]
    return rows.update(risk=models.Subquery(impact) * models.Subquery(probability))


# -- problems -------------------------------------------------------------------------------------


@transaction.atomic
def problem_create(
    *,
    actor,
    fields: dict[str, Any],
    incidents: Iterable[Incident] = (),
    is_cause: bool = True,
) -> Problem:
    """Log a problem with its source, scope and risk; link the incidents it is known to cause [PRB-1]."""
    fields = dict(fields)
    _unknown(fields, PROBLEM_FIELDS, "This field is set by an action, not on creation.")
    m2m = {name: fields.pop(name) for name in ("services", "cis") if name in fields}
    if "services" in m2m:
        m2m["services"] = _check_services(m2m["services"])
    problem = Problem(**fields)
    problem.status = Status.NEW
    problem.status_changed_at = timezone.now()
    problem.created_by = _actor(actor)
    _check_problem(problem)
    problem.full_clean(exclude=["services", "cis", "incidents"])
    problem.save()
    for name, values in m2m.items():
        getattr(problem, name).set(list(values))
    changes = {
        key: {"old": None, "new": value}
        for key, value in history.snapshot(problem).items()
        if value not in (None, "", [], {}, False, 0)
    }
    kernel.history_record(instance=problem, actor=actor, action=ChangeRecord.Action.CREATE, changes=changes)
    _note(
        problem, actor, f"Logged by {_name(_actor(actor))} (source: {problem.get_source_display().lower()})."
    )
    incidents = list(incidents)
    if incidents:
        problem_link_incidents(problem=problem, actor=actor, incidents=incidents, is_cause=is_cause)
    _tell_manager(problem, actor)
    return problem


def _tell_manager(problem: Problem, actor) -> None:
    """The problem manager hears that the problem is theirs (once per manager and version)."""
    manager = problem.problem_manager
    if manager is None or (actor is not None and manager.pk == actor.pk):
        return
    notifications.notify(
        [manager],
        subject=f"Problem for you: {problem.number} {problem.title}"[:200],
        body=f"{_name(_actor(actor))} made you the problem manager of {problem.number} (risk {problem.risk}).",
        record=problem,
        key=f"problem:{problem.pk}:manager:{manager.pk}:{problem.version}",
        kind="problems.assigned",
    )


@transaction.atomic
def problem_update(
    *, problem: Problem, actor, changes: dict[str, Any], expected_version: int | None = None, reason: str = ""
) -> Problem:
    """Edit a problem's own fields (scope, risk, the four-dimension analysis, causes); risk follows."""
    locked = _lock(problem, expected_version)
    if locked.status == Status.CLOSED:
        raise ConflictError(f"{locked.number} is closed; it cannot be edited.", status=locked.status)
    changes = dict(changes)
    _unknown(changes, PROBLEM_FIELDS, "This field changes through an action (transition, resolve, ...).")
    if "services" in changes:
        changes["services"] = _check_services(changes["services"])
    before_risk = locked.risk
    delta = _edit(locked, actor, changes, reason=reason, check=_check_problem)
    if locked.risk != before_risk:
        _note(locked, actor, f"Risk {before_risk} → {locked.risk} (impact x probability).")
    if "problem_manager" in delta:
        _tell_manager(locked, actor)
    return locked


@transaction.atomic
def problem_transition(
    *,
    problem: Problem,
    actor,
    to: str,
    expected_version: int | None = None,
    notes: str = "",
    reason: str = "",
    resolve_incidents: bool = False,
) -> Problem:
    """Move a problem along its lifecycle (``choices.TRANSITIONS``); 409 naming the allowed statuses.

    * known error needs the root cause recorded (an analysed problem);
    * resolved needs resolution notes: every linked open incident gets a public update, and with
      ``resolve_incidents`` those it caused are resolved (each with its own timeline entry) [PRB-8];
      its open known errors are resolved with it;
    * closed needs closure notes; reopening (resolved -> under investigation) needs a reason.
    """
    locked = _lock(problem, expected_version)
    current = locked.status
    if to not in Status.values:
        raise ValidationError({"status": f"Unknown status '{to}'. Known: {', '.join(Status.values)}."})
    if to not in TRANSITIONS[current]:
        raise TransitionNotAllowed(current=current, requested=to, allowed=TRANSITIONS[current])
    errors = {}
    if to == Status.KNOWN_ERROR and not locked.root_cause.strip():
        errors["root_cause"] = "Record the root cause first: a known error is an analysed problem."
    if to == Status.RESOLVED and not notes.strip():
        errors["notes"] = "Say how it was resolved (linked incidents' callers read this)."
    if to == Status.CLOSED and not notes.strip():
        errors["notes"] = "Say why it is closed."
    reopening = current == Status.RESOLVED and to == Status.UNDER_INVESTIGATION
    if reopening and not reason.strip():
        errors["reason"] = "Say why it is reopened."
    if errors:
        raise ValidationError(errors)

    now = timezone.now()
    before = history.snapshot(locked)
    locked.status = to
    locked.status_changed_at = now
    if to == Status.RESOLVED:
        locked.resolution_notes = notes.strip()
        locked.resolved_at = now
        locked.resolved_by = _actor(actor)
    if reopening:
        locked.resolved_at = None
        locked.resolved_by = None
    if to == Status.CLOSED:
        locked.closure_notes = notes.strip()
        locked.closed_at = now
    _save(locked, actor, before, reason=reason)
    body = f"Status: {dict(Status.choices)[current].lower()} → {dict(Status.choices)[to].lower()}."
    if reason.strip():
        body += f" {reason.strip()}"
    if notes.strip():
        body += f"\n\n{notes.strip()}"
    _note(locked, actor, body, kind=TimelineEntry.Kind.STATUS_CHANGE)
    if to == Status.RESOLVED:
        _inform_incidents(locked, actor, resolve=resolve_incidents)
        from problems.services.known_errors import known_error_transition

        for known_error in locked.known_errors.filter(status__in=KE_OPEN_STATUSES).order_by("pk"):
            known_error_transition(
                known_error=known_error,
                actor=actor,
                to=KnownErrorStatus.RESOLVED,
                reason=f"Its problem {locked.number} is resolved.",
            )
    return locked


def _inform_incidents(problem: Problem, actor, *, resolve: bool) -> dict[str, list[str]]:
    """Resolving a problem: a public update on each linked open incident; those it caused resolved."""
    done: dict[str, list[str]] = {"updated": [], "resolved": []}
    links = (
        ProblemIncident.objects.filter(problem=problem, incident__status__in=INCIDENT_OPEN_STATUSES)
        .select_related("incident")
        .order_by("incident_id")
    )
    if actor is not None:
        # Only incidents the actor may see (a security incident stays with the security team).
        links = links.filter(incident__in=Incident.objects.visible_to(actor))
    for link in links:
        incident = link.incident
        if resolve and link.is_cause:
            incident_services.incident_resolve(
                incident=incident,
                actor=actor,
                resolution_code=ResolutionCode.SOLVED_PERMANENTLY,
                resolution_notes=f"Its cause, problem {problem.number}, is resolved: {problem.resolution_notes}",
            )
            done["resolved"].append(incident.number)
        else:
            incident_services.incident_comment(
                incident=incident,
                actor=actor,
                body=f"The problem behind this incident ({problem.number}) is resolved: {problem.resolution_notes}",
                public=True,
            )
            done["updated"].append(incident.number)
    return done


@transaction.atomic
def problem_resolve_incidents(*, problem: Problem, actor) -> list[str]:
    """Resolve in one action the open incidents a resolved problem caused (each gets its entry)."""
    locked = _lock(problem)
    if locked.status not in (Status.RESOLVED, Status.CLOSED):
        raise ConflictError(f"{locked.number} is not resolved yet; resolve the problem first.")
    return _inform_incidents(locked, actor, resolve=True)["resolved"]


@transaction.atomic
def problem_link_incidents(
    *, problem: Problem, actor, incidents: Iterable[Incident], is_cause: bool = True
) -> list[ProblemIncident]:
    """Link incidents to a problem (who, when); already linked ones are left as they are. A note on
    the problem and each incident, and one history row on the problem."""
    locked = _lock(problem)
    if locked.status == Status.CLOSED:
        raise ConflictError(f"{locked.number} is closed; incidents are not linked to it any more.")
    incidents = list({incident.pk: incident for incident in incidents}.values())
    present = set(
        ProblemIncident.objects.filter(problem=locked, incident__in=incidents).values_list(
            "incident_id", flat=True
        )
    )
    new = [incident for incident in incidents if incident.pk not in present]
    rows = ProblemIncident.objects.bulk_create(
        [
            ProblemIncident(problem=locked, incident=incident, is_cause=is_cause, linked_by=_actor(actor))
            for incident in new
        ]
    )
    if not rows:
        return []
    kernel.history_record(
        instance=locked,
        actor=actor,
        action=ChangeRecord.Action.UPDATE,
        changes={"incidents": {"old": None, "new": sorted(incident.pk for incident in new)}},
        reason="Incidents linked",
    )
    numbers = ", ".join(incident.number for incident in new)
    _note(locked, actor, f"Linked incidents: {numbers}.")
    for incident in new:
        _note(incident, actor, f"Linked to problem {locked.number}: {locked.title}.")
    return rows


@transaction.atomic
def problem_unlink_incident(*, problem: Problem, actor, incident: Incident) -> None:
    locked = _lock(problem)
    deleted, _ = ProblemIncident.objects.filter(problem=locked, incident=incident).delete()
    if not deleted:
        raise ConflictError(f"{incident.number} is not linked to {locked.number}.")
    kernel.history_record(
        instance=locked,
        actor=actor,
        action=ChangeRecord.Action.UPDATE,
        changes={"incidents": {"old": [incident.pk], "new": None}},
        reason="Incident unlinked",
    )
    _note(locked, actor, f"Unlinked incident {incident.number}.")
    _note(incident, actor, f"Unlinked from problem {locked.number}.")


# -- workarounds ----------------------------------------------------------------------------------


@transaction.atomic
def workaround_create(
    *, actor, fields: dict[str, Any], problem: Problem | None = None, known_error: KnownError | None = None
) -> Workaround:
    """Record a workaround on a problem (at any stage) and/or a known error [PRB-4]."""
    _unknown(fields, WORKAROUND_FIELDS, "Not a field of a workaround.")
    if problem is None and known_error is None:
        raise ValidationError({"problem": "A workaround belongs to a problem or a known error."})
    if problem is not None and problem.status == Status.CLOSED:
        raise ConflictError(f"{problem.number} is closed.")
    if known_error is not None and problem is None:
        problem = known_error.problem
    workaround = _create(
        Workaround,
        actor,
        {**fields, "problem": problem, "known_error": known_error, "created_by": _actor(actor)},
    )
    for record in filter(None, (problem, known_error)):
        _note(record, actor, f"Workaround recorded: {workaround.title}.")
    return workaround


@transaction.atomic
def workaround_update(
    *, workaround: Workaround, actor, changes: dict[str, Any], expected_version: int | None = None
) -> Workaround:
    locked = _lock(workaround, expected_version)
    changes = dict(changes)
    _unknown(changes, WORKAROUND_FIELDS, "Not an editable field of a workaround.")
    _edit(locked, actor, changes)
    return locked


@transaction.atomic
def workaround_review(*, workaround: Workaround, actor, notes: str) -> Workaround:
    """Review a workaround once analysis is complete (the problem's root cause is known) [PRB-4]."""
    locked = _lock(workaround)
    problem = locked.problem
    if problem is not None and not problem.root_cause.strip():
        raise ConflictError(
            f"Review the workaround after analysis: {problem.number} has no root cause recorded yet."
        )
    if not notes.strip():
        raise ValidationError({"notes": "Say what the review found (kept, improved, replaced)."})
    before = history.snapshot(locked)
    locked.reviewed_by = _actor(actor)
    locked.reviewed_at = timezone.now()
    locked.review_notes = notes.strip()
    _save(locked, actor, before, reason="Reviewed")
    for record in filter(None, (locked.problem, locked.known_error)):
        _note(record, actor, f"Workaround reviewed: {locked.title}. {notes.strip()}")
    return locked


@transaction.atomic
def workaround_apply(
    *,
    known_error: KnownError,
    incident: Incident,
    actor,
    workaround: Workaround | None = None,
    note: str = "",
) -> WorkaroundUse:
    """Apply a known error's workaround to an open incident: the use is recorded (who, when), the two
    records are linked, and the steps are written to the incident as a work note. How well it worked
    is recorded when the incident is resolved or reopened (``receivers``) [PRB-5]."""
    ke = _lock(known_error)
    if ke.status not in KE_OPEN_STATUSES:
        raise ConflictError(
            f"{ke.number} is {ke.get_status_display().lower()}; its workaround is not in use."
        )
    if incident.status not in INCIDENT_OPEN_STATUSES:
        raise ConflictError(
            f"{incident.number} is {incident.get_status_display().lower()}; apply workarounds to open incidents."
        )
    if workaround is None:
        workaround = ke.workarounds.filter(is_active=True).order_by("-id").first()
    elif workaround.known_error_id != ke.pk:
        raise ValidationError({"workaround": f"That workaround is not one of {ke.number}'s."})
    if WorkaroundUse.objects.filter(known_error=ke, incident=incident).exists():
        raise ConflictError(f"{ke.number}'s workaround is already applied to {incident.number}.")
    use = WorkaroundUse.objects.create(
        known_error=ke, workaround=workaround, incident=incident, applied_by=_actor(actor), note=note[:500]
    )
    try:
        with transaction.atomic():
            kernel.link_add(source=incident, target=ke, actor=actor, kind="workaround", note=note)
    except ConflictError:
        pass  # linked already (e.g. by hand from the incident's Links section)
    steps = workaround.steps if workaround is not None else ke.symptoms
    title = workaround.title if workaround is not None else ke.title
    incident_services.incident_comment(
        incident=incident,
        actor=actor,
        body=f"Applied the workaround of known error {ke.number} ({title}):\n\n{steps}"
        + (f"\n\n{note.strip()}" if note.strip() else ""),
        public=False,
    )
    _note(ke, actor, f"Workaround applied to {incident.number} by {_name(_actor(actor))}.")
    return use


@transaction.atomic
def workaround_use_rate(*, use: WorkaroundUse, actor, outcome: str, note: str = "") -> WorkaroundUse:
    """Say how well a workaround worked on an incident (overrides what was recorded automatically)."""
    if outcome not in RATED_OUTCOMES:
        raise ValidationError({"outcome": f"One of {', '.join(RATED_OUTCOMES)}."})
    locked = WorkaroundUse.objects.select_for_update().get(pk=use.pk)
    if locked.outcome == outcome and locked.outcome_by_id == getattr(actor, "pk", None):
        return locked
    locked.outcome = outcome
    locked.outcome_at = timezone.now()
    locked.outcome_by = _actor(actor)
    if note.strip():
        locked.note = note.strip()[:500]
    locked.save()
    _note(
        locked.known_error,
        actor,
        f"Workaround on {locked.incident.number}: {locked.get_outcome_display().lower()}.",
    )
    return locked


def record_outcomes(incident: Incident, fields: frozenset[str]) -> int:
    """Called from ``incident_changed``: the pending uses of an incident that was resolved get their
    outcome (worked when resolved with the known error's workaround, else did not work); uses judged
    to have worked become "partly" when the incident is reopened. Ratings made by a person stay."""
    if "status" not in fields:
        return 0
    uses = WorkaroundUse.objects.filter(incident_id=incident.pk, outcome_by__isnull=True)
    now = timezone.now()
    if incident.status == IncidentStatus.RESOLVED:
        worked = incident.resolution_code in (ResolutionCode.KNOWN_ERROR, ResolutionCode.SOLVED_WORKAROUND)
        if incident.resolution_code in (ResolutionCode.DUPLICATE, ResolutionCode.PARENT_RESOLVED):
            return 0  # resolved through another incident: says nothing about the workaround
        return uses.filter(outcome=Outcome.PENDING).update(
            outcome=Outcome.WORKED if worked else Outcome.FAILED, outcome_at=now
        )
    if "reopen_count" in fields:
        return uses.filter(outcome=Outcome.WORKED).update(outcome=Outcome.PARTLY, outcome_at=now)
    return 0


def effectiveness(counts: dict[str, int]) -> Decimal | None:
    """Rate of a workaround from its rated uses: worked 1, partly 0.5, did not work 0."""
    rated = sum(counts.get(outcome, 0) for outcome in RATED_OUTCOMES)
    if not rated:
        return None
    score = counts.get(Outcome.WORKED, 0) + Decimal("0.5") * counts.get(Outcome.PARTLY, 0)
    return (score / rated).quantize(Decimal("0.001"))


# -- continual improvement register ---------------------------------------------------------------


@transaction.atomic
def improvement_create(*, actor, fields: dict[str, Any]) -> Improvement:
    """An entry in the continual improvement register, raised by a problem, a known error or by hand [PRB-7]."""
    _unknown(fields, IMPROVEMENT_FIELDS, "Not a field of an improvement.")
    improvement = _create(Improvement, actor, {**fields, "created_by": _actor(actor)})
    for record in filter(None, (improvement.problem, improvement.known_error)):
        _note(record, actor, f"Improvement {improvement.number} raised: {improvement.title}.")
    return improvement


@transaction.atomic
def improvement_update(
    *, improvement: Improvement, actor, changes: dict[str, Any], expected_version: int | None = None
) -> Improvement:
    locked = _lock(improvement, expected_version)
    changes = dict(changes)
    _unknown(changes, IMPROVEMENT_FIELDS, "Not an editable field of an improvement.")
    if "status" in changes and changes["status"] not in ImprovementStatus.values:
        raise ValidationError({"status": f"One of {', '.join(ImprovementStatus.values)}."})
    _edit(locked, actor, changes)
    return locked


def open_problems() -> models.QuerySet:
    return Problem.objects.filter(status__in=OPEN_STATUSES)
