"""Ninety days of each service's own state, a bar a day, and its uptime (docs/status.md,
"History").

Days are calendar days in the site's time zone (``settings.TIME_ZONE``), the same for every
viewer so the bars can be cached. A day's bar is the worst own state of the service that day:

- an incident counts from ``created_at`` to ``resolved_at`` (else ``closed_at``, else now when
  still open), with the state its priority and major flag give it today (``states.
  incident_state``); cancelled and merged incidents do not count;
- a change implemented that day (``actual_start`` .. ``actual_end`` or now) is maintenance.

Uptime is the share of the 90 days' minutes (up to now) the service was not in partial or major
outage. Two queries for every service together; the bucketing is done here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from hashdesk.status.states import OUTAGES, RANK, ServiceState, incident_state
from hashdesk.status.tiers import Tier, change_filter, incident_filter

HISTORY_DAYS = 90


@dataclass
class ServiceHistory:
    # ISO date → state, only for days that were not operational.
    days: dict[str, str] = field(default_factory=dict)
    uptime: float = 100.0


@dataclass(frozen=True)
class Window:
    zone: ZoneInfo
    first_day: date
    start: datetime
    end: datetime

    def day_of(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=offset) for offset in range(HISTORY_DAYS)]


def window(now: datetime) -> Window:
    zone = ZoneInfo(settings.TIME_ZONE)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=HISTORY_DAYS - 1)
    start = datetime.combine(first, time.min, zone)
    return Window(zone=zone, first_day=first, start=start, end=now)


def _mark(
    history: ServiceHistory, span: Window, start: datetime, end: datetime, state: str
) -> None:
    day = span.day_of(max(start, span.start))
    last = span.day_of(min(end, span.end))
    while day <= last:
        key = day.isoformat()
        current = history.days.get(key, ServiceState.OPERATIONAL)
        if RANK[ServiceState(state)] > RANK[ServiceState(current)]:
            history.days[key] = state
        day += timedelta(days=1)


def _outage_minutes(intervals: list[tuple[datetime, datetime]]) -> float:
    total = 0.0
    current_start: datetime | None = None
    current_end: datetime | None = None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_start is not None and current_end is not None:
                total += (current_end - current_start).total_seconds()
            current_start, current_end = start, end
        elif end > current_end:
            current_end = end
    if current_start is not None and current_end is not None:
        total += (current_end - current_start).total_seconds()
    return total / 60


def load_history(
    tier: Tier, service_ids: Collection[int], now: datetime
) -> tuple[Window, dict[int, ServiceHistory]]:
    from hashdesk.changes.choices import ChangeState
    from hashdesk.changes.models import AffectedService, Change
    from hashdesk.incidents.choices import State
    from hashdesk.incidents.models import Incident

    span = window(now)
    histories: dict[int, ServiceHistory] = {pk: ServiceHistory() for pk in service_ids}
    if not histories:
        return span, histories
    incidents = (
        Incident.objects.filter(
            incident_filter(tier),
            service_id__in=list(histories),
            created_at__lt=span.end,
            merged_into__isnull=True,
        )
        .exclude(state=State.CANCELLED)
        .exclude(resolved_at__lt=span.start)
        .exclude(resolved_at__isnull=True, closed_at__lt=span.start)
        .values_list("service_id", "priority", "is_major", "created_at", "resolved_at", "closed_at")
    )
    outages: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for service_id, priority, is_major, created, resolved, closed in incidents:
        caused = incident_state(priority, is_major)
        if caused == ServiceState.OPERATIONAL:
            continue
        end = resolved or closed or span.end
        if end < span.start or end < created:
            continue
        _mark(histories[service_id], span, created, end, caused)
        if caused in OUTAGES:
            outages[service_id].append((max(created, span.start), min(end, span.end)))

    implemented = (
        AffectedService.objects.filter(
            service_id__in=list(histories),
            change__in=Change.objects.filter(change_filter(tier)).filter(
                actual_start__isnull=False, actual_start__lt=span.end
            ),
        )
        .exclude(change__actual_end__lt=span.start)
        .values_list("service_id", "change__actual_start", "change__actual_end", "change__state")
    )
    for service_id, started, ended, change_state in implemented:
        if started is None:
            continue
        if ended is None:
            # Being implemented: until now. Finished without a recorded end: its start day.
            ended = span.end if change_state == ChangeState.IMPLEMENTING else started
        _mark(histories[service_id], span, started, ended, ServiceState.MAINTENANCE)

    total_minutes = (span.end - span.start).total_seconds() / 60
    for service_id, intervals in outages.items():
        down = _outage_minutes(intervals)
        histories[service_id].uptime = round(max(0.0, 100 * (1 - down / total_minutes)), 2)
    return span, histories
