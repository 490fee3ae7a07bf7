"""The service-level engine's writers: choose a policy from a record's facts, start, pause, resume and
stop its clocks, and sweep due clocks for thresholds, breaches and escalation steps.

Generic by design: the record's own app calls ``sync_clocks(record=..., facts=...)`` from its
services after every change, with the facts a policy matches on. This app never imports the apps
whose records it times; actions on the record itself (reassign, raise priority) go through the
handler the record's app registered (``registry.handlers``).
"""

from __future__ import annotations

import datetime
import json
import logging
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone

from itsm import notifications
from itsm.refcache import ReferenceCache
from servicelevels import calendars
from servicelevels.models import (
    Calendar,
    Clock,
    ClockEvent,
    ClockState,
    EscalationPolicy,
    EscalationStep,
    EventKind,
    SLAPolicy,
    StepAction,
    Target,
)
from servicelevels.registry import handler_for

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500
# A clock with nothing due is still looked at this often, so a changed calendar or policy is seen.
IDLE_RECHECK = datetime.timedelta(hours=6)


@dataclass(frozen=True)
class Facts:
    """What a policy matches on and what drives the clocks, as the record's app states it."""

    priority: int | None = None
    service_id: int | None = None
    categories: tuple[str, ...] = ()
    organisation_id: int | None = None
    group_id: int | None = None
    channel: str = ""
    # "status" or "status:reason", matched against the policy's ``pause_on``.
    status: str = ""
    responded_at: datetime.datetime | None = None
    resolved_at: datetime.datetime | None = None
    last_public_update_at: datetime.datetime | None = None
    is_open: bool = True
    cancelled: bool = False
    started_at: datetime.datetime | None = None
    extra: dict = field(default_factory=dict)


def matches(
    policy: SLAPolicy, facts: Facts, service_ids: set[int] | None = None, org_ids: set[int] | None = None
) -> bool:
    if policy.priorities and facts.priority not in policy.priorities:
        return False
    if policy.channels and facts.channel not in policy.channels:
        return False
    if policy.categories and not set(policy.categories) & set(facts.categories):
        return False
    services = service_ids if service_ids is not None else set(policy.services.values_list("pk", flat=True))
    if services and facts.service_id not in services:
        return False
    organisations = org_ids if org_ids is not None else set(policy.organisations.values_list("pk", flat=True))
    return not (organisations and facts.organisation_id not in organisations)


# Active policies are read once and kept for 30 s (``itsm.refcache``): a change to a policy or a
# calendar clears them at once in the process that made it, other processes see it within that time.
def _load_policies() -> list[tuple[SLAPolicy, set[int], set[int]]]:
    return [
        (policy, {s.pk for s in policy.services.all()}, {o.pk for o in policy.organisations.all()})
        for policy in SLAPolicy.objects.filter(is_active=True)
        .select_related("calendar", "escalation_policy")
        .prefetch_related("services", "organisations")
    ]


_policies = ReferenceCache("sla-policies", _load_policies).follow([SLAPolicy, Calendar])


def _active_policies() -> list[tuple[SLAPolicy, set[int], set[int]]]:
    return _policies.get()


def policy_for(facts: Facts) -> SLAPolicy | None:
    """The first active policy, by order, whose every condition holds."""
    for policy, service_ids, org_ids in _active_policies():
        if matches(policy, facts, service_ids, org_ids):
            return policy
    return None


def _event(log: list[ClockEvent], clock: Clock, kind: str, at: datetime.datetime, **detail) -> None:
    """Note a keyless event (started, paused, resumed, met, policy changed) in ``log``, which
    ``sync_clocks`` writes in one INSERT at its end. Keyed ones - thresholds, breach, steps - are
    recorded once each by ``_record_events``."""
    log.append(ClockEvent(clock=clock, kind=kind, at=at, detail=detail))


def _pauses(policy: SLAPolicy, facts: Facts) -> bool:
    status = facts.status
    base = status.split(":", 1)[0]
    return status in policy.pause_on or base in policy.pause_on


def _stop_reason(target: str, facts: Facts) -> tuple[str, datetime.datetime | None]:
    """Whether the record's facts meet (or cancel) a target: ("met"|"cancelled"|"", when)."""
    if facts.cancelled:
        return ClockState.CANCELLED, None
    if target == Target.RESPONSE and facts.responded_at is not None:
        return ClockState.MET, facts.responded_at
    if target == Target.RESOLUTION and facts.resolved_at is not None:
        return ClockState.MET, facts.resolved_at
    if target in (Target.RESPONSE, Target.UPDATE) and not facts.is_open:
        return ClockState.CANCELLED, None
    return "", None


