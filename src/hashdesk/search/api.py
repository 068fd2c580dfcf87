"""Search over the API: ``GET /api/v1/search`` (docs/search.md).

Any signed-in caller; only what they may see, counts included. Bad input is a problem-details
422 (empty query, unknown type, a bad date, a limit out of range); a service the caller may not
see is a 404, as everywhere. FTS syntax in ``q`` is only ever text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from hashdesk.api.auth import acting_user
from hashdesk.api.schemas import READ_ERRORS, RefusesNulCharacters, with_errors
from hashdesk.core.errors import ValidationFailed
from hashdesk.search.params import filters
from hashdesk.search.query import CANDIDATES, LIMIT_MAX, QUERY_MAX, search

router = Router(tags=["search"])


class SiteSearchParams(RefusesNulCharacters):
    q: str = Field(min_length=1, max_length=QUERY_MAX, description="The words to look for.")
    type: str = Field(
        "",
        max_length=100,
        description="Comma-separated types: article, post, incident, known_error, problem "
        "(default: all you may see).",
    )
    service: str = Field("", max_length=20, description="Only this service's items (its id).")
    from_: str = Field("", alias="from", max_length=10, description="From this day (YYYY-MM-DD).")
    to: str = Field("", max_length=10, description="Up to and including this day (YYYY-MM-DD).")
    limit: int = Field(20, ge=1, le=LIMIT_MAX)
    offset: int = Field(0, ge=0, le=CANDIDATES)


class SiteSearchHitOut(Schema):
    type: str
    id: int = Field(description="The record's id (a known error's: its article's).")
    title: str
    url: str
    title_html: str = Field(description="The title, escaped, with matching words in <mark>.")
    snippet_html: str = Field(description="A passage around the first match, escaped, marked.")
    created_at: datetime | None


class SiteSearchOut(Schema):
    query: str
    items: list[SiteSearchHitOut]
    counts: dict[str, int] = Field(description="Visible matches per type (of the best 100).")
    total: int
    capped: bool = Field(description="There may be more matches than counted.")
    did_you_mean: str | None
    any_word: bool = Field(description="No item had every word; these have some.")
    next_offset: int | None


@router.get("search", response=with_errors({200: SiteSearchOut}, READ_ERRORS))
def search_items(request: HttpRequest, params: Query[SiteSearchParams]) -> dict[str, Any]:
    """Ranked full-text search over the articles, answers, wall posts and incidents (and, for
    the service desk, known errors and problems) you may see, with highlights, typo tolerance
    and IT synonyms."""
    user = acting_user(request)
    if not params.q.strip():
        raise ValidationFailed("Give some words to search for.", field="q")
    chosen = filters(
        user, type=params.type, service=params.service, start=params.from_, end=params.to
    )
    found = search(
        user,
        params.q,
        kinds=chosen.kinds,
        service=chosen.service,
        since=chosen.since,
        until=chosen.until,
        limit=params.limit,
        offset=params.offset,
    )
    return {
        "query": found.query,
        "items": [
            {
                "type": hit.kind,
                "id": hit.object.pk,
                "title": hit.title,
                "url": hit.url,
                "title_html": str(hit.title_html),
                "snippet_html": str(hit.snippet_html),
                "created_at": hit.created_at,
            }
            for hit in found.hits
        ],
        "counts": found.counts,
        "total": found.total,
        "capped": found.capped,
        "did_you_mean": found.corrected,
        "any_word": found.any_word,
        "next_offset": found.next_offset,
    }
