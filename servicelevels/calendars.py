"""Calendars as ``businesstime.Schedule`` objects, and holidays generated with the ``holidays`` package."""

from __future__ import annotations

import datetime
import time

from django.db import transaction

from servicelevels.businesstime import Schedule
from servicelevels.models import BusinessHours, Calendar, Holiday

# Schedules are rebuilt when the calendar's version changes, or after this many seconds at most
# (holidays and hours are edited in the admin, which bumps the version).
_CACHE_SECONDS = 60.0
_cache: dict[int, tuple[int, float, Schedule]] = {}


def schedule_for(calendar: Calendar) -> Schedule:
    cached = _cache.get(calendar.pk)
    if cached and cached[0] == calendar.version and time.monotonic() - cached[1] < _CACHE_SECONDS:
        return cached[2]
    schedule = build_schedule(calendar)
    _cache[calendar.pk] = (calendar.version, time.monotonic(), schedule)
    return schedule


def forget(calendar_id: int | None = None) -> None:
    if calendar_id is None:
        _cache.clear()
    else:
        _cache.pop(calendar_id, None)


def build_schedule(calendar: Calendar) -> Schedule:
    if calendar.is_24x7:
        return Schedule.always(calendar.time_zone)
    hours: dict[int, list] = {}
    for row in BusinessHours.objects.filter(calendar=calendar).order_by("weekday", "start"):
        hours.setdefault(row.weekday, []).append((row.start, row.end))
    holidays = frozenset(Holiday.objects.filter(calendar=calendar).values_list("date", flat=True))
    return Schedule(
        time_zone=calendar.time_zone,
        hours={day: tuple(ranges) for day, ranges in hours.items()},
        holidays=holidays,
    )


@transaction.atomic
def generate_holidays(calendar: Calendar, years: list[int]) -> int:
    """Add the public holidays of the calendar's country (and region) for ``years``; returns how many
    were added. Dates already present (generated or entered by hand) are left as they are."""
    import holidays as holiday_data
    from django.core.exceptions import ValidationError

    if not calendar.holiday_country:
        raise ValidationError({"holiday_country": "Set the country to generate holidays for."})
    try:
        found = holiday_data.country_holidays(
            calendar.holiday_country.upper(), subdiv=calendar.holiday_subdivision or None, years=years
        )
    except NotImplementedError as error:
        raise ValidationError(
            {"holiday_country": f"No holiday data for '{calendar.holiday_country}'."}
        ) from error
    except Exception as error:  # the package raises NotImplementedError or KeyError for unknown regions
        raise ValidationError({"holiday_subdivision": str(error)}) from error
    present = set(Holiday.objects.filter(calendar=calendar).values_list("date", flat=True))
    rows = [
        Holiday(calendar=calendar, date=day, name=str(name)[:100], generated=True)
        for day, name in sorted(found.items())
        if day not in present
    ]
    Holiday.objects.bulk_create(rows, ignore_conflicts=True)
    Calendar.objects.filter(pk=calendar.pk).update(version=calendar.version + 1)
    forget(calendar.pk)
    return len(rows)


def this_and_next_years(today: datetime.date | None = None) -> list[int]:
    year = (today or datetime.date.today()).year  # noqa: DTZ011 - a calendar year, any zone will do
    return [year, year + 1]