@transaction.atomic(savepoint=False)
def sync_clocks(
    *, record, facts: Facts, now: datetime.datetime | None = None, reason: str = "", new: bool = False
) -> list[Clock]:
    """Bring a record's clocks in line with its facts. Idempotent: calling it twice changes nothing.

    * no live clock for a target the policy sets: start one (from ``facts.started_at``);
    * a different policy now applies (priority, service... changed): switch, keeping the elapsed
      business time, and record the change with the old and new deadline;
    * the status pauses or resumes per the policy's ``pause_on``;
    * a milestone meets a clock (responded, resolved); a resolved record that reopens resumes its
      resolution clock with the time already counted; the update clock restarts after each public
      update; cancellation cancels.

    ``new``: the record was created in this transaction, so it has no clocks to read. No savepoint
    of its own: a failure here fails the caller's transaction, which is what every caller wants.
    """
    now = now or timezone.now()
    content_type = ContentType.objects.get_for_model(type(record))
    policy = policy_for(facts)
    # Per target: the live clock if there is one (at most one, by constraint), else the latest.
    clocks: dict[str, Clock] = {}
    log: list[ClockEvent] = []
    for clock in (
        ()
        if new
        else (
            Clock.objects.select_for_update()
            .filter(content_type=content_type, object_id=record.pk)
            .exclude(state=ClockState.CANCELLED)
            .order_by("started_at", "id")
        )
    ):
        current = clocks.get(clock.target)
        if current is None or not current.is_live or clock.is_live:
            clocks[clock.target] = clock
    live = []
    for target in Target.values:
        clock = clocks.get(target)
        minutes = policy.minutes_for(target) if policy else None
        stop, stopped_at = _stop_reason(target, facts)
        if clock is not None and clock.state == ClockState.MET:
            if target == Target.RESOLUTION and not stop and facts.is_open:
                _resume(log, clock, now, "reopened")
            elif (
                target == Target.UPDATE
                and facts.is_open
                and facts.last_public_update_at
                and (clock.stopped_at is None or facts.last_public_update_at > clock.stopped_at)
            ):
                clock = None  # the previous interval was met; a new one starts below
            else:
                continue
        if clock is None:
            if minutes is None or stop or not facts.is_open and target != Target.RESOLUTION:
                continue
            if target == Target.RESOLUTION and facts.resolved_at is not None:
                continue
            start = facts.started_at or now
            if target == Target.UPDATE:
                start = max(filter(None, (facts.last_public_update_at, facts.started_at)), default=now)
            clock = _start(log, record, content_type, target, policy, minutes, start, now, facts)
        elif minutes is None or policy is None:
            _stop(log, clock, ClockState.CANCELLED, now, reason or "no policy sets this target any more")
            continue
        elif clock.policy_id != policy.pk or clock.target_seconds != minutes * 60:
            _change_policy(log, clock, policy, minutes, now, reason)
        if stop:
            _stop(log, clock, stop, stopped_at or now, reason)
            continue
        if (
            target == Target.UPDATE
            and facts.last_public_update_at
            and facts.last_public_update_at > clock.started_at
        ):
            _stop(log, clock, ClockState.MET, facts.last_public_update_at, "public update")
            clock = _start(
                log, record, content_type, target, policy, minutes, facts.last_public_update_at, now, facts
            )
        if (clock.group_id, clock.priority) != (facts.group_id, facts.priority):
            Clock.objects.filter(pk=clock.pk).update(group_id=facts.group_id, priority=facts.priority)
            clock.group_id, clock.priority = facts.group_id, facts.priority
        should_pause = _pauses(clock.policy, facts)
        if should_pause and clock.state == ClockState.RUNNING:
            _pause(log, clock, now, facts.status)
        elif not should_pause and clock.state == ClockState.PAUSED:
            _resume(log, clock, now, facts.status)
        live.append(clock)
    if log:
        ClockEvent.objects.bulk_create(log)
    return live


