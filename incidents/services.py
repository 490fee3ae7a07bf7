"""Incident management's writers: every change of an incident goes through a function here, for the
agent UI, the API, the portal, Celery tasks and the event engine alike.

Each function runs in one transaction, locks the incident row (``SELECT ... FOR UPDATE``), checks
the optimistic-lock version when one is given, enforces the lifecycle in ``choices.TRANSITIONS``,
records history (``itsm.services``), the timeline, status periods and assignment hops, and sends
``incident_changed`` so that other apps (service levels, events) follow without being named here.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from incidents.choices import (
    DEFAULT_MATRIX,
    OPEN_STATUSES,
    TRANSITIONS,
    Channel,
    ConfirmationState,
    HopKind,
    QuestionKind,
    ResolutionCode,
    Status,
)
from incidents.models import (
    AssignmentHop,
    Category,
    Incident,
    IntakeQuestion,
    PostIncidentReview,
    PriorityMatrixEntry,
    RoutingRule,
    SatisfactionResponse,
    SavedView,
    StatusPeriod,
    SwarmMember,
)
from incidents.signals import incident_changed
from itsm import history, notifications, roles
from itsm import services as kernel
from itsm.exceptions import ConflictError, StaleVersion, TransitionNotAllowed
from itsm.models import Attachment, ChangeRecord, TimelineEntry
from itsm.refcache import ReferenceCache
from people.models import SupportGroup

# Fields an agent edits directly (everything else changes through an action below).
EDITABLE_FIELDS = (
    "short_description",
    "description",
    "symptoms",
    "caller",
    "contact_name",
    "contact_email",
    "contact_phone",
    "channel",
    "category",
    "subcategory",
    "service",
    "cis",
    "environment",
    "impact",
    "urgency",
    "watchers",
)
MAJOR_INCIDENT_ROLES = (roles.INCIDENT_MANAGER, roles.MANAGER, roles.ADMIN)
DEFAULT_UPDATE_CADENCE_MINUTES = 30


# -- helpers --------------------------------------------------------------------------------------


def _load_matrix() -> dict[tuple[int, int], int]:
    return {
        (impact, urgency): priority
        for impact, urgency, priority in PriorityMatrixEntry.objects.values_list(
            "impact", "urgency", "priority"
        )
    }


_matrix = ReferenceCache("priority-matrix", _load_matrix).follow([PriorityMatrixEntry])


def priority_for(impact: int, urgency: int) -> int:
    """The priority the matrix gives an impact and urgency (the shipped matrix if a cell is missing)."""
    found = _matrix.get().get((impact, urgency))
    if found is not None:
        return found
    if (impact, urgency) not in DEFAULT_MATRIX:
        raise ValidationError({"impact": f"No priority for impact {impact} and urgency {urgency}."})
    return DEFAULT_MATRIX[(impact, urgency)]


def _lock(incident: Incident, expected_version: int | None = None) -> Incident:
    locked = Incident.objects.select_for_update(of=("self",)).get(pk=incident.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(expected=expected_version, current=locked.version)
    return locked


def _require_open(incident: Incident, doing: str) -> None:
    if incident.status not in OPEN_STATUSES:
        raise ConflictError(
            f"{incident.number} is {incident.get_status_display().lower()}; it cannot be {doing}.",
            status=incident.status,
        )


def _save(incident: Incident, actor, before: dict, *, reason: str = "", fields: Iterable[str] = ()) -> dict:
    """Bump the version, save, and write one history row for what changed since ``before``."""
    after = history.snapshot(incident)
    delta = history.diff(before, after)
    if not delta:
        return {}
    incident.version += 1
    incident.save()
    kernel.history_record(
        instance=incident, actor=actor, action=ChangeRecord.Action.UPDATE, changes=delta, reason=reason
    )
    _changed(incident, actor, set(delta) | set(fields))
    return delta


def _changed(incident: Incident, actor, fields: set[str]) -> None:
    incident_changed.send(sender=Incident, incident=incident, actor=actor, fields=frozenset(fields))


def _note(incident, actor, body, *, kind=TimelineEntry.Kind.SYSTEM, public=False, fields=None, involved=()):
    return kernel.timeline_add(
        record=incident,
        author=actor,
        kind=kind,
        visibility=TimelineEntry.Visibility.PUBLIC if public else TimelineEntry.Visibility.INTERNAL,
        body=body,
        fields=fields,
        involved=involved,
    )


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "the system"


def _open_period(incident: Incident, at: datetime.datetime) -> None:
    StatusPeriod.objects.create(
        incident=incident,
        status=incident.status,
        hold_reason=incident.hold_reason,
        assignment_group=incident.assignment_group,
        started_at=at,
    )


def _close_period(incident: Incident, at: datetime.datetime) -> None:
    StatusPeriod.objects.filter(incident=incident, ended_at__isnull=True).update(ended_at=at)


def _mark_responded(incident: Incident, at: datetime.datetime) -> None:
    if incident.responded_at is None:
        incident.responded_at = at


def _check_assignee(group, assignee) -> None:
    if assignee is None:
        return
    if not assignee.is_active:
        raise ValidationError({"assignee": f"{_name(assignee)} is not an active user."})
    if not roles.is_staff_role(assignee):
        raise ValidationError({"assignee": f"{_name(assignee)} is not service desk staff."})
    if group is None:
        raise ValidationError({"assignment_group": "Choose the group before the person."})
    if not group.members.filter(pk=assignee.pk).exists():
        raise ValidationError({"assignee": f"{_name(assignee)} is not a member of {group.name}."})


def _check_classification(category, subcategory, service) -> None:
    errors = {}
    if category is not None and category.parent_id is not None:
        errors["category"] = f"'{category}' is a subcategory; choose its category and put it in subcategory."
    if subcategory is not None:
        if subcategory.parent_id is None:
            errors["subcategory"] = f"'{subcategory}' is a top-level category, not a subcategory."
        elif category is None or subcategory.parent_id != category.pk:
            errors["subcategory"] = (
                f"'{subcategory.name}' is not a subcategory of '{category or 'no category'}'."
            )
    for chosen, field in ((category, "category"), (subcategory, "subcategory")):
        if chosen is not None and not chosen.is_active and field not in errors:
            errors[field] = f"'{chosen}' is no longer in use."
    if service is not None and not service.ci_class.is_service:
        errors["service"] = (
            f"{service.number} {service.name} is not a service (it is a {service.ci_class.name})."
        )
    if errors:
        raise ValidationError(errors)


# -- routing and intake ---------------------------------------------------------------------------


def _load_routing_rules() -> list[RoutingRule]:
    return list(
        RoutingRule.objects.filter(is_active=True, assignment_group__is_active=True)
        .select_related("assignment_group")
        .order_by("order", "pk")
    )


_routing_rules = ReferenceCache("routing-rules", _load_routing_rules).follow([RoutingRule, SupportGroup])


def _load_intake_questions() -> dict[int, list[IntakeQuestion]]:
    by_category: dict[int, list[IntakeQuestion]] = {}
    for question in IntakeQuestion.objects.filter(is_active=True).select_related("category"):
        by_category.setdefault(question.category_id, []).append(question)
    return by_category


_intake_questions = ReferenceCache("intake-questions", _load_intake_questions).follow(
    [IntakeQuestion, Category]
)


@dataclass(frozen=True)
class Route:
    group: Any
    rule: RoutingRule


def route(*, category=None, subcategory=None, service=None, cis=(), text: str = "") -> Route | None:
    """The first active routing rule (by order) whose every condition holds, or ``None``."""
    categories = {c.pk for c in (category, subcategory) if c is not None}
    class_ids: set[int] = set()
    for ci in cis:
        class_ids.update(cls.pk for cls in ci.ci_class.lineage())
    words = text.lower()
    for rule in _routing_rules.get():
        if rule.category_id and rule.category_id not in categories:
            continue
        if rule.service_id and (service is None or rule.service_id != service.pk):
            continue
        if rule.ci_class_id and rule.ci_class_id not in class_ids:
            continue
        keywords = rule.keyword_list
        if keywords and not any(keyword in words for keyword in keywords):
            continue
        return Route(group=rule.assignment_group, rule=rule)
    return None


def intake_questions(category=None, subcategory=None) -> list[IntakeQuestion]:
    """The script for a classification: the category's questions, then the subcategory's."""
    ids = [c.pk for c in (category, subcategory) if c is not None]
    if not ids:
        return []
    by_category = _intake_questions.get()
    questions = [question for pk in ids for question in by_category.get(pk, ())]
    return sorted(questions, key=lambda q: (q.category.parent_id is not None, q.order, q.pk))


def check_answers(questions: list[IntakeQuestion], answers: dict) -> list[dict]:
    """Validate answers (question id -> text) against the script; return what is stored on the incident."""
    errors, stored = {}, []
    by_id = {str(question.pk): question for question in questions}
    unknown = [key for key in answers if str(key) not in by_id]
    if unknown:
        errors["answers"] = f"Not questions of this category's script: {', '.join(map(str, unknown))}."
    for question in questions:
        raw = answers.get(question.pk, answers.get(str(question.pk), ""))
        answer = str(raw).strip() if raw is not None else ""
        key = f"answer_{question.pk}"
        if not answer:
            if question.required:
                errors[key] = f"'{question.text}' needs an answer."
            continue
        if question.kind == QuestionKind.YES_NO and answer.lower() not in ("yes", "no"):
            errors[key] = f"'{question.text}': answer yes or no, not '{answer}'."
        elif question.kind == QuestionKind.CHOICE and answer not in question.choices:
            errors[key] = f"'{question.text}': '{answer}' is not one of {', '.join(question.choices)}."
        elif len(answer) > 2000:
            errors[key] = f"'{question.text}': the answer is longer than 2,000 characters."
        stored.append({"question": question.pk, "text": question.text, "answer": answer})
    if errors:
        raise ValidationError(errors)
    return stored


def suggested_fixes(questions: list[IntakeQuestion], answers: list[dict]) -> list[dict]:
    """Known fixes that the given answers lead to."""
    given = {entry["question"]: entry["answer"].lower() for entry in answers}
    return [
        {"question": question.text, "answer": given[question.pk], "fix": question.fix_text}
        for question in questions
        if question.fix_on_answer and given.get(question.pk) == question.fix_on_answer.lower()
    ]


# -- create and edit ------------------------------------------------------------------------------

_RELATIONS = [field for field in Incident._meta.get_fields() if field.is_relation and field.concrete]


@transaction.atomic
def incident_create(
    *,
    actor,
    fields: dict[str, Any],
    cis: Iterable = (),
    watchers: Iterable = (),
    answers: dict | None = None,
    is_security: bool = False,
) -> Incident:
    """Log an incident: classify, prioritise from the matrix, route when no group is given, store the
    intake answers, and open its first status period."""
    return _create(
        actor=actor, fields=fields, cis=cis, watchers=watchers, answers=answers, is_security=is_security
    )


@dataclass
class NewIncident:
    """One incident of a batch: what ``incident_create`` takes."""

    fields: dict[str, Any]
    cis: list = dataclasses.field(default_factory=list)
    watchers: list = dataclasses.field(default_factory=list)
    answers: dict | None = None
    is_security: bool = False


def check_can_batch(actor) -> None:
    """Logging incidents in batches (imports, gateways) is for service desk staff."""
    if actor is None or not roles.is_staff_role(actor):
        raise PermissionDenied("Only service desk staff log incidents in batches.")


@transaction.atomic
def incident_create_batch(*, actor, items: list[NewIncident]) -> list[Incident]:
    """Log several incidents in one transaction (an import, a gateway's backlog): each exactly as
    ``incident_create`` logs one, with one commit for all. All or none: when one is refused nothing
    is stored, and the error names it (``incidents[<index>].<field>``)."""
    check_can_batch(actor)
    created = []
    for index, item in enumerate(items):
        try:
            created.append(
                _create(
                    actor=actor,
                    fields=item.fields,
                    cis=item.cis,
                    watchers=item.watchers,
                    answers=item.answers,
                    is_security=item.is_security,
                )
            )
        except ValidationError as error:
            messages = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
            raise ValidationError(
                {
                    f"incidents[{index}]" + ("" if key == "__all__" else f".{key}"): value
                    for key, value in messages.items()
                }
            ) from error
    return created


def _create(*, actor, fields, cis, watchers, answers, is_security) -> Incident:
    """``incident_create`` inside the caller's transaction (a batch has one for all its incidents)."""
    now = timezone.now()
    fields = dict(fields)
    cis = list(cis)
    unknown = set(fields) - set(EDITABLE_FIELDS) - {"assignment_group", "assignee"}
    if unknown:
        raise ValidationError(
            dict.fromkeys(sorted(unknown), "This field is set by an action, not on creation.")
        )
    caller = fields.get("caller")
    if caller is not None:
        fields.setdefault("contact_name", "")
        fields["contact_name"] = fields["contact_name"] or _name(caller)
        fields["contact_email"] = fields.get("contact_email") or caller.email
        fields["contact_phone"] = fields.get("contact_phone") or caller.phone or caller.mobile
    _check_classification(fields.get("category"), fields.get("subcategory"), fields.get("service"))
    questions = intake_questions(fields.get("category"), fields.get("subcategory"))
    stored_answers = check_answers(questions, answers or {})

    group, assignee = fields.get("assignment_group"), fields.get("assignee")
    routed = None
    if group is None:
        routed = route(
            category=fields.get("category"),
            subcategory=fields.get("subcategory"),
            service=fields.get("service"),
            cis=cis,
            text=f"{fields.get('short_description', '')} {fields.get('description', '')}",
        )
        if routed is not None:
            fields["assignment_group"] = group = routed.group
    _check_assignee(group, assignee)

    impact, urgency = fields.get("impact"), fields.get("urgency")
    incident = Incident(**{k: v for k, v in fields.items() if k != "watchers"})
    incident.priority = priority_for(impact or incident.impact, urgency or incident.urgency)
    incident.status = Status.NEW
    incident.status_changed_at = now
    incident.created_by = actor if actor is not None and actor.is_authenticated else None
    incident.intake_answers = stored_answers
    incident.is_security = bool(is_security)
    if assignee is not None:
        incident.responded_at = now
    # Relations arrive as instances the caller already checked (serializer, form or service), and
    # the number comes from a sequence on save: no existence or uniqueness queries here.
    incident.full_clean(exclude=[field.name for field in _RELATIONS], validate_unique=False)
    incident.save()
    watcher_list = list(watchers)
    if cis:
        incident.cis.set(cis)
    if watcher_list:
        incident.watchers.set(watcher_list)
    known = {"cis": sorted(ci.pk for ci in cis), "watchers": sorted(user.pk for user in watcher_list)}
    changes = {
        key: {"old": None, "new": value}
        for key, value in history.snapshot(incident, known=known).items()
        if value not in (None, "", [], {}, False, 0)
    }
    kernel.history_record(instance=incident, actor=actor, action=ChangeRecord.Action.CREATE, changes=changes)
    _open_period(incident, now)
    if group is not None:
        AssignmentHop.objects.create(
            incident=incident,
            kind=HopKind.ROUTED if routed else HopKind.ASSIGNED,
            to_group=group,
            to_assignee=assignee,
            reason=f"Routing rule '{routed.rule.name}'" if routed else "Chosen when logged",
            actor=incident.created_by,
        )
    how = incident.get_channel_display().lower()
    body = f"Logged via {how} by {_name(incident.created_by)}."
    if routed:
        body += f" Routed to {group.name} by the rule '{routed.rule.name}'."
    _note(incident, actor, body)
    if is_security:
        _note(incident, actor, "Flagged as an information security incident when logged.")
    if assignee is not None and assignee != actor:
        _tell_assignee(incident, assignee, actor)
    _changed(incident, actor, {"created"})
    return incident


@transaction.atomic
def incident_update(
    *,
    incident: Incident,
    actor,
    changes: dict[str, Any],
    expected_version: int | None = None,
    reason: str = "",
) -> Incident:
    """Edit the fields an agent edits directly. A change of impact or urgency recomputes the priority
    from the matrix and needs a reason [INC-2]."""
    locked = _lock(incident, expected_version)
    if locked.status in (Status.CLOSED, Status.CANCELLED):
        raise ConflictError(f"{locked.number} is {locked.get_status_display().lower()}; it cannot be edited.")
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(
            dict.fromkeys(
                sorted(unknown), "This field changes through an action (assign, escalate, resolve, ...)."
            )
        )
    category = changes.get("category", locked.category)
    subcategory = changes.get("subcategory", locked.subcategory)
    moved_away = category is None or (subcategory is not None and subcategory.parent_id != category.pk)
    if "category" in changes and "subcategory" not in changes and subcategory is not None and moved_away:
        # A new category drops a subcategory that belongs to the old one.
        subcategory = changes["subcategory"] = None
    _check_classification(category, subcategory, changes.get("service", locked.service))

    before = history.snapshot(locked)
    m2m = {name: list(changes.pop(name)) for name in ("cis", "watchers") if name in changes}
    for name, value in changes.items():
        setattr(locked, name, value)
    new_priority = priority_for(locked.impact, locked.urgency)
    priority_changed = new_priority != locked.priority
    if priority_changed and not reason.strip():
        raise ValidationError(
            {"reason": f"The priority changes from P{locked.priority} to P{new_priority}: say why."}
        )
    locked.priority = new_priority
    locked.full_clean(exclude=["cis", "watchers"])
    for name, values in m2m.items():
        getattr(locked, name).set(values)
    _save(locked, actor, before, reason=reason)
    if priority_changed:
        _note(
            locked,
            actor,
            f"Priority changed from P{before['priority']} to P{new_priority}: {reason.strip()}",
        )
    return locked


# -- lifecycle ------------------------------------------------------------------------------------


@transaction.atomic
def transition(
    *,
    incident: Incident,
    actor,
    to: str,
    expected_version: int | None = None,
    hold_reason: str = "",
    resolution_code: str = "",
    resolution_notes: str = "",
    reason: str = "",
    public_note: str = "",
) -> Incident:
    """Move an incident to another status if the lifecycle allows it; 409 naming the allowed ones if not.

    * on hold needs a hold reason; resolved needs a resolution code and notes; reopening (resolved ->
      in progress) and cancelling need a reason;
    * resolving asks the caller to confirm and resolves the open children with a note on each;
    * every status change opens a new status period.
    """
    locked = _lock(incident, expected_version)
    current = locked.status
    if to not in Status.values:
        raise ValidationError({"status": f"Unknown status '{to}'. Known: {', '.join(Status.values)}."})
    if to == current and to != Status.ON_HOLD:
        raise TransitionNotAllowed(current=current, requested=to, allowed=TRANSITIONS[current])
    if to not in TRANSITIONS[current] and not (to == current == Status.ON_HOLD):
        raise TransitionNotAllowed(current=current, requested=to, allowed=TRANSITIONS[current])

    now = timezone.now()
    before = history.snapshot(locked)
    reopening = current == Status.RESOLVED and to == Status.IN_PROGRESS
    errors = {}
    if to == Status.ON_HOLD:
        from incidents.choices import HoldReason

        if hold_reason not in HoldReason.values:
            errors["hold_reason"] = f"Say why it waits: one of {', '.join(HoldReason.values)}."
        elif to == current and hold_reason == locked.hold_reason:
            raise ConflictError(
                f"{locked.number} is already on hold ({locked.get_hold_reason_display().lower()})."
            )
    if to == Status.RESOLVED:
        if resolution_code not in ResolutionCode.values:
            errors["resolution_code"] = (
                f"Choose a resolution code: one of {', '.join(ResolutionCode.values)}."
            )
        if not resolution_notes.strip():
            errors["resolution_notes"] = "Say what was done to resolve it (the caller reads this)."
    if (reopening or to == Status.CANCELLED) and not reason.strip():
        errors["reason"] = "Say why." if to == Status.CANCELLED else "Say why it is reopened."
    if errors:
        raise ValidationError(errors)

    locked.status = to
    locked.status_changed_at = now
    locked.hold_reason = hold_reason if to == Status.ON_HOLD else ""
    if current == Status.NEW and to != Status.CANCELLED:
        _mark_responded(locked, now)
    if to == Status.RESOLVED:
        locked.resolution_code = resolution_code
        locked.resolution_notes = resolution_notes.strip()
        locked.resolved_at = now
        locked.resolved_by = actor if actor is not None and actor.is_authenticated else None
        locked.confirmation = ConfirmationState.PENDING
        locked.first_contact_resolution = (
            locked.reassignment_count == 0
            and locked.reopen_count == 0
            and locked.resolved_by_id is not None
            and locked.resolved_by_id == locked.created_by_id
            and locked.channel in (Channel.PHONE, Channel.AGENT, Channel.EMAIL, Channel.PORTAL)
            and not locked.hops.exclude(kind__in=(HopKind.ROUTED, HopKind.ASSIGNED)).exists()
        )
    if reopening:
        locked.reopen_count += 1
        locked.resolved_at = None
        locked.resolved_by = None
        locked.first_contact_resolution = False
        if locked.confirmation == ConfirmationState.PENDING:
            locked.confirmation = (
                ConfirmationState.REJECTED if actor is not None and actor.pk == locked.caller_id else ""
            )
    if to == Status.CLOSED:
        locked.closed_at = now
    if to == Status.CANCELLED:
        locked.closed_at = now
    _close_period(locked, now)
    _save(locked, actor, before, reason=reason, fields={"status"})
    _open_period(locked, now)

    label = dict(Status.choices)[to].lower()
    if to == Status.ON_HOLD:
        label += f" ({locked.get_hold_reason_display().lower()})"
    body = f"Status: {dict(Status.choices)[current].lower()} → {label}."
    if reason.strip():
        body += f" {reason.strip()}"
    if public_note.strip():
        body += f"\n\n{public_note.strip()}"
    public = (
        to in (Status.RESOLVED, Status.CLOSED, Status.CANCELLED)
        or reopening
        or (to == Status.ON_HOLD and hold_reason == "awaiting_user")
    )
    if to == Status.RESOLVED:
        body += f"\n\nResolution: {locked.resolution_notes}"
    _note(locked, actor, body, kind=TimelineEntry.Kind.STATUS_CHANGE, public=public)
    if public:
        locked.last_public_update_at = now
        Incident.objects.filter(pk=locked.pk).update(last_public_update_at=now)

    if to == Status.RESOLVED:
        _tell_caller(
            locked,
            actor,
            subject=f"{locked.number} is resolved: please confirm",
            body=(
                f'We believe your incident "{locked.short_description}" is resolved:\n\n'
                f"{locked.resolution_notes}\n\nIf it is, please confirm; if not, reply and we will reopen it. "
                f"Without an answer it closes after {settings.INCIDENT_AUTO_CLOSE_DAYS} days."
            ),
            key=f"incident:{locked.pk}:resolved:{locked.version}",
        )
        _resolve_children(locked, actor)
    elif reopening:
        _tell_group(
            locked, actor, f"{locked.number} was reopened", reason.strip(), f"reopened:{locked.version}"
        )
    return locked


def _resolve_children(parent: Incident, actor) -> None:
    for child in parent.children.filter(status__in=OPEN_STATUSES).order_by("pk"):
        transition(
            incident=child,
            actor=actor,
            to=Status.RESOLVED,
            resolution_code=ResolutionCode.PARENT_RESOLVED,
            resolution_notes=f"Resolved with its parent incident {parent.number}: {parent.resolution_notes}",
        )


@transaction.atomic
def incident_start(*, incident, actor, expected_version=None) -> Incident:
    """Take it in hand (new -> in progress, or resume from on hold). A resolved incident is reopened
    with a reason (``incident_reopen``), not started: a start asked for a reason it cannot take."""
    locked = _lock(incident, expected_version)
    if locked.status == Status.RESOLVED:
        refused = TransitionNotAllowed(
            current=locked.status, requested=Status.IN_PROGRESS, allowed=TRANSITIONS[locked.status]
        )
        refused.message = f"{locked.number} is resolved; reopen it, saying why, rather than start it."
        raise refused
    return transition(incident=locked, actor=actor, to=Status.IN_PROGRESS, expected_version=expected_version)


def incident_hold(*, incident, actor, hold_reason: str, reason: str = "", expected_version=None) -> Incident:
    return transition(
        incident=incident,
        actor=actor,
        to=Status.ON_HOLD,
        hold_reason=hold_reason,
        reason=reason,
        expected_version=expected_version,
    )


def incident_resolve(
    *, incident, actor, resolution_code: str, resolution_notes: str, expected_version=None
) -> Incident:
    return transition(
        incident=incident,
        actor=actor,
        to=Status.RESOLVED,
        resolution_code=resolution_code,
        resolution_notes=resolution_notes,
        expected_version=expected_version,
    )


@transaction.atomic
def incident_reopen(*, incident, actor, reason: str, expected_version=None) -> Incident:
    """Reopen a resolved incident (resolved -> in progress). Only a resolved one: "reopening" a new or
    on-hold incident would otherwise pass as a start."""
    locked = _lock(incident, expected_version)
    if locked.status != Status.RESOLVED:
        refused = TransitionNotAllowed(
            current=locked.status, requested=Status.IN_PROGRESS, allowed=TRANSITIONS[locked.status]
        )
        refused.message = (
            f"{locked.number} is {locked.get_status_display().lower()}; only a resolved incident is reopened."
        )
        raise refused
    return transition(
        incident=locked,
        actor=actor,
        to=Status.IN_PROGRESS,
        reason=reason,
        expected_version=expected_version,
    )


def incident_close(*, incident, actor, expected_version=None, confirmed: bool = False) -> Incident:
    """Close a resolved incident; ``confirmed`` when it is the caller agreeing the resolution."""
    closed = transition(incident=incident, actor=actor, to=Status.CLOSED, expected_version=expected_version)
    if confirmed:
        Incident.objects.filter(pk=closed.pk).update(confirmation=ConfirmationState.CONFIRMED)
        closed.confirmation = ConfirmationState.CONFIRMED
    return closed


def incident_cancel(*, incident, actor, reason: str, expected_version=None) -> Incident:
    return transition(
        incident=incident, actor=actor, to=Status.CANCELLED, reason=reason, expected_version=expected_version
    )


@transaction.atomic
def incident_confirm(*, incident: Incident, actor) -> Incident:
    """The caller agrees the resolution: the incident closes [INC-10]."""
    locked = _lock(incident)
    if actor is None or actor.pk != locked.caller_id:
        raise PermissionDenied("Only the caller confirms a resolution.")
    if locked.status != Status.RESOLVED:
        raise TransitionNotAllowed(
            current=locked.status, requested=Status.CLOSED, allowed=TRANSITIONS[locked.status]
        )
    return incident_close(incident=locked, actor=actor, confirmed=True)


@transaction.atomic
def incident_reject_resolution(*, incident: Incident, actor, reason: str) -> Incident:
    """The caller says it is not resolved: the incident reopens with their reason."""
    locked = _lock(incident)
    if actor is None or actor.pk != locked.caller_id:
        raise PermissionDenied("Only the caller rejects a resolution.")
    return incident_reopen(incident=locked, actor=actor, reason=reason)


@transaction.atomic
def satisfaction_submit(*, incident: Incident, actor, rating, comment: str = "") -> SatisfactionResponse:
    """The caller rates the latest resolution of their incident, 1 to 5, with an optional comment
    [INC-10]. Once per resolution (409 on a second answer); kept with the incident's group and
    service of the moment for the managers' satisfaction figures. A rating of 1 or 2 is put before
    the assignment group's manager."""
    locked = _lock(incident)
    if actor is None or actor.pk != locked.caller_id:
        raise PermissionDenied("Only the caller rates the resolution of an incident.")
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise ValidationError({"rating": "Give a rating from 1 (very dissatisfied) to 5 (very satisfied)."})
    if locked.status not in (Status.RESOLVED, Status.CLOSED) or locked.resolved_at is None:
        raise ConflictError(
            f"{locked.number} is not resolved; its resolution can be rated once it is.", status=locked.status
        )
    if SatisfactionResponse.objects.filter(incident=locked, resolved_at=locked.resolved_at).exists():
        raise ConflictError(f"You have already rated this resolution of {locked.number}.")
    comment = (comment or "").strip()
    answer = SatisfactionResponse.objects.create(
        incident=locked,
        respondent=actor,
        resolved_at=locked.resolved_at,
        rating=rating,
        comment=comment,
        assignment_group_id=locked.assignment_group_id,
        service_id=locked.service_id,
    )
    _note(
        locked, actor, f"The caller rated the resolution {rating}/5." + (f"\n\n{comment}" if comment else "")
    )
    group = locked.assignment_group
    if rating <= 2 and group is not None and group.manager_id is not None:
        notifications.notify(
            [group.manager],
            subject=f"Low satisfaction ({rating}/5) on {locked.number} {locked.short_description}"[:200],
            body=comment or f"{_name(actor)} rated the resolution {rating}/5.",
            record=locked,
            key=f"incident:{locked.pk}:satisfaction:{answer.pk}",
        )
    return answer


def auto_close_resolved(*, now: datetime.datetime | None = None, batch: int = 500) -> int:
    """Close incidents resolved more than ``INCIDENT_AUTO_CLOSE_DAYS`` ago without an answer.

    Idempotent and safe to run on several workers: each incident is locked (SKIP LOCKED) and closed
    through the lifecycle, so a second run finds nothing to do. Returns how many were closed.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.INCIDENT_AUTO_CLOSE_DAYS)
    closed = 0
    while True:
        with transaction.atomic():
            due = list(
                Incident.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=Status.RESOLVED, resolved_at__lt=cutoff)
                .order_by("resolved_at", "pk")[:batch]
            )
            for incident in due:
                transition(
                    incident=incident,
                    actor=None,
                    to=Status.CLOSED,
                    reason=f"Closed automatically: no answer from the caller within "
                    f"{settings.INCIDENT_AUTO_CLOSE_DAYS} days of the resolution.",
                )
                Incident.objects.filter(pk=incident.pk).update(confirmation=ConfirmationState.AUTO_CLOSED)
            closed += len(due)
        if len(due) < batch:
            return closed


# -- assignment and escalation -------------------------------------------------------------------


@transaction.atomic
def incident_assign(
    *,
    incident: Incident,
    actor,
    group=None,
    assignee=None,
    reason: str = "",
    expected_version: int | None = None,
) -> Incident:
    """Give the incident to a group and/or a person of that group. A change of group is a hop
    (``reassignment_count``); the new assignee is told."""
    locked = _lock(incident, expected_version)
    _require_open(locked, "assigned")
    group = group if group is not None else locked.assignment_group
    if group is None:
        raise ValidationError({"assignment_group": "Choose a group."})
    if not group.is_active:
        raise ValidationError({"assignment_group": f"{group.name} is no longer active."})
    _check_assignee(group, assignee)
    if group == locked.assignment_group and assignee == locked.assignee:
        raise ConflictError(
            f"{locked.number} is already with {group.name}{' / ' + _name(assignee) if assignee else ''}."
        )
    return _move(locked, actor, kind=HopKind.ASSIGNED, group=group, assignee=assignee, reason=reason)


def _move(locked: Incident, actor, *, kind: str, group, assignee, reason: str, supplier=None) -> Incident:
    now = timezone.now()
    before = history.snapshot(locked)
    group_changed = group != locked.assignment_group
    AssignmentHop.objects.create(
        incident=locked,
        kind=kind,
        from_group=locked.assignment_group,
        to_group=group,
        from_assignee=locked.assignee,
        to_assignee=assignee,
        supplier=supplier,
        reason=reason[:500],
        actor=actor if actor is not None and actor.is_authenticated else None,
    )
    if group_changed and locked.assignment_group_id is not None:
        locked.reassignment_count += 1
    locked.assignment_group = group
    locked.assignee = assignee
    if assignee is not None:
        _mark_responded(locked, now)
    _save(locked, actor, before, reason=reason, fields={"assignment_group", "assignee"})
    if group_changed:
        # The time in the current status now counts for the new group.
        _close_period(locked, now)
        _open_period(locked, now)
    who = group.name + (f" / {_name(assignee)}" if assignee else "")
    body = f"{HopKind(kind).label}: to {who}." + (f" {reason.strip()}" if reason.strip() else "")
    _note(locked, actor, body, kind=TimelineEntry.Kind.ASSIGNMENT)
    if assignee is not None and assignee != actor:
        _tell_assignee(locked, assignee, actor)
    elif group_changed and assignee is None:
        _tell_group(
            locked, actor, f"{locked.number} was assigned to {group.name}", reason, f"group:{locked.version}"
        )
    return locked


@transaction.atomic
def incident_escalate(
    *,
    incident: Incident,
    actor,
    kind: str,
    reason: str,
    group=None,
    supplier=None,
    supplier_reference: str = "",
    expected_version: int | None = None,
) -> Incident:
    """Escalate [INC-8]:

    * ``functional``: to another group (by default the group's escalation group), recorded as a hop;
    * ``hierarchical``: the group's manager (and the incident manager of a major incident) is told;
      the incident stays where it is;
    * ``supplier``: to a supplier, with the supplier's own reference.
    """
    locked = _lock(incident, expected_version)
    _require_open(locked, "escalated")
    if not reason.strip():
        raise ValidationError({"reason": "Say why it is escalated."})
    if kind == HopKind.FUNCTIONAL:
        target = group or (locked.assignment_group.escalation_group if locked.assignment_group else None)
        if target is None:
            raise ValidationError(
                {"group": "Choose the group to escalate to (this group has no escalation group)."}
            )
        if target == locked.assignment_group:
            raise ValidationError({"group": f"{locked.number} is already with {target.name}."})
        if not target.is_active:
            raise ValidationError({"group": f"{target.name} is no longer active."})
        return _move(locked, actor, kind=HopKind.FUNCTIONAL, group=target, assignee=None, reason=reason)
    if kind == HopKind.HIERARCHICAL:
        group = locked.assignment_group
        people = [group.manager] if group is not None and group.manager is not None else []
        if locked.is_major and locked.incident_manager is not None:
            people.append(locked.incident_manager)
        if not people:
            raise ValidationError(
                {
                    "kind": "Nobody to escalate to: the incident's group has no manager. Set one, or escalate functionally."
                }
            )
        hop = AssignmentHop.objects.create(
            incident=locked,
            kind=HopKind.HIERARCHICAL,
            from_group=group,
            to_group=group,
            from_assignee=locked.assignee,
            to_assignee=locked.assignee,
            reason=reason[:500],
            actor=actor if actor is not None and actor.is_authenticated else None,
        )
        _note(
            locked,
            actor,
            f"Hierarchical escalation to {', '.join(_name(p) for p in people)}: {reason.strip()}",
            kind=TimelineEntry.Kind.ASSIGNMENT,
            involved=people,
        )
        notifications.notify(
            people,
            subject=f"Escalation: {locked.number} P{locked.priority} {locked.short_description}"[:200],
            body=f"{_name(actor)} escalated {locked.number} to you: {reason.strip()}",
            record=locked,
            key=f"incident:{locked.pk}:hierarchical:{hop.pk}",
        )
        _changed(locked, actor, {"escalated"})
        return locked
    if kind == HopKind.SUPPLIER:
        if supplier is None:
            raise ValidationError({"supplier": "Choose the supplier."})
        if not supplier.is_active:
            raise ValidationError({"supplier": f"{supplier.name} is no longer an active supplier."})
        before = history.snapshot(locked)
        AssignmentHop.objects.create(
            incident=locked,
            kind=HopKind.SUPPLIER,
            from_group=locked.assignment_group,
            to_group=locked.assignment_group,
            supplier=supplier,
            reason=reason[:500],
            actor=actor if actor is not None and actor.is_authenticated else None,
        )
        locked.supplier = supplier
        locked.supplier_reference = supplier_reference.strip()[:100]
        _save(locked, actor, before, reason=reason, fields={"supplier"})
        ref = f" (their reference {locked.supplier_reference})" if locked.supplier_reference else ""
        _note(
            locked,
            actor,
            f"Escalated to the supplier {supplier.name}{ref}: {reason.strip()}",
            kind=TimelineEntry.Kind.ASSIGNMENT,
        )
        return locked
    raise ValidationError({"kind": f"Unknown escalation '{kind}': functional, hierarchical or supplier."})


# -- updates --------------------------------------------------------------------------------------

UPDATE_FIELDS = ("symptoms", "business_impact", "cis_affected", "actions_completed", "actions_planned")


@transaction.atomic
def incident_comment(
    *,
    incident: Incident,
    actor,
    body: str = "",
    public: bool = True,
    fields: dict | None = None,
    involved: Iterable = (),
) -> TimelineEntry:
    """Add an update: a public comment (the caller sees it) or an internal work note, optionally
    structured (symptoms, business impact, CIs affected, actions completed, actions planned) [INC-7].

    The caller's own reply to a resolved incident reopens it [INC-10]."""
    locked = _lock(incident)
    # Someone who may not read the work notes (an end user, or the caller of a security incident)
    # writes as the caller: publicly.
    # No actor is the system (the event engine): it writes as staff, so a work note stays internal.
    is_staff = actor is None or locked.internal_visible_to(actor)
    if not is_staff:
        public = True
    if locked.status in (Status.CLOSED, Status.CANCELLED) and not is_staff:
        raise ConflictError(f"{locked.number} is closed; raise a new incident if the problem is back.")
    unknown = set(fields or {}) - set(UPDATE_FIELDS)
    if unknown:
        raise ValidationError(
            {
                "fields": f"Unknown update fields: {', '.join(sorted(unknown))}. Known: {', '.join(UPDATE_FIELDS)}."
            }
        )
    now = timezone.now()
    entry = _note(
        locked,
        actor,
        body,
        kind=TimelineEntry.Kind.COMMENT if public else TimelineEntry.Kind.WORK_NOTE,
        public=public,
        fields=fields,
        involved=involved,
    )
    updates = {}
    if public:
        updates["last_public_update_at"] = now
    if is_staff and public and locked.responded_at is None:
        updates["responded_at"] = now
    if updates:
        Incident.objects.filter(pk=locked.pk).update(**updates)
        for name, value in updates.items():
            setattr(locked, name, value)
    if public and is_staff:
        _tell_caller(
            locked,
            actor,
            subject=f"Update on {locked.number}: {locked.short_description}"[:200],
            body=body,
            key=f"incident:{locked.pk}:comment:{entry.pk}",
        )
    if (
        not is_staff
        and actor is not None
        and actor.pk == locked.caller_id
        and locked.status == Status.RESOLVED
    ):
        transition(
            incident=locked,
            actor=actor,
            to=Status.IN_PROGRESS,
            reason="The caller replied to the resolution.",
        )
    elif not is_staff:
        _tell_group(
            locked, actor, f"{locked.number}: the caller added a comment", body, f"caller-comment:{entry.pk}"
        )
    _changed(locked, actor, {"comment"})
    return entry


# -- links between incidents ----------------------------------------------------------------------


@transaction.atomic
def incident_set_parent(*, incident: Incident, actor, parent: Incident | None) -> Incident:
    """Make ``incident`` a child of ``parent`` (resolving the parent resolves it), or detach it."""
    locked = _lock(incident)
    if parent is not None:
        if parent.pk == locked.pk:
            raise ValidationError({"parent": "An incident cannot be its own parent."})
        parent = Incident.objects.get(pk=parent.pk)  # the stored chain, not a caller's stale copy
        ancestor_id, seen = parent.pk, set()
        while ancestor_id is not None and ancestor_id not in seen:
            if ancestor_id == locked.pk:
                raise ValidationError({"parent": f"{parent.number} is already below {locked.number}."})
            seen.add(ancestor_id)
            ancestor_id = Incident.objects.filter(pk=ancestor_id).values_list("parent_id", flat=True).first()
        if parent.status in (Status.CLOSED, Status.CANCELLED):
            raise ValidationError({"parent": f"{parent.number} is {parent.get_status_display().lower()}."})
        if parent.is_security and not locked.is_security:
            raise ValidationError(
                {"parent": "A security incident's children must be security incidents too."}
            )
    before = history.snapshot(locked)
    old_parent = locked.parent
    locked.parent = parent
    if not _save(locked, actor, before):
        return locked
    if parent is not None:
        _note(locked, actor, f"Now a child of {parent.number}: resolved when it is.")
        _note(parent, actor, f"{locked.number} added as a child incident.")
    elif old_parent is not None:
        _note(locked, actor, f"No longer a child of {old_parent.number}.")
        _note(old_parent, actor, f"{locked.number} is no longer a child incident.")
    return locked


@transaction.atomic
def incident_merge(*, duplicate: Incident, survivor: Incident, actor, reason: str = "") -> Incident:
    """Merge ``duplicate`` into ``survivor``: its comments, work notes and attachments move to the
    survivor, its caller and watchers watch the survivor, its children follow, and it is closed as a
    duplicate. Its caller is told once, whatever the number of moved entries."""
    if duplicate.pk == survivor.pk:
        raise ValidationError({"survivor": "An incident cannot be merged into itself."})
    first, second = sorted((duplicate, survivor), key=lambda i: i.pk)
    locked = {i.pk: _lock(i) for i in (first, second)}
    duplicate, survivor = locked[duplicate.pk], locked[survivor.pk]
    if duplicate.status in (Status.CLOSED, Status.CANCELLED):
        raise ConflictError(f"{duplicate.number} is already {duplicate.get_status_display().lower()}.")
    if survivor.status in (Status.CLOSED, Status.CANCELLED):
        raise ConflictError(
            f"{survivor.number} is {survivor.get_status_display().lower()}; merge into an open incident."
        )
    if duplicate.is_security != survivor.is_security:
        raise ConflictError("A security incident can only be merged with another security incident.")
    now = timezone.now()
    incident_type = ContentType.objects.get_for_model(Incident)
    moved = TimelineEntry.objects.filter(
        content_type=incident_type,
        object_id=duplicate.pk,
        kind__in=(TimelineEntry.Kind.COMMENT, TimelineEntry.Kind.WORK_NOTE),
    )
    moved_count = moved.update(object_id=survivor.pk)
    files = Attachment.objects.filter(content_type=incident_type, object_id=duplicate.pk).update(
        object_id=survivor.pk
    )
    people = set(duplicate.watchers.values_list("pk", flat=True))
    if duplicate.caller_id and duplicate.caller_id != survivor.caller_id:
        people.add(duplicate.caller_id)
    if people:
        survivor.watchers.add(*people)
    duplicate.children.exclude(pk=survivor.pk).update(parent=survivor)

    before = history.snapshot(duplicate)
    _close_period(duplicate, now)
    duplicate.status = Status.CLOSED
    duplicate.status_changed_at = now
    duplicate.closed_at = now
    duplicate.resolution_code = ResolutionCode.DUPLICATE
    duplicate.resolution_notes = f"Merged into {survivor.number}." + (
        f" {reason.strip()}" if reason.strip() else ""
    )
    duplicate.duplicate_of = survivor
    _save(duplicate, actor, before, reason=reason, fields={"status"})
    _open_period(duplicate, now)
    _note(
        duplicate,
        actor,
        f"Merged into {survivor.number}: {moved_count} entries and {files} files moved there.",
        kind=TimelineEntry.Kind.STATUS_CHANGE,
        public=True,
    )
    _note(
        survivor,
        actor,
        f"{duplicate.number} merged into this incident ({moved_count} entries, {files} files moved here)."
        + (f" {reason.strip()}" if reason.strip() else ""),
    )
    if duplicate.caller is not None:
        notifications.notify(
            [duplicate.caller],
            subject=f"{duplicate.number} is now followed in {survivor.number}",
            body=(
                f'Your incident "{duplicate.short_description}" is the same as {survivor.number} '
                f'"{survivor.short_description}". We continue there; you will get its updates.'
            ),
            record=survivor,
            key=f"incident:{duplicate.pk}:merged",
        )
    _changed(survivor, actor, {"merged"})
    return survivor


# -- major incidents ------------------------------------------------------------------------------


@transaction.atomic
def incident_declare_major(
    *,
    incident: Incident,
    actor,
    reason: str,
    incident_manager=None,
    update_cadence_minutes: int | None = None,
    expected_version: int | None = None,
) -> Incident:
    """Declare a major incident [INC-4]: only the major incident manager, manager and admin roles.
    It becomes P1, gets an incident manager and a stakeholder update cadence."""
    if not roles.has_role(actor, *MAJOR_INCIDENT_ROLES):
        raise PermissionDenied("Declaring a major incident needs the major incident manager or manager role.")
    locked = _lock(incident, expected_version)
    _require_open(locked, "declared a major incident")
    if locked.is_major:
        raise ConflictError(f"{locked.number} is already a major incident.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why this is a major incident."})
    manager = incident_manager or actor
    if not roles.is_staff_role(manager):
        raise ValidationError({"incident_manager": f"{_name(manager)} is not service desk staff."})
    cadence = update_cadence_minutes or DEFAULT_UPDATE_CADENCE_MINUTES
    if cadence < 5 or cadence > 24 * 60:
        raise ValidationError({"update_cadence_minutes": "Between 5 minutes and a day."})
    now = timezone.now()
    before = history.snapshot(locked)
    old_priority = locked.priority
    locked.is_major = True
    locked.major_declared_at = now
    locked.major_declared_by = actor
    locked.major_reason = reason.strip()
    locked.incident_manager = manager
    locked.update_cadence_minutes = cadence
    locked.priority = 1
    locked.impact, locked.urgency = 1, 1
    _save(
        locked,
        actor,
        before,
        reason=f"Declared a major incident: {reason.strip()}",
        fields={"is_major", "priority"},
    )
    _note(
        locked,
        actor,
        f"Declared a major incident by {_name(actor)}; incident manager {_name(manager)}; stakeholder "
        f"updates every {cadence} minutes. {reason.strip()}"
        + (f" Priority raised from P{old_priority} to P1." if old_priority != 1 else ""),
        kind=TimelineEntry.Kind.STATUS_CHANGE,
        involved=[manager],
    )
    people = [manager]
    if locked.assignment_group is not None and locked.assignment_group.manager is not None:
        people.append(locked.assignment_group.manager)
    notifications.notify(
        people,
        subject=f"MAJOR INCIDENT {locked.number}: {locked.short_description}"[:200],
        body=f"{_name(actor)} declared a major incident. {reason.strip()}",
        record=locked,
        key=f"incident:{locked.pk}:major",
    )
    return locked


@transaction.atomic
def swarm_add(*, incident: Incident, actor, user, role: str, group=None) -> SwarmMember:
    """Bring someone into the swarm (from any group) with their role in it [INC-8]."""
    locked = _lock(incident)
    _require_open(locked, "swarmed")
    if not role.strip():
        raise ValidationError({"role": "Say what they do in the swarm (e.g. network lead)."})
    if not roles.is_staff_role(user) or not user.is_active:
        raise ValidationError({"user": f"{_name(user)} is not active service desk staff."})
    if locked.is_security and not roles.has_role(user, roles.SECURITY):
        raise ValidationError(
            {"user": f"{_name(user)} is not in the security team; this is a security incident."}
        )
    if group is not None and not group.members.filter(pk=user.pk).exists():
        raise ValidationError({"group": f"{_name(user)} is not a member of {group.name}."})
    if SwarmMember.objects.filter(incident=locked, user=user, removed_at__isnull=True).exists():
        raise ConflictError(f"{_name(user)} is already in the swarm of {locked.number}.")
    member = SwarmMember.objects.create(
        incident=locked, user=user, group=group, role=role.strip()[:100], added_by=actor
    )
    _note(
        locked,
        actor,
        f"{_name(user)} joined the swarm as {member.role}" + (f" ({group.name})" if group else "") + ".",
        involved=[user],
    )
    notifications.notify(
        [user],
        subject=f"You are in the swarm of {locked.number}: {locked.short_description}"[:200],
        body=f"{_name(actor)} added you as {member.role}.",
        record=locked,
        key=f"incident:{locked.pk}:swarm:{member.pk}",
    )
    return member


@transaction.atomic
def swarm_remove(*, incident: Incident, actor, user, reason: str = "") -> SwarmMember:
    locked = _lock(incident)
    member = SwarmMember.objects.filter(incident=locked, user=user, removed_at__isnull=True).first()
    if member is None:
        raise ConflictError(f"{_name(user)} is not in the swarm of {locked.number}.")
    member.removed_at = timezone.now()
    member.save(update_fields=["removed_at"])
    _note(locked, actor, f"{_name(user)} left the swarm." + (f" {reason.strip()}" if reason.strip() else ""))
    return member


def overdue_stakeholder_updates(*, now: datetime.datetime | None = None) -> int:
    """Remind incident managers of open major incidents whose public update is overdue.

    One reminder per incident per cadence slot (the notification key names the slot), so running it
    every minute, twice, or on several workers reminds once. Returns the reminders written."""
    now = now or timezone.now()
    written = 0
    for incident in Incident.objects.filter(is_major=True, status__in=OPEN_STATUSES).select_related(
        "incident_manager"
    ):
        cadence = datetime.timedelta(
            minutes=incident.update_cadence_minutes or DEFAULT_UPDATE_CADENCE_MINUTES
        )
        last = max(filter(None, (incident.last_public_update_at, incident.major_declared_at)), default=None)
        if last is None or now < last + cadence or incident.incident_manager is None:
            continue
        with transaction.atomic():
            written += notifications.notify(
                [incident.incident_manager],
                subject=f"Stakeholder update due: {incident.number} {incident.short_description}"[:200],
                body=(
                    f"The last public update of major incident {incident.number} was at "
                    f"{timezone.localtime(last):%H:%M}; updates are due every {cadence.seconds // 60} minutes."
                ),
                record=incident,
                key=f"incident:{incident.pk}:cadence:{last.isoformat()}",
            )
    return written


@transaction.atomic
def review_save(*, incident: Incident, actor, data: dict[str, Any]) -> PostIncidentReview:
    """Write (or update) the post-incident review of a resolved major incident."""
    locked = _lock(incident)
    if not locked.is_major:
        raise ConflictError(f"{locked.number} is not a major incident; reviews are for major incidents.")
    if locked.status not in (Status.RESOLVED, Status.CLOSED):
        raise ConflictError(f"{locked.number} is not resolved yet; review it once it is.")
    allowed = {
        "what_happened",
        "impact",
        "timeline_summary",
        "causes",
        "actions",
        "lessons",
        "problem_requested",
        "complete",
    }
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Not a field of a review."))
    complete = bool(data.pop("complete", False))
    review = PostIncidentReview.objects.filter(incident=locked).first()
    if complete:
        data.setdefault("completed_at", timezone.now())
    if review is None:
        review = kernel.record_create(
            model=PostIncidentReview, actor=actor, fields={"incident": locked, "author": actor, **data}
        )
        _note(locked, actor, "Post-incident review started.")
    else:
        review = kernel.record_update(instance=review, actor=actor, changes=data)
    if review.problem_requested:
        _note(locked, actor, "The review asks for a problem record to find the root cause.")
    return review


# -- security -------------------------------------------------------------------------------------


@transaction.atomic
def incident_flag_security(*, incident: Incident, actor, reason: str, flagged: bool = True) -> Incident:
    """Mark (or, for the security team only, unmark) an information security incident [INC-4].

    From then on only the security team and the caller see it; the caller only its public parts."""
    locked = _lock(incident)
    if locked.is_security == flagged:
        raise ConflictError(f"{locked.number} is {'already' if flagged else 'not'} a security incident.")
    if not flagged and not roles.has_role(actor, roles.SECURITY):
        raise PermissionDenied("Only the security team removes the security flag.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why."})
    before = history.snapshot(locked)
    locked.is_security = flagged
    _save(locked, actor, before, reason=reason, fields={"is_security"})
    _note(
        locked,
        actor,
        ("Flagged as an information security incident: " if flagged else "Security flag removed: ")
        + reason.strip(),
    )
    if flagged:
        for child in locked.children.filter(is_security=False):
            incident_flag_security(
                incident=child, actor=actor, reason=f"Its parent {locked.number} is a security incident."
            )
    return locked


