"""Chat tools over the API (administrators): list, read, create, change, remove, test, enable.

The apprise URL is write-only: it is accepted on create and change and never returned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status
from pydantic import Field, field_validator

from hashdesk.accounts.models import User
from hashdesk.api.auth import acting_user
from hashdesk.api.pagination import Keyset, PageParams, paginate
from hashdesk.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    Input,
    ObjectId,
    Output,
    optional,
    with_errors,
)
from hashdesk.catalog.models import Service
from hashdesk.core.errors import Forbidden, NotFound, ValidationFailed
from hashdesk.core.visibility import can_manage_chat_tools, visible_to
from hashdesk.notify import chat_tools
from hashdesk.notify.models import ChatTool

router = Router(tags=["chat tools"])

CHAT_TOOL_ORDER = Keyset(("name", "id"))
MAX_SERVICES = 500
# What a chat tool may announce (chat_tools.ANNOUNCED_CATEGORIES).
Announced = Literal["major", "incidents", "changes"]


class ChatToolOut(Output):
    id: int
    name: str
    display_target: str = Field(description="Scheme and host the tool sends to; no tokens.")
    services: list[str] = Field(description="Slugs of the services it announces.")
    categories: list[str] = Field(
        description="What it announces; empty means major incidents and changes."
    )
    offered_to_people: bool
    is_active: bool
    consecutive_failures: int
    disabled_at: datetime | None
    disabled_reason: str
    created_at: datetime

    @field_validator("services", mode="before")
    @classmethod
    def _slugs(cls, value: Any) -> Any:
        if hasattr(value, "all"):
            return sorted(service.slug for service in value.all())
        return value


class ChatToolPage(Output):
    items: list[ChatToolOut]
    next_cursor: str | None


class ChatToolCreate(Input):
    name: str = Field(min_length=1, max_length=100)
    apprise_url: str = Field(
        min_length=1,
        max_length=chat_tools.MAX_URL_LENGTH,
        description="The tool's apprise URL; write-only, never returned.",
    )
    services: list[str] = Field(default_factory=list, max_length=MAX_SERVICES)
    categories: list[Announced] = Field(default_factory=list, max_length=3)
    offered_to_people: bool = False


class ChatToolUpdate(Input):
    name: str = optional(min_length=1, max_length=100)
    apprise_url: str = optional(
        min_length=1,
        max_length=chat_tools.MAX_URL_LENGTH,
        description="A new apprise URL; leave out to keep the one the tool has.",
    )
    services: list[str] = optional(max_length=MAX_SERVICES)
    categories: list[Announced] = optional(max_length=3)
    offered_to_people: bool = optional()


class TestQueued(Output):
    key: str = Field(description="The outbox key of the test message (see the delivery log).")


def _admin(request: HttpRequest) -> User:
    user = acting_user(request)
    if not can_manage_chat_tools(user):
        raise Forbidden("Only administrators configure chat tools.")
    return user


def _tools() -> Any:
    return ChatTool.objects.prefetch_related("services")


def _tool(tool_id: int) -> ChatTool:
    tool = _tools().filter(pk=tool_id).first()
    if tool is None:
        raise NotFound(f"There is no chat tool {tool_id}.")
    return tool


def _services(user: User, slugs: list[str]) -> list[Service]:
    wanted = list(dict.fromkeys(slugs))
    found = {s.slug: s for s in visible_to(user, Service.objects.filter(slug__in=wanted))}
    missing = [slug for slug in wanted if slug not in found]
    if missing:
        raise ValidationFailed(f"There is no service {missing[0]!r}.", field="services")
    return [found[slug] for slug in wanted]


@router.get("chat-tools", response=with_errors({200: ChatToolPage}, READ_ERRORS))
def list_chat_tools(
    request: HttpRequest, response: HttpResponse, page: Query[PageParams]
) -> dict[str, Any]:
    """Chat tools by name (administrators)."""
    _admin(request)
    return paginate(request, response, _tools(), CHAT_TOOL_ORDER, page)


@router.post("chat-tools", response=with_errors({201: ChatToolOut}, WRITE_ERRORS))
def create_chat_tool(request: HttpRequest, payload: ChatToolCreate) -> Status[ChatTool]:
    """Set up a chat tool; the URL must be one apprise understands, of an allowed kind, on an
    allowed network."""
    user = _admin(request)
    tool = chat_tools.do_create_chat_tool(
        user,
        name=payload.name,
        apprise_url=payload.apprise_url,
        services=_services(user, payload.services),
        categories=list(payload.categories),
        offered_to_people=payload.offered_to_people,
    )
    return Status(201, _tool(tool.pk))


@router.get("chat-tools/{tool_id}", response=with_errors({200: ChatToolOut}, READ_ERRORS))
def get_chat_tool(request: HttpRequest, tool_id: ObjectId) -> ChatTool:
    """One chat tool (administrators); its URL is never shown."""
    _admin(request)
    return _tool(tool_id)


@router.patch("chat-tools/{tool_id}", response=with_errors({200: ChatToolOut}, WRITE_ERRORS))
def update_chat_tool(request: HttpRequest, tool_id: ObjectId, payload: ChatToolUpdate) -> ChatTool:
    """Change the fields sent; without ``apprise_url`` the tool keeps its URL."""
    user = _admin(request)
    tool = _tool(tool_id)
    changes = payload.model_dump(exclude_unset=True)
    if not changes:
        raise ValidationFailed("Send at least one field to change.")
    if "services" in changes:
        changes["services"] = _services(user, changes["services"])
    chat_tools.do_update_chat_tool(user, tool, **changes)
    return _tool(tool.pk)


@router.delete("chat-tools/{tool_id}", response=with_errors({204: None}, WRITE_ERRORS))
def delete_chat_tool(request: HttpRequest, tool_id: ObjectId) -> Status[None]:
    """Remove a chat tool."""
    user = _admin(request)
    chat_tools.do_delete_chat_tool(user, _tool(tool_id))
    return Status(204, None)


@router.post("chat-tools/{tool_id}/test", response=with_errors({202: TestQueued}, WRITE_ERRORS))
def test_chat_tool(request: HttpRequest, tool_id: ObjectId) -> Status[dict[str, str]]:
    """Queue a test message to the tool's channel; the delivery log shows how it went."""
    user = _admin(request)
    key = chat_tools.do_send_chat_tool_test(user, _tool(tool_id))
    return Status(202, {"key": key})


@router.post("chat-tools/{tool_id}/enable", response=with_errors({200: ChatToolOut}, WRITE_ERRORS))
def enable_chat_tool(request: HttpRequest, tool_id: ObjectId) -> ChatTool:
    """Enable a tool again after it was disabled for failing."""
    user = _admin(request)
    chat_tools.do_enable_chat_tool(user, _tool(tool_id))
    return _tool(tool_id)
