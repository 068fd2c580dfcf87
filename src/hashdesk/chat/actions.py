"""Every change to chat rooms and messages goes through here (docs/chat.md).

The page, the REST API and the WebSocket ``send`` frame all call these actions, so the rules —
membership, length, redaction, idempotency, rate limits — are written once.

Sending is idempotent: a message carries its sender's ``client_key`` (a random id the client
makes before the first try), and sending the same key again returns the message already stored
instead of a second one. A client that lost the acknowledgement, or queued messages while
offline, resends them all on reconnect and nothing is doubled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, QuerySet, prefetch_related_objects
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.catalog.models import Service
from hashdesk.chat.choices import Lane, MemberRole, MessageKind, RoomKind
from hashdesk.chat.events import ChatMessageEvent, ChatReadEvent, ChatRoomEvent
from hashdesk.chat.models import (
    BODY_MAX,
    CLIENT_KEY_MAX,
    ChatAttachment,
    Membership,
    Message,
    Room,
)
from hashdesk.chat.visibility import member_sees
from hashdesk.core import ratelimit, streams
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.events import send_event
from hashdesk.core.redaction import redact
from hashdesk.core.visibility import can_view, is_signed_in, is_staff, visible_to
from hashdesk.notify.actions import Notice, do_send_notices
from hashdesk.wall import parsing

# The most people one message notifies by mentioning them.
MENTION_NOTIFY_MAX = 20


@dataclass(frozen=True)
class Sent:
    """What ``do_send_message`` did: the message, and whether this call stored it (False: the
    same ``client_key`` was sent before and this is that message)."""

    message: Message
    created: bool


# --- Snapshots and streams ----------------------------------------------------------------------


def message_snapshot(message: Message) -> dict[str, Any]:
    """A message as clients receive it (events, API). A deleted message keeps its place in the
    history but not its text."""
    deleted = message.deleted_at is not None
    author = message.author
    return {
        "id": message.pk,
        "room_id": message.room_id,
        "kind": message.kind,
        "author": ({"id": author.pk, "name": author.display_name} if author is not None else None),
        "body": "" if deleted else message.body,
        "body_html": "" if deleted else message.body_html,
        "redactions": [] if deleted else message.redactions,
        "client_key": message.client_key,
        "thread_root_id": message.thread_root_id,
        "reply_count": message.reply_count,
        "reactions": message.reaction_counts,
        "created_at": message.created_at.isoformat(),
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
        "deleted": deleted,
        "attachments": [] if deleted else _attachments_of(message),
    }


def _attachments_of(message: Message) -> list[dict[str, Any]]:
    """A message's files; lists prefetch ``attachments`` (one query for the page)."""
    from hashdesk.chat.messages import attachment_snapshot

    return [attachment_snapshot(attachment) for attachment in message.attachments.all()]


def room_snapshot(room: Room) -> dict[str, Any]:
    return {
        "id": room.pk,
        "kind": room.kind,
        "name": room.name,
        "topic": room.topic,
        "lane": room.lane,
        "service_id": room.service_id,
        "incident_id": room.incident_id,
        "last_message_id": room.last_message_id,
        "archived": room.archived_at is not None,
    }


def publish_message(message: Message, op: str) -> None:
    """A message's event, to the room's stream (members who may see the room listen there)."""
    send_event(
        ChatMessageEvent(op=op, message=message_snapshot(message)),
        streams=[streams.room(message.room_id)],
    )


# --- Rooms and membership ------------------------------------------------------------------------


def _require_person(actor: User | None) -> User:
    if actor is None or not is_signed_in(actor):
        raise Forbidden("Sign in to chat.")
    return actor


def _visible_room(actor: User, room: Room) -> Room:
    """``room``, when ``actor`` may see it; NotFound (never Forbidden) otherwise."""
    if not can_view(actor, room):
        raise NotFound("No such room.")
    return room


def is_member(user: User, room: Room) -> bool:
    return Membership.objects.filter(room=room, user_id=user.pk).exists()


def may_join(person: User, room: Room) -> bool:
    """Who may join a room by themselves: anyone who sees a service room or a war room's
    read-and-ask lane; staff a working lane (not of a confidential incident: named people
    only, added by its moderators). Live-help rooms are joined through their conversation."""
    if room.archived_at is not None or not can_view(person, room):
        return False
    if room.kind == RoomKind.SERVICE:
        return True
    if room.kind == RoomKind.WAR_ROOM:
        if room.lane == Lane.PUBLIC:
            return True
        return is_staff(person) and not _confidential(room)
    return False


