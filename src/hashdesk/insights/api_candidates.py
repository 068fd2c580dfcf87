"""Problem candidates and sentiment in the API (docs/api.md, "Insights").

``GET insights/candidates`` (staff; ``state`` filter, ranked by impact), ``GET
insights/candidates/{id}`` (with the reports the caller may read), ``POST .../accept`` (→ the
new problem) and ``POST .../dismiss`` (with a reason); ``GET insights/sentiment?service=&days=``.
Everyone else gets an empty list or 404; refusals are problem details.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from hashdesk.api.auth import acting_user
from hashdesk.api.pagination import Keyset, PageParams, paginate
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, Input, Output, with_errors
from hashdesk.core.errors import NotFound, ValidationFailed
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.insights import candidates as actions
from hashdesk.insights.candidate_views import SENTIMENT_DAYS_MAX, _texts, sentiment_table
from hashdesk.insights.choices import CandidateState
from hashdesk.insights.models import CandidateItem, ProblemCandidate

router = Router(tags=["insights"])

CANDIDATE_ORDER = Keyset(("-impact", "-id"))


class CandidateOut(Output):
    id: int
    title: str
    state: str
    service_id: int | None
    configuration_item_id: int | None
    top_terms: list[str]
    evidence: dict[str, Any]
    size: int
    impact: float
    first_seen: datetime | None
    last_seen: datetime | None
    dismissed_size: int | None
    problem_id: int | None


class CandidatePage(Output):
    items: list[CandidateOut]
    next_cursor: str | None


class CandidateItemOut(Output):
    kind: str
    id: int
    label: str
    title: str
    text: str
    created_at: datetime


class CandidateDetailOut(CandidateOut):
    items: list[CandidateItemOut]
    # Reports in the candidate that the caller may not read.
    hidden: int


class CandidateFilters(PageParams):
    state: str = Field(CandidateState.OPEN, description="open, accepted or dismissed")


class DismissIn(Input):
    reason: str = Field(min_length=1, max_length=actions.REASON_MAX)


class AcceptedOut(Output):
    candidate: CandidateOut
    problem_id: int
    problem_number: str | None


class SentimentFilters(Schema):
    service: str | None = Field(None, description="A service's slug")
    days: int = Field(30, ge=1, le=SENTIMENT_DAYS_MAX)


class SentimentDayOut(Output):
    day: date
    texts: int
    positive: int
    negative: int
    frustrated: int
    score: float


class SentimentServiceOut(Output):
    service: str
    service_id: int
    score: float
    texts: int
    frustrated: int
    days: list[SentimentDayOut]


def _candidate(request: HttpRequest, candidate_id: int) -> ProblemCandidate:
    found = visible_to(acting_user(request), ProblemCandidate.objects.all()).filter(pk=candidate_id)
    candidate = found.first()
    if candidate is None:
        raise NotFound("No such problem candidate.")
    return candidate


@router.get("insights/candidates", response=with_errors({200: CandidatePage}, READ_ERRORS))
def list_candidates(
    request: HttpRequest, response: HttpResponse, filters: Query[CandidateFilters]
) -> dict[str, Any]:
    """Problem candidates by impact, in pages (staff; others get an empty page)."""
    if filters.state not in CandidateState.values:
        raise ValidationFailed(
            f"Unknown state {filters.state!r}: use open, accepted or dismissed.", field="state"
        )
    user = acting_user(request)
    candidates = visible_to(user, ProblemCandidate.objects.filter(state=filters.state))
    return paginate(request, response, candidates, CANDIDATE_ORDER, filters)


@router.get(
    "insights/candidates/{candidate_id}",
    response=with_errors({200: CandidateDetailOut}, READ_ERRORS),
)
def get_candidate(request: HttpRequest, candidate_id: int) -> dict[str, Any]:
    """One candidate with the reports it groups that the caller may read."""
    user = acting_user(request)
    candidate = _candidate(request, candidate_id)
    pairs = list(
        CandidateItem.objects.filter(candidate=candidate)
        .order_by("-created_at")
        .values_list("kind", "object_id")[:500]
    )
    texts = _texts(user, pairs)
    items = [
        {
            "kind": kind,
            "id": object_id,
            "label": texts[(kind, object_id)]["label"],
            "title": texts[(kind, object_id)]["title"],
            "text": texts[(kind, object_id)]["text"],
            "created_at": texts[(kind, object_id)]["when"],
        }
        for kind, object_id in pairs
        if (kind, object_id) in texts
    ]
    data = CandidateOut.model_validate(candidate).model_dump()
    return {**data, "items": items, "hidden": len(pairs) - len(items)}


@router.post(
    "insights/candidates/{candidate_id}/accept",
    response=with_errors({201: AcceptedOut}, WRITE_ERRORS),
)
def accept_candidate(request: HttpRequest, candidate_id: int) -> Status[dict[str, Any]]:
    """Create the problem, the candidate's incidents linked."""
    user = acting_user(request)
    problem = actions.do_accept_candidate(user, _candidate(request, candidate_id))
    candidate = ProblemCandidate.objects.get(pk=candidate_id)
    return Status(
        201, {"candidate": candidate, "problem_id": problem.pk, "problem_number": problem.number}
    )


@router.post(
    "insights/candidates/{candidate_id}/dismiss",
    response=with_errors({200: CandidateOut}, WRITE_ERRORS),
)
def dismiss_candidate(
    request: HttpRequest, candidate_id: int, payload: DismissIn
) -> ProblemCandidate:
    """Dismiss with a reason; proposed again only once it has doubled in size."""
    user = acting_user(request)
    return actions.do_dismiss_candidate(user, _candidate(request, candidate_id), payload.reason)


@router.get(
    "insights/sentiment", response=with_errors({200: list[SentimentServiceOut]}, READ_ERRORS)
)
def get_sentiment(request: HttpRequest, filters: Query[SentimentFilters]) -> list[dict[str, Any]]:
    """Daily sentiment per service (staff), most negative first."""
    user = acting_user(request)
    if not is_staff(user):
        return []
    table = sentiment_table(user, filters.days, filters.service)
    if filters.service and not table["services"]:
        from hashdesk.catalog.models import Service

        if not visible_to(user, Service.objects.filter(slug=filters.service)).exists():
            raise NotFound(f"No such service: {filters.service}.", field="service")
    return [
        {
            "service": entry["service"].hashtag,
            "service_id": entry["service"].pk,
            "score": entry["score"],
            "texts": entry["texts"],
            "frustrated": entry["frustrated"],
            "days": [row for row in entry["daily"] if row is not None],
        }
        for entry in table["services"]
    ]
