"""Calendar and window endpoints of changes (docs/api.md, "Changes: calendar and windows").

Both lists are bounded by a required range (at most ``windows.RANGE_MAX``) rather than
cursor-paginated: a calendar asks for a month or a week and wants all of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from hashdesk.api.auth import acting_user
from hashdesk.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    Input,
    Moment,
    ObjectId,
    Output,
    with_errors,
)
from hashdesk.catalog.models import Service
from hashdesk.changes import calendar, windows
from hashdesk.changes.models import ChangeWindow
from hashdesk.core.errors import NotFound, ValidationFailed
from hashdesk.core.visibility import Viewer, visible_to

router = Router(tags=["changes"])

WindowKindName = Literal["freeze", "maintenance"]


class RangeFilters(Schema):
    from_: Moment = Field(alias="from", description="Start of the range (ISO 8601, zoned).")
    to: Moment = Field(description="End of the range, exclusive.")
    service: str | None = Field(None, max_length=100, description="Service slug.")


class WindowFilters(RangeFilters):
    kind: WindowKindName | None = None


class CalendarChangeOut(Output):
    id: int
    number: str
    summary: str
    state: str
    type: str
    risk: str
    starts_at: datetime
    ends_at: datetime
    services: list[str] = Field(description="Names of the services it was planned on.")


class WindowOut(Output):
    id: int
    kind: WindowKindName
    name: str
    starts_at: datetime
    ends_at: datetime
    services: list[str] = Field(description="Service names; empty: every service.")


class CalendarOut(Output):
    changes: list[CalendarChangeOut]
    windows: list[WindowOut]


class WindowCreate(Input):
    kind: WindowKindName
    name: str = Field(min_length=1, max_length=windows.NAME_MAX)
    # JSON has no datetime type: ISO 8601 text is read (not strict here), a zone is required.
    starts_at: Moment
    ends_at: Moment
    services: list[str] = Field(
        default_factory=list, max_length=200, description="Service slugs; none: every service."
    )


def _service(user: Viewer, slug: str | None) -> Service | None:
    if slug is None:
        return None
    service = visible_to(user, Service.objects.all()).filter(slug=slug).first()
    if service is None:
        raise NotFound("No such service.")
    return service


@router.get("changes/calendar", response=with_errors({200: CalendarOut}, READ_ERRORS))
def change_calendar(request: HttpRequest, filters: Query[RangeFilters]) -> CalendarOut:
    user = acting_user(request)
    changes, window_entries = calendar.agenda(
        user, filters.from_, filters.to, service=_service(user, filters.service)
    )
    return CalendarOut.model_validate({"changes": changes, "windows": window_entries})


@router.get("changes/windows", response=with_errors({200: list[WindowOut]}, READ_ERRORS))
def list_change_windows(
    request: HttpRequest, filters: Query[WindowFilters]
) -> list[calendar.WindowEntry]:
    user = acting_user(request)
    windows.check_range(filters.from_, filters.to)
    found = windows.windows_between(
        user, filters.from_, filters.to, service=_service(user, filters.service), kind=filters.kind
    )
    return [calendar.window_entry(window) for window in found]


@router.post("changes/windows", response=with_errors({201: WindowOut}, WRITE_ERRORS))
def create_change_window(
    request: HttpRequest, payload: WindowCreate
) -> Status[calendar.WindowEntry]:
    user = acting_user(request)
    slugs = list(dict.fromkeys(payload.services))
    services = list(visible_to(user, Service.objects.filter(slug__in=slugs)))
    unknown = sorted(set(slugs) - {service.slug for service in services})
    if unknown:
        raise ValidationFailed(f"There is no service {unknown[0]!r}.", field="services")
    window = windows.do_create_window(
        user,
        kind=payload.kind,
        name=payload.name,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        services=services,
    )
    created = windows.windows_between(user, window.starts_at, window.ends_at).get(pk=window.pk)
    return Status(201, calendar.window_entry(created))


@router.delete("changes/windows/{int:window_id}", response=with_errors({204: None}, WRITE_ERRORS))
def delete_change_window(request: HttpRequest, window_id: ObjectId) -> Status[None]:
    user = acting_user(request)
    window = visible_to(user, ChangeWindow.objects.filter(pk=window_id)).first()
    if window is None:
        raise NotFound("No such window.")
    windows.do_delete_window(user, window)
    return Status(204, None)
