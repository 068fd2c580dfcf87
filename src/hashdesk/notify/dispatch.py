"""From in-app notifications to each person's other channels (docs/notifications.md).

:func:`dispatch` runs inside the transaction that created the notifications
(``notify.actions._send``), so what it writes — outbox rows for what goes out now, digest entries
for what waits — commits or rolls back with the notifications and the change that caused them.

Per notification and channel the recipient chose for its category:

- a digest rhythm (hourly, daily) holds it in a :class:`DigestEntry` until the digest is due;
- quiet hours hold it until they end (sent then as "while you were away"), except a major
  incident when the person lets those break quiet hours;
- otherwise it goes to the outbox at once.

Webhooks are machine receivers: always at once, never held for a digest or quiet hours.
An inactive person or one without an email address gets no mail; a chat tool that is no longer
active or offered to people carries nothing.

A constant number of queries however many recipients: the preferences, the settings (with the
chat tool) and, only when someone routes a category to webhooks, their active endpoints — one
query each — then one insert of outbox rows and one of digest entries (split by the database's
batch size only).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.core.outbox import Delivery, enqueue_many
from hashdesk.notify.choices import Category, Channel, Digest, category_of
from hashdesk.notify.models import (
    ChatTool,
    DigestEntry,
    Notification,
    NotificationSettings,
    WebhookEndpoint,
)
from hashdesk.notify.preferences import (
    Preference,
    digest_due,
    preferences_for,
    quiet_until,
    zone_of,
)

DIGEST_BATCH = 1000


def _can_mail(person: User) -> bool:
    return bool(person.is_active and person.email)


def _usable(channel: str, person: User, tool: ChatTool | None) -> bool:
    if channel == Channel.EMAIL:
        return _can_mail(person)
    if channel == Channel.CHAT:
        return tool is not None and tool.is_active and tool.offered_to_people
    return False


def held_until(
    category: str,
    preference: Preference,
    personal: NotificationSettings | None,
    moment: datetime,
    zone: ZoneInfo,
) -> datetime | None:
    """When email and chat notices of ``category`` go out, or None for at once: at the digest
    time for a rhythm, at the end of quiet hours (which a major incident may break)."""
    if preference.digest != Digest.IMMEDIATE:
        return digest_due(preference.digest, personal, moment, zone)
    urgent = category == Category.MAJOR and (personal is None or personal.urgent_breaks_quiet)
    return None if urgent else quiet_until(personal, moment, zone)


def _endpoints_for(
    notifications: Sequence[Notification], prefs: dict[int, dict[str, Preference]]
) -> dict[int, list[WebhookEndpoint]]:
    owners = {
        n.recipient_id
        for n in notifications
        if Channel.WEBHOOK in prefs[n.recipient_id][category_of(n.kind)].channels
    }
    found: dict[int, list[WebhookEndpoint]] = defaultdict(list)
    if owners:
        for endpoint in WebhookEndpoint.objects.filter(owner_id__in=owners, is_active=True):
            found[endpoint.owner_id].append(endpoint)
    return found


def _wants_external(
    notifications: Sequence[Notification], prefs: dict[int, dict[str, Preference]]
) -> bool:
    return any(prefs[n.recipient_id][category_of(n.kind)].channels for n in notifications)


def dispatch(notifications: Sequence[Notification], *, now: datetime | None = None) -> None:
    """Route freshly created ``notifications`` (recipients loaded) to their other channels."""
    # The channel modules tell people too (a disabled webhook alerts its owner), so they are
    # imported when used, not when hashdesk.notify.actions is.
    from hashdesk.notify.chat_tools import notice_chat
    from hashdesk.notify.email import notice_email
    from hashdesk.notify.webhooks import notice_webhooks

    if not notifications:
        return
    moment = now or timezone.now()
    prefs = preferences_for({n.recipient_id for n in notifications})
    if not _wants_external(notifications, prefs):
        return
    settings = {
        s.user_id: s
        for s in NotificationSettings.objects.filter(
            user_id__in={n.recipient_id for n in notifications}
        ).select_related("chat_tool")
    }
    endpoints = _endpoints_for(notifications, prefs)
    deliveries: list[Delivery] = []
    held: list[DigestEntry] = []
    for notification in notifications:
        person = notification.recipient
        if not person.is_active:
            continue
        category = category_of(notification.kind)
        preference = prefs[person.pk][category]
        if not preference.channels:
            continue
        personal = settings.get(person.pk)
        due_at = held_until(category, preference, personal, moment, zone_of(person))
        for channel in sorted(preference.channels):
            if channel == Channel.WEBHOOK:
                chosen = [
                    endpoint
                    for endpoint in endpoints.get(person.pk, [])
                    if not endpoint.categories or category in endpoint.categories
                ]
                if chosen:
                    deliveries.extend(notice_webhooks(notification, chosen))
                continue
            tool = personal.chat_tool if personal is not None else None
            if not _usable(channel, person, tool):
                continue
            if due_at is not None:
                held.append(
                    DigestEntry(
                        user=person,
                        channel=channel,
                        notification=notification,
                        due_at=due_at,
                        created_at=moment,
                    )
                )
            elif channel == Channel.EMAIL:
                deliveries.append(notice_email(notification, person))
            elif channel == Channel.CHAT and tool is not None and personal is not None:
                deliveries.append(notice_chat(notification, tool, personal.chat_handle))
    if deliveries:
        enqueue_many(deliveries)
    if held:
        DigestEntry.objects.bulk_create(held, batch_size=DIGEST_BATCH, ignore_conflicts=True)