def _confidential(room: Room) -> bool:
    from hashdesk.incidents.linking import is_confidential

    return room.incident is not None and is_confidential(room.incident)


def service_room(service: Service) -> Room:
    """The service's room: made with the service (catalog.actions.do_create_service); for a
    service older than chat, by the migration that made the others."""
    room, _ = Room.objects.get_or_create(
        kind=RoomKind.SERVICE,
        service=service,
        defaults={
            "name": f"#{service.hashtag}" if service.hashtag else service.name,
            "topic": f"Talk about {service.name} with colleagues and the service desk.",
        },
    )
    return room


def add_member(room: Room, person: User, *, role: str = MemberRole.MEMBER) -> Membership:
    """Make ``person`` a member (the caller decided they may be one); idempotent. Tells their
    other tabs and the room."""
    membership, created = Membership.objects.get_or_create(
        room=room,
        user=person,
        defaults={"role": role, "last_read_message_id": room.last_message_id},
    )
    if created:
        send_event(
            ChatRoomEvent(op="joined", room=room_snapshot(room), user_id=person.pk),
            streams=[streams.room(room.pk), streams.user(person.pk)],
        )
    return membership


@transaction.atomic
def do_join_room(actor: User | None, room: Room) -> Membership:
    person = _require_person(actor)
    _visible_room(person, room)
    if not may_join(person, room):
        raise Forbidden("You cannot join this room.")
    if is_member(person, room):
        raise Conflict("You are already in this room.")
    membership = add_member(room, person)
    trail.record(actor=person, action="chat.join", obj=room, after={"user_id": person.pk})
    return membership


@transaction.atomic
def do_leave_room(actor: User | None, room: Room) -> None:
    person = _require_person(actor)
    _visible_room(person, room)
    deleted, _ = Membership.objects.filter(room=room, user=person).delete()
    if not deleted:
        raise NotFound("You are not in this room.")
    trail.record(actor=person, action="chat.leave", obj=room, after={"user_id": person.pk})
    send_event(
        ChatRoomEvent(op="left", room=room_snapshot(room), user_id=person.pk),
        streams=[streams.room(room.pk), streams.user(person.pk)],
    )


# --- Sending -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadText:
    """A message's text as stored: redacted, its HTML, what redaction removed, and the people
    it mentions (resolved handles, as on the wall)."""

    body: str
    body_html: str
    redactions: list[dict[str, Any]]
    mentioned: list[User]


def read_text(text: str) -> ReadText:
    """Redact first, then read mentions and hashtags and render: markdown (sanitised) with
    resolved mentions and hashtags as links, never inside code or links (wall.parsing)."""
    redacted = redact(text)
    names = parsing.handles(redacted.text)
    people = parsing.resolve_handles(names) if names else {}
    found = {name: people[name] for name in names if name in people}
    return ReadText(
        body=redacted.text,
        body_html=parsing.render(
            redacted.text, tag_names=parsing.hashtags(redacted.text), people=found
        ),
        redactions=[
            {"kind": f.kind, "count": f.count, "label": f.label} for f in redacted.findings
        ],
        mentioned=list({person.pk: person for person in found.values()}.values()),
    )


def _check_client_key(client_key: str) -> str:
    key = client_key.strip()
    if len(key) > CLIENT_KEY_MAX or any(not (ch.isalnum() or ch in "-_.:") for ch in key):
        raise ValidationFailed(
            f"client_key must be up to {CLIENT_KEY_MAX} letters, digits, '-', '_', '.' or ':'.",
            field="client_key",
        )
    return key


def _check_body(body: str) -> str:
    text = body.strip()
    if not text:
        raise ValidationFailed("Write a message.", field="body")
    if len(text) > BODY_MAX:
        raise ValidationFailed(
            f"A message is at most {BODY_MAX:,} characters ({len(text):,} given).",
            field="body",
        )
    return text


def _require_sending_member(person: User, room: Room) -> None:
    """Members send. Asked first and in one query, since it is the common case; who is not a
    member learns NotFound or Forbidden from the room's full visibility rule."""
    if is_member(person, room):
        if not member_sees(person, room):
            raise NotFound("No such room.")
        return
    _visible_room(person, room)
    raise Forbidden("Join the room to send messages.")


def _previously_sent(person: User, room: Room, key: str) -> Message | None:
    if not key:
        return None
    earlier = Message.objects.filter(author_id=person.pk, client_key=key).first()
    if earlier is not None:
        earlier.author = person
    if earlier is not None and earlier.room_id != room.pk:
        raise Conflict(
            "This client_key was used for a message in another room.", field="client_key"
        )
    return earlier


