"""API shapes of the wall (requests and answers); docs/api.md, "Wall".

Names follow Mastodon where it costs nothing (a post is its "status", ``reply_to`` its
``in_reply_to_id``), but the counters keep the wall's own reaction names: like, me too, thanks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AliasPath, Field, field_validator

from hashdesk.api.pagination import PageParams
from hashdesk.api.schemas import Input, ObjectId, Output
from hashdesk.catalog.schemas import ServiceRef, TeamRef
from hashdesk.incidents.models import DESCRIPTION_MAX, TITLE_MAX
from hashdesk.incidents.schemas import PersonRef, StateName
from hashdesk.wall.actions import REASON_MAX
from hashdesk.wall.ingest import MAX_BATCH as POST_BATCH_MAX
from hashdesk.wall.media import DESCRIPTION_MAX as MEDIA_DESCRIPTION_MAX
from hashdesk.wall.media import MEDIA_PER_POST_MAX, media_snapshot
from hashdesk.wall.models import BODY_MAX
from hashdesk.wall.timelines import PAGE_MAX, PAGE_SIZE

# The vocabularies of hashdesk.wall.choices, spelled out so the OpenAPI document lists them.
PostKindName = Literal["post", "official", "announcement"]
PostVisibilityName = Literal["public", "team"]
ReactionKindName = Literal["like", "me_too", "thanks", "solved"]
FollowKindName = Literal["service", "hashtag", "person", "thread"]
ModerationStateName = Literal["visible", "held", "hidden"]
ReportStateName = Literal["open", "hidden", "dismissed"]
# The kinds of secret hashdesk.core.redaction removes (its KINDS).
RedactionKindName = Literal["password", "api_key", "token", "private_key", "card_number", "iban"]

SLUG = r"^[-a-zA-Z0-9_]+$"
# A promotion quotes its posts into one incident; more than this is a different conversation.
PROMOTE_MAX = 50


# --- Answers ------------------------------------------------------------------------------------


class RedactionOut(Output):
    """What was removed before storing: the kind and how many, never the secret itself."""

    kind: RedactionKindName
    count: int
    label: str = Field(examples=["a password"])


class MediaOut(Output):
    """An image on a post, or uploaded for one (a Mastodon media attachment)."""

    id: int
    type: Literal["image"] = "image"
    url: str = Field(description="The image (the page download; session or token).")
    preview_url: str = Field(description="The same image: no smaller copy is made.")
    description: str = Field(description="The alternative text, for screen readers.")
    width: int
    height: int
    content_type: Literal["image/png", "image/jpeg", "image/gif", "image/webp"]


class PostOut(Output):
    """A post ("status") as timelines and the post itself show it."""

    id: int
    kind: PostKindName
    author: PersonRef
    body: str = Field(description="Markdown, after secrets were redacted.")
    body_html: str = Field(description="The body rendered, sanitised, with tags and mentions.")
    redactions: list[RedactionOut] = Field(
        description="What was removed from the text before it was stored, so the client can "
        "tell the author (e.g. 'We removed a password before posting')."
    )
    hashtags: list[str] = Field(description="Lower case, without '#'.")
    mentions: list[PersonRef]
    service: ServiceRef | None = Field(description="The service the post is about, if any.")
    visibility: PostVisibilityName
    team: TeamRef | None = Field(description="The team of a team post.")
    reply_to: int | None = Field(
        validation_alias="reply_to_id", description="The post this one answers."
    )
    thread_root: int | None = Field(
        validation_alias="thread_root_id", description="The first post of its thread."
    )
    incident: str | None = Field(
        None,
        validation_alias=AliasPath("incident", "number"),
        description="The number of the incident the post is about, if any.",
    )
    is_pinned: bool
    accepted_answer: int | None = Field(
        validation_alias="accepted_answer_id",
        description="On a thread's first post: the reply its author accepted as the answer.",
    )
    moderation: ModerationStateName = Field(
        description="'held' until a moderator approves it (only its author and staff see it)."
    )
    reply_count: int
    like_count: int
    me_too_count: int
    thanks_count: int
    solved_count: int = Field(
        description="On an accepted answer: people it solved the problem for too."
    )
    is_question: bool = Field(False, description="A first post asking for help.")
    vote_count: int = Field(0, description="On an answer: people's up-votes.")
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None = Field(description="Set only on deleted posts (staff see them).")
    media: list[MediaOut] = Field(description="Its images, in order (at most four).")

    @field_validator("hashtags", mode="before")
    @classmethod
    def _tag_names(cls, value: Any) -> Any:
        # A related manager: its prefetched rows (timelines prefetch them for the whole page).
        if hasattr(value, "all"):
            return [tag.name for tag in value.all()]
        return value

    @field_validator("mentions", mode="before")
    @classmethod
    def _people(cls, value: Any) -> Any:
        if hasattr(value, "all"):
            return list(value.all())
        return value

    @field_validator("media", mode="before")
    @classmethod
    def _images(cls, value: Any) -> Any:
        # Prefetched with the page, in their order on the post (MediaAttachment's ordering).
        if hasattr(value, "all"):
            return [media_snapshot(image) for image in value.all()]
        return value


class PostBatchOut(Output):
    posts: list[PostOut] = Field(description="In the order they were sent.")


class PostPage(Output):
    items: list[PostOut]
    next_cursor: str | None


class PostCountsOut(Output):
    """A post's counters after a reaction changed them."""

    id: int
    reply_count: int
    like_count: int
    me_too_count: int
    thanks_count: int
    solved_count: int