def _start(log, record, content_type, target, policy, minutes, start, now, facts: Facts) -> Clock:
    schedule = calendars.schedule_for(policy.calendar)
    clock = Clock(
        content_type=content_type,
        object_id=record.pk,
        target=target,
        policy=policy,
        calendar=policy.calendar,
        target_seconds=minutes * 60,
        started_at=start,
        running_since=start,
        elapsed_seconds=0,
        deadline=schedule.add(start, minutes * 60),
        group_id=facts.group_id,
        priority=facts.priority,
    )
    _plan(clock, now)  # unsaved: nothing recorded yet, so no query
    clock.save()
    _event(log, clock, EventKind.STARTED, start, policy=policy.name, deadline=clock.deadline.isoformat())
    return clock


def _stop(log, clock: Clock, state: str, at: datetime.datetime, reason: str = "") -> None:
    if clock.state == ClockState.RUNNING and clock.running_since is not None:
        schedule = calendars.schedule_for(clock.calendar)
        clock.elapsed_seconds += schedule.business_seconds(clock.running_since, max(at, clock.running_since))
    clock.state = state
    clock.running_since = None
    clock.stopped_at = at
    clock.next_check_at = None
    clock.version += 1
    clock.save()
    kind = EventKind.MET if state == ClockState.MET else EventKind.CANCELLED
    _event(
        log,
        clock,
        kind,
        at,
        reason=reason,
        elapsed_seconds=round(clock.elapsed_seconds),
        breached=clock.is_breached,
    )


def _pause(log, clock: Clock, now: datetime.datetime, why: str) -> None:
    schedule = calendars.schedule_for(clock.calendar)
    clock.elapsed_seconds += schedule.business_seconds(clock.running_since, now)
    clock.state = ClockState.PAUSED
    clock.running_since = None
    clock.deadline = None
    clock.next_check_at = None
    clock.version += 1
    clock.save()
    _event(log, clock, EventKind.PAUSED, now, reason=why, elapsed_seconds=round(clock.elapsed_seconds))


def _resume(log, clock: Clock, now: datetime.datetime, why: str) -> None:
    schedule = calendars.schedule_for(clock.calendar)
    clock.state = ClockState.RUNNING
    clock.running_since = now
    clock.stopped_at = None
    remaining = max(clock.target_seconds - clock.elapsed_seconds, 0)
    clock.deadline = schedule.add(now, remaining) if remaining else clock.deadline or now
    clock.version += 1
    _plan(clock, now)
    clock.save()
    _event(log, clock, EventKind.RESUMED, now, reason=why, deadline=clock.deadline.isoformat())


def _change_policy(
    log, clock: Clock, policy: SLAPolicy, minutes: int, now: datetime.datetime, reason: str
) -> None:
    """Switch to another policy/target keeping the business time counted so far."""
    old_schedule = calendars.schedule_for(clock.calendar)
    if clock.state == ClockState.RUNNING and clock.running_since is not None:
        clock.elapsed_seconds += old_schedule.business_seconds(clock.running_since, now)
        clock.running_since = now
    old = {
        "policy": clock.policy.name,
        "target_seconds": clock.target_seconds,
        "deadline": clock.deadline.isoformat() if clock.deadline else None,
    }
    clock.policy = policy
    clock.calendar = policy.calendar
    clock.target_seconds = minutes * 60
    if clock.state == ClockState.RUNNING:
        schedule = calendars.schedule_for(policy.calendar)
        remaining = max(clock.target_seconds - clock.elapsed_seconds, 0)
        clock.deadline = schedule.add(now, remaining)
        _plan(clock, now)
    clock.version += 1
    clock.save()
    _event(
        log,
        clock,
        EventKind.POLICY_CHANGED,
        now,
        reason=reason,
        old=old,
        new={
            "policy": policy.name,
            "target_seconds": clock.target_seconds,
            "deadline": clock.deadline.isoformat() if clock.deadline else None,
        },
        elapsed_seconds=round(clock.elapsed_seconds),
    )


# -- the plan: when does a running clock next need looking at? -----------------------------------


@dataclass(frozen=True)
class Due:
    key: str
    kind: str
    at: datetime.datetime
    percent: int
    step: EscalationStep | None = None
    repeat: int = 0


