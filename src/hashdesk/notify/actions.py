"""Creating and reading in-app notifications."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.core import streams
from hashdesk.core.events import send_event
from hashdesk.notify.events import NotificationEvent
from hashdesk.notify.models import Notification


def notification_summary(notification: Notification) -> dict[str, object]:
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "url": notification.url,
        "created_at": notification.created_at.isoformat(),
        "read": notification.read_at is not None,
    }


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


@transaction.atomic
def do_notify(
    recipient: User, *, kind: str, title: str, body: str = "", url: str = ""
) -> Notification:
    notification = Notification.objects.create(
        recipient=recipient, kind=kind, title=title[:200], body=body, url=url[:500]
    )
    send_event(
        NotificationEvent(
            op="create",
            notification=notification_summary(notification),
            unread_count=unread_count(recipient),
        ),
        streams=[streams.user(recipient.pk)],
    )
    return notification


@transaction.atomic
def do_mark_read(user: User, *, notification_ids: list[int] | None = None) -> int:
    """Mark some (or, with ``None``, all) of ``user``'s notifications read; returns how many."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    changed = unread.update(read_at=timezone.now())
    if changed:
        send_event(
            NotificationEvent(
                op="read",
                notification={"ids": notification_ids or "all"},
                unread_count=unread_count(user),
            ),
            streams=[streams.user(user.pk)],
        )
    return changed
