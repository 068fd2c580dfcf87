"""Probable incidents in the API (docs/api.md, "Insights"): the open ones with the reports the
caller may see, and promote / dismiss (staff). Writes call ``insights.bursts.promote``; its
domain errors (403, 404, 409) become problem details."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema

from hashdesk.api.auth import acting_user
from hashdesk.api.pagination import Keyset, PageParams, paginate
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, Output, with_errors
from hashdesk.core.errors import Forbidden, NotFound, ValidationFailed
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.insights.burst_views import visible_reports
from hashdesk.insights.bursts import promote
from hashdesk.insights.choices import ProbableState
from hashdesk.insights.models import ProbableIncident

router = Router(tags=["insights"])
PROBABLE_ORDER = Keyset(("-detected_at", "-id"))


class BurstReportOut(Schema):
    kind: str
    text: str
    author: str
    created_at: datetime
    url: str


class ProbableOut(Schema):
    id: int
    stream: str
    service_id: int | None
    hashtag: str
    state: str
    title: str
    reports: int
    expected: float
    score: float
    detected_at: datetime
    window_start: datetime
    window_end: datetime
    incident: str | None
    items: list[BurstReportOut]


class PromotedOut(Schema):
    probable: ProbableOut
    incident: str


def _out(probable: ProbableIncident, items: list[BurstReportOut] | None = None) -> ProbableOut:
    return ProbableOut(
        id=probable.pk,
        stream=probable.stream,
        service_id=probable.service_id,
        hashtag=probable.hashtag,
        state=probable.state,
        title=probable.title,
        reports=probable.reports,
        expected=probable.expected,
        score=probable.score,
        detected_at=probable.detected_at,
        window_start=probable.window_start,
        window_end=probable.window_end,
        incident=probable.incident.number if probable.incident_id and probable.incident else None,
        items=items or [],
    )


def _probable(request: HttpRequest, probable_id: int) -> ProbableIncident:
    user = acting_user(request)
    probable = visible_to(user, ProbableIncident.objects.all()).filter(pk=probable_id).first()
    if probable is None:
        raise NotFound("No such probable incident.")
    return probable


class BurstFilters(PageParams):
    state: str = ProbableState.OPEN


class ProbablePage(Output):
    items: list[ProbableOut]
    next_cursor: str | None


@router.get("insights/bursts", response=with_errors({200: ProbablePage}, READ_ERRORS))
def list_bursts(
    request: HttpRequest, response: HttpResponse, filters: Query[BurstFilters]
) -> dict[str, Any]:
    """Probable incidents (staff), newest first, in pages: the open ones by default, or
    ``state``."""
    user = acting_user(request)
    if not is_staff(user):
        raise Forbidden("Probable incidents are for the service desk.")
    if filters.state not in ProbableState.values:
        raise ValidationFailed(f"Unknown state {filters.state!r}.", field="state")
    page = paginate(
        request,
        response,
        visible_to(user, ProbableIncident.objects.select_related("incident")).filter(
            state=filters.state
        ),
        PROBABLE_ORDER,
        filters,
    )
    shown = visible_reports(user, page["items"])
    page["items"] = [
        _out(
            probable,
            [BurstReportOut(**vars(report)) for report in shown.get(probable.pk, [])],
        )
        for probable in page["items"]
    ]
    return page


@router.post(
    "insights/bursts/{probable_id}/promote",
    response=with_errors({200: PromotedOut}, WRITE_ERRORS),
)
def promote_burst(request: HttpRequest, probable_id: int) -> PromotedOut:
    """Make the incident (staff): posts linked, authors affected; a second call is a 409."""
    incident = promote.do_promote_probable(acting_user(request), _probable(request, probable_id))
    probable = ProbableIncident.objects.select_related("incident").get(pk=probable_id)
    return PromotedOut(probable=_out(probable), incident=str(incident.number))


@router.post(
    "insights/bursts/{probable_id}/dismiss",
    response=with_errors({200: ProbableOut}, WRITE_ERRORS),
)
def dismiss_burst(request: HttpRequest, probable_id: int) -> ProbableOut:
    """Not an incident (staff): its reports never raise a burst again."""
    probable = promote.do_dismiss_probable(acting_user(request), _probable(request, probable_id))
    return _out(probable)
