"""Chat messages while away: a message in a live-help conversation tells the other members who
are not there ("chat.message"), so it reaches them by their chosen channels (docs/chat.md).

"Not there" means both: no live connection (presence, known across event servers when Redis is
configured; docs/realtime.md) and nothing read in (or joining) the room for
:data:`READ_RECENTLY` (a person with the room open reads each message as it arrives). Without
Redis the web process cannot see the event server's presence book, so the reading position
alone decides.

Throttled: a person is told at most once per room until they read it, and not more often than
every :data:`THROTTLE` even then. Mentions are told by their own notice ("chat.mention"), so a
person the message mentions gets no second one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.chat.choices import MessageKind, RoomKind
from hashdesk.chat.models import Membership, Message, Room
from hashdesk.core.logging import get_logger
from hashdesk.notify.actions import Notice, do_send_notices
from hashdesk.notify.models import Notification

log = get_logger(__name__)

KIND = "chat.message"
READ_RECENTLY = timedelta(minutes=2)
THROTTLE = timedelta(minutes=15)


def room_url(room: Room) -> str:
    return f"/chat/rooms/{room.pk}/"


def connected(user_ids: Iterable[int]) -> set[int]:
    """The people with a live connection (online or away), where presence is shared (Redis);
    the empty set otherwise, or when Redis does not answer (telling is the safe side)."""
    ids = list(user_ids)
    if not ids or not settings.REDIS_URL:
        return set()
    from hashdesk.realtime.presence import combine_fields, presence_key
    from hashdesk.realtime.publish import _publisher

    try:
        client = _publisher.redis_client(settings.REDIS_URL)
        pipe = client.pipeline(transaction=False)
        for pk in ids:
            pipe.hgetall(presence_key(settings.REDIS_PREFIX, pk))
        answers = pipe.execute()
    except Exception as exc:  # presence is a hint: without it, people are told
        log.warning("could not read presence", error=str(exc))
        return set()
    return {
        pk
        for pk, fields in zip(ids, answers, strict=True)
        if combine_fields(fields).status != "offline"
    }


def _last_active(membership: Membership) -> datetime:
    """When the person last read the room, or joined it (an agent who just picked a
    conversation up is there)."""
    if membership.last_read_at is None:
        return membership.joined_at
    return max(membership.last_read_at, membership.joined_at)


def tell_absent_members(
    message: Message, room: Room, author: User, mentioned: Sequence[User]
) -> None:
    """In the message's transaction: notify the live-help members who are away (see above)."""
    if room.kind != RoomKind.HELP or message.kind == MessageKind.SYSTEM:
        return
    now = timezone.now()
    skip = {author.pk, *(person.pk for person in mentioned)}
    memberships = [
        membership
        for membership in Membership.objects.filter(room=room, user__is_active=True)
        .exclude(user_id__in=skip)
        .select_related("user")
        if _last_active(membership) < now - READ_RECENTLY
    ]
    if not memberships:
        return
    url = room_url(room)
    last_told = dict(
        Notification.objects.filter(
            recipient__in=[m.user_id for m in memberships], kind=KIND, url__startswith=url
        )
        .order_by()
        .values("recipient")
        .annotate(last=Max("created_at"))
        .values_list("recipient", "last")
    )
    candidates = []
    for membership in memberships:
        told = last_told.get(membership.user_id)
        if told is not None:
            unread_since = membership.last_read_at is None or membership.last_read_at < told
            if unread_since or told > now - THROTTLE:
                continue
        candidates.append(membership)
    present = connected(m.user_id for m in candidates)
    do_send_notices(
        Notice(
            recipient=membership.user,
            kind=KIND,
            title=f"{author.display_name} wrote in {room.name}",
            body=message.body[:280],
            url=f"{url}#message-{message.pk}",
        )
        for membership in candidates
        if membership.user_id not in present
    )
