"""Business-time arithmetic: working hours, holidays, time zones, DST and long spans."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashdesk.sla.business_time import (
    CalendarSnapshot,
    add_business_minutes,
    business_minutes_between,
    day_intervals,
)

LONDON = ZoneInfo("Europe/London")
OFFICE = CalendarSnapshot.weekly("Europe/London", range(5), time(8), time(18))
ALWAYS = CalendarSnapshot.weekly("Europe/London", range(7), time(0), None)
SPLIT = CalendarSnapshot(
    time_zone="America/New_York",
    periods=(((9 * 60, 12 * 60), (13 * 60, 17 * 60)),) * 5 + ((), ()),
)


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def test_adding_within_one_day():
    # Monday 2026-01-05 09:00 London (= UTC in winter) + 2 h.
    assert add_business_minutes(OFFICE, london(2026, 1, 5, 9), 120) == datetime(
        2026, 1, 5, 11, tzinfo=UTC
    )


def test_time_starts_counting_at_the_next_opening():
    # Friday 20:00 is after hours: 30 minutes land on Monday 08:30.
    due = add_business_minutes(OFFICE, london(2026, 1, 9, 20), 30)
    assert due == datetime(2026, 1, 12, 8, 30, tzinfo=UTC)
    assert business_minutes_between(OFFICE, london(2026, 1, 9, 20), london(2026, 1, 12, 8)) == 0


def test_overflow_carries_to_the_next_working_day():
    # Thursday 17:00 + 3 h = Friday 10:00.
    assert add_business_minutes(OFFICE, london(2026, 1, 8, 17), 180) == datetime(
        2026, 1, 9, 10, tzinfo=UTC
    )


def test_result_is_utc_and_naive_input_is_refused():
    assert add_business_minutes(OFFICE, london(2026, 1, 5, 9), 1).tzinfo is UTC
    with pytest.raises(ValueError):
        add_business_minutes(OFFICE, datetime(2026, 1, 5, 9), 1)
    with pytest.raises(ValueError):
        add_business_minutes(OFFICE, london(2026, 1, 5, 9), -1)


def test_adding_zero_returns_the_start_even_after_hours():
    start = london(2026, 1, 10, 3)
    assert add_business_minutes(OFFICE, start, 0) == start


def test_holidays_are_skipped():
    # New Year's Day 2026 is a Thursday: Wednesday 17:00 + 2 h = Friday 09:00.
    with_holiday = CalendarSnapshot.weekly(
        "Europe/London", range(5), time(8), time(18), holidays=[date(2026, 1, 1)]
    )
    assert add_business_minutes(with_holiday, london(2025, 12, 31, 17), 120) == datetime(
        2026, 1, 2, 9, tzinfo=UTC
    )
    assert business_minutes_between(
        with_holiday, london(2025, 12, 31, 17), london(2026, 1, 2, 9)
    ) == pytest.approx(120)


def test_split_days_in_another_time_zone():
    # New York, 9-12 and 13-17: Monday 11:00 EST + 2 h = 14:00 EST = 19:00 UTC.
    start = datetime(2026, 1, 5, 16, tzinfo=UTC)  # 11:00 in New York
    assert add_business_minutes(SPLIT, start, 120) == datetime(2026, 1, 5, 19, tzinfo=UTC)
    # The lunch hour does not count.
    lunch_start = datetime(2026, 1, 5, 17, tzinfo=UTC)
    assert business_minutes_between(SPLIT, lunch_start, lunch_start + timedelta(hours=1)) == 0


def test_office_hours_follow_london_summer_time():
    # Monday 2026-03-30 is after the spring change: 08:00 BST is 07:00 UTC.
    assert add_business_minutes(OFFICE, london(2026, 3, 30, 8), 60) == datetime(
        2026, 3, 30, 8, tzinfo=UTC
    )
    # Friday 27 March 17:00 GMT + 2 h crosses the change on Sunday 29 March:
    # one hour on Friday, one on Monday from 08:00 BST (07:00 UTC).
    assert add_business_minutes(OFFICE, london(2026, 3, 27, 17), 120) == datetime(
        2026, 3, 30, 8, tzinfo=UTC
    )


def test_dst_days_are_23_and_25_hours_long_on_a_24x7_calendar():
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    for day, hours in ((spring, 23), (autumn, 25), (date(2026, 6, 1), 24)):
        start = datetime.combine(day, time(0), tzinfo=LONDON)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LONDON)
        assert business_minutes_between(ALWAYS, start, end) == hours * 60
        # And adding a day's worth of business time lands on real elapsed time.
        assert add_business_minutes(ALWAYS, start, hours * 60) == end.astimezone(UTC)


def test_a_night_shift_across_the_autumn_change_counts_real_time():
    # 00:00-04:00 on the autumn-change Sunday: 01:00-02:00 happens twice, so 5 real hours.
    night = CalendarSnapshot.weekly("Europe/London", [6], time(0), time(4))
    ((begin, finish),) = day_intervals(night, date(2026, 10, 25))
    assert finish - begin == timedelta(hours=5)


def test_a_period_boundary_inside_the_spring_gap_counts_no_instant_twice():
    # 01:00-02:00 does not exist in London on 29 March 2026. The desk is open until "01:45" and
    # again from 02:00: it was open from 00:00 GMT to 03:00 BST, two real hours.
    gap = CalendarSnapshot(time_zone="Europe/London", periods=((),) * 6 + (((0, 105), (120, 180)),))
    intervals = day_intervals(gap, date(2026, 3, 29))
    assert intervals[0][1] <= intervals[1][0]
    day_start = datetime(2026, 3, 29, tzinfo=UTC)
    assert business_minutes_between(gap, day_start, day_start + timedelta(hours=3)) == 120
    assert add_business_minutes(gap, day_start, 120) == datetime(2026, 3, 29, 2, tzinfo=UTC)


def test_long_durations_skip_weeks_and_stay_exact():
    # 52 weeks of office time from a Monday morning in winter ends on the same weekday a year on,
    # at the same local time, despite two clock changes on the way (both on Sundays).
    start = london(2026, 1, 5, 8)
    due = add_business_minutes(OFFICE, start, 52 * 5 * 600)
    assert due == london(2027, 1, 1, 18).astimezone(UTC)
    assert business_minutes_between(OFFICE, start, due) == 52 * 5 * 600


def test_between_is_zero_for_reversed_or_empty_spans():
    moment = london(2026, 1, 5, 10)
    assert business_minutes_between(OFFICE, moment, moment) == 0
    assert business_minutes_between(OFFICE, moment, moment - timedelta(hours=1)) == 0


def test_a_calendar_without_periods_cannot_reach_a_target():
    empty = CalendarSnapshot(time_zone="UTC", periods=((),) * 7)
    with pytest.raises(ValueError):
        add_business_minutes(empty, london(2026, 1, 5, 10), 1)


def test_overlapping_periods_are_refused():
    with pytest.raises(ValueError):
        CalendarSnapshot(time_zone="UTC", periods=(((0, 600), (500, 700)),) + ((),) * 6)


# --- Properties, over calendars with holidays, split days and DST changes ---

CALENDARS = [
    OFFICE,
    ALWAYS,
    SPLIT,
    CalendarSnapshot.weekly(
        "Europe/London",
        range(5),
        time(8),
        time(18),
        holidays=[date(2026, 3, 27), date(2026, 10, 26), date(2026, 12, 25)],
    ),
    CalendarSnapshot.weekly("Australia/Sydney", [0, 2, 6], time(0, 30), time(2, 30)),
    # Boundaries inside London's spring gap (01:00-02:00) and repeated autumn hour.
    CalendarSnapshot(time_zone="Europe/London", periods=((),) * 6 + (((0, 105), (120, 180)),)),
]
instants = st.datetimes(
    min_value=datetime(2026, 1, 1),
    max_value=datetime(2027, 12, 31),
).map(lambda moment: moment.replace(tzinfo=UTC))
minutes = st.integers(min_value=0, max_value=60 * 24 * 90)
calendars = st.sampled_from(CALENDARS)


@settings(max_examples=150, deadline=None)
@given(calendar=calendars, start=instants, amount=minutes)
def test_between_inverts_add(calendar, start, amount):
    due = add_business_minutes(calendar, start, amount)
    assert due >= start
    assert business_minutes_between(calendar, start, due) == pytest.approx(amount, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(calendar=calendars, start=instants, a=minutes, b=minutes)
def test_add_is_monotonic_and_additive(calendar, start, a, b):
    small, large = sorted((a, b))
    assert add_business_minutes(calendar, start, small) <= add_business_minutes(
        calendar, start, large
    )
    if small:  # adding 0 leaves a start outside hours where it is; after that it is the same
        step = add_business_minutes(calendar, start, small)
        assert add_business_minutes(calendar, step, large) == add_business_minutes(
            calendar, start, small + large
        )


@settings(max_examples=100, deadline=None)
@given(calendar=calendars, a=instants, b=instants, c=instants)
def test_between_is_additive(calendar, a, b, c):
    first, middle, last = sorted((a, b, c))
    assert business_minutes_between(calendar, first, last) == pytest.approx(
        business_minutes_between(calendar, first, middle)
        + business_minutes_between(calendar, middle, last),
        abs=1e-6,
    )
