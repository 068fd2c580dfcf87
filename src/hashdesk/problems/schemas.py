"""API shapes of problems and known errors; docs/problems.md, "API"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from hashdesk.api.pagination import PageParams
from hashdesk.api.schemas import Input, ObjectId, Output, optional
from hashdesk.catalog.schemas import ConfigurationItemRef, ServiceRef, TeamRef
from hashdesk.incidents.schemas import PersonRef
from hashdesk.problems.models import TEXT_MAX, TITLE_MAX

ProblemStateName = Literal["new", "investigating", "known_error", "resolved", "closed"]
RecurrenceKindName = Literal["post", "incident", "chat"]
SLUG = r"^[-a-zA-Z0-9_]+$"
Slug = Annotated[str, Field(min_length=1, max_length=100, pattern=SLUG)]
IncidentNumber = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")]
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]
_STATE = "(new|investigating|known_error|resolved|closed)"
STATE_LIST = rf"^{_STATE}(,{_STATE})*$"


class ProblemOut(Output):
    """A problem as a list shows it."""

    id: int
    number: str
    title: str
    state: ProblemStateName
    owner: PersonRef | None
    known_error_published_at: datetime | None
    recurrence_flagged_at: datetime | None
    watch_until: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class ProblemPage(Output):
    items: list[ProblemOut]
    next_cursor: str | None


class LinkedIncidentOut(Output):
    id: int
    number: str
    title: str
    state: str
    service: str
    workaround_sent_at: datetime | None


class ArticleRef(Output):
    id: int
    number: str
    title: str
    url: str


class ChangeRef(Output):
    id: int
    number: str
    summary: str
    state: str


class RecurrenceOut(Output):
    kind: RecurrenceKindName
    object_id: int
    text: str
    score: float
    detected_at: datetime


class ProblemDetailOut(ProblemOut):
    description: str
    root_cause: str
    workaround: str
    resolution: str
    owner_team: TeamRef | None
    services: list[ServiceRef]
    configuration_items: list[ConfigurationItemRef]
    incidents: list[LinkedIncidentOut] = Field(
        description="Linked incidents you may see (the incidents' own rules apply)."
    )
    known_error_article: ArticleRef | None
    fix_change: ChangeRef | None
    recurrences: list[RecurrenceOut]
    resolved_at: datetime | None
    closed_at: datetime | None


class ProblemFilters(PageParams):
    state: list[Annotated[str, Field(max_length=200, pattern=STATE_LIST)]] | None = Field(
        None, description="States; repeat the parameter or separate with commas."
    )
    service: str | None = Field(None, max_length=100, description="A service's slug.")
    q: str | None = Field(None, max_length=200, description="Words of the title or number.")
    known_error: bool | None = Field(
        None, description="Only problems with a published known error."
    )
    recurring: bool | None = Field(None, description="Only problems reported again after the fix.")


class ProblemCreate(Input):
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    description: str = Field("", max_length=TEXT_MAX)
    services: list[Slug] = Field(default_factory=list, max_length=200, description="Slugs.")
    incidents: list[IncidentNumber] = Field(
        default_factory=list, max_length=500, description="Incident numbers."
    )
    configuration_items: list[ObjectId] = Field(default_factory=list, max_length=200)


class ProblemUpdate(Input):
    """Only the fields sent change; ``version`` is the one you read (stale: 409)."""

    version: Version
    title: str = optional(min_length=1, max_length=TITLE_MAX)
    description: str = optional(max_length=TEXT_MAX)
    root_cause: str = optional(max_length=TEXT_MAX)
    workaround: str = optional(max_length=TEXT_MAX)
    resolution: str = optional(max_length=TEXT_MAX)
    services: list[Slug] = optional(max_length=200)
    configuration_items: list[ObjectId] = optional(max_length=200)
    owner: ObjectId = optional()
    owner_team: Slug | None = Field(None, description="Team slug; null clears it.")
    fix_change: str | None = Field(
        None, max_length=20, description="The fixing change's number; null clears it."
    )


class ProblemTransitionIn(Input):
    to: ProblemStateName
    version: Version
    resolution: str = Field("", max_length=TEXT_MAX, description="How it was fixed (resolved).")


class ProblemLinkIn(Input):
    incidents: list[IncidentNumber] = Field(min_length=1, max_length=500)


class PublishIn(Input):
    version: Version | None = None
