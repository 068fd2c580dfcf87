"""The change calendar: what is planned when, for the person looking, as plain data.

Pages (month, week, list) and the API read it from here. Every view costs the same four
queries however many changes it holds: the changes, their chosen services, the windows, the
windows' services. Days are the viewer's (their time zone), times are stored in UTC.
docs/changes.md, "Calendar".
"""

from __future__ import annotations

import calendar as gregorian
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from hashdesk.catalog.models import Service
from hashdesk.changes.choices import AffectedReason, ChangeState
from hashdesk.changes.models import AffectedService, Change, ChangeWindow
from hashdesk.changes.windows import check_range, windows_between
from hashdesk.core.visibility import Viewer, visible_to

# A cancelled change no longer takes any room on the calendar.
OFF_CALENDAR = (ChangeState.CANCELLED,)


@dataclass(frozen=True)
class CalendarEntry:
    id: int
    number: str
    summary: str
    state: str
    type: str
    risk: str
    starts_at: datetime
    ends_at: datetime
    # The services it was planned on (chosen), by name; dependents are not listed.
    services: tuple[str, ...]


@dataclass(frozen=True)
class WindowEntry:
    id: int
    kind: str
    name: str
    starts_at: datetime
    ends_at: datetime
    # Empty: every service.
    services: tuple[str, ...]


@dataclass
class CalendarDay:
    day: date
    # False for the days of the neighbouring months that fill a month's first and last week.
    in_range: bool = True
    changes: list[CalendarEntry] = field(default_factory=list)
    windows: list[WindowEntry] = field(default_factory=list)


@dataclass(frozen=True)
class CalendarMonth:
    year: int
    month: int
    # Monday-first weeks, each of seven days.
    weeks: list[list[CalendarDay]]


def changes_between(
    viewer: Viewer, start: datetime, end: datetime, *, service: Service | None = None
) -> QuerySet[Change]:
    """Changes ``viewer`` may see whose planned interval overlaps [start, end), on ``service``
    (chosen or derived) when given; by planned start. Chosen services are prefetched."""
    check_range(start, end)
    changes = visible_to(
        viewer,
        Change.objects.filter(planned_start__lt=end, planned_end__gt=start).exclude(
            state__in=OFF_CALENDAR
        ),
    )
    if service is not None:
        changes = changes.filter(
            Exists(AffectedService.objects.filter(change=OuterRef("pk"), service=service))
        )
    chosen = Prefetch(
        "affected",
        queryset=AffectedService.objects.filter(reason=AffectedReason.CHOSEN)
        .select_related("service")
        .order_by("service__name"),
        to_attr="chosen_services",
    )
    return changes.order_by("planned_start", "planned_end", "id").prefetch_related(chosen)


def _entry(change: Change) -> CalendarEntry:
    assert change.planned_start is not None and change.planned_end is not None
    chosen: list[AffectedService] = getattr(change, "chosen_services", [])
    return CalendarEntry(
        id=change.pk,
        number=change.number or "",
        summary=change.summary,
        state=change.state,
        type=change.type,
        risk=change.risk,
        starts_at=change.planned_start,
        ends_at=change.planned_end,
        services=tuple(row.service.name for row in chosen),
    )


def window_entry(window: ChangeWindow) -> WindowEntry:
    return WindowEntry(
        id=window.pk,
        kind=window.kind,
        name=window.name,
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        services=tuple(service.name for service in window.services.all()),
    )


def agenda(
    viewer: Viewer, start: datetime, end: datetime, *, service: Service | None = None
) -> tuple[list[CalendarEntry], list[WindowEntry]]:
    """The list view: changes and windows overlapping [start, end), each by start."""
    changes = [_entry(change) for change in changes_between(viewer, start, end, service=service)]
    windows = [
        window_entry(window) for window in windows_between(viewer, start, end, service=service)
    ]
    return changes, windows


def _days(
    viewer: Viewer,
    first: date,
    last: date,
    zone: ZoneInfo,
    *,
    service: Service | None,
    in_range: tuple[date, date] | None = None,
) -> list[CalendarDay]:
    """Days ``first``..``last`` (inclusive) in ``zone``, each with what touches it."""
    days = {}
    day = first
    while day <= last:
        inside = in_range is None or in_range[0] <= day <= in_range[1]
        days[day] = CalendarDay(day=day, in_range=inside)
        day += timedelta(days=1)
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    changes, windows = agenda(viewer, start, end, service=service)

    def spread(starts_at: datetime, ends_at: datetime) -> list[CalendarDay]:
        # An interval ending at midnight does not touch the day that begins then.
        day = max(starts_at.astimezone(zone).date(), first)
        final = min((ends_at - timedelta(microseconds=1)).astimezone(zone).date(), last)
        touched = []
        while day <= final:
            touched.append(days[day])
            day += timedelta(days=1)
        return touched

    for entry in changes:
        for calendar_day in spread(entry.starts_at, entry.ends_at):
            calendar_day.changes.append(entry)
    for window in windows:
        for calendar_day in spread(window.starts_at, window.ends_at):
            calendar_day.windows.append(window)
    return list(days.values())


def month(
    viewer: Viewer, year: int, month: int, *, zone: ZoneInfo, service: Service | None = None
) -> CalendarMonth:
    """The month grid: whole Monday-first weeks covering ``month`` of ``year`` in ``zone``."""
    first = date(year, month, 1)
    last = date(year, month, gregorian.monthrange(year, month)[1])
    grid_first = first - timedelta(days=first.weekday())
    grid_last = last + timedelta(days=6 - last.weekday())
    days = _days(viewer, grid_first, grid_last, zone, service=service, in_range=(first, last))
    weeks = [days[index : index + 7] for index in range(0, len(days), 7)]
    return CalendarMonth(year=year, month=month, weeks=weeks)


def week(
    viewer: Viewer, day: date, *, zone: ZoneInfo, service: Service | None = None
) -> list[CalendarDay]:
    """The Monday-to-Sunday week holding ``day``, in ``zone``."""
    monday = day - timedelta(days=day.weekday())
    return _days(viewer, monday, monday + timedelta(days=6), zone, service=service)
