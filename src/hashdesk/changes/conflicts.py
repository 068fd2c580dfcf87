"""What stands in the way of a change's plan: other changes, freezes, maintenance windows.

:func:`find_conflicts` is asked every time a change is scheduled or its plan moves, and the
calendar may ask it for many changes, so it costs three queries whatever the number of changes:

1. the change's affected services (chosen and derived, with their names);
2. the rows of ``AffectedService`` on those services whose change is scheduled or implementing
   and whose planned interval overlaps this one (the interval test is a subquery on the
   change's (planned_start, planned_end) index, the service-id ``IN`` on the affected row's
   (service, change) index);
3. the windows that can matter: freezes overlapping the interval, maintenance windows not over
   before it starts, each joined to the affected services it names (or to none: all services).

Only the rows those queries return are looked at in Python. docs/changes.md, "Conflicts".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q

from hashdesk.changes.choices import ChangeState, ConflictKind, WindowKind
from hashdesk.changes.models import AffectedService, Change, ChangeWindow

# A change in these states holds its slot: planning ones do not yet, finished ones no longer.
HOLDING_STATES = (ChangeState.SCHEDULED, ChangeState.IMPLEMENTING)


@dataclass(frozen=True)
class Conflict:
    """One reason the planned interval is not free.

    ``other`` is the other change's number (``OVERLAP``) or the window's name; ``services`` the
    names of the affected services involved, sorted.
    """

    kind: ConflictKind
    detail: str
    other: str
    services: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "detail": self.detail,
            "other": self.other,
            "services": list(self.services),
        }


def _when(start: datetime, end: datetime) -> str:
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"


def _names(ids: set[int], names: dict[int, str]) -> tuple[str, ...]:
    return tuple(sorted(names[sid] for sid in ids))


def _overlapping_changes(
    change: Change, names: dict[int, str], start: datetime, end: datetime, exclude_self: bool
) -> list[Conflict]:
    # The interval test is a subquery of its own so that it is answered from the
    # (planned_start, planned_end) index alone; joined with the state test, SQLite prefers the
    # (state, planned_start) index and reads every earlier change's row, several times slower
    # with 10,000 changes (docs/performance.md, "Changes").
    overlapping = Change.objects.filter(planned_start__lt=end, planned_end__gt=start)
    if exclude_self:
        overlapping = overlapping.exclude(pk=change.pk)
    rows = AffectedService.objects.filter(
        change_id__in=overlapping.values("pk"),
        service_id__in=list(names),
        change__state__in=HOLDING_STATES,
    )
    shared: dict[int, set[int]] = defaultdict(set)
    others: dict[int, tuple[str, str, datetime, datetime]] = {}
    for change_id, service_id, number, summary, other_start, other_end in rows.values_list(
        "change_id",
        "service_id",
        "change__number",
        "change__summary",
        "change__planned_start",
        "change__planned_end",
    ):
        shared[change_id].add(service_id)
        # The overlap condition made both times non-null.
        assert other_start is not None and other_end is not None
        others[change_id] = (number or f"#{change_id}", summary, other_start, other_end)
    conflicts = []
    for change_id, (number, summary, other_start, other_end) in sorted(
        others.items(), key=lambda item: (item[1][2], item[1][0])
    ):
        services = _names(shared[change_id], names)
        conflicts.append(
            Conflict(
                kind=ConflictKind.OVERLAP,
                detail=f"Overlaps {number} “{summary}” ({_when(other_start, other_end)}) "
                f"on {', '.join(services)}.",
                other=number,
                services=services,
            )
        )
    return conflicts


def _window_conflicts(names: dict[int, str], start: datetime, end: datetime) -> list[Conflict]:
    # One row per (window, affected service it names); service None: the window is for all.
    rows = (
        ChangeWindow.objects.filter(
            Q(kind=WindowKind.FREEZE, starts_at__lt=end, ends_at__gt=start)
            | Q(kind=WindowKind.MAINTENANCE, ends_at__gt=start)
        )
        .filter(Q(services__isnull=True) | Q(services__in=list(names)))
        .order_by("starts_at", "id")
        .values_list("id", "kind", "name", "starts_at", "ends_at", "services")
    )
    windows: dict[int, tuple[str, str, datetime, datetime]] = {}
    window_services: dict[int, set[int]] = defaultdict(set)
    for window_id, kind, name, starts_at, ends_at, service_id in rows:
        windows[window_id] = (kind, name, starts_at, ends_at)
        window_services[window_id].update(names if service_id is None else {service_id})

    conflicts = []
    # Maintenance: a service with windows still to come must be changed inside one of them.
    has_windows: set[int] = set()
    inside: set[int] = set()
    for window_id, (kind, name, starts_at, ends_at) in windows.items():
        services = window_services[window_id]
        if kind == WindowKind.FREEZE:
            involved = _names(services, names)
            conflicts.append(
                Conflict(
                    kind=ConflictKind.FREEZE,
                    detail=f"Inside the freeze “{name}” ({_when(starts_at, ends_at)}) "
                    f"on {', '.join(involved)}.",
                    other=name,
                    services=involved,
                )
            )
            continue
        has_windows |= services
        if starts_at <= start and end <= ends_at:
            inside |= services
    outside = has_windows - inside
    if outside:
        involved = _names(outside, names)
        conflicts.append(
            Conflict(
                kind=ConflictKind.OUTSIDE_MAINTENANCE,
                detail=f"Outside the maintenance windows of {', '.join(involved)}.",
                other=", ".join(
                    sorted(
                        {
                            name
                            for window_id, (kind, name, _s, _e) in windows.items()
                            if kind == WindowKind.MAINTENANCE
                            and window_services[window_id] & outside
                        }
                    )
                ),
                services=involved,
            )
        )
    return conflicts


def find_conflicts(change: Change, *, exclude_self: bool = True) -> list[Conflict]:
    """Everything that conflicts with ``change``'s planned interval on its affected services
    (chosen and derived): overlapping scheduled or implementing changes sharing any of them,
    freezes covering any of them (or all services), and services whose maintenance windows the
    interval is not inside. Empty when the change has no planned interval or no services.

    Intervals are half-open: a change ending at 10:00 does not overlap one starting at 10:00.
    """
    start, end = change.planned_start, change.planned_end
    if start is None or end is None or change.pk is None:
        return []
    names = dict(
        AffectedService.objects.filter(change_id=change.pk).values_list(
            "service_id", "service__name"
        )
    )
    if not names:
        return []
    return [
        *_overlapping_changes(change, names, start, end, exclude_self),
        *_window_conflicts(names, start, end),
    ]
