"""Business-time arithmetic: how much working time lies between two instants, and when a given
amount of working time will have elapsed, in a calendar's own time zone.

Pure logic (no database), so it is tested alone with fixed cases and property-based tests.

A ``Schedule`` has working ranges per weekday in local wall-clock time (several a day, e.g. 08:00-12:00
and 13:00-17:00; an end of ``None`` means midnight at the end of the day), a set of local holiday
dates, and a time zone. Every local boundary is turned into a real instant with the zone's rules,
so a working day that contains a DST change is as long as it really was (a 00:00-24:00 day is 23 or
25 hours), and nothing is counted twice or lost across the change. A local time that does not exist
(the hour skipped in spring) is read with the offset before the change, as ``zoneinfo`` does; one
that exists twice (autumn) means its first occurrence.

All instants in and out are timezone-aware; results are in UTC.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

UTC = datetime.UTC
DAY = datetime.timedelta(days=1)
# A calendar whose working time is this far away (or absent) cannot meet any target: say so.
HORIZON_DAYS = 3 * 366

Range = tuple[datetime.time, datetime.time | None]


class NoWorkingTime(ValueError):
    """The schedule has no working time within the horizon, so no deadline can be computed."""


@dataclass(frozen=True)
class Schedule:
    time_zone: str = "UTC"
    # weekday (Monday 0 .. Sunday 6) -> ranges (start, end); end None = midnight ending the day.
    hours: dict[int, tuple[Range, ...]] = field(default_factory=dict)
    holidays: frozenset[datetime.date] = frozenset()

    @classmethod
    def always(cls, time_zone: str = "UTC") -> Schedule:
        """24 hours a day, 7 days a week, no holidays."""
        return cls(time_zone=time_zone, hours={day: ((datetime.time(0), None),) for day in range(7)})

    def __post_init__(self):
        for day, ranges in self.hours.items():
            if day not in range(7):
                raise ValueError(f"weekday {day} is not 0 (Monday) to 6 (Sunday)")
            previous_end = None
            for start, end in sorted(ranges, key=lambda r: r[0]):
                if end is not None and end <= start:
                    raise ValueError(f"range {start}-{end} on weekday {day} ends before it starts")
                if previous_end is not None and start < previous_end:
                    raise ValueError(f"ranges on weekday {day} overlap at {start}")
                previous_end = end if end is not None else datetime.time.max

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def is_always(self) -> bool:
        return not self.holidays and all(
            self.hours.get(day) == ((datetime.time(0), None),) for day in range(7)
        )

    # -- building blocks --------------------------------------------------------------------------

    def _day_intervals(self, day: datetime.date) -> list[tuple[datetime.datetime, datetime.datetime]]:
        """The working intervals of one local date, as UTC instants (none on a holiday)."""
        if day in self.holidays:
            return []
        zone = self.zone
        intervals = []
        for start, end in sorted(self.hours.get(day.weekday(), ()), key=lambda r: r[0]):
            begin = datetime.datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
            if end is None:
                finish = datetime.datetime.combine(day + DAY, datetime.time(0), tzinfo=zone).astimezone(UTC)
            else:
                finish = datetime.datetime.combine(day, end, tzinfo=zone).astimezone(UTC)
            if finish > begin:
                intervals.append((begin, finish))
        return intervals

    def intervals(
        self, start: datetime.datetime, end: datetime.datetime | None = None
    ) -> Iterator[tuple[datetime.datetime, datetime.datetime]]:
        """Working intervals from ``start`` (clipped to it) up to ``end`` (or the horizon)."""
        _aware(start)
        if end is not None:
            _aware(end)
            if end <= start:
                return
        zone = self.zone
        # The local date of ``start``, minus one: a range ending at midnight belongs to the day before.
        day = start.astimezone(zone).date() - DAY
        last = (
            (end.astimezone(zone).date() + DAY) if end is not None else day + datetime.timedelta(HORIZON_DAYS)
        )
        while day <= last:
            for begin, finish in self._day_intervals(day):
                if finish <= start:
                    continue
                if end is not None and begin >= end:
                    return
                yield max(begin, start), min(finish, end) if end is not None else finish
            day += DAY

    # -- the two questions ------------------------------------------------------------------------

    def business_seconds(self, start: datetime.datetime, end: datetime.datetime) -> float:
        """Working seconds in [start, end); 0 when end is not after start."""
        return sum((finish - begin).total_seconds() for begin, finish in self.intervals(start, end))

    def add(self, start: datetime.datetime, seconds: float) -> datetime.datetime:
        """The instant at which ``seconds`` of working time have elapsed from ``start``.

        Zero seconds from outside working hours is ``start`` itself (nothing is owed). Raises
        ``NoWorkingTime`` when the schedule has no working time within the horizon."""
        _aware(start)
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        if seconds == 0:
            return start.astimezone(UTC)
        remaining = datetime.timedelta(seconds=seconds)
        for begin, finish in self.intervals(start):
            length = finish - begin
            if remaining <= length:
                return begin + remaining
            remaining -= length
        raise NoWorkingTime(f"no working time within {HORIZON_DAYS} days of {start.isoformat()}")

    def is_open(self, at: datetime.datetime) -> bool:
        """Whether ``at`` falls in working time."""
        _aware(at)
        return any(
            begin <= at < finish for begin, finish in self.intervals(at, at + datetime.timedelta(seconds=1))
        )

    def next_open(self, at: datetime.datetime) -> datetime.datetime:
        """``at`` if it is in working time, else the start of the next working interval."""
        for begin, _ in self.intervals(at):
            return begin
        raise NoWorkingTime(f"no working time within {HORIZON_DAYS} days of {at.isoformat()}")


def _aware(value: datetime.datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value!r} has no time zone")


def weekday_hours(
    start: datetime.time, end: datetime.time | None, days: Iterable[int] = range(5)
) -> dict[int, tuple[Range, ...]]:
    """The same range on each of ``days`` (default Monday to Friday)."""
    return dict.fromkeys(days, ((start, end),))
