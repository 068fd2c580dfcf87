"""Planned changes for the conflict, window and calendar tests.

Changes are written as the records the change actions leave (the change, its chosen services and
the dependents derived from the catalogue graph), so these tests do not depend on the path that
leads a change to a state; the lifecycle is tested in test_lifecycle.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import count

from hashdesk.accounts.models import User
from hashdesk.catalog.graph import affected_service_ids
from hashdesk.catalog.models import Service
from hashdesk.changes.choices import AffectedReason, ChangeState
from hashdesk.changes.models import AffectedService, Change

# Far from the numbers the change actions give, should a test use both.
_numbers = count(900_001)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """A moment in March 2031 (UTC): far enough ahead for every test."""
    return datetime(2031, month, day, hour, minute, tzinfo=UTC)


def plan_change(
    requester: User,
    services: Iterable[Service],
    start: datetime | None,
    end: datetime | None,
    *,
    state: str = ChangeState.SCHEDULED,
    summary: str = "Upgrade",
) -> Change:
    change = Change.objects.create(
        number=f"CHG-{next(_numbers):06d}",
        summary=summary,
        state=state,
        requester=requester,
        planned_start=start,
        planned_end=end,
    )
    chosen = [service.pk for service in services]
    AffectedService.objects.bulk_create(
        [AffectedService(change=change, service_id=sid, reason=AffectedReason.CHOSEN)
         for sid in chosen]
        + [AffectedService(change=change, service_id=sid, reason=AffectedReason.DERIVED,
                           distance=1)
           for sid in affected_service_ids(chosen)]
    )  # fmt: skip
    return change
