"""Chat tools through apprise (owned by the chat-tool work of issue 9; this is the contract)."""

from __future__ import annotations

from typing import Any

from hashdesk.core.outbox import Delivery, delivery_handler
from hashdesk.notify.models import ChatTool, Notification


def notice_chat(notification: Notification, tool: ChatTool, handle: str = "") -> Delivery:
    """The outbox row (channel ``chat``) that tells one person's notification through ``tool``."""
    return Delivery(
        channel="chat",
        payload={"tool_id": tool.pk, "title": notification.title, "body": notification.body},
        key=f"chat:t{tool.pk}:n{notification.pk}",
        recipient_id=notification.recipient_id,
        target=tool.name,
        summary=notification.title,
        kind=notification.kind,
    )


@delivery_handler("chat")
def deliver_chat(payload: dict[str, Any], idempotency_key: str) -> None:
    raise NotImplementedError("chat tool delivery is being built")