def _due_items(clock: Clock) -> list[Due]:
    """Every threshold, the breach, and every escalation step (with repeats) of a running clock,
    with the instant each falls due in business time."""
    schedule = calendars.schedule_for(clock.calendar)
    policy = clock.policy
    items = []

    def instant(percent: int) -> datetime.datetime:
        owed = clock.target_seconds * percent / 100 - clock.elapsed_seconds
        return schedule.add(clock.running_since, owed) if owed > 0 else clock.running_since

    for percent in sorted(set(policy.warning_percents or [])):
        items.append(
            Due(key=f"threshold:{percent}", kind=EventKind.THRESHOLD, at=instant(percent), percent=percent)
        )
    items.append(Due(key="breach", kind=EventKind.BREACHED, at=instant(100), percent=100))
    if policy.escalation_policy_id:
        for step in _steps(policy.escalation_policy_id):
            base = instant(step.at_percent) + datetime.timedelta(minutes=step.delay_minutes)
            for repeat in range(0, (step.max_repeats or 0) + 1):
                at = base + datetime.timedelta(minutes=(step.repeat_every_minutes or 0) * repeat)
                items.append(
                    Due(
                        key=f"step:{step.pk}:{repeat}",
                        kind=EventKind.ESCALATION,
                        at=at,
                        percent=step.at_percent,
                        step=step,
                        repeat=repeat,
                    )
                )
    return items


def _load_steps() -> dict[int, list[EscalationStep]]:
    by_policy: dict[int, list[EscalationStep]] = {}
    for step in EscalationStep.objects.prefetch_related("users").select_related("group"):
        by_policy.setdefault(step.policy_id, []).append(step)
    return by_policy


_escalation_steps = ReferenceCache("escalation-steps", _load_steps).follow([EscalationStep, EscalationPolicy])


def _steps(policy_id: int) -> list[EscalationStep]:
    return _escalation_steps.get().get(policy_id, [])


def _plan(
    clock: Clock, now: datetime.datetime, done: set[str] | None = None, skip: frozenset[str] = frozenset()
) -> bool:
    """Set ``next_check_at`` to the earliest item not yet recorded (or an idle re-check).

    ``done`` are the keys already recorded (read from the database when not given); ``skip`` keys
    are left out (escalation steps deferred to the calendar's next opening)."""
    if clock.state != ClockState.RUNNING:
        clock.next_check_at = None
        return False
    if done is None:
        done = (
            set(ClockEvent.objects.filter(clock=clock).exclude(key="").values_list("key", flat=True))
            if clock.pk
            else set()
        )
    pending = [item.at for item in _due_items(clock) if item.key not in done and item.key not in skip]
    clock.next_check_at = min(pending) if pending else now + IDLE_RECHECK
    return bool(pending)


# -- the sweep ------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    clocks: int = 0
    events: int = 0
    notifications: int = 0
    deferred: int = 0


def sweep(*, now: datetime.datetime | None = None, batch: int = SWEEP_BATCH) -> SweepResult:
    """Process every running clock whose ``next_check_at`` has come, in batches locked with
    ``SELECT ... FOR UPDATE SKIP LOCKED`` (two sweeps at once share the work, never repeat it).

    For each clock: record the thresholds, breach and escalation steps now due (each once: unique
    key), act on them, and plan the next check. Outside the calendar's hours an escalation step waits
    for the next opening unless the policy is 24x7 or says ``notify_24x7``; thresholds and the
    breach are recorded when due either way (and notified only in hours). A batch is one
    transaction of a handful of statements, whatever its size: a worker killed mid-batch leaves its
    clocks due for the next sweep, with nothing half-recorded."""
    result = SweepResult()
    while True:
        moment = now or timezone.now()
        with transaction.atomic():
            due = list(
                Clock.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(state=ClockState.RUNNING, next_check_at__lte=moment)
                .select_related("policy", "calendar", "policy__escalation_policy", "content_type")
                .order_by("next_check_at")[:batch]
            )
            if due:
                _process_batch(due, moment, result)
            result.clocks += len(due)
        if len(due) < batch:
            return result


