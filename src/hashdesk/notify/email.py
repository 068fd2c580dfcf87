"""Notification mails (owned by the email work of issue 9; this is the contract)."""

from __future__ import annotations

from hashdesk.accounts.models import User
from hashdesk.core.outbox import Delivery
from hashdesk.notify.models import Notification


def notice_email(notification: Notification, recipient: User) -> Delivery:
    """The outbox row that mails ``notification`` to ``recipient`` (channel ``email``)."""
    return Delivery(
        channel="email",
        payload={
            "to": [recipient.email],
            "subject": notification.title,
            "text": notification.body,
        },
        key=f"email:n{notification.pk}",
        recipient_id=recipient.pk,
        target=recipient.email,
        summary=notification.title,
        kind=notification.kind,
    )
