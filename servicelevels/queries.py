"""Read side of the service-level engine: a record's clocks with their explained timeline."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db.models import Aggregate, Count, F, FloatField, Q, QuerySet
from django.utils import timezone

from servicelevels import calendars
from servicelevels.models import Clock, ClockEvent, ClockState


@dataclass
class ClockView:
    clock: Clock
    elapsed_seconds: float
    remaining_seconds: float
    percent: float
    events: list[ClockEvent]

    @property
    def risk(self) -> str:
        """ok / warning / danger / breached / done, for colouring."""
        if self.clock.state in (ClockState.MET, ClockState.CANCELLED):
            return "breached" if self.clock.is_breached else "done"
        if self.clock.is_breached or self.remaining_seconds <= 0:
            return "breached"
        if self.percent >= 75:
            return "danger"
        if self.percent >= 50:
            return "warning"
        return "ok"

    @property
    def explanation(self) -> str:
        """Why the deadline is what it is, in one sentence."""
        clock = self.clock
        target = _duration(clock.target_seconds)
        calendar = clock.calendar
        where = (
            "around the clock"
            if calendar.is_24x7
            else f"in the business hours of '{calendar.name}' ({calendar.time_zone})"
        )
        text = f"Policy '{clock.policy.name}' gives {target} {where}."
        if clock.elapsed_seconds and clock.state == ClockState.RUNNING:
            text += f" {_duration(clock.elapsed_seconds)} counted before it last resumed at {timezone.localtime(clock.running_since):%Y-%m-%d %H:%M}; the rest counts from then."
        if clock.state == ClockState.PAUSED:
            text += f" Paused: {_duration(self.remaining_seconds)} of business time remain when it resumes."
        return text


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(abs(seconds), 3600)
    minutes = rest // 60
    text = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    return f"-{text}" if seconds < 0 else text


def clocks_for(record, *, now: datetime.datetime | None = None, with_events: bool = True) -> list[ClockView]:
    now = now or timezone.now()
    content_type = ContentType.objects.get_for_model(type(record))
    rows = (
        Clock.objects.filter(content_type=content_type, object_id=record.pk)
        .select_related("policy", "calendar")
        .order_by("started_at", "id")
    )
    clocks = list(rows.prefetch_related("events") if with_events else rows)
    views = []
    for clock in clocks:
        schedule = calendars.schedule_for(clock.calendar)
        elapsed = clock.elapsed_at(now, schedule)
        views.append(
            ClockView(
                clock=clock,
                elapsed_seconds=elapsed,
                remaining_seconds=clock.target_seconds - elapsed,
                percent=100 * elapsed / clock.target_seconds if clock.target_seconds else 100,
                events=list(clock.events.all()) if with_events else [],
            )
        )
    return views


# -- breach prediction ---------------------------------------------------------------------------

HISTORY_DAYS = 90
MIN_SAMPLES = 5


class Median(Aggregate):
    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


@dataclass
class Prediction:
    likely: bool
    needed_seconds: float
    remaining_seconds: float
    why: str


def resolution_medians(group_ids, *, now=None) -> dict[tuple[int | None, int | None], tuple[float, int]]:
    """Median business seconds to resolve and sample size, per (group, priority), last 90 days."""
    now = now or timezone.now()
    rows = (
        Clock.objects.filter(
            state=ClockState.MET,
            target="resolution",
            group_id__in=list(group_ids),
            stopped_at__gte=now - datetime.timedelta(days=HISTORY_DAYS),
        )
        .values("group_id", "priority")
        .annotate(median=Median("elapsed_seconds"), samples=Count("id"))
        .order_by()
    )
    return {(row["group_id"], row["priority"]): (row["median"], row["samples"]) for row in rows}


def predict(clocks: list[Clock], *, now=None) -> dict[int, Prediction]:
    """For running resolution clocks: is a breach likely, judged from how long the same group took
    to resolve the same priority (median, last 90 days) and how many of its clocks are due first?"""
    now = now or timezone.now()
    running = [c for c in clocks if c.state == ClockState.RUNNING and c.target == "resolution" and c.group_id]
    if not running:
        return {}
    groups = {c.group_id for c in running}
    medians = resolution_medians(groups, now=now)
    queue: dict[int, list] = {}
    for group_id, deadline in (
        Clock.objects.filter(state=ClockState.RUNNING, target="resolution", group_id__in=groups)
        .order_by("deadline")
        .values_list("group_id", "deadline")
    ):
        queue.setdefault(group_id, []).append(deadline)
    predictions = {}
    for clock in running:
        median, samples = medians.get((clock.group_id, clock.priority), (None, 0))
        if median is None or samples < MIN_SAMPLES:
            continue
        schedule = calendars.schedule_for(clock.calendar)
        elapsed = clock.elapsed_at(now, schedule)
        remaining = clock.target_seconds - elapsed
        ahead = sum(
            1
            for deadline in queue.get(clock.group_id, [])
            if deadline and clock.deadline and deadline < clock.deadline
        )
        needed = max(median - elapsed, 0.1 * median) * (1 + ahead / 10)
        likely = remaining > 0 and needed > remaining
        predictions[clock.pk] = Prediction(
            likely=likely,
            needed_seconds=needed,
            remaining_seconds=remaining,
            why=(
                f"This group resolved P{clock.priority} in a median {_duration(median)} of business time "
                f"({samples} in the last {HISTORY_DAYS} days); {_duration(elapsed)} used so far and {ahead} of its "
                f"clocks are due first, so about {_duration(needed)} more is likely needed with {_duration(remaining)} left."
            ),
        )
    return predictions


def live_clocks(user, *, target: str | None = None) -> QuerySet:
    rows = Clock.objects.filter(state__in=[ClockState.RUNNING, ClockState.PAUSED]).visible_to(user)
    if target:
        rows = rows.filter(target=target)
    return rows.select_related("policy", "calendar", "group", "content_type")


def records_for(clocks: list[Clock], user) -> dict[tuple[int, int], object]:
    """The records of the clocks that ``user`` may see, one query per record type."""
    wanted: dict[int, set[int]] = {}
    for clock in clocks:
        wanted.setdefault(clock.content_type_id, set()).add(clock.object_id)
    found = {}
    for type_id, ids in wanted.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        for record in model._default_manager.visible_to(user).filter(pk__in=ids):
            found[(type_id, record.pk)] = record
    return found


# -- outcomes for reporting ----------------------------------------------------------------------

OUTCOMES = ("met", "breached", "running", "at_risk", "finished")
AT_RISK_WINDOW = datetime.timedelta(hours=24)


def breached_q(now: datetime.datetime) -> Q:
    """A clock that missed its target, as seen at ``now``: a breach recorded by the sweep, a clock met
    after its target (met before the sweep saw the deadline pass), a running clock past its deadline,
    or a paused one whose business time is used up. The dashboards count the same thing."""
    return (
        Q(breached_at__isnull=False)
        | Q(state=ClockState.MET, elapsed_seconds__gt=F("target_seconds"))
        | Q(state=ClockState.RUNNING, deadline__lt=now)
        | Q(state=ClockState.PAUSED, elapsed_seconds__gte=F("target_seconds"))
    )


def outcome_q(outcome: str, now: datetime.datetime) -> Q:
    """Clocks (never cancelled ones) by outcome: ``met`` (stopped within target), ``breached``,
    ``running`` (live, not breached), ``at_risk`` (running, not breached, due within 24 hours),
    ``finished`` (stopped: met or breached)."""
    live = Q(state__in=[ClockState.RUNNING, ClockState.PAUSED])
    breached = breached_q(now)
    if outcome == "met":
        return Q(state=ClockState.MET) & ~breached
    if outcome == "breached":
        return ~Q(state=ClockState.CANCELLED) & breached
    if outcome == "running":
        return live & ~breached
    if outcome == "at_risk":
        return Q(state=ClockState.RUNNING, deadline__gte=now, deadline__lt=now + AT_RISK_WINDOW) & ~breached
    if outcome == "finished":
        return Q(state=ClockState.MET)
    raise ValueError(f"unknown outcome {outcome!r}")