def _process_batch(
    clocks: list[Clock], now: datetime.datetime, result: SweepResult, *, act: bool = True
) -> None:
    done: dict[int, set[str]] = {clock.pk: set() for clock in clocks}
    for clock_id, key in (
        ClockEvent.objects.filter(clock__in=clocks).exclude(key="").values_list("clock_id", "key")
    ):
        done[clock_id].add(key)
    wanted: list[tuple[Clock, Due]] = []
    quiet: dict[int, bool] = {}
    deferred: dict[int, tuple[datetime.datetime, set[str]]] = {}
    for clock in clocks:
        schedule = calendars.schedule_for(clock.calendar)
        quiet[clock.pk] = not (clock.policy.notify_24x7 or clock.calendar.is_24x7) and not schedule.is_open(
            now
        )
        for item in sorted(_due_items(clock), key=lambda i: i.at):
            if item.key in done[clock.pk] or item.at > now:
                continue
            if item.kind == EventKind.ESCALATION and quiet[clock.pk] and act:
                opening, keys = deferred.setdefault(clock.pk, (schedule.next_open(now), set()))
                keys.add(item.key)
                result.deferred += 1
                continue
            wanted.append((clock, item))
    recorded = _record_events(wanted, now)
    actions = []
    for clock, item in wanted:
        if (clock.pk, item.key) not in recorded:
            continue  # another sweep recorded it first
        done[clock.pk].add(item.key)
        result.events += 1
        if item.kind == EventKind.BREACHED and clock.breached_at is None:
            clock.breached_at = item.at
        if act:
            actions.append((clock, item))
    if actions:
        result.notifications += _act_batch(actions, quiet)
    for clock in clocks:
        opening, skipped = deferred.get(clock.pk, (None, set()))
        pending = _plan(clock, now, done=done[clock.pk], skip=frozenset(skipped))
        if opening is not None:
            clock.next_check_at = min(clock.next_check_at, opening) if pending else opening
    Clock.objects.bulk_update(clocks, ["breached_at", "next_check_at"])


def _step_people(handler, record, step: EscalationStep) -> list:
    if step.action == StepAction.NOTIFY_USERS:
        return list(step.users.all())  # prefetched with the steps
    who = {
        StepAction.NOTIFY_ASSIGNEE: "assignee",
        StepAction.NOTIFY_GROUP: "group",
        StepAction.NOTIFY_MANAGER: "manager",
    }
    return handler.people(record, who[step.action])


def _record_events(wanted: list[tuple[Clock, Due]], now: datetime.datetime) -> set[tuple[int, str]]:
    """Insert the keyed events in one statement (sorted, so concurrent sweeps lock in the same
    order); the partial unique constraint drops any already there. Returns those this call wrote."""
    if not wanted:
        return set()
    rows = sorted(
        (
            clock.pk,
            item.kind,
            item.key,
            item.at,
            json.dumps({"percent": item.percent, "late_seconds": round((now - item.at).total_seconds())}),
        )
        for clock, item in wanted
    )
    table = ClockEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (clock_id, kind, key, at, recorded_at, detail) "  # noqa: S608 - our table
            "SELECT c, k, y, a, now(), d::jsonb FROM unnest(%s::bigint[], %s::text[], %s::text[], "
            "%s::timestamptz[], %s::text[]) AS t(c, k, y, a, d) ON CONFLICT DO NOTHING RETURNING clock_id, key",
            [list(column) for column in zip(*rows, strict=True)],
        )
        return {(clock_id, key) for clock_id, key in cursor.fetchall()}


def _act_batch(actions: list[tuple[Clock, Due]], quiet: dict[int, bool]) -> int:
    """Notify for thresholds and breaches and run escalation steps, for a batch: the records are
    loaded once per type and the notifications written in one statement."""
    by_type: dict[int, set[int]] = {}
    for clock, _ in actions:
        by_type.setdefault(clock.content_type_id, set()).add(clock.object_id)
    records: dict[tuple[int, int], object] = {}
    handlers = {}
    for type_id, ids in by_type.items():
        content_type = ContentType.objects.get_for_id(type_id)
        handler = handler_for(content_type)
        handlers[type_id] = handler
        if handler is not None:
            for pk, record in handler.load_many(ids).items():
                records[(type_id, pk)] = record
    messages = []
    for clock, item in actions:
        handler = handlers.get(clock.content_type_id)
        record = records.get((clock.content_type_id, clock.object_id))
        if handler is None or record is None:
            continue
        label = {Target.RESPONSE: "response", Target.RESOLUTION: "resolution", Target.UPDATE: "update"}[
            clock.target
        ]
        key = f"clock:{clock.pk}:{item.key}"
        if item.kind in (EventKind.THRESHOLD, EventKind.BREACHED):
            if quiet[clock.pk]:
                continue  # recorded; the escalation steps carry the out-of-hours reach when wanted
            what = "breached" if item.kind == EventKind.BREACHED else f"at {item.percent}%"
            messages.append(
                notifications.Message(
                    recipients=handler.people(record, "assignee") or handler.people(record, "group"),
                    subject=f"SLA {label} {what}: {handler.label(record)}"[:200],
                    body=f"The {label} target of {handler.label(record)} is {what} "
                    f"(deadline {clock.deadline:%Y-%m-%d %H:%M} UTC).",
                    record=record,
                    key=key,
                    kind="sla.breach" if item.kind == EventKind.BREACHED else "sla.warning",
                )
            )
            continue
        step = item.step
        reason = f"SLA escalation: {label} at {item.percent}%"
        if step.action == StepAction.REASSIGN:
            handler.reassign(record, step.group, reason)
        elif step.action == StepAction.RAISE_PRIORITY:
            handler.raise_priority(record, reason)
        else:
            messages.append(
                notifications.Message(
                    recipients=_step_people(handler, record, step),
                    subject=f"Escalation ({label} {item.percent}%): {handler.label(record)}"[:200],
                    body=f"{step.get_action_display()} - {handler.label(record)} has reached "
                    f"{item.percent}% of its {label} target.",
                    record=record,
                    key=key,
                    kind="sla.escalation",
                )
            )
    return notifications.notify_many(messages)


