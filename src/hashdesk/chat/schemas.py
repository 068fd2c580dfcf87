"""API shapes of chat (requests and answers); docs/api.md, "Chat".

Messages are answered as ``chat.actions.message_snapshot`` makes them, the same payload the
``chat_message`` events carry, so a client renders a message one way whichever way it came.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from hashdesk.api.pagination import PageParams
from hashdesk.api.schemas import Input, ObjectId, Output, RefusesNulCharacters
from hashdesk.chat.messages import ATTACHMENTS_PER_MESSAGE_MAX, REASON_MAX
from hashdesk.chat.models import BODY_MAX, CLIENT_KEY_MAX
from hashdesk.chat.search import LIMIT_MAX as SEARCH_LIMIT_MAX
from hashdesk.chat.search import QUERY_MAX
from hashdesk.wall.schemas import RedactionOut

# The vocabularies of hashdesk.chat.choices, spelled out so the OpenAPI document lists them.
RoomKindName = Literal["service", "war_room", "help"]
LaneName = Literal["", "responders", "public"]
MessageKindName = Literal["message", "official", "system"]
MemberRoleName = Literal["member", "moderator"]
ReactionEmojiName = Literal["+1", "thanks", "eyes", "done", "sad"]

HISTORY_MAX = 100
THREAD_MAX = 200


# --- Answers ------------------------------------------------------------------------------------


class ChatPersonOut(Output):
    id: int
    name: str


class ChatAttachmentOut(Output):
    """A file shared in a room (on a message, or uploaded for the next one)."""

    id: int
    filename: str = Field(description="The uploader's file name, cleaned of paths and controls.")
    content_type: str = Field(description="Decided by the server from the verified content.")
    size: int = Field(description="In bytes.")
    url: str = Field(description="The download (the page address; session or token).")


class ChatMessageOut(Output):
    """A message, as the ``chat_message`` events carry it. A deleted one (seen by staff only)
    has no text and no files."""

    id: int
    room_id: int
    kind: MessageKindName
    author: ChatPersonOut | None = Field(description="None for system messages.")
    body: str = Field(description="Markdown, after secrets were redacted.")
    body_html: str = Field(description="The body rendered and sanitised.")
    redactions: list[RedactionOut] = Field(description="What was removed before storing.")
    client_key: str = Field(description="The sender's idempotency key ('' when none).")
    thread_root_id: int | None = Field(description="The thread's first message, for a reply.")
    reply_count: int = Field(description="Replies in this message's thread.")
    reactions: dict[str, int] = Field(description="Reaction counts by emoji.")
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    attachments: list[ChatAttachmentOut]


class MessagePage(Output):
    items: list[ChatMessageOut] = Field(description="Oldest first.")
    prev_cursor: int | None = Field(
        description="Pass as `before` for the page of older messages; null: none older."
    )
    next_cursor: int | None = Field(
        description="Pass as `after` for newer messages; null: this is the newest page."
    )


class RoomOut(Output):
    id: int
    kind: RoomKindName
    name: str
    topic: str
    lane: LaneName = Field(description="A war room's lane; '' for other rooms.")
    service_id: int | None
    incident_id: int | None
    last_message_id: int
    last_message_at: datetime | None
    archived: bool
    member: bool = Field(description="Whether you are a member (may send and receive live).")
    unread: int = Field(description="Messages of others past your read marker.")


class RoomPage(Output):
    items: list[RoomOut]
    next_cursor: str | None


class MemberOut(Output):
    user: ChatPersonOut
    role: MemberRoleName
    joined_at: datetime


class MemberPage(Output):
    items: list[MemberOut]
    next_cursor: str | None


class ThreadOut(Output):
    root: ChatMessageOut
    replies: list[ChatMessageOut] = Field(description=f"Oldest first, at most {THREAD_MAX}.")


class RoomRef(Output):
    id: int
    name: str


class SearchHitOut(Output):
    message: ChatMessageOut
    room: RoomRef
    snippet: str = Field(
        description="HTML: the text around the first match, escaped, matches in <mark>."
    )
    rank: float = Field(description="Higher is better; only comparable within one answer.")


class SearchOut(Output):
    items: list[SearchHitOut] = Field(description="Best first, newest first on ties.")


class ReadOut(Output):
    room_id: int
    last_read_message_id: int
    unread: int


# --- Query parameters ---------------------------------------------------------------------------


class RoomListParams(PageParams):
    joinable: bool = Field(
        False, description="List the rooms you may join instead of those you are in."
    )


class HistoryParams(RefusesNulCharacters):
    before: ObjectId | None = Field(None, description="Messages older than this id.")
    after: ObjectId | None = Field(None, description="Messages newer than this id.")
    limit: int = Field(50, ge=1, le=HISTORY_MAX, description="Messages per page.")


class SearchParams(RefusesNulCharacters):
    q: str = Field(min_length=1, max_length=QUERY_MAX, description="Words to find (all of them).")
    room_id: ObjectId | None = Field(None, description="Search this room only.")
    limit: int = Field(50, ge=1, le=SEARCH_LIMIT_MAX)


class DeleteParams(RefusesNulCharacters):
    reason: str = Field("", max_length=REASON_MAX, description="Why (kept in the audit trail).")


# --- Requests -----------------------------------------------------------------------------------


class MessageCreate(Input):
    body: str = Field(max_length=BODY_MAX, description="Markdown; secrets are redacted.")
    client_key: str = Field(
        "",
        max_length=CLIENT_KEY_MAX,
        description="Your idempotency key: sending it again returns the same message (200).",
    )
    thread_root_id: ObjectId | None = Field(None, description="Reply in this message's thread.")
    attachment_ids: list[ObjectId] = Field(
        default_factory=list,
        max_length=ATTACHMENTS_PER_MESSAGE_MAX,
        description="Your files uploaded to this room and not sent yet.",
    )


class MessageEdit(Input):
    body: str = Field(max_length=BODY_MAX, description="The new text (yours only).")


class ReactionIn(Input):
    emoji: ReactionEmojiName


class ReadIn(Input):
    message_id: int = Field(ge=0, le=2**63 - 1, description="The newest message you have read.")
