"""How often changes succeed, per service and per owning team (docs/changes.md, "Success rates").

A change counts once it ended: closed (or in review) is a success, failed or backed out a
failure; cancelled and unfinished ones do not count. It falls in the period its start (actual,
else planned) falls in. Per service, a change counts for each service it was made to (chosen,
not derived: a derived service was only at risk).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, DateTimeField, F, Q
from django.db.models.functions import Coalesce

from hashdesk.changes.choices import AffectedReason, ChangeState
from hashdesk.changes.models import AffectedService, Change

SUCCEEDED = (ChangeState.CLOSED, ChangeState.REVIEW)
FAILED = (ChangeState.FAILED, ChangeState.BACKED_OUT)


@dataclass(frozen=True)
class SuccessRate:
    id: int
    name: str
    succeeded: int
    failed: int

    @property
    def total(self) -> int:
        return self.succeeded + self.failed

    @property
    def rate(self) -> float | None:
        """Share of ended changes that succeeded; ``None`` when none ended."""
        return round(self.succeeded / self.total, 3) if self.total else None


def _period(state_field: str, start: datetime | None, end: datetime | None) -> Q:
    """Ended changes whose start (the ``began`` annotation) is in [start, end)."""
    q = Q(**{f"{state_field}__in": [*SUCCEEDED, *FAILED]})
    if start is not None:
        q &= Q(began__gte=start)
    if end is not None:
        q &= Q(began__lt=end)
    return q


def by_service(
    *, start: datetime | None = None, end: datetime | None = None, service_id: int | None = None
) -> list[SuccessRate]:
    """Success rate per service the changes were made to, worst first (one query)."""
    rows = AffectedService.objects.filter(reason=AffectedReason.CHOSEN).annotate(
        began=Coalesce(
            F("change__actual_start"), F("change__planned_start"), output_field=DateTimeField()
        )
    )
    rows = rows.filter(_period("change__state", start, end))
    if service_id is not None:
        rows = rows.filter(service_id=service_id)
    grouped = (
        rows.values("service_id", "service__name")
        .annotate(
            succeeded=Count("pk", filter=Q(change__state__in=SUCCEEDED)),
            failed=Count("pk", filter=Q(change__state__in=FAILED)),
        )
        .order_by("service__name")
    )
    return _ranked(
        SuccessRate(
            id=row["service_id"],
            name=row["service__name"],
            succeeded=row["succeeded"],
            failed=row["failed"],
        )
        for row in grouped
    )


def by_team(
    *, start: datetime | None = None, end: datetime | None = None, team_id: int | None = None
) -> list[SuccessRate]:
    """Success rate per owning team, worst first (one query); changes without a team left out."""
    rows = Change.objects.filter(owner_team__isnull=False).annotate(
        began=Coalesce(F("actual_start"), F("planned_start"), output_field=DateTimeField())
    )
    rows = rows.filter(_period("state", start, end))
    if team_id is not None:
        rows = rows.filter(owner_team_id=team_id)
    grouped = (
        rows.values("owner_team_id", "owner_team__name")
        .annotate(
            succeeded=Count("pk", filter=Q(state__in=SUCCEEDED)),
            failed=Count("pk", filter=Q(state__in=FAILED)),
        )
        .order_by("owner_team__name")
    )
    return _ranked(
        SuccessRate(
            id=row["owner_team_id"],
            name=row["owner_team__name"],
            succeeded=row["succeeded"],
            failed=row["failed"],
        )
        for row in grouped
    )


def _ranked(rates: Iterable[SuccessRate]) -> list[SuccessRate]:
    return sorted(rates, key=lambda rate: (rate.rate if rate.rate is not None else 2.0, rate.name))
