"""Deflection in the API (docs/api.md, "Insights").

``GET insights/deflection?start=&end=`` (staff): the deflection rate per service and per
article over a date range (default: the last 30 days). ``POST insights/deflections``: "this
solved it" for a suggestion (any signed-in caller; no ticket is created; the same suggestion
again the same day answers 200 with the existing record). Refusals are problem details.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from hashdesk.api.auth import acting_user
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, Input, Output, with_errors
from hashdesk.catalog.models import Service
from hashdesk.core.errors import Forbidden, NotFound
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.insights import deflection

router = Router(tags=["insights"])


class DeflectionRange(Schema):
    start: str | None = Field(None, description="First day, YYYY-MM-DD")
    end: str | None = Field(None, description="Last day, YYYY-MM-DD")


class RowOut(Output):
    id: int
    name: str
    sessions: int
    deflections: int
    pending: int
    not_confirmed: int
    rate: float | None


class DeflectionReportOut(Output):
    start: date
    end: date
    total: RowOut
    services: list[RowOut]
    articles: list[RowOut]


class DeflectionIn(Input):
    context: str = Field(description="composer, incident, chat or search")
    kind: str = Field(description="known_error, article, post or incident")
    id: int
    service_id: int | None = None
    text: str = Field("", max_length=5000)


class DeflectionOut(Output):
    id: int
    context: str
    kind: str
    object_id: int
    article_id: int | None
    service_id: int | None
    state: str
    created_at: datetime


def _row(row: deflection.Row) -> dict[str, Any]:
    return {
        "id": row.key,
        "name": row.label,
        "sessions": row.sessions,
        "deflections": row.deflections,
        "pending": row.pending,
        "not_confirmed": row.not_confirmed,
        "rate": None if row.rate is None else round(row.rate, 4),
    }


@router.get("insights/deflection", response=with_errors({200: DeflectionReportOut}, READ_ERRORS))
def get_deflection(request: HttpRequest, filters: Query[DeflectionRange]) -> dict[str, Any]:
    """Deflection rate per service and per article (staff)."""
    user = acting_user(request)
    if not is_staff(user):
        raise Forbidden("Only the service desk sees the deflection report.")
    start, end = deflection.report_range(filters.start, filters.end)
    found = deflection.deflection_report(user, start, end)
    return {
        "start": found.start,
        "end": found.end,
        "total": _row(found.total),
        "services": [_row(row) for row in found.services],
        "articles": [_row(row) for row in found.articles],
    }


@router.post(
    "insights/deflections",
    response=with_errors({201: DeflectionOut, 200: DeflectionOut}, WRITE_ERRORS),
)
def record_deflection(request: HttpRequest, payload: DeflectionIn) -> Status[Any]:
    """ "This solved it" for a suggestion: recorded once a day per person and suggestion."""
    user = acting_user(request)
    service = None
    if payload.service_id is not None:
        service = visible_to(user, Service.objects.filter(pk=payload.service_id)).first()
        if service is None:
            raise NotFound("No such service.", field="service_id")
    recorded = deflection.do_record_deflection(
        user,
        context=payload.context,
        kind=payload.kind,
        object_id=payload.id,
        service=service,
        text=payload.text,
    )
    return Status(201 if recorded.created else 200, recorded.deflection)
