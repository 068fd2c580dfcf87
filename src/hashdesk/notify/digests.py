"""Digests: notifications held for a rhythm or for quiet hours, sent as one message each.

:mod:`hashdesk.notify.dispatch` holds a notification in a :class:`DigestEntry` per channel (email
or chat tool) when its category is on an hourly or daily digest, or when it arrived in the
person's quiet hours. :func:`send_due_digests` (the worker, every five minutes) takes the due
entries, groups them per person and channel, and writes ONE outbox delivery per group — "Daily
digest: 5 notifications", or "While you were away: 3 notifications" for quiet-hour holds — in the
same transaction that marks the entries sent. Its idempotency key names the person, the channel
and the group's first entry, so a second run, or a second worker, never sends a group twice.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.core.logging import get_logger
from hashdesk.core.outbox import Delivery, enqueue_many
from hashdesk.notify.choices import Channel, Digest, category_of
from hashdesk.notify.models import DigestEntry, Notification, NotificationSettings
from hashdesk.notify.preferences import Preference, preferences_for

log = get_logger(__name__)

# Groups handled per transaction; each group is one person and channel.
GROUP_BATCH = 200
MAX_ITEMS_IN_CHAT = 20

AWAY_LABEL = "While you were away"
PERIOD_LABELS = {Digest.HOURLY: "Hourly digest", Digest.DAILY: "Daily digest"}


def digest_key(user_id: int, channel: str, first_entry_id: int) -> str:
    return f"digest:{user_id}:{channel}:{first_entry_id}"


def period_label(notifications: list[Notification], prefs: dict[str, Preference]) -> str:
    """ "Daily digest" when any item waited for the daily one, "Hourly digest" for the hourly
    one, else the items were held by quiet hours: "While you were away"."""
    rhythms = {prefs[category_of(n.kind)].digest for n in notifications}
    for rhythm in (Digest.DAILY, Digest.HOURLY):
        if rhythm in rhythms:
            return PERIOD_LABELS[rhythm]
    return AWAY_LABEL


def _chat_digest(
    person: User,
    personal: NotificationSettings | None,
    notifications: list[Notification],
    label: str,
    key: str,
) -> Delivery | None:
    from hashdesk.notify.chat_tools import notice_chat

    tool = personal.chat_tool if personal is not None else None
    if personal is None or tool is None or not tool.is_active or not tool.offered_to_people:
        return None
    lines = [f"- {n.title}" for n in notifications[:MAX_ITEMS_IN_CHAT]]
    if len(notifications) > MAX_ITEMS_IN_CHAT:
        lines.append(f"- and {len(notifications) - MAX_ITEMS_IN_CHAT} more")
    # An unsaved notification: the chat tool formats it like any other; the key is the digest's.
    summary = Notification(
        recipient=person,
        kind="digest",
        title=f"{label}: {len(notifications)} notification{'s' if len(notifications) != 1 else ''}",
        body="\n".join(lines),
        url="/notifications/",
        created_at=timezone.now(),
    )
    return dataclasses.replace(notice_chat(summary, tool, personal.chat_handle), key=key)


def _delivery(
    person: User,
    personal: NotificationSettings | None,
    channel: str,
    notifications: list[Notification],
    label: str,
    key: str,
) -> Delivery | None:
    if channel == Channel.EMAIL:
        if not person.is_active or not person.email:
            return None
        from hashdesk.notify.email import digest_email

        return digest_email(person, notifications, period_label=label, key=key)
    if channel == Channel.CHAT:
        return _chat_digest(person, personal, notifications, label, key)
    return None


def _claim(ids: list[int], now: datetime) -> list[DigestEntry]:
    """The entries of ``ids`` still unsent, locked for this transaction and marked sent."""
    entries = DigestEntry.objects.filter(pk__in=ids, sent_at__isnull=True)
    if connection.vendor == "postgresql":
        entries = entries.select_for_update(skip_locked=True, of=("self",))
    claimed = list(entries.select_related("notification", "user").order_by("id"))
    DigestEntry.objects.filter(pk__in=[e.pk for e in claimed], sent_at__isnull=True).update(
        sent_at=now
    )
    return claimed


def _send_batch(groups: dict[tuple[int, str], list[int]], now: datetime) -> int:
    sent = 0
    with transaction.atomic():
        claimed = _claim([pk for ids in groups.values() for pk in ids], now)
        by_group: dict[tuple[int, str], list[DigestEntry]] = defaultdict(list)
        for entry in claimed:
            by_group[(entry.user_id, entry.channel)].append(entry)
        people = {user_id for user_id, _ in by_group}
        prefs = preferences_for(people)
        settings: dict[int, NotificationSettings] = {}
        if any(channel == Channel.CHAT for _, channel in by_group):
            settings = {
                s.user_id: s
                for s in NotificationSettings.objects.filter(user_id__in=people).select_related(
                    "chat_tool"
                )
            }
        deliveries = []
        for (user_id, channel), entries in sorted(by_group.items()):
            notifications = [entry.notification for entry in entries]
            label = period_label(notifications, prefs[user_id])
            key = digest_key(user_id, channel, entries[0].pk)
            person = entries[0].user
            delivery = _delivery(person, settings.get(user_id), channel, notifications, label, key)
            if delivery is not None:
                deliveries.append(delivery)
                sent += 1
        enqueue_many(deliveries)
    return sent


def send_due_digests(now: datetime | None = None, *, batch: int = GROUP_BATCH) -> int:
    """Send every due digest; returns how many digest deliveries were written."""
    moment = now or timezone.now()
    due = (
        DigestEntry.objects.filter(sent_at__isnull=True, due_at__lte=moment)
        .order_by("user_id", "channel", "id")
        .values_list("id", "user_id", "channel")
    )
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for pk, user_id, channel in due.iterator():
        groups[(user_id, channel)].append(pk)
    sent = 0
    keys = list(groups)
    for start in range(0, len(keys), batch):
        sent += _send_batch({key: groups[key] for key in keys[start : start + batch]}, moment)
    if sent:
        log.info("digests sent", deliveries=sent)
    return sent
