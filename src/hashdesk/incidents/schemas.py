"""API shapes of incidents (requests and answers); docs/api.md, "Incidents"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasPath, Field

from hashdesk.api.pagination import PageParams
from hashdesk.api.schemas import Input, ObjectId, Output, optional
from hashdesk.catalog.schemas import ConfigurationItemRef, ServiceRef, TeamRef, VisibilityName
from hashdesk.incidents.intake import MAX_BATCH
from hashdesk.incidents.models import DESCRIPTION_MAX, TITLE_MAX

# The vocabularies of hashdesk.incidents.choices, spelled out so the OpenAPI document lists them.
StateName = Literal["new", "assigned", "in_progress", "on_hold", "resolved", "closed", "cancelled"]
HoldReasonName = Literal["awaiting_user", "awaiting_supplier", "awaiting_change"]
ResolutionCodeName = Literal[
    "solved", "workaround", "not_reproducible", "duplicate", "cancelled_by_user"
]
CategoryName = Literal["hardware", "software", "network", "access", "security", "request", "other"]
ChannelName = Literal["web", "wall", "chat", "email", "alert", "api"]
TimelineKindName = Literal[
    "public_update",
    "work_note",
    "field_change",
    "state_change",
    "affected_user",
    "priority_change",
    "link",
    "sla_breach",
    "attachment",
    "merge",
    "major",
    "official_update",
]
SlaStateName = Literal["", "running", "paused", "warning", "breached", "met"]
LinkKindName = Literal["duplicate_of", "merged_into", "related"]
# 1 is the most severe (ITIL); priority is 1 (P1) .. 5 (P5).
LevelValue = Literal[1, 2, 3]

_STATE = "(new|assigned|in_progress|on_hold|resolved|closed|cancelled)"
STATE_LIST = rf"^{_STATE}(,{_STATE})*$"
SLUG = r"^[-a-zA-Z0-9_]+$"


# --- Answers ------------------------------------------------------------------------------------


class PersonRef(Output):
    """Who someone is, without their contact details (requesters see each other's incidents)."""

    id: int
    display_name: str


class IncidentOut(Output):
    """An incident as a list shows it."""

    id: int
    number: str
    title: str
    state: StateName
    priority: int = Field(ge=1, le=5)
    impact: LevelValue
    urgency: LevelValue
    category: CategoryName
    is_major: bool
    service: ServiceRef
    assignment_group: TeamRef | None
    assignee: PersonRef | None
    reporter: PersonRef
    affected_count: int
    sla_state: SlaStateName = Field(
        description="The most urgent SLA clock's state; empty when no SLA policy applies."
    )
    sla_due_at: datetime | None = Field(
        description="When the earliest SLA clock that is still counting falls due."
    )
    created_at: datetime
    updated_at: datetime
    version: int


class IncidentPage(Output):
    items: list[IncidentOut]
    next_cursor: str | None


class TimelineEntryOut(Output):
    id: int
    kind: TimelineKindName
    author: PersonRef | None = Field(description="None for the system.")
    body: str
    body_html: str = Field(description="The body rendered from markdown and sanitised.")
    is_public: bool = Field(description="False for work notes and other staff-only entries.")
    data: dict[str, Any]
    created_at: datetime


class IncidentDetailOut(IncidentOut):
    """One incident with its record, the caller's relation to it and the timeline they may see.

    ``is_affected``, ``is_following`` and ``visible_timeline`` are annotated by incidents.api.
    """

    description: str
    description_html: str
    configuration_item: ConfigurationItemRef | None
    impact_source: Literal["policy", "manual"]
    hold_reason: HoldReasonName | Literal[""]
    resolution_code: ResolutionCodeName | Literal[""]
    resolution_notes: str
    source: ChannelName
    visibility: VisibilityName
    is_affected: bool = Field(description="Whether you are among the affected people.")
    is_following: bool = Field(description="Whether you follow this incident.")
    assigned_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    timeline: list[TimelineEntryOut] = Field(
        validation_alias="visible_timeline", description="Oldest first; only what you may see."
    )
    # The major-incident process (docs/incidents.md, "Major incidents").
    major_declared_at: datetime | None
    major_reason: str = Field(description="Why it was declared major; empty otherwise.")
    commander: PersonRef | None = Field(description="Who leads a major incident.")
    update_cadence_minutes: int | None = Field(
        description="Minutes between a major incident's official updates."
    )
    next_update_due_at: datetime | None = Field(
        description="When the next official update of a major incident is due."
    )
    merged_into: str | None = Field(
        None,
        validation_alias=AliasPath("merged_into", "number"),
        description="The number of the incident this one was merged into, if it was.",
    )


class AffectedUserOut(Output):
    user: PersonRef
    channel: ChannelName
    added_at: datetime


class CreatedIncidentOut(Output):
    id: int
    number: str
    url: str = Field(description="This API's address of the incident.")


class IncidentBatchOut(Output):
    incidents: list[CreatedIncidentOut] = Field(description="In the order they were sent.")


# --- Query parameters ---------------------------------------------------------------------------


class IncidentFilters(PageParams):
    state: list[Annotated[str, Field(max_length=100, pattern=STATE_LIST)]] | None = Field(
        None, description="States; repeat the parameter or separate with commas."
    )
    priority: int | None = Field(None, ge=1, le=5)
    service: str | None = Field(None, max_length=100, description="Service slug.")
    assignment_group: str | None = Field(None, max_length=100, description="Team slug.")
    assignee: str | None = Field(
        None, pattern=r"^(me|[1-9][0-9]{0,17})$", description="A person's id, or 'me'."
    )
    reporter: Literal["me"] | None = None
    affected: Literal["me"] | None = Field(None, description="'me': incidents affecting me.")
    is_major: bool | None = None
    q: str | None = Field(None, max_length=100, description="Text in the title, or the number.")


# --- Requests -----------------------------------------------------------------------------------


class IncidentCreate(Input):
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    description: str = Field("", max_length=DESCRIPTION_MAX, description="Markdown.")
    service: str = Field(min_length=1, max_length=100, description="Service slug.")
    configuration_item: ObjectId | None = Field(None, description="Id; must be of the service.")
    category: CategoryName = "other"
    impact: LevelValue = 3
    urgency: LevelValue = 3
    source: ChannelName = "api"
    reporter: ObjectId | None = Field(None, description="Staff only: report for this person.")


class IncidentBatchIn(Input):
    """Incidents to report at once (alert storms, imports): all are recorded, or none."""

    incidents: list[IncidentCreate] = Field(min_length=1, max_length=MAX_BATCH)


class IncidentUpdate(Input):
    """Only the fields sent change; ``version`` is the one you read (stale: 409)."""

    version: int = Field(ge=1, le=2**31 - 1)
    title: str = optional(min_length=1, max_length=TITLE_MAX)
    description: str = optional(max_length=DESCRIPTION_MAX)
    service: str = optional(min_length=1, max_length=100, description="Service slug.")
    configuration_item: ObjectId | None = Field(None, description="Id; null clears it.")
    category: CategoryName = optional()
    impact: LevelValue = optional()
    urgency: LevelValue = optional()
    visibility: VisibilityName = optional()


class TransitionIn(Input):
    to: StateName
    version: int = Field(ge=1, le=2**31 - 1)
    hold_reason: HoldReasonName | None = Field(None, description="Needed for on_hold.")
    resolution_code: ResolutionCodeName | None = Field(None, description="Needed for resolved.")
    resolution_notes: str = Field(
        "", max_length=DESCRIPTION_MAX, description="Needed for resolved and cancelled."
    )


class AssignIn(Input):
    version: int = Field(ge=1, le=2**31 - 1)
    group: str | None = Field(None, max_length=100, pattern=SLUG, description="Team slug.")
    assignee: ObjectId | None = Field(None, description="A staff member's id.")


class TimelineUpdateIn(Input):
    body: str = Field(min_length=1, max_length=DESCRIPTION_MAX, description="Markdown.")
    public: bool = Field(description="True: a public update; false: a staff-only work note.")


class AffectedUserIn(Input):
    user: ObjectId
