"""Business-time arithmetic with fixed cases (weekends, holidays, DST in Berlin and New York, pauses
across closing time) and property-based tests (hypothesis)."""

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicelevels.businesstime import NoWorkingTime, Schedule, weekday_hours

UTC = datetime.UTC
T = datetime.time
H = 3600


def at(text: str, zone: str = "UTC") -> datetime.datetime:
    from zoneinfo import ZoneInfo

    return datetime.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def office(zone="Europe/Berlin", holidays=()):
    """Mon-Fri 08:00-12:00 and 13:00-17:00 (8 working hours a day)."""
    ranges = ((T(8), T(12)), (T(13), T(17)))
    return Schedule(time_zone=zone, hours=dict.fromkeys(range(5), ranges), holidays=frozenset(holidays))


def test_within_one_day_and_across_lunch():
    s = office()
    assert s.add(at("2026-03-02 09:00", "Europe/Berlin"), 2 * H) == at("2026-03-02 11:00", "Europe/Berlin")
    assert s.add(at("2026-03-02 11:00", "Europe/Berlin"), 2 * H) == at("2026-03-02 14:00", "Europe/Berlin")


def test_across_a_weekend():
    s = office()
    friday = at("2026-03-06 16:00", "Europe/Berlin")
    assert s.add(friday, 2 * H) == at("2026-03-09 09:00", "Europe/Berlin")  # Monday
    assert s.business_seconds(friday, at("2026-03-09 09:00", "Europe/Berlin")) == 2 * H


def test_across_a_holiday():
    s = office(holidays=[datetime.date(2026, 4, 3), datetime.date(2026, 4, 6)])  # Good Friday, Easter Monday
    thursday = at("2026-04-02 16:00", "Europe/Berlin")
    assert s.add(thursday, 4 * H) == at("2026-04-07 11:00", "Europe/Berlin")


def test_starting_outside_hours_counts_from_the_next_opening():
    s = office()
    assert s.add(at("2026-03-02 06:30", "Europe/Berlin"), 1 * H) == at("2026-03-02 09:00", "Europe/Berlin")
    assert s.add(at("2026-03-07 10:00", "Europe/Berlin"), 1 * H) == at("2026-03-09 09:00", "Europe/Berlin")
    assert s.next_open(at("2026-03-02 12:30", "Europe/Berlin")) == at("2026-03-02 13:00", "Europe/Berlin")
    assert not s.is_open(at("2026-03-02 12:30", "Europe/Berlin"))
    assert s.is_open(at("2026-03-02 13:00", "Europe/Berlin"))


def test_dst_spring_forward_berlin_24x7_day_is_23_hours():
    s = Schedule.always("Europe/Berlin")
    start = at("2026-03-29 00:00", "Europe/Berlin")  # clocks go 02:00 -> 03:00
    assert s.business_seconds(start, at("2026-03-30 00:00", "Europe/Berlin")) == 23 * H
    # 4 real hours after midnight is 05:00 local, not 04:00.
    assert s.add(start, 4 * H) == at("2026-03-29 05:00", "Europe/Berlin")


def test_dst_fall_back_new_york_24x7_day_is_25_hours():
    s = Schedule.always("America/New_York")
    start = at("2026-11-01 00:00", "America/New_York")  # clocks go 02:00 -> 01:00
    assert s.business_seconds(start, at("2026-11-02 00:00", "America/New_York")) == 25 * H
    assert s.add(start, 4 * H) == at("2026-11-01 03:00", "America/New_York")


def test_dst_office_hours_keep_their_local_times():
    berlin, new_york = office("Europe/Berlin"), office("America/New_York")
    # Friday before the change 16:00 + 3 h = Monday 10:00 local, whatever the UTC offset did.
    assert berlin.add(at("2026-03-27 16:00", "Europe/Berlin"), 3 * H) == at(
        "2026-03-30 10:00", "Europe/Berlin"
    )
    assert new_york.add(at("2026-03-06 16:00", "America/New_York"), 3 * H) == at(
        "2026-03-09 10:00", "America/New_York"
    )
    assert new_york.add(at("2026-10-30 16:00", "America/New_York"), 3 * H) == at(
        "2026-11-02 10:00", "America/New_York"
    )


