"""An SLA clock read from snapshots: pure arithmetic, no database.

A clock starts when a record is opened, stops when its target is reached (first response,
resolution) and pauses while the record is on hold. Only business time outside pauses counts.
The incidents app persists starts, pauses and stops, and calls :func:`read_clock` to show state
and to decide when to send warning and breach events.

States, most urgent first:

- ``met``       stopped no later than the due time;
- ``breached``  stopped after the due time, or still running with the due time passed;
- ``paused``    on hold now (the due time moves with the pause);
- ``warning``   the elapsed share of the target reached the policy's warning share;
- ``running``   otherwise.

Breach and warning compare instants, not floats: at the due time itself the target is met, a
breach is any moment after it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from hashdesk.sla.business_time import (
    CalendarSnapshot,
    add_business_minutes,
    business_minutes_between,
)


class ClockState(enum.StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    WARNING = "warning"
    BREACHED = "breached"
    MET = "met"


@dataclass(frozen=True)
class Pause:
    """An on-hold interval; ``ended_at`` is None while the record is still on hold."""

    started_at: datetime
    ended_at: datetime | None = None


@dataclass(frozen=True)
class ClockReading:
    state: ClockState
    target_minutes: float
    elapsed_minutes: float
    # Negative once the target is overrun, so "breaching soon" lists can sort by it.
    remaining_minutes: float
    # When the target is (or was) reached; while paused, the due time if work resumed now.
    due_at: datetime
    warning_at: datetime
    paused: bool


def _closed_pauses(
    pauses: Iterable[Pause], started_at: datetime, until: datetime
) -> list[tuple[datetime, datetime]]:
    """Pauses clipped to ``[started_at, until]``, sorted and merged; an open pause ends at until."""
    clipped = []
    for pause in pauses:
        begin = max(pause.started_at.astimezone(UTC), started_at)
        end = min((pause.ended_at or until).astimezone(UTC), until)
        if end > begin:
            clipped.append((begin, end))
    clipped.sort()
    merged: list[tuple[datetime, datetime]] = []
    for begin, end in clipped:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def _reach(
    calendar: CalendarSnapshot,
    started_at: datetime,
    minutes: float,
    pauses: list[tuple[datetime, datetime]],
) -> datetime:
    """The instant ``minutes`` of unpaused business time have passed since ``started_at``."""
    cursor, remaining = started_at, minutes
    for begin, end in pauses:
        candidate = add_business_minutes(calendar, cursor, remaining)
        if candidate <= begin:
            return candidate
        remaining -= business_minutes_between(calendar, cursor, begin)
        cursor = end
    return add_business_minutes(calendar, cursor, max(remaining, 0.0))


def read_clock(
    calendar: CalendarSnapshot,
    *,
    target_minutes: float,
    warning_share: float,
    started_at: datetime,
    now: datetime,
    pauses: Iterable[Pause] = (),
    stopped_at: datetime | None = None,
) -> ClockReading:
    """Read a clock at ``now`` (or at ``stopped_at`` if it has stopped)."""
    if target_minutes < 0:
        raise ValueError("target_minutes must not be negative")
    if not 0 < warning_share < 1:
        raise ValueError("warning_share must lie strictly between 0 and 1")
    started_at = started_at.astimezone(UTC)
    until = max((stopped_at or now).astimezone(UTC), started_at)
    pause_list = list(pauses)
    paused = stopped_at is None and any(
        p.ended_at is None and p.started_at.astimezone(UTC) <= until for p in pause_list
    )
    closed = _closed_pauses(pause_list, started_at, until)
    elapsed = business_minutes_between(calendar, started_at, until) - sum(
        business_minutes_between(calendar, begin, end) for begin, end in closed
    )
    due_at = _reach(calendar, started_at, target_minutes, closed)
    warning_at = _reach(calendar, started_at, target_minutes * warning_share, closed)
    if stopped_at is not None:
        state = ClockState.MET if until <= due_at else ClockState.BREACHED
    elif until > due_at:
        state = ClockState.BREACHED
    elif paused:
        state = ClockState.PAUSED
    elif until >= warning_at:
        state = ClockState.WARNING
    else:
        state = ClockState.RUNNING
    return ClockReading(
        state=state,
        target_minutes=target_minutes,
        elapsed_minutes=elapsed,
        remaining_minutes=target_minutes - elapsed,
        due_at=due_at,
        warning_at=warning_at,
        paused=paused,
    )
