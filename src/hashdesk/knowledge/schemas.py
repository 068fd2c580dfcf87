"""API shapes of knowledge articles (requests and answers); docs/api.md, "Knowledge"."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator

from hashdesk.api.pagination import PageParams
from hashdesk.api.schemas import Input, Output, optional
from hashdesk.catalog.schemas import ServiceRef
from hashdesk.incidents.schemas import PersonRef
from hashdesk.knowledge.actions import NOTE_MAX
from hashdesk.knowledge.models import BODY_MAX, COMMENT_MAX, TITLE_MAX

# hashdesk.knowledge.choices, spelled out so the OpenAPI document lists them.
ArticleStateName = Literal["draft", "review", "published", "retired"]
ArticleVisibilityName = Literal["public", "internal"]
ArticleOriginName = Literal["manual", "chat_conversation", "chat_message", "wall_answer"]
NUMBER = r"^[Kk][Bb]-[0-9]{6,18}$"
SLUG = r"^[-a-zA-Z0-9_]+$"


class ArticleOut(Output):
    """A knowledge article with its current text (markdown and sanitised HTML)."""

    id: int
    number: str
    title: str
    body: str
    body_html: str
    state: ArticleStateName
    visibility: ArticleVisibilityName
    services: list[ServiceRef]
    owner: PersonRef
    version: int = Field(description="Send it back as expected_version when editing.")
    origin: ArticleOriginName = Field(description="Where the first draft came from.")
    origin_id: int | None = Field(
        description="The conversation, message or answer it came from (staff only)."
    )
    contributor: PersonRef | None = Field(
        description="Whose words the draft was made from (staff only)."
    )
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    review_due_at: datetime | None = Field(description="When the owner should check it again.")
    stale: bool = Field(
        validation_alias=AliasChoices("is_stale", "stale"),
        description="Published and past its review date.",
    )
    revision_pending: bool = Field(
        description="A published article's newer version waits for review; body is the "
        "published text."
    )
    published_version: int | None
    review_comment: str = Field(description="The reviewer's last send-back comment (staff only).")
    helpful_count: int = Field(0, description="People who found it helpful.")
    not_helpful_count: int = Field(0, description="People who did not.")

    @field_validator("services", mode="before")
    @classmethod
    def _service_list(cls, value: Any) -> Any:
        # The related manager (prefetched by the lookups) as a list.
        return list(value.all()) if hasattr(value, "all") else value


class ArticleDrafted(ArticleOut):
    notice: str = Field(description="What redaction removed before saving; empty if nothing.")


class ArticlePage(Output):
    items: list[ArticleOut]
    next_cursor: str | None


class ArticleFilters(PageParams):
    state: ArticleStateName | None = Field(None, description="Only articles in this state.")
    q: str | None = Field(None, max_length=200, description="Words in the title.")
    service: str | None = Field(
        None, max_length=100, pattern=SLUG, description="Only articles about this service."
    )
    stale: bool | None = Field(None, description="Only published articles past review.")


class VersionIn(Input):
    expected_version: int = Field(
        ge=1, le=2**31 - 1, description="The article's version you saw; another save since is 409."
    )


class ApproveIn(VersionIn):
    visibility: ArticleVisibilityName | None = Field(
        None, description="Who may read it once published; left out: as it is."
    )


class SendBackIn(VersionIn):
    comment: str = Field(min_length=1, max_length=1000, description="What should change.")


class RestoreIn(VersionIn):
    version: int = Field(ge=1, le=2**31 - 1, description="The version to restore.")


class VersionOut(Output):
    version: int
    title: str
    body: str
    note: str
    edited_by: PersonRef | None
    created_at: datetime


class VersionPage(Output):
    items: list[VersionOut]


class DiffLineOut(Output):
    op: Literal["same", "added", "removed"]
    text: str


class DiffOut(Output):
    from_version: int
    to_version: int
    title_from: str
    title_to: str
    added: int
    removed: int
    lines: list[DiffLineOut]


class FeedbackIn(Input):
    helpful: bool
    comment: str = Field("", max_length=COMMENT_MAX, description="Optional; the desk reads it.")


class FeedbackOut(Output):
    helpful: bool
    comment: str
    person: PersonRef
    created_at: datetime
    updated_at: datetime


class FeedbackPage(Output):
    helpful_count: int
    not_helpful_count: int
    items: list[FeedbackOut]


class ArticleIn(Input):
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    body: str = Field(min_length=1, max_length=BODY_MAX, description="Markdown.")
    visibility: ArticleVisibilityName = Field(description="Who may read it once published.")
    services: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Slugs of the services it is about.",
        json_schema_extra={"items": {"type": "string", "pattern": SLUG, "maxLength": 100}},
    )


class ArticleEdit(Input):
    """A new version of a draft (or an article in review): what is left out stays."""

    title: str = optional(min_length=1, max_length=TITLE_MAX)
    body: str = optional(min_length=1, max_length=BODY_MAX)
    note: str = Field("", max_length=NOTE_MAX, description="What changed, for the history.")
    expected_version: int = Field(
        ge=1, le=2**31 - 1, description="The version you edited; another save since is 409."
    )
