"""API shapes of live help (requests and answers); docs/api.md, "Chat: live help"."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.utils import timezone
from pydantic import Field, computed_field

from hashdesk.api.pagination import PageParams
from hashdesk.api.schemas import Input, ObjectId, Output
from hashdesk.catalog.schemas import ServiceRef, TeamRef
from hashdesk.chat.help import TOPIC_MAX
from hashdesk.chat.models import BODY_MAX, CLIENT_KEY_MAX
from hashdesk.incidents.models import TITLE_MAX
from hashdesk.incidents.schemas import PersonRef, StateName

# hashdesk.chat.choices.ConversationState, spelled out so the OpenAPI document lists them.
ConversationStateName = Literal["waiting", "active", "closed"]
NUMBER = r"^[Ii][Nn][Cc]-[0-9]{6,18}$"
SLUG = r"^[-a-zA-Z0-9_]+$"


# --- Answers ------------------------------------------------------------------------------------


class RecordedIncidentRef(Output):
    number: str
    title: str
    state: StateName


class ConversationOut(Output):
    """A live-help conversation: one person and the service desk, in its own room."""

    id: int
    room_id: int = Field(description="Its room: messages, typing and read receipts go there.")
    topic: str
    state: ConversationStateName
    requester: PersonRef
    agent: PersonRef | None = Field(description="The agent who has it; none while waiting.")
    service: ServiceRef | None = Field(description="The service detected from the opening.")
    team: TeamRef | None = Field(description="The team whose queue it waits in.")
    queued_at: datetime
    picked_up_at: datetime | None
    closed_at: datetime | None
    incident: RecordedIncidentRef | None = Field(
        description="The incident it was filed as or linked to."
    )
    resolved_on_first_contact: bool

    @computed_field(description="Seconds it has waited, while waiting; else null.")  # type: ignore[prop-decorator]
    @property
    def waiting_seconds(self) -> int | None:
        if self.state != "waiting":
            return None
        return max(0, int((timezone.now() - self.queued_at).total_seconds()))


class ConversationDetailOut(ConversationOut):
    requester_read_message_id: int = Field(
        description="The newest message the requester has read (0: none)."
    )
    agent_read_message_id: int = Field(
        description="The newest message the agent has read (0: none, or no agent): the "
        "requester's 'read' receipts."
    )


class ConversationPage(Output):
    items: list[ConversationOut]
    next_cursor: str | None


# --- Requests -----------------------------------------------------------------------------------


class ConversationFilters(PageParams):
    state: ConversationStateName | None = Field(
        None, description="Only this state; 'waiting' lists the queue oldest first."
    )
    mine: bool = Field(False, description="Staff: only conversations I am the agent of.")
    team: str | None = Field(
        None, max_length=100, pattern=SLUG, description="Staff: only those waiting for this team."
    )


class ConversationIn(Input):
    topic: str = Field(min_length=1, max_length=TOPIC_MAX)
    body: str = Field(min_length=1, max_length=BODY_MAX, description="The first message.")
    client_key: str = Field(
        "",
        max_length=CLIENT_KEY_MAX,
        description="Idempotency key: sending it again returns the conversation it opened.",
    )


class TransferIn(Input):
    agent_id: ObjectId | None = Field(None, description="Hand it to this agent…")
    team_id: ObjectId | None = Field(None, description="…or back to this team's queue.")


class CloseIn(Input):
    resolved: bool = Field(description="Whether the chat solved the problem.")


class FileIncidentIn(Input):
    title: str | None = Field(
        None, min_length=1, max_length=TITLE_MAX, description="Default: the topic."
    )
    resolved_on_first_contact: bool = False
    service: str | None = Field(
        None,
        max_length=100,
        pattern=SLUG,
        description="A service slug, when none was detected (or another one is meant).",
    )


class LinkIncidentIn(Input):
    number: str = Field(pattern=NUMBER, description="The incident's number.")
