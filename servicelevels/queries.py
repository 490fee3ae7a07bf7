"""Read side of the service-level engine: a record's clocks with their explained timeline."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
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


def clocks_for(record, *, now: datetime.datetime | None = None) -> list[ClockView]:
    now = now or timezone.now()
    content_type = ContentType.objects.get_for_model(type(record))
    clocks = list(
        Clock.objects.filter(content_type=content_type, object_id=record.pk)
        .select_related("policy", "calendar")
        .prefetch_related("events")
        .order_by("started_at", "id")
    )
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
                events=list(clock.events.all()),
            )
        )
    return views
