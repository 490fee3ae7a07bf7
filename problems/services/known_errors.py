"""Known errors and error control: recording known errors (from an analysed problem or directly),
their lifecycle and portal publication, permanent fix options and fix proposals, and the scheduled
re-assessment [PRB-5, PRB-6]. Same conventions as ``problems.services.problems``: one transaction,
the changed row locked, history and timeline written.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from itsm import history, notifications, roles
from itsm.exceptions import ConflictError, TransitionNotAllowed
from itsm.models import TimelineEntry
from problems.choices import (
    KE_OPEN_STATUSES,
    KE_TRANSITIONS,
    Decision,
    FixOptionStatus,
    KnownErrorStatus,
    Status,
)
from problems.models import FixOption, FixProposal, KnownError, Problem, Reassessment
from problems.services.problems import (
    FIX_OPTION_FIELDS,
    KNOWN_ERROR_FIELDS,
    PROBLEM_MANAGER_ROLES,
    _actor,
    _check_services,
    _create,
    _edit,
    _lock,
    _name,
    _note,
    _save,
    _unknown,
    effectiveness,
    problem_transition,
    workaround_create,
)

# -- known errors ---------------------------------------------------------------------------------


def _check_known_error(known_error: KnownError) -> None:
    errors = {}
    if known_error.publish_to_portal and not known_error.public_text.strip():
        errors["public_text"] = "Write the user-facing text before publishing to the portal."
    if known_error.category_id and known_error.category.parent_id is not None:
        errors["category"] = f"'{known_error.category}' is a subcategory; choose its top-level category."
    if not known_error.reassessment_interval_days:
        errors["reassessment_interval_days"] = "Re-assess at least every few days (1 or more)."
    if errors:
        raise ValidationError(errors)


def _check_publisher(actor, changes: dict, current: bool = False) -> None:
    if changes.get("publish_to_portal") and not current and not roles.has_role(actor, *PROBLEM_MANAGER_ROLES):
        raise ValidationError({"publish_to_portal": "Only a manager or an admin publishes to the portal."})


@transaction.atomic
def known_error_create(
    *,
    actor,
    fields: dict[str, Any],
    problem: Problem | None = None,
    workaround: dict[str, Any] | None = None,
) -> KnownError:
    """Record a known error, from an analysed problem (its title, root cause, scope and workarounds
    are taken over where not given; the problem moves to "known error") or directly (e.g. from a
    supplier). ``workaround`` (title, symptoms, steps, ...) records a new one with it [PRB-5]."""
    fields = dict(fields)
    _unknown(fields, KNOWN_ERROR_FIELDS, "Not a field of a known error.")
    _check_publisher(actor, fields)
    if problem is not None:
        problem = _lock(problem)
        if problem.status not in (Status.UNDER_INVESTIGATION, Status.KNOWN_ERROR):
            raise ConflictError(
                f"{problem.number} is {problem.get_status_display().lower()}: a known error comes from a "
                "problem under investigation, once analysed."
            )
        if not (fields.get("root_cause") or problem.root_cause).strip():
            raise ValidationError({"root_cause": f"Record {problem.number}'s root cause first (analysis)."})
        fields.setdefault("title", problem.title)
        fields["root_cause"] = fields.get("root_cause") or problem.root_cause
        fields.setdefault("category", problem.category)
        fields.setdefault("assignment_group", problem.assignment_group)
        fields.setdefault("owner", problem.problem_manager)
        fields.setdefault("cis", list(problem.cis.all()))
        fields.setdefault("services", list(problem.services.all()))
    if not str(fields.get("symptoms", "")).strip():
        raise ValidationError({"symptoms": "Describe the symptoms it shows: incidents are matched on them."})
    m2m = {name: fields.pop(name) for name in ("cis", "services") if name in fields}
    if "services" in m2m:
        m2m["services"] = _check_services(m2m["services"])
    interval = fields.get("reassessment_interval_days") or 90
    fields.setdefault("next_reassessment_on", timezone.localdate() + datetime.timedelta(days=interval))
    candidate = KnownError(**fields, problem=problem, created_by=_actor(actor))
    _check_known_error(candidate)
    known_error = _create(KnownError, actor, {**fields, "problem": problem, "created_by": _actor(actor)}, m2m)
    if problem is not None:
        _note(problem, actor, f"Known error {known_error.number} recorded.")
        # The problem's workarounds without a known error serve this one.
        problem.workarounds.filter(known_error__isnull=True, is_active=True).update(known_error=known_error)
        if problem.status == Status.UNDER_INVESTIGATION:
            problem_transition(problem=problem, actor=actor, to=Status.KNOWN_ERROR)
    _note(
        known_error,
        actor,
        f"Recorded by {_name(_actor(actor))}" + (f" from {problem.number}." if problem else "."),
    )
    if workaround:
        try:
            workaround_create(actor=actor, fields=workaround, problem=problem, known_error=known_error)
        except ValidationError as error:
            # Name the field inside the workaround ("workaround.steps"), not the known error's own.
            raise ValidationError(
                {f"workaround.{key}": messages for key, messages in error.message_dict.items()}
            ) from error
    return known_error


@transaction.atomic
def known_error_update(
    *, known_error: KnownError, actor, changes: dict[str, Any], expected_version: int | None = None
) -> KnownError:
    """Edit a known error's fields; publishing to the portal needs a manager and a user-facing text."""
    locked = _lock(known_error, expected_version)
    changes = dict(changes)
    _unknown(changes, KNOWN_ERROR_FIELDS, "This field changes through an action.")
    _check_publisher(actor, changes, current=locked.publish_to_portal)
    if "services" in changes:
        changes["services"] = _check_services(changes["services"])
    delta = _edit(locked, actor, changes, check=_check_known_error)
    if "publish_to_portal" in delta:
        _note(
            locked,
            actor,
            "Published to the portal." if locked.publish_to_portal else "Withdrawn from the portal.",
        )
    return locked