def do_send_message(
    actor: User | None,
    room: Room,
    *,
    body: str,
    client_key: str = "",
    thread_root: Message | None = None,
    kind: str = MessageKind.MESSAGE,
    attachments: Sequence[ChatAttachment] = (),
) -> Sent:
    """Send a message to a room the sender is a member of.

    Refused, with nothing stored: a room the sender may not see (NotFound), not a member or an
    archived room (Forbidden / Conflict), an empty or over-long text, a bad ``client_key``, a
    thread root of another room, and flooding (RateLimited, counted before the transaction).
    ``attachments``: up to 5 of the sender's own unsent uploads in this room (chat.messages),
    else ValidationFailed (``attachment_ids``).
    """
    person = _require_person(actor)
    key = _check_client_key(client_key)
    earlier = _previously_sent(person, room, key)
    if earlier is not None:
        return Sent(earlier, created=False)
    text = _check_body(body)
    ratelimit.hit("chat_message", str(person.pk))
    try:
        with transaction.atomic():
            message = _store(person, room, text, key, thread_root, kind, attachments)
            return Sent(message, created=True)
    except IntegrityError:
        # The same key sent twice at once (two tabs, a retry racing the first try): the other
        # one stored it.
        earlier = _previously_sent(person, room, key)
        if earlier is None:
            raise
        return Sent(earlier, created=False)


def _store(
    person: User,
    room: Room,
    text: str,
    key: str,
    thread_root: Message | None,
    kind: str,
    attachments: Sequence[ChatAttachment] = (),
) -> Message:
    # The room's row lock orders a room's messages: ids, commits and so events in one order.
    room = Room.objects.select_for_update().get(pk=room.pk)
    _require_sending_member(person, room)
    if room.archived_at is not None:
        raise Conflict("This room is archived.")
    if kind == MessageKind.OFFICIAL and not is_staff(person):
        raise Forbidden("Only the service desk posts official updates.")
    if thread_root is not None:
        if thread_root.room_id != room.pk or thread_root.deleted_at is not None:
            raise NotFound("No such message in this room.", field="thread_root")
        if thread_root.thread_root_id is not None:
            thread_root = thread_root.thread_root  # a thread is one level deep
    read = read_text(text)
    found = read.mentioned
    now = timezone.now()
    message = Message.objects.create(
        room=room,
        author=person,
        kind=kind,
        body=read.body,
        body_html=read.body_html,
        redactions=read.redactions,
        client_key=key,
        thread_root=thread_root,
        created_at=now,
    )
    message.author = person
    _attach(message, person, attachments)
    if found:
        message.mentions.set(found)
    if thread_root is not None:
        Message.objects.filter(pk=thread_root.pk).update(reply_count=F("reply_count") + 1)
    Room.objects.filter(pk=room.pk).update(last_message_id=message.pk, last_message_at=now)
    # The sender has read what they wrote.
    Membership.objects.filter(room=room, user=person).update(
        last_read_message_id=message.pk, last_read_at=now
    )
    publish_message(message, "create")
    _tell_mentioned(message, room, found, person)
    # Live-help members who are away hear of it (throttled; chat.offline_notices).
    from hashdesk.chat.offline_notices import tell_absent_members

    tell_absent_members(message, room, person, found)
    return message


def post_system_message(
    room: Room, text: str, *, kind: str = MessageKind.SYSTEM, author: User | None = None
) -> Message:
    """Store and publish a message the system writes ("Ana joined", an incident's official
    update mirrored into its war room). No membership, rate limit or archive check: the caller
    is an action that already decided; the text is redacted like any other. Call it inside the
    caller's transaction."""
    read = read_text(_check_body(text[:BODY_MAX]))
    now = timezone.now()
    message = Message.objects.create(
        room=room,
        author=author,
        kind=kind,
        body=read.body,
        body_html=read.body_html,
        redactions=read.redactions,
        created_at=now,
    )
    # Never moves back past a newer message stored meanwhile by a sender holding the room lock.
    Room.objects.filter(pk=room.pk, last_message_id__lt=message.pk).update(
        last_message_id=message.pk, last_message_at=now
    )
    room.last_message_id, room.last_message_at = message.pk, now
    publish_message(message, "create")
    return message


