"""Chat frames on the event server: ``send`` and ``read`` run the chat actions, ``typing`` is gated.

The event server performs chat writes through the same actions as the web processes
(hashdesk.chat.actions), so membership, length, redaction, idempotency and rate limits are
written once. Doing it here saves the client a second connection and round trip and lets the
acknowledgement travel on the socket the message came from. The functions that touch the
database are synchronous and run on the event server's chat database threads; a refused write is
returned as its DomainError rather than raised, so the thread keeps its database connection
(feed.DatabaseThreads drops the connection after any exception).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from hashdesk.chat import actions
from hashdesk.chat.models import Message, Room
from hashdesk.core import streams
from hashdesk.core.errors import DomainError, NotFound
from hashdesk.core.visibility import can_subscribe
from hashdesk.realtime import protocol

# How long a connection trusts a "may type in this room" answer (membership changes are rare;
# typing frames are frequent).
TYPING_MEMBERSHIP_TTL_SECONDS = 30.0
# At most one typing frame per room per connection in this interval; more are dropped silently.
TYPING_INTERVAL_SECONDS = 2.0


@dataclass(frozen=True)
class Acknowledged:
    message_id: int
    created: bool


def _room(room_id: int) -> Room:
    room = Room.objects.filter(pk=room_id).first()
    if room is None:
        raise NotFound("No such room.", field="room_id")
    return room


def send_message(user: Any, message: protocol.SendMessage) -> Acknowledged | DomainError:
    """``chat.actions.do_send_message`` for one ``send`` frame (on a database thread)."""
    try:
        room = _room(message.room_id)
        thread_root = None
        if message.thread_root_id is not None:
            thread_root = Message.objects.filter(pk=message.thread_root_id, room_id=room.pk).first()
            if thread_root is None:
                raise NotFound("No such message in this room.", field="thread_root_id")
        sent = actions.do_send_message(
            user,
            room,
            body=message.body,
            client_key=message.client_key,
            thread_root=thread_root,
        )
    except DomainError as refused:
        return refused
    return Acknowledged(message_id=sent.message.pk, created=sent.created)


def mark_read(user: Any, message: protocol.MarkRead) -> DomainError | None:
    """``chat.actions.do_mark_read`` for one ``read`` frame (on a database thread)."""
    try:
        actions.do_mark_read(user, _room(message.room_id), message.message_id)
    except DomainError as refused:
        return refused
    return None


def may_type_in(user: Any, room_id: int) -> bool:
    """Typing is shown to a room's live audience, so it takes what receiving the room takes:
    being a member who may see it."""
    return can_subscribe(user, streams.room(room_id))


def error_frame(refused: DomainError, **extra: Any) -> bytes:
    """A DomainError as an ``error`` frame: the same code the API's problem details carry."""
    fields: dict[str, Any] = dict(extra)
    if refused.field:
        fields["field"] = refused.field
    retry_after = getattr(refused, "retry_after", None)
    if retry_after is not None:
        fields["retry_after"] = retry_after
    return protocol.error_frame(refused.code, refused.detail, **fields)


class TypingGate:
    """One connection's typing bookkeeping: cached membership answers and the throttle."""

    def __init__(self) -> None:
        self._allowed: dict[int, tuple[bool, float]] = {}
        self._last_relayed: dict[int, float] = {}

    def known(self, room_id: int) -> bool | None:
        """The cached answer for ``room_id``, or None when it must be asked again."""
        cached = self._allowed.get(room_id)
        if cached is None or cached[1] < time.monotonic():
            return None
        return cached[0]

    def remember(self, room_id: int, allowed: bool) -> None:
        if len(self._allowed) > 100:
            self._allowed.clear()  # a client typing in a hundred rooms gets asked again
        self._allowed[room_id] = (allowed, time.monotonic() + TYPING_MEMBERSHIP_TTL_SECONDS)

    def take(self, room_id: int) -> bool:
        """Whether a typing frame for ``room_id`` may be relayed now (the throttle)."""
        now = time.monotonic()
        if now - self._last_relayed.get(room_id, -TYPING_INTERVAL_SECONDS) < (
            TYPING_INTERVAL_SECONDS
        ):
            return False
        self._last_relayed[room_id] = now
        return True
