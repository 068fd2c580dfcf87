"""Helpers of the routing tests: a person's preferences, a webhook and a chat tool of their own,
all set up through the product's actions."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, time, timedelta
from typing import Any

from hashdesk.accounts.models import User
from hashdesk.core.models import OutboxMessage
from hashdesk.notify.chat_tools import do_create_chat_tool
from hashdesk.notify.choices import Digest
from hashdesk.notify.models import ChatTool, DigestEntry, WebhookEndpoint
from hashdesk.notify.preferences import QuietHours, do_save_preferences, preferences_of
from hashdesk.notify.webhooks import do_create_webhook

LOOPBACK = ["127.0.0.0/8"]


def choose(
    person: User,
    category: str,
    channels: Collection[str],
    digest: str = Digest.IMMEDIATE,
    *,
    quiet: tuple[time, time] | None = None,
    urgent_breaks_quiet: bool = True,
    chat_tool: ChatTool | None = None,
    handle: str = "",
) -> None:
    """Set one category's channels (others keep theirs), quiet hours and chat tool."""
    current = preferences_of(person).settings
    tool_id = chat_tool.pk if chat_tool else (current.chat_tool_id if current else None)
    do_save_preferences(
        person,
        choices={category: (list(channels), digest)},
        quiet=QuietHours(*(quiet or (None, None)), urgent_breaks_quiet),
        chat_tool_id=tool_id,
        chat_handle=handle,
    )


def webhook_of(
    person: User, settings: Any, *, categories: list[str] | None = None
) -> WebhookEndpoint:
    settings.OUTBOUND_ALLOWED_NETWORKS = LOOPBACK
    endpoint, _secret = do_create_webhook(
        person, f"Hook {WebhookEndpoint.objects.count() + 1}", "http://127.0.0.1:9/hook", categories
    )
    return endpoint


def chat_tool_offered(administrator: User, settings: Any, *, offered: bool = True) -> ChatTool:
    settings.OUTBOUND_ALLOWED_NETWORKS = LOOPBACK
    return do_create_chat_tool(
        administrator,
        name=f"Team chat {ChatTool.objects.count() + 1}",
        apprise_url="json://127.0.0.1:9/chat",
        offered_to_people=offered,
    )


def quiet_now(zone_now: datetime) -> tuple[time, time]:
    """A quiet window around ``zone_now`` (a local time), an hour each side."""
    return (
        (zone_now - timedelta(hours=1)).time().replace(second=0, microsecond=0),
        (zone_now + timedelta(hours=1)).time().replace(second=0, microsecond=0),
    )


def out_channels(person: User) -> list[str]:
    return sorted(OutboxMessage.objects.filter(recipient=person).values_list("channel", flat=True))


def held_channels(person: User) -> list[str]:
    return sorted(DigestEntry.objects.filter(user=person).values_list("channel", flat=True))
