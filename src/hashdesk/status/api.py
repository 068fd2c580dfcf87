"""``GET /api/v1/status``: the status page's data for the caller's tier (docs/status.md, "API").

The same snapshot as the page and ``/status/summary.json``. Anonymous callers get the public
tier while ``STATUS_PAGE_PUBLIC`` is on (a 401 problem otherwise); a token or session gets its
person's tier.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from ninja import Router

from hashdesk.api.auth import API_AUTH
from hashdesk.api.schemas import READ_ERRORS, Output, with_errors
from hashdesk.status import snapshot as snapshots
from hashdesk.status.tiers import tier_for

router = Router(tags=["status"])


def _anonymous(request: HttpRequest) -> Any:
    """Lets the status through without credentials while the page is public."""
    if settings.STATUS_PAGE_PUBLIC:
        return AnonymousUser()
    return None


class StatusOverallOut(Output):
    state: str
    label: str
    headline: str


class StatusServiceOut(Output):
    name: str
    slug: str
    state: str
    state_label: str
    own_state: str
    reasons: list[str]
    notes: list[str]
    incidents: list[str]
    uptime: float
    history: dict[str, str]


class StatusCategoryOut(Output):
    name: str
    slug: str
    services: list[str]


class StatusUpdateOut(Output):
    kind: str
    official: bool
    body_html: str
    created_at: str


class StatusIncidentOut(Output):
    number: str
    title: str
    service: str
    service_name: str
    state: str
    state_label: str
    is_major: bool
    opened_at: str
    updates: list[StatusUpdateOut]


class StatusMaintenanceOut(Output):
    number: str | None
    summary: str
    in_progress: bool
    planned_start: str | None
    planned_end: str | None
    services: list[str]


class StatusOut(Output):
    tier: str
    digest: str
    generated_at: str
    overall: StatusOverallOut
    history_start: str
    history_days: int
    categories: list[StatusCategoryOut]
    services: list[StatusServiceOut]
    incidents: list[StatusIncidentOut]
    maintenance: list[StatusMaintenanceOut]


@router.get(
    "/status",
    response=with_errors({200: StatusOut}, READ_ERRORS),
    auth=[*API_AUTH, _anonymous],
)
def get_status(request: HttpRequest) -> dict[str, Any]:
    """Each service's state with the reason, history, current incidents and maintenance."""
    return snapshots.get_snapshot(tier_for(request.auth))  # type: ignore[attr-defined]