class ReputationOut(Output):
    """Reputation from answers that demonstrably prevented tickets (docs/wall.md)."""

    person: PersonRef
    points: int = Field(description="Confirmed points: the person's reputation.")
    answers: int = Field(description="Answers with a confirmed award (a ticket prevented).")
    pending: int | None = Field(
        description="Awards still in their verification window; only for the person and staff."
    )


class LeaderOut(Output):
    person: PersonRef
    points: int
    answers: int


class FollowOut(Output):
    id: int
    kind: FollowKindName
    target_id: int = Field(
        description="The service's, hashtag's, person's or thread's first post's id."
    )
    created_at: datetime


class ReportOut(Output):
    id: int
    post: int = Field(validation_alias="post_id")
    reason: str
    state: ReportStateName
    created_at: datetime


class TrendingTagOut(Output):
    name: str = Field(description="The hashtag, lower case, without '#'.")
    service: str | None = Field(description="The slug of the service with this hashtag.")
    recent: int = Field(description="Reports with the tag in the last hour.")
    usual: float = Field(description="Its usual reports per hour over the week before.")
    score: float = Field(description="recent / max(usual, 1); highest first.")


class IncidentSummaryOut(Output):
    number: str
    title: str
    state: StateName
    priority: int = Field(ge=1, le=5)


class SimilarPostOut(Output):
    id: int = Field(validation_alias=AliasPath("post", "id"))
    author: PersonRef = Field(validation_alias=AliasPath("post", "author"))
    body: str = Field(validation_alias=AliasPath("post", "body"))
    body_html: str = Field(validation_alias=AliasPath("post", "body_html"))
    created_at: datetime = Field(validation_alias=AliasPath("post", "created_at"))
    score: float = Field(description="Shared distinct words / all distinct words (0..1).")


class ReportRateOut(Output):
    recent: int = Field(description="Reports about the service in the last hour.")
    usual: int = Field(description="Its usual reports per hour, rounded.")
    text: str = Field(examples=["3 reports in the last hour, usually 0"])


class SuggestionsOut(Output):
    """ "Is it just me?" for a draft: its service, open incidents, similar recent posts."""

    service: ServiceRef | None = Field(description="The service the draft is about, if found.")
    incidents: list[IncidentSummaryOut] = Field(description="Open incidents, most urgent first.")
    similar: list[SimilarPostOut] = Field(description="Recent posts like the draft, best first.")
    rate: ReportRateOut | None


# --- Query parameters ---------------------------------------------------------------------------


class WallPageParams(PageParams):
    """The wall's pages are shorter than other lists: posts are long and read a screen at a time."""

    limit: int = Field(PAGE_SIZE, ge=1, le=PAGE_MAX, description="Posts per page.")


class SuggestionsQuery(Schema):
    text: str = Field(min_length=1, max_length=BODY_MAX, description="The draft post.")


# --- Requests -----------------------------------------------------------------------------------


class PostCreate(Input):
    body: str = Field(
        "", max_length=BODY_MAX, description="Markdown; may be empty when media_ids are given."
    )
    media_ids: list[ObjectId] = Field(
        default_factory=list,
        max_length=MEDIA_PER_POST_MAX,
        description="Your uploaded images not yet on a post (POST /wall/media), in order.",
    )
    reply_to: ObjectId | None = Field(None, description="The id of the post to reply to.")
    visibility: PostVisibilityName = Field(
        "public", description="A reply always takes its thread's visibility and team."
    )
    team: str | None = Field(
        None, max_length=100, pattern=SLUG, description="Team slug; needed for a team post."
    )
    question: bool = Field(
        False, description="Ask a question: it takes an accepted answer (ignored on a reply)."
    )


class PostBatchIn(Input):
    """Posts to make at once (integrations, imports): all are posted, or none."""

    posts: list[PostCreate] = Field(min_length=1, max_length=POST_BATCH_MAX)


class MediaUpdate(Input):
    description: str = Field(max_length=MEDIA_DESCRIPTION_MAX, description="The alternative text.")


class PostEdit(Input):
    body: str = Field(min_length=1, max_length=BODY_MAX, description="Markdown.")


class FollowIn(Input):
    kind: FollowKindName
    target: ObjectId | Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="A service's slug, a hashtag's name, a person's id or a post's id "
        "(following a post follows its whole thread)."
    )


class ReasonIn(Input):
    reason: str = Field(min_length=1, max_length=REASON_MAX)


class PromoteIn(Input):
    posts: list[ObjectId] = Field(
        min_length=1,
        max_length=PROMOTE_MAX,
        description="Post ids; the first one's author reports the incident.",
    )
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    service: str = Field(min_length=1, max_length=100, pattern=SLUG, description="Service slug.")
    description: str = Field(
        "", max_length=DESCRIPTION_MAX, description="Markdown; defaults to the quoted posts."
    )
