"""Outgoing webhooks (owned by the webhook work of issue 9; this is the contract)."""

from __future__ import annotations

from typing import Any

from hashdesk.core.outbox import Delivery, delivery_handler
from hashdesk.notify.models import Notification, WebhookEndpoint


def notice_webhooks(notification: Notification, endpoints: list[WebhookEndpoint]) -> list[Delivery]:
    """One outbox row (channel ``webhook``) per endpoint for ``notification``."""
    return [
        Delivery(
            channel="webhook",
            payload={"endpoint_id": endpoint.pk, "notification_id": notification.pk},
            key=f"webhook:e{endpoint.pk}:n{notification.pk}",
            recipient_id=notification.recipient_id,
            target=endpoint.name,
            summary=notification.title,
            kind=notification.kind,
        )
        for endpoint in endpoints
    ]


@delivery_handler("webhook")
def deliver_webhook(payload: dict[str, Any], idempotency_key: str) -> None:
    raise NotImplementedError("webhook delivery is being built")