# -- notifications --------------------------------------------------------------------------------


def _tell_caller(incident: Incident, actor, *, subject: str, body: str, key: str) -> None:
    people = [incident.caller] if incident.caller is not None and incident.caller != actor else []
    if not incident.is_security:
        people += [w for w in incident.watchers.all() if w != actor]
    notifications.notify(people, subject=subject, body=body, record=incident, key=key)


def _tell_assignee(incident: Incident, assignee, actor) -> None:
    notifications.notify(
        [assignee],
        subject=f"Assigned to you: {incident.number} P{incident.priority} {incident.short_description}"[:200],
        body=f"{_name(actor)} assigned {incident.number} to you.",
        record=incident,
        key=f"incident:{incident.pk}:assignee:{assignee.pk}:{incident.version}",
    )


def _tell_group(incident: Incident, actor, subject: str, body: str, key: str) -> None:
    if incident.assignee is not None:
        people = [incident.assignee]
    elif incident.assignment_group is not None:
        people = list(incident.assignment_group.members.filter(is_active=True))
    else:
        people = []
    people = [p for p in people if p != actor]
    notifications.notify(
        people, subject=subject[:200], body=body, record=incident, key=f"incident:{incident.pk}:{key}"
    )


# -- bulk -----------------------------------------------------------------------------------------


