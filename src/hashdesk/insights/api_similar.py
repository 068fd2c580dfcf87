"""Similar items over the API: ``GET /api/v1/insights/similar`` (docs/insights.md).

Any signed-in person; the answer holds only what they may see (insights.similar re-reads every
hit through core.visibility). Bad input is a problem-details 422: empty text, a limit out of
range, an unknown kind; a service one may not see is a 404, as everywhere.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from hashdesk.api.auth import acting_user
from hashdesk.api.schemas import READ_ERRORS, ObjectId, RefusesNulCharacters, with_errors
from hashdesk.catalog.models import Service
from hashdesk.core.errors import NotFound, ValidationFailed
from hashdesk.core.visibility import visible_to
from hashdesk.insights.similar import LIMIT_MAX, TEXT_MAX, SimilarItem, parse_kinds, similar_items

router = Router(tags=["insights"])


class SimilarParams(RefusesNulCharacters):
    text: str = Field(
        min_length=1, max_length=TEXT_MAX, description="The text to find similar items for."
    )
    service: ObjectId | None = Field(None, description="Boost this service's items.")
    kinds: str = Field(
        "",
        max_length=200,
        description="Comma-separated kinds: incident, problem, known_error, article, post, "
        "chat (default: all you may see).",
    )
    limit: int = Field(10, ge=1, le=LIMIT_MAX)
    open_only: bool = Field(False, description="Only open incidents and problems.")


class SimilarOut(Schema):
    kind: str
    id: int = Field(description="The record's id (a known error's: its article's).")
    title: str
    url: str
    score: float
    snippet: str


class SimilarPage(Schema):
    items: list[SimilarOut]


def item_out(item: SimilarItem) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "id": item.object.pk,
        "title": item.title,
        "url": item.url,
        "score": item.score,
        "snippet": item.snippet,
    }


def service_for(user: Any, service_id: int | None) -> Service | None:
    if service_id is None:
        return None
    service = visible_to(user, Service.objects.all()).filter(pk=service_id).first()
    if service is None:
        raise NotFound("No such service.")
    return service


def kinds_of(raw: str) -> list[str] | None:
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if not names:
        return None
    try:
        return parse_kinds(names)
    except ValueError as error:
        raise ValidationFailed(str(error).capitalize() + ".", field="kinds") from error


@router.get("insights/similar", response=with_errors({200: SimilarPage}, READ_ERRORS))
def similar(request: HttpRequest, params: Query[SimilarParams]) -> dict[str, Any]:
    """The items most similar to ``text`` that you may see, best first: open incidents,
    problems (staff), known errors (as their article, with the workaround as snippet),
    articles, wall posts and chat messages."""
    user = acting_user(request)
    if not params.text.strip():
        raise ValidationFailed("Give some text to compare.", field="text")
    kinds = kinds_of(params.kinds)
    service = service_for(user, params.service)
    found = similar_items(
        user,
        params.text,
        service=service,
        kinds=kinds,
        limit=params.limit,
        open_only=params.open_only,
    )
    return {"items": [item_out(item) for item in found]}