def _attach(message: Message, person: User, attachments: Sequence[ChatAttachment]) -> None:
    """Put the sender's unsent uploads of this room on ``message`` — all of them or (raising,
    which rolls the message back) none."""
    from hashdesk.chat.messages import ATTACHMENTS_PER_MESSAGE_MAX

    if not attachments:
        # Nothing to read back: the event's snapshot lists no files without asking.
        none = {"attachments": ChatAttachment.objects.none()}
        message._prefetched_objects_cache = none  # type: ignore[attr-defined]
        return
    ids = list(dict.fromkeys(attachment.pk for attachment in attachments))
    if len(ids) > ATTACHMENTS_PER_MESSAGE_MAX:
        raise ValidationFailed(
            f"A message has at most {ATTACHMENTS_PER_MESSAGE_MAX} files.", field="attachment_ids"
        )
    attached = ChatAttachment.objects.filter(
        pk__in=ids, uploader_id=person.pk, room_id=message.room_id, message__isnull=True
    ).update(message=message)
    if attached != len(ids):
        raise ValidationFailed(
            "Attach only your own files uploaded to this room and not sent yet.",
            field="attachment_ids",
        )
    prefetch_related_objects([message], "attachments")


def _tell_mentioned(message: Message, room: Room, people: Sequence[User], author: User) -> None:
    """Mentioned members of the room (never the author) are notified."""
    named = [person for person in people if person.pk != author.pk][:MENTION_NOTIFY_MAX]
    if not named:
        return
    members = set(
        Membership.objects.filter(room=room, user__in=named).values_list("user_id", flat=True)
    )
    do_send_notices(
        Notice(
            recipient=person,
            kind="chat.mention",
            title=f"{author.display_name} mentioned you in {room.name}",
            body=message.body[:280],
            url=f"/chat/rooms/{room.pk}/#message-{message.pk}",
        )
        for person in named
        if person.pk in members
    )


# --- Reading --------------------------------------------------------------------------------------


@transaction.atomic
def do_mark_read(actor: User | None, room: Room, message_id: int) -> Membership:
    """Move ``actor``'s read marker in ``room`` up to ``message_id`` (never back). Their other
    tabs and devices hear it (``user:<id>``); in a live-help room the other side sees that
    their message was read (the room's stream)."""
    person = _require_person(actor)
    _visible_room(person, room)
    membership = Membership.objects.select_for_update().filter(room=room, user=person).first()
    if membership is None:
        raise NotFound("You are not in this room.")
    if message_id < 0 or message_id > room.last_message_id:
        raise ValidationFailed("No such message in this room.", field="message_id")
    if message_id <= membership.last_read_message_id:
        return membership
    membership.last_read_message_id = message_id
    membership.last_read_at = timezone.now()
    membership.save(update_fields=["last_read_message_id", "last_read_at"])
    names = [streams.user(person.pk)]
    if room.kind == RoomKind.HELP:
        names.append(streams.room(room.pk))
    send_event(
        ChatReadEvent(
            op="read", room_id=room.pk, user_id=person.pk, last_read_message_id=message_id
        ),
        streams=names,
    )
    return membership


def unread_counts(user: User, rooms: Iterable[Room] | None = None) -> dict[int, int]:
    """Unread messages (of others, not deleted) per room ``user`` is a member of. One query."""
    messages = Message.objects.filter(
        # One condition on the membership join: this person's row, and what is past its marker.
        room__memberships__user_id=user.pk,
        pk__gt=F("room__memberships__last_read_message_id"),
        deleted_at__isnull=True,
    ).exclude(author_id=user.pk)
    if rooms is not None:
        messages = messages.filter(room_id__in=[room.pk for room in rooms])
    rows = messages.order_by().values("room_id").annotate(n=Count("pk"))
    return {row["room_id"]: row["n"] for row in rows}


def history(
    viewer: User,
    room: Room,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int = 50,
) -> QuerySet[Message]:
    """A page of ``room``'s messages by id (keyset): the newest ``limit`` before ``before``, or
    the oldest ``limit`` after ``after`` (what a client missed). Oldest first."""
    _visible_room(viewer, room)
    limit = max(1, min(limit, 200))
    messages = visible_to(viewer, Message.objects.filter(room=room)).select_related("author")
    if after is not None:
        return messages.filter(pk__gt=after).order_by("pk").prefetch_related("attachments")[:limit]
    if before is not None:
        messages = messages.filter(pk__lt=before)
    newest = list(messages.order_by("-pk").values_list("pk", flat=True)[:limit])
    return (
        Message.objects.select_related("author")
        .prefetch_related("attachments")
        .filter(pk__in=newest)
        .order_by("pk")
    )