# -- reference data (API and demo; the admin writes through RecordAdmin) --------------------------


@transaction.atomic
def calendar_save(
    *, actor, calendar=None, fields: dict, hours: list[dict] | None = None, expected_version=None
):
    """Create or update a calendar; ``hours`` (``[{weekday, start, end}]``) replaces its business hours."""
    from django.core.exceptions import ValidationError

    from itsm import services as kernel
    from servicelevels.businesstime import Schedule
    from servicelevels.models import BusinessHours

    if hours is not None:
        ranges: dict[int, list] = {}
        for row in hours:
            ranges.setdefault(row["weekday"], []).append((row["start"], row.get("end")))
        try:
            Schedule(time_zone="UTC", hours={day: tuple(r) for day, r in ranges.items()})
        except ValueError as error:
            raise ValidationError({"hours": str(error)}) from error
    if calendar is None:
        calendar = kernel.record_create(model=Calendar, actor=actor, fields=fields)
    else:
        calendar = kernel.record_update(
            instance=calendar, actor=actor, changes=fields, expected_version=expected_version
        )
    if hours is not None:
        before = sorted(map(str, BusinessHours.objects.filter(calendar=calendar)))
        BusinessHours.objects.filter(calendar=calendar).delete()
        BusinessHours.objects.bulk_create(
            [
                BusinessHours(calendar=calendar, weekday=r["weekday"], start=r["start"], end=r.get("end"))
                for r in hours
            ]
        )
        after = sorted(map(str, BusinessHours.objects.filter(calendar=calendar)))
        if before != after:
            Calendar.objects.filter(pk=calendar.pk).update(version=calendar.version + 1)
            calendar.version += 1
            kernel.history_record(
                instance=calendar,
                actor=actor,
                action="update",
                changes={"hours": {"old": before, "new": after}},
            )
    calendars.forget(calendar.pk)
    return calendar


@transaction.atomic
def rebuild_clocks(
    *, record, history: list[tuple[datetime.datetime, Facts]], now: datetime.datetime | None = None
) -> list[Clock]:
    """Recompute a record's clocks from its history, e.g. after a policy changed retroactively or
    records were imported with past dates: the clocks are deleted, ``history`` (instants and the
    facts from then on, oldest first) is replayed, and thresholds and breaches that fell in the past
    are recorded without notifying or escalating anyone again."""
    now = now or timezone.now()
    content_type = ContentType.objects.get_for_model(type(record))
    Clock.objects.filter(content_type=content_type, object_id=record.pk).delete()
    for at, facts in sorted(history, key=lambda entry: entry[0]):
        if at > now:
            break
        _replay_until(record, content_type, at)
        sync_clocks(record=record, facts=facts, now=at, reason="rebuilt from the record's history")
    _replay_until(record, content_type, now)
    return list(Clock.objects.filter(content_type=content_type, object_id=record.pk))


def _replay_until(record, content_type, moment: datetime.datetime) -> None:
    result = SweepResult()
    clocks = list(
        Clock.objects.select_for_update(of=("self",))
        .filter(
            content_type=content_type,
            object_id=record.pk,
            state=ClockState.RUNNING,
            next_check_at__lte=moment,
        )
        .select_related("policy", "calendar", "policy__escalation_policy", "content_type")
    )
    if clocks:
        _process_batch(clocks, moment, result, act=False)
