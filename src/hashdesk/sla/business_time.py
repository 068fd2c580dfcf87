"""Business-time arithmetic over a calendar snapshot: pure functions, no database.

A calendar is a set of weekly working periods in local wall-clock time plus holidays. A working
period on a local date covers the real time between its local start and end instants, so on the
days clocks change a 00:00-24:00 period lasts 23 or 25 hours and a 01:00-03:00 period may be one
hour or three: business time is time that really passed while the desk was open.

All comparisons and subtractions are done in UTC. (Python compares two aware datetimes that share
a tzinfo by wall clock, which is wrong across a DST change, so local datetimes never meet.)

Long spans skip whole weeks at once when the week has no holiday and no UTC offset change; other
weeks are walked day by day. Either way the cost is independent of the number of minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
WEEK = timedelta(days=7)
# A calendar ending a period at 24:00 is stored with end minute 1440.
Period = tuple[int, int]


@dataclass(frozen=True)
class CalendarSnapshot:
    """What the arithmetic needs from a business calendar.

    ``periods[weekday]`` (Monday = 0) holds sorted, non-overlapping ``(start, end)`` minutes since
    local midnight, ``0 <= start < end <= 1440``.
    """

    time_zone: str
    periods: tuple[tuple[Period, ...], ...]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if len(self.periods) != 7:
            raise ValueError("a calendar needs periods for 7 weekdays (possibly empty)")
        for day in self.periods:
            previous_end = -1
            for start, end in day:
                if not 0 <= start < end <= MINUTES_PER_DAY or start < previous_end:
                    raise ValueError(f"bad working periods {day!r}")
                previous_end = end

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def minutes_per_week(self) -> int:
        """Nominal business minutes of a week without holidays or clock changes."""
        return sum(end - start for day in self.periods for start, end in day)

    @classmethod
    def weekly(
        cls,
        time_zone: str,
        days: Iterable[int],
        start: time,
        end: time | None,
        holidays: Iterable[date] = (),
    ) -> CalendarSnapshot:
        """Same hours on each of ``days``; ``end=None`` means midnight at the end of the day."""
        period = (_minute_of_day(start), MINUTES_PER_DAY if end is None else _minute_of_day(end))
        chosen = set(days)
        return cls(
            time_zone=time_zone,
            periods=tuple(((period,) if weekday in chosen else ()) for weekday in range(7)),
            holidays=frozenset(holidays),
        )


def _minute_of_day(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def _local_instant(zone: ZoneInfo, day: date, minute: int) -> datetime:
    """The UTC instant of ``minute`` past local midnight of ``day`` (1440 = next midnight).

    A wall time skipped by a spring-forward change resolves with the offset before the change
    (fold=0), as zoneinfo does; a repeated autumn time resolves to its first occurrence.
    """
    if minute == MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), 0
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    return local.astimezone(UTC)


def day_intervals(calendar: CalendarSnapshot, day: date) -> list[tuple[datetime, datetime]]:
    """The working intervals of local date ``day`` as UTC instants (none on a holiday)."""
    if day in calendar.holidays:
        return []
    zone = calendar.zone
    intervals: list[tuple[datetime, datetime]] = []
    for start, end in calendar.periods[day.weekday()]:
        begin, finish = _local_instant(zone, day, start), _local_instant(zone, day, end)
        # A boundary inside a spring-forward gap maps with the earlier offset, i.e. later in real
        # time than the gap's end, so it can reach past the next period's start. Clamping keeps
        # the intervals sorted and disjoint: no instant counts twice.
        if intervals:
            begin = max(begin, intervals[-1][1])
        if finish > begin:
            intervals.append((begin, finish))
    return intervals


def _regular_week(calendar: CalendarSnapshot, first_day: date) -> bool:
    """Whether the 7 local days from ``first_day`` hold exactly the nominal business time."""
    if any(first_day + timedelta(days=n) in calendar.holidays for n in range(7)):
        return False
    zone = calendar.zone
    offsets = {
        datetime.combine(first_day + timedelta(days=n), time(0), tzinfo=zone).utcoffset()
        for n in range(8)
    }
    return len(offsets) == 1


def _days_from(day: date) -> Iterator[date]:
    while True:
        yield day
        day += timedelta(days=1)


def add_business_minutes(calendar: CalendarSnapshot, start: datetime, minutes: float) -> datetime:
    """The UTC instant at which ``minutes`` of business time have passed since ``start``.

    ``start`` may be outside working hours (time starts counting at the next opening). Adding 0
    minutes returns ``start`` itself.
    """
    _require_aware(start, "start")
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    start = start.astimezone(UTC)
    remaining = timedelta(minutes=minutes)
    if not remaining:
        return start
    weekly = timedelta(minutes=calendar.minutes_per_week)
    if not weekly:
        raise ValueError("the calendar has no working periods")
    zone = calendar.zone
    day = start.astimezone(zone).date()
    # Finish the start's own day, where ``start`` may cut a period short.
    cursor = start
    while True:
        for begin, finish in day_intervals(calendar, day):
            if finish <= cursor:
                continue
            begin = max(begin, cursor)
            if remaining <= finish - begin:
                return begin + remaining
            remaining -= finish - begin
        day += timedelta(days=1)
        cursor = _local_instant(zone, day, 0)
        # Whole weeks in one step; strictly more than a week left so the answer lies beyond it.
        while remaining > weekly and _regular_week(calendar, day):
            remaining -= weekly
            day += WEEK
            cursor = _local_instant(zone, day, 0)


def business_minutes_between(calendar: CalendarSnapshot, start: datetime, end: datetime) -> float:
    """Business minutes in ``[start, end)``; 0 when ``end`` is not after ``start``."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return 0.0
    zone = calendar.zone
    weekly = timedelta(minutes=calendar.minutes_per_week)
    last_day = end.astimezone(zone).date()
    day = start.astimezone(zone).date()
    total = timedelta()
    while day <= last_day:
        # Days wholly inside (start, end) that form a regular week count in one step.
        if (
            _local_instant(zone, day, 0) >= start
            and day + WEEK <= last_day
            and _regular_week(calendar, day)
        ):
            total += weekly
            day += WEEK
            continue
        for begin, finish in day_intervals(calendar, day):
            overlap = min(finish, end) - max(begin, start)
            if overlap > timedelta():
                total += overlap
        day += timedelta(days=1)
    return total.total_seconds() / 60
