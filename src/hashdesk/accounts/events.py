"""Events of the accounts app."""

from typing import ClassVar

from hashdesk.core.events import BaseEvent


class ApiTokenEvent(BaseEvent):
    """A person's token list changed (op: create, revoke)."""

    type: ClassVar[str] = "api_token"
    token: dict[str, object]


class TeamEvent(BaseEvent):
    """A team or its membership changed (op: create, update, member_add, member_remove)."""

    type: ClassVar[str] = "team"
    team: dict[str, object]
    user_id: int | None = None