@dataclass
class BulkResult:
    done: list[str]
    failed: dict[str, str]


def bulk_apply(*, incidents: Iterable[Incident], actor, action: str, **params) -> BulkResult:
    """Apply one action (assign, start, hold, resolve, escalate) to several incidents, each in its own
    transaction: one refusal does not undo the others, and each refusal is reported with its reason."""
    handlers = {
        "assign": incident_assign,
        "start": incident_start,
        "hold": incident_hold,
        "resolve": incident_resolve,
        "escalate": incident_escalate,
    }
    if action not in handlers:
        raise ValidationError({"action": f"Unknown bulk action '{action}'. Known: {', '.join(handlers)}."})
    result = BulkResult(done=[], failed={})
    for incident in incidents:
        try:
            handlers[action](incident=incident, actor=actor, **params)
        except ValidationError as error:
            result.failed[incident.number] = (
                "; ".join(
                    f"{k}: {' '.join(v)}" if k != "__all__" else " ".join(v)
                    for k, v in error.message_dict.items()
                )
                if hasattr(error, "error_dict")
                else " ".join(error.messages)
            )
        except (ConflictError, PermissionDenied) as error:
            result.failed[incident.number] = getattr(error, "message", str(error))
        else:
            result.done.append(incident.number)
    return result


# -- saved queue views ----------------------------------------------------------------------------


@transaction.atomic
def saved_view_save(*, user, name: str, query: str = "", view: SavedView | None = None) -> SavedView:
    """Save a queue view of ``user`` under a name (unique per user), or rename / change ``view``."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the view."})
    taken = SavedView.objects.filter(user=user, name=name)
    if view is not None:
        taken = taken.exclude(pk=view.pk)
    if taken.exists():
        raise ValidationError({"name": f"You already have a view named '{name}'."})
    view = view if view is not None else SavedView(user=user)
    view.name, view.query = name, (query or "").strip().lstrip("?")
    view.full_clean()
    view.save()
    return view


def saved_view_delete(*, view: SavedView) -> None:
    """Delete one of a user's saved views (a personal preference: no history kept)."""
    view.delete()