@transaction.atomic
def known_error_transition(*, known_error: KnownError, actor, to: str, reason: str = "") -> KnownError:
    """Move a known error along its lifecycle (``choices.KE_TRANSITIONS``); 409 naming the allowed ones."""
    locked = _lock(known_error)
    current = locked.status
    if to not in KnownErrorStatus.values:
        raise ValidationError(
            {"status": f"Unknown status '{to}'. Known: {', '.join(KnownErrorStatus.values)}."}
        )
    if to not in KE_TRANSITIONS[current]:
        raise TransitionNotAllowed(current=current, requested=to, allowed=KE_TRANSITIONS[current])
    if to in (KnownErrorStatus.RETIRED,) and not reason.strip():
        raise ValidationError({"reason": "Say why it is retired."})
    before = history.snapshot(locked)
    locked.status = to
    locked.resolved_at = timezone.now() if to == KnownErrorStatus.RESOLVED else None
    if to not in KE_OPEN_STATUSES:
        locked.publish_to_portal = False
    _save(locked, actor, before, reason=reason)
    labels = dict(KnownErrorStatus.choices)
    _note(
        locked,
        actor,
        f"Status: {labels[current].lower()} → {labels[to].lower()}."
        + (f" {reason.strip()}" if reason.strip() else ""),
        kind=TimelineEntry.Kind.STATUS_CHANGE,
    )
    return locked


# -- error control: fixes and re-assessment ---------------------------------------------------------


@transaction.atomic
def fix_option_add(*, known_error: KnownError, actor, fields: dict[str, Any]) -> FixOption:
    """A permanent fix option weighed by cost, risk and benefit [PRB-6]."""
    _unknown(fields, FIX_OPTION_FIELDS, "Not a field of a fix option.")
    if known_error.status not in KE_OPEN_STATUSES:
        raise ConflictError(f"{known_error.number} is {known_error.get_status_display().lower()}.")
    option = _create(FixOption, actor, {**fields, "known_error": known_error})
    _note(known_error, actor, f"Fix option: {option.title} (cost {option.cost or '?'}, risk {option.risk}).")
    return option


@transaction.atomic
def fix_propose(*, fix_option: FixOption, actor, justification: str) -> FixProposal:
    """Put a fix option forward for implementation. Until a change management app exists this writes a
    structured fix proposal (FXP) that the changes issue will convert into a change request; the
    option is chosen and the known error becomes "permanent fix proposed"."""
    option = _lock(fix_option)
    known_error = option.known_error
    if not justification.strip():
        raise ValidationError({"justification": "Say why the fix is justified in cost, risk and benefit."})
    if known_error.status not in KE_OPEN_STATUSES:
        raise ConflictError(f"{known_error.number} is {known_error.get_status_display().lower()}.")
    if option.proposals.exclude(status="withdrawn").exists():
        raise ConflictError(f"'{option.title}' is already proposed.")
    proposal = _create(
        FixProposal,
        actor,
        {
            "known_error": known_error,
            "fix_option": option,
            "title": f"Permanent fix for {known_error.number}: {option.title}"[:200],
            "justification": justification.strip(),
            "requested_by": _actor(actor),
        },
        {"cis": list(known_error.cis.all())},
    )
    before = history.snapshot(option)
    option.status = FixOptionStatus.CHOSEN
    _save(option, actor, before, reason=f"Proposed as {proposal.number}")
    _note(known_error, actor, f"Fix proposal {proposal.number}: {option.title}.")
    if known_error.status == KnownErrorStatus.ACTIVE:
        known_error_transition(
            known_error=known_error, actor=actor, to=KnownErrorStatus.FIX_PLANNED, reason=proposal.number
        )
    return proposal