def test_a_pause_spanning_closing_time_moves_the_deadline_by_paused_business_time_only():
    s = office()
    start = at("2026-03-02 09:00", "Europe/Berlin")
    target = 8 * H
    original = s.add(start, target)
    assert original == at("2026-03-03 09:00", "Europe/Berlin")
    # Paused from 16:00 Monday to 10:00 Tuesday: 1 h Monday + 2 h Tuesday of business time.
    pause, resume = at("2026-03-02 16:00", "Europe/Berlin"), at("2026-03-03 10:00", "Europe/Berlin")
    elapsed = s.business_seconds(start, pause)
    deadline = s.add(resume, target - elapsed)
    assert s.business_seconds(original, deadline) == s.business_seconds(pause, resume) == 3 * H
    assert deadline == at("2026-03-03 12:00", "Europe/Berlin")


def test_a_target_change_at_80_percent_keeps_the_elapsed_time():
    s = office()
    start = at("2026-03-02 08:00", "Europe/Berlin")
    eighty = s.add(start, 0.8 * 8 * H)
    assert eighty == at("2026-03-02 15:24", "Europe/Berlin")  # 4 h morning + 2 h 24 min afternoon
    elapsed = s.business_seconds(start, eighty)
    assert elapsed == 6.4 * H
    # The priority drops at 80 %: the new policy allows 16 h in all, and what elapsed still counts.
    new_deadline = s.add(eighty, 16 * H - elapsed)
    assert new_deadline == at("2026-03-03 17:00", "Europe/Berlin")
    assert s.business_seconds(start, new_deadline) == 16 * H


def test_no_working_time_is_an_error_not_a_hang():
    with pytest.raises(NoWorkingTime):
        Schedule(time_zone="UTC", hours={}).add(at("2026-01-01 00:00"), 60)


def test_invalid_ranges_are_refused():
    with pytest.raises(ValueError):
        Schedule(hours={0: ((T(17), T(8)),)})
    with pytest.raises(ValueError):
        Schedule(hours={0: ((T(8), T(12)), (T(11), T(13)))})
    with pytest.raises(ValueError):
        office().add(datetime.datetime(2026, 1, 1), 60)  # noqa: DTZ001 - naive on purpose


# -- properties ----------------------------------------------------------------------------------

ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"])
# hypothesis takes naive bounds and attaches the zone itself.
INSTANTS = st.datetimes(
    min_value=datetime.datetime(2025, 1, 1),  # noqa: DTZ001
    max_value=datetime.datetime(2027, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
SECONDS = st.integers(min_value=0, max_value=40 * H)


@st.composite
def schedules(draw):
    zone = draw(ZONES)
    kind = draw(st.sampled_from(["office", "always", "extended"]))
    if kind == "always":
        return Schedule.always(zone)
    if kind == "extended":
        return Schedule(time_zone=zone, hours=weekday_hours(T(7), None, range(6)))
    holidays = draw(
        st.frozensets(st.dates(datetime.date(2025, 1, 1), datetime.date(2027, 12, 31)), max_size=20)
    )
    return Schedule(time_zone=zone, hours=office(zone).hours, holidays=holidays)


@settings(max_examples=150, deadline=None)
@given(schedules(), INSTANTS, SECONDS)
def test_add_is_the_inverse_of_business_seconds(s, start, seconds):
    deadline = s.add(start, seconds)
    assert deadline >= start
    assert s.business_seconds(start, deadline) == pytest.approx(seconds, abs=1e-6)


@settings(max_examples=150, deadline=None)
@given(schedules(), INSTANTS, SECONDS, SECONDS)
def test_the_deadline_is_monotonic_in_the_target(s, start, first, second):
    low, high = sorted((first, second))
    assert s.add(start, low) <= s.add(start, high)


@settings(max_examples=150, deadline=None)
@given(schedules(), INSTANTS, SECONDS, st.integers(0, 30 * H), st.integers(0, 72 * H))
def test_pausing_never_shortens_the_remaining_business_time(s, start, target, run_for, pause_for):
    """Run ``run_for`` wall seconds, pause ``pause_for``, resume: the deadline moves by exactly the
    business time of the pause, and the business time still owed is what it was at the pause."""
    pause = start + datetime.timedelta(seconds=run_for)
    resume = pause + datetime.timedelta(seconds=pause_for)
    elapsed = min(s.business_seconds(start, pause), target)
    remaining_at_pause = target - elapsed
    deadline = s.add(resume, remaining_at_pause)
    assert s.business_seconds(resume, deadline) == pytest.approx(remaining_at_pause, abs=1e-6)
    assert deadline >= s.add(start, target) or elapsed == target
