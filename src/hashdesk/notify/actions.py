"""Creating and reading notifications: the in-app record, then every other channel."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.core import streams
from hashdesk.core.events import send_event, send_events
from hashdesk.notify.dispatch import dispatch
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


def do_notify(
    recipient: User, *, kind: str, title: str, body: str = "", url: str = ""
) -> Notification | None:
    """One notification to one person (through :func:`do_send_notices`, like every other);
    None when the recipient is an integration's account, which is told nothing."""
    sent = do_send_notices(
        [Notice(recipient=recipient, kind=kind, title=title, body=body, url=url)]
    )
    return sent[0] if sent else None


@dataclass(frozen=True)
class Notice:
    """One notification to be sent: to whom, and what it says."""

    recipient: User
    kind: str
    title: str
    body: str = ""
    url: str = ""


def do_notify_many(
    recipients: Iterable[User], *, kind: str, title: str, body: str = "", url: str = ""
) -> list[Notification]:
    """The same notice for many people (each once) at a constant number of queries."""
    people = {person.pk: person for person in recipients}.values()
    return do_send_notices(
        Notice(recipient=person, kind=kind, title=title, body=body, url=url) for person in people
    )


def do_send_notices(notices: Iterable[Notice]) -> list[Notification]:
    """THE way every notification of the product is sent: different notices to different
    people at a constant number of queries, however many — one insert of the notifications,
    one count of unread ones, one insert of the events, then the dispatch to each person's
    email, webhooks and chat tool (hashdesk.notify.dispatch) in the same transaction.
    A batch of posts that each mention someone tells everyone in one go. An integration's
    account (a Slack hook's, an Alertmanager receiver's) is no person: it is told nothing."""
    pending = [notice for notice in notices if notice.recipient.is_person]
    if not pending:
        return []  # no savepoint for a post that names nobody
    with transaction.atomic():
        return _send(pending)


def _send(pending: list[Notice]) -> list[Notification]:
    notifications = Notification.objects.bulk_create(
        Notification(
            recipient=notice.recipient,
            kind=notice.kind,
            title=notice.title[:200],
            body=notice.body,
            url=notice.url[:500],
        )
        for notice in pending
    )
    unread = dict(
        Notification.objects.filter(
            recipient__in={notice.recipient.pk for notice in pending}, read_at__isnull=True
        )
        .order_by()
        .values("recipient")
        .annotate(n=Count("pk"))
        .values_list("recipient", "n")
    )
    send_events(
        (
            NotificationEvent(
                op="create",
                notification=notification_summary(notification),
                unread_count=unread.get(notification.recipient_id, 0),
            ),
            [streams.user(notification.recipient_id)],
        )
        for notification in notifications
    )
    dispatch(notifications)
    return notifications


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
