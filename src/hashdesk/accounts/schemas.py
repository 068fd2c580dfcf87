"""API shapes of people, teams and personal tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AliasPath, Field, computed_field

from hashdesk.api.pagination import PageParams
from hashdesk.api.schemas import Input, Output, optional

RoleName = Literal["requester", "agent", "problem_manager", "change_manager", "administrator"]
TeamRoleName = Literal["member", "lead"]


class MembershipOut(Output):
    """One of my teams, with my role in it."""

    slug: str = Field(validation_alias=AliasPath("team", "slug"))
    name: str = Field(validation_alias=AliasPath("team", "name"))
    role: TeamRoleName


class MeOut(Output):
    id: int
    email: str
    display_name: str
    department: str
    site: str
    time_zone: str
    is_vip: bool
    roles: list[RoleName] = Field(validation_alias="role_names")
    teams: list[MembershipOut] = Field(validation_alias="my_memberships")
    date_joined: datetime


class MeUpdate(Input):
    """The fields a person may change on their own profile."""

    display_name: str = optional(min_length=1, max_length=150)
    department: str = optional(max_length=100)
    site: str = optional(max_length=100)
    time_zone: str = optional(min_length=1, max_length=64, examples=["Europe/Berlin"])


class PersonRef(Output):
    id: int
    display_name: str
    email: str


class TeamMemberOut(Output):
    person: PersonRef = Field(validation_alias="user")
    role: TeamRoleName
    joined_at: datetime


class TeamOut(Output):
    slug: str
    name: str
    description: str
    email: str
    member_count: int


class TeamPage(Output):
    items: list[TeamOut]
    next_cursor: str | None


class TeamDetailOut(TeamOut):
    members: list[TeamMemberOut] = Field(validation_alias="visible_memberships")


class TokenOut(Output):
    id: int
    name: str
    prefix: str = Field(description="The public part of the token, to recognise it.")
    scope: Literal["read", "write"]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None = Field(exclude=True)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class TokenPage(Output):
    items: list[TokenOut]
    next_cursor: str | None


class TokenCreate(Input):
    name: str = Field(min_length=1, max_length=100)
    scope: Literal["read", "write"] = "read"
    expires_in_days: int | None = Field(
        90, ge=1, le=3650, description="Days until it expires; null for never (if allowed)."
    )


class TokenCreated(Output):
    token: TokenOut
    secret: str = Field(description="The token to send as 'Bearer …'. Shown only this once.")


# --- People (directory for everyone signed in; changes by administrators) -----------------------


class PersonOut(Output):
    id: int
    email: str
    display_name: str
    department: str
    site: str
    time_zone: str
    # null when the viewer may not know it (core.visibility.can_see_vip_status).
    is_vip: bool | None = Field(validation_alias="shown_vip")
    is_active: bool
    roles: list[RoleName] = Field(validation_alias="role_names")
    date_joined: datetime


class PersonPage(Output):
    items: list[PersonOut]
    next_cursor: str | None


class PersonDetailOut(PersonOut):
    teams: list[MembershipOut] = Field(validation_alias="my_memberships")


class PersonFilters(PageParams):
    q: str | None = Field(
        None, max_length=100, description="Text in name, email, department or site."
    )


def _requester_only() -> list[RoleName]:
    return ["requester"]


class PersonCreate(Input):
    """A new person; they choose their password through the mail sent to ``email``."""

    email: str = Field(min_length=3, max_length=254, examples=["rita@example.com"])
    display_name: str = Field(min_length=1, max_length=150)
    department: str = Field("", max_length=100)
    site: str = Field("", max_length=100)
    is_vip: bool = False
    time_zone: str = Field("UTC", min_length=1, max_length=64)
    roles: list[RoleName] = Field(default_factory=_requester_only, max_length=5)


class PersonUpdate(Input):
    """Only the fields sent are changed; ``roles`` replaces all of the person's roles."""

    display_name: str = optional(min_length=1, max_length=150)
    department: str = optional(max_length=100)
    site: str = optional(max_length=100)
    time_zone: str = optional(min_length=1, max_length=64)
    is_vip: bool = optional()
    roles: list[RoleName] = optional(max_length=5)
    is_active: bool = optional()


class TeamCreate(Input):
    name: str = Field(min_length=1, max_length=100)
    slug: str = Field(
        "", max_length=100, pattern=r"^[-a-z0-9_]*$", description="Derived from the name if empty."
    )
    description: str = Field("", max_length=2000)
    email: str = Field("", max_length=254)


class TeamMemberCreate(Input):
    email: str = Field(min_length=1, max_length=254, description="The person's email address.")
    role: TeamRoleName = "member"
