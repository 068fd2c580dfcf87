"""SLA clocks: elapsed business time, pauses on hold, warning, breach and met."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from hashdesk.sla.business_time import CalendarSnapshot
from hashdesk.sla.clock import ClockState, Pause, read_clock

OFFICE = CalendarSnapshot.weekly("UTC", range(5), time(8), time(18))
MONDAY_9 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def read(now: datetime, *, target: float = 240, **kwargs):
    return read_clock(
        OFFICE, target_minutes=target, warning_share=0.75, started_at=MONDAY_9, now=now, **kwargs
    )


def test_a_fresh_clock_is_running_with_its_due_and_warning_times():
    reading = read(MONDAY_9 + timedelta(hours=1))
    assert reading.state == ClockState.RUNNING
    assert reading.elapsed_minutes == 60
    assert reading.remaining_minutes == 180
    assert reading.due_at == datetime(2026, 1, 5, 13, tzinfo=UTC)
    assert reading.warning_at == datetime(2026, 1, 5, 12, tzinfo=UTC)


def test_warning_from_the_warning_share_until_the_due_time():
    assert read(datetime(2026, 1, 5, 12, tzinfo=UTC)).state == ClockState.WARNING
    # At the due time itself the target is still met; a minute later it is breached.
    assert read(datetime(2026, 1, 5, 13, tzinfo=UTC)).state == ClockState.WARNING
    late = read(datetime(2026, 1, 5, 13, 1, tzinfo=UTC))
    assert late.state == ClockState.BREACHED
    assert late.remaining_minutes == -1


def test_overnight_time_does_not_count():
    # Started Monday 17:00 with a 4 h target: due Tuesday 11:00; at 08:30 only 90 min elapsed.
    started = datetime(2026, 1, 5, 17, tzinfo=UTC)
    reading = read_clock(
        OFFICE,
        target_minutes=240,
        warning_share=0.75,
        started_at=started,
        now=datetime(2026, 1, 6, 8, 30, tzinfo=UTC),
    )
    assert reading.elapsed_minutes == 90
    assert reading.due_at == datetime(2026, 1, 6, 11, tzinfo=UTC)
    assert reading.state == ClockState.RUNNING


def test_a_closed_pause_extends_the_due_time():
    # On hold 10:00-11:30: 90 minutes of business time do not count.
    pauses = [Pause(MONDAY_9 + timedelta(hours=1), MONDAY_9 + timedelta(hours=2, minutes=30))]
    reading = read(datetime(2026, 1, 5, 14, tzinfo=UTC), pauses=pauses)
    assert reading.elapsed_minutes == 300 - 90
    assert reading.due_at == datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
    assert reading.state == ClockState.WARNING
    assert not reading.paused


def test_an_open_pause_stops_the_clock_and_wins_over_warning():
    # 3.5 h elapsed (past the 75% warning), then on hold since 12:30.
    pauses = [Pause(datetime(2026, 1, 5, 12, 30, tzinfo=UTC))]
    reading = read(datetime(2026, 1, 5, 16, tzinfo=UTC), pauses=pauses)
    assert reading.state == ClockState.PAUSED and reading.paused
    assert reading.elapsed_minutes == 210
    # If work resumed now, 30 minutes would remain.
    assert reading.due_at == datetime(2026, 1, 5, 16, 30, tzinfo=UTC)


def test_a_breach_before_the_pause_stays_a_breach():
    pauses = [Pause(datetime(2026, 1, 5, 15, tzinfo=UTC))]
    reading = read(datetime(2026, 1, 5, 16, tzinfo=UTC), pauses=pauses)
    assert reading.state == ClockState.BREACHED
    assert reading.due_at == datetime(2026, 1, 5, 13, tzinfo=UTC)
    assert reading.elapsed_minutes == 360


def test_overlapping_and_out_of_range_pauses_count_once():
    pauses = [
        Pause(MONDAY_9 - timedelta(hours=2), MONDAY_9 + timedelta(minutes=30)),
        Pause(MONDAY_9 + timedelta(hours=1), MONDAY_9 + timedelta(hours=2)),
        Pause(MONDAY_9 + timedelta(minutes=90), MONDAY_9 + timedelta(hours=3)),
    ]
    reading = read(MONDAY_9 + timedelta(hours=4), pauses=pauses)
    # Paused 09:00-09:30 and 10:00-12:00: 150 of 240 minutes do not count.
    assert reading.elapsed_minutes == 90


def test_a_stopped_clock_is_met_or_breached_and_ignores_now():
    on_time = read(datetime(2026, 1, 9, 9, tzinfo=UTC), stopped_at=MONDAY_9 + timedelta(hours=4))
    assert on_time.state == ClockState.MET and on_time.elapsed_minutes == 240
    too_late = read(datetime(2026, 1, 9, 9, tzinfo=UTC), stopped_at=MONDAY_9 + timedelta(hours=5))
    assert too_late.state == ClockState.BREACHED


def test_a_stopped_clock_is_not_paused_even_with_an_open_pause():
    reading = read(
        datetime(2026, 1, 9, 9, tzinfo=UTC),
        pauses=[Pause(MONDAY_9 + timedelta(hours=1))],
        stopped_at=MONDAY_9 + timedelta(hours=2),
    )
    assert reading.state == ClockState.MET and not reading.paused
    assert reading.elapsed_minutes == 60


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError):
        read_clock(OFFICE, target_minutes=60, warning_share=1, started_at=MONDAY_9, now=MONDAY_9)
    with pytest.raises(ValueError):
        read_clock(OFFICE, target_minutes=-1, warning_share=0.5, started_at=MONDAY_9, now=MONDAY_9)