def _reassessment_people(known_error: KnownError) -> list:
    if known_error.owner is not None:
        return [known_error.owner]
    if known_error.problem is not None and known_error.problem.problem_manager is not None:
        return [known_error.problem.problem_manager]
    if known_error.assignment_group is not None:
        return list(known_error.assignment_group.members.filter(is_active=True))
    return []


def reassessments_due(*, today: datetime.date | None = None, batch: int = 500) -> int:
    """Error control's schedule (beat): tell the owners of open known errors whose re-assessment is
    due. Each due date is told once per owner (notification key), so a second run, a retry or two
    beats tell nobody twice. Returns the number of known errors due."""
    today = today or timezone.localdate()
    due = (
        KnownError.objects.filter(status__in=KE_OPEN_STATUSES, next_reassessment_on__lte=today)
        .select_related("owner", "problem__problem_manager", "assignment_group")
        .order_by("next_reassessment_on", "id")[:batch]
    )
    count = 0
    for known_error in due:
        count += 1
        with transaction.atomic():
            told = notifications.notify(
                _reassessment_people(known_error),
                subject=f"Re-assess {known_error.number}: {known_error.title}"[:200],
                body=(
                    f"{known_error.number} was due for re-assessment on {known_error.next_reassessment_on}: "
                    "its impact, the cost of a permanent fix and how well the workaround works."
                ),
                record=known_error,
                key=f"known_error:{known_error.pk}:reassess:{known_error.next_reassessment_on}",
                kind="problems.reassessment_due",
            )
            if told:
                _note(known_error, None, f"Re-assessment due (since {known_error.next_reassessment_on}).")
    return count


@transaction.atomic
def reassessment_record(
    *,
    known_error: KnownError,
    actor,
    impact: str,
    decision: str,
    fix_cost: str = "",
    notes: str = "",
    next_reassessment_on: datetime.date | None = None,
) -> Reassessment:
    """Record a re-assessment (impact, cost of a fix, the workaround's effectiveness now, decision)
    and schedule the next one; "retire" retires the known error [PRB-6]."""
    from problems.queries import use_counts

    locked = _lock(known_error)
    if locked.status not in KE_OPEN_STATUSES:
        raise ConflictError(
            f"{locked.number} is {locked.get_status_display().lower()}; nothing to re-assess."
        )
    errors = {}
    if not impact.strip():
        errors["impact"] = "Describe the overall impact since the last assessment."
    if decision not in Decision.values:
        errors["decision"] = f"One of {', '.join(Decision.values)}."
    today = timezone.localdate()
    if next_reassessment_on is not None and next_reassessment_on <= today:
        errors["next_reassessment_on"] = "The next re-assessment is a future date."
    if errors:
        raise ValidationError(errors)
    counts = use_counts([locked.pk]).get(locked.pk, {})
    following = None
    if decision != Decision.RETIRE:
        following = next_reassessment_on or today + datetime.timedelta(days=locked.reassessment_interval_days)
    reassessment = _create(
        Reassessment,
        actor,
        {
            "known_error": locked,
            "due_on": locked.next_reassessment_on,
            "assessed_by": _actor(actor),
            "impact": impact.strip(),
            "fix_cost": fix_cost.strip(),
            "workaround_effectiveness": effectiveness(counts),
            "uses_counted": sum(counts.values()),
            "decision": decision,
            "notes": notes.strip(),
            "next_reassessment_on": following,
        },
    )
    before = history.snapshot(locked)
    locked.next_reassessment_on = following
    _save(locked, actor, before, reason="Re-assessed")
    _note(
        locked,
        actor,
        f"Re-assessed: {reassessment.get_decision_display().lower()}."
        + (f" Next: {following}." if following else ""),
    )
    if decision == Decision.RETIRE:
        known_error_transition(
            known_error=locked, actor=actor, to=KnownErrorStatus.RETIRED, reason=notes or impact
        )
    return reassessment
