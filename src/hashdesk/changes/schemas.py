"""API shapes of change records, their lifecycle and approvals; docs/api.md, "Changes"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AliasPath, Field

from hashdesk.api.pagination import PageParams
from hashdesk.api.schemas import Input, Moment, ObjectId, Output, optional
from hashdesk.catalog.schemas import ConfigurationItemRef, ServiceRef, TeamRef
from hashdesk.changes.actions import OVERRIDE_MAX, SUMMARY_MAX
from hashdesk.changes.approvals import COMMENT_MAX
from hashdesk.changes.models import TEXT_MAX
from hashdesk.incidents.schemas import PersonRef

# The vocabularies of hashdesk.changes.choices, spelled out so the OpenAPI document lists them.
ChangeTypeName = Literal["standard", "normal", "emergency"]
ChangeStateName = Literal[
    "draft",
    "assess",
    "authorise",
    "scheduled",
    "implementing",
    "review",
    "closed",
    "failed",
    "backed_out",
    "cancelled",
]
RiskName = Literal["low", "medium", "high"]
DecisionName = Literal["pending", "approved", "rejected"]
# The keys of risk.QUESTIONS (test_api checks they agree).
QuestionKey = Literal[
    "tested_in_staging", "backout_tested", "outage_expected", "done_before", "users_must_act"
]

_STATE = "(draft|assess|authorise|scheduled|implementing|review|closed|failed|backed_out|cancelled)"
STATE_LIST = rf"^{_STATE}(,{_STATE})*$"
SLUG = r"^[-a-zA-Z0-9_]+$"
Slug = Annotated[str, Field(min_length=1, max_length=100, pattern=SLUG)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]
# ISO 8601 text with a zone, read in UTC (api.schemas.Moment).
When = Moment


# --- Answers ------------------------------------------------------------------------------------


class ChangeOut(Output):
    """A change as a list shows it."""

    id: int
    number: str
    type: ChangeTypeName
    state: ChangeStateName
    summary: str
    risk: RiskName
    risk_score: int
    planned_start: datetime | None
    planned_end: datetime | None
    time_zone: str = Field(description="The IANA zone the change was planned in.")
    requester: PersonRef
    owner: PersonRef | None
    created_at: datetime
    updated_at: datetime
    version: int


class ChangePage(Output):
    items: list[ChangeOut]
    next_cursor: str | None


class AffectedServiceOut(Output):
    service: ServiceRef
    reason: Literal["chosen", "derived"]
    distance: int = Field(description="Hops from a chosen service in the dependency graph.")


class ChangeDetailOut(ChangeOut):
    """One change with its plans and what it affects (``affected_rows`` is prefetched)."""

    description: str
    reason: str
    implementation_plan: str
    backout_plan: str
    test_plan: str
    template: str | None = Field(
        None, validation_alias=AliasPath("template", "name"), description="Standard changes."
    )
    actual_start: datetime | None
    actual_end: datetime | None
    affected: list[AffectedServiceOut] = Field(validation_alias="affected_rows")
    configuration_items: list[ConfigurationItemRef] = Field(validation_alias="item_rows")
    risk_answers: dict[str, bool]
    owner_team: TeamRef | None
    conflict_override: str = Field(description="A change manager's reason to override conflicts.")
    closure_notes: str
    sequence: int = Field(description="RFC 5545 SEQUENCE: +1 on every move or cancellation.")


class ApprovalOut(Output):
    id: int
    group: str = Field(validation_alias=AliasPath("group", "name"))
    approver: PersonRef
    decision: DecisionName
    comment: str
    decided_at: datetime | None


class ApprovalsOut(Output):
    approvals: list[ApprovalOut]
    missing_groups: list[str] = Field(description="Groups whose quorum is not met yet.")


class TemplateOut(Output):
    id: int
    name: str
    description: str
    implementation_plan: str
    backout_plan: str
    test_plan: str


# --- Query parameters ---------------------------------------------------------------------------


class ChangeFilters(PageParams):
    state: list[Annotated[str, Field(max_length=200, pattern=STATE_LIST)]] | None = Field(
        None, description="States; repeat the parameter or separate with commas."
    )
    service: str | None = Field(None, max_length=100, description="An affected service's slug.")
    from_: Moment | None = Field(
        None, alias="from", description="Planned to end after this moment (ISO 8601, zoned)."
    )
    to: Moment | None = Field(None, description="Planned to start before this moment.")


# --- Requests -----------------------------------------------------------------------------------


class ChangeCreate(Input):
    type: ChangeTypeName = "normal"
    summary: str = Field(min_length=1, max_length=SUMMARY_MAX)
    description: str = Field("", max_length=TEXT_MAX)
    reason: str = Field("", max_length=TEXT_MAX)
    implementation_plan: str = Field("", max_length=TEXT_MAX)
    backout_plan: str = Field("", max_length=TEXT_MAX)
    test_plan: str = Field("", max_length=TEXT_MAX)
    services: list[Slug] = Field(default_factory=list, max_length=200, description="Slugs.")
    configuration_items: list[ObjectId] = Field(default_factory=list, max_length=200)
    planned_start: When | None = None
    planned_end: When | None = None
    time_zone: str = Field("UTC", min_length=1, max_length=64, description="IANA zone name.")
    template: ObjectId | None = Field(None, description="A standard change's template id.")
    risk_answers: dict[QuestionKey, bool] = Field(default_factory=dict)
    owner: ObjectId | None = Field(None, description="A staff member's id; default: you.")
    owner_team: Slug | None = Field(None, description="Team slug.")


class ChangeUpdate(Input):
    """Only the fields sent change; ``version`` is the one you read (stale: 409)."""

    version: Version
    summary: str = optional(min_length=1, max_length=SUMMARY_MAX)
    description: str = optional(max_length=TEXT_MAX)
    reason: str = optional(max_length=TEXT_MAX)
    implementation_plan: str = optional(max_length=TEXT_MAX)
    backout_plan: str = optional(max_length=TEXT_MAX)
    test_plan: str = optional(max_length=TEXT_MAX)
    services: list[Slug] = optional(max_length=200)
    configuration_items: list[ObjectId] = optional(max_length=200)
    planned_start: When = optional()
    planned_end: When = optional()
    time_zone: str = optional(min_length=1, max_length=64)
    risk_answers: dict[QuestionKey, bool] = optional()
    owner: ObjectId = optional()
    owner_team: Slug | None = Field(None, description="Team slug; null clears it.")
    override_justification: str = Field(
        "", max_length=OVERRIDE_MAX, description="Change managers: move despite conflicts."
    )


class ChangeTransitionIn(Input):
    to: ChangeStateName
    version: Version
    notes: str = Field(
        "", max_length=TEXT_MAX, description="Needed for closed, failed, backed_out, cancelled."
    )
    override_justification: str = Field(
        "", max_length=OVERRIDE_MAX, description="Change managers: schedule despite conflicts."
    )


class DecisionIn(Input):
    approve: bool
    comment: str = Field("", max_length=COMMENT_MAX, description="Needed to reject.")
