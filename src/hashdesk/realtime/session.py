"""One client's conversation with the event server (docs/realtime.md, "Protocol").

A connection first may authenticate (``auth``), then must say ``hello`` within
:data:`HELLO_TIMEOUT_SECONDS`; the hello decides its streams and, with ``last_event_id``, replays
what it missed. After that it may ``subscribe``, ``unsubscribe`` and ``ping``, and a signed-in
person may chat: ``send`` and ``read`` run the chat actions (realtime.chat) one after another, in
the order received, on the chat database threads; ``typing`` and ``presence`` are relayed without
being stored (realtime.ephemeral). Every refused message gets an ``error`` frame and changes
nothing; a client that keeps sending malformed messages, or floods (chat frames count like any
other), is disconnected with close code 1008. A send the chat action refuses (not a member, too
long, rate limited) is an answer, not a protocol fault: an ``error`` with the client_key, and
the connection stays. Frames over 64 KiB are refused by the WebSocket layer with close code 1009.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed

from hashdesk.core.errors import DomainError
from hashdesk.realtime import chat, feed, protocol
from hashdesk.realtime.auth import Viewer, viewer_from_token
from hashdesk.realtime.ephemeral import Ephemera
from hashdesk.realtime.feed import DatabaseThreads
from hashdesk.realtime.hub import Hub, Subscriber
from hashdesk.realtime.subscriptions import Decision, decide

logger = logging.getLogger(__name__)

HELLO_TIMEOUT_SECONDS = 10.0
# Refused messages tolerated per connection before it is closed (typos happen; probing doesn't).
MAX_REFUSALS = 5
# Flood control: a bucket of this many messages, refilled at this rate per second.
BURST_MESSAGES = 30
MESSAGES_PER_SECOND = 10.0

POLICY_VIOLATION = 1008
# Chat writes (send, read) waiting for this connection's writer; beyond this the connection
# stops reading until one is done (back-pressure on a client that sends faster than we store).
PENDING_CHAT_WRITES = 16


class MessageBudget:
    """A token bucket: bursts are fine, a sustained flood is not."""

    def __init__(self, capacity: int = BURST_MESSAGES, rate: float = MESSAGES_PER_SECOND):
        self.capacity = capacity
        self.rate = rate
        self.tokens = float(capacity)
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class ClientSession:
    def __init__(
        self,
        connection: ServerConnection,
        viewer: Viewer,
        hub: Hub,
        database: DatabaseThreads,
        *,
        chat_database: DatabaseThreads,
        ephemera: Ephemera,
    ) -> None:
        self.connection = connection
        self.viewer = viewer
        self.hub = hub
        self.database = database
        self.chat_database = chat_database
        self.ephemera = ephemera
        self.subscriber: Subscriber | None = None
        self.refusals = 0
        self.budget = MessageBudget()
        self.hanging_up = False
        self.typing_gate = chat.TypingGate()
        self._chat_writes: asyncio.Queue[protocol.SendMessage | protocol.MarkRead] | None = None
        self._chat_writer: asyncio.Task[None] | None = None
        self._present_as: int | None = None

    async def run(self) -> None:
        try:
            await self._converse()
        except ConnectionClosed:
            pass
        finally:
            if self.subscriber is not None:
                self.hub.leave(self.subscriber)
            if self._present_as is not None:
                self.ephemera.disconnected(self._present_as, self.connection)
            if self._chat_writer is not None:
                # A write already running finishes on its thread; its ack has nowhere to go,
                # and the client's resend with the same client_key finds the stored message.
                self._chat_writer.cancel()

    async def _converse(self) -> None:
        deadline = time.monotonic() + HELLO_TIMEOUT_SECONDS
        while not self.hanging_up:
            if self.subscriber is None:
                remaining = deadline - time.monotonic()
                try:
                    raw = await asyncio.wait_for(self.connection.recv(), max(remaining, 0.001))
                except TimeoutError:
                    await self._hang_up("expected a hello message")
                    return
            else:
                raw = await self.connection.recv()
            await self._receive(raw)

    def _send(self, frame: bytes) -> None:
        # The hub's synchronous path, so replies and events never overtake each other.
        broadcast((self.connection,), frame, text=True)

    async def _hang_up(self, reason: str) -> None:
        self.hanging_up = True
        closing = asyncio.create_task(self.connection.close(POLICY_VIOLATION, reason))
        # A flooding client has frames queued here; while more than max_queue wait unread the
        # connection stops reading the socket and would never see the client's close reply.
        # Discard them until the closing handshake ends (close_timeout bounds it).
        with contextlib.suppress(ConnectionClosed):
            while True:
                await self.connection.recv()
        await closing

    async def _refuse(self, code: str, detail: str, **extra: object) -> None:
        self._send(protocol.error_frame(code, detail, **extra))
        self.refusals += 1
        if self.refusals >= MAX_REFUSALS:
            await self._hang_up("too many refused messages")

    async def _receive(self, raw: str | bytes) -> None:
        if not self.budget.take():
            await self._hang_up("too many messages")
            return
        try:
            message = protocol.parse_client_message(raw)
        except protocol.ProtocolError as error:
            await self._refuse(error.code, error.detail)
            return
        if isinstance(message, protocol.Ping):
            self._send(protocol.PONG_FRAME)
        elif isinstance(message, protocol.Auth):
            await self._authenticate(message)
        elif isinstance(message, protocol.Hello):
            await self._hello(message)
        elif self.subscriber is None:
            await self._refuse("hello_required", "Send 'hello' before anything else.")
        elif isinstance(message, protocol.Subscribe):
            await self._subscribe(message, self.subscriber)
        elif isinstance(message, protocol.Unsubscribe):
            self._unsubscribe(message, self.subscriber)
        else:
            await self._chat(message)

    async def _authenticate(self, message: protocol.Auth) -> None:
        if self.subscriber is not None:
            await self._refuse("already_greeted", "Authenticate before 'hello'.")
            return
        if self.viewer.user.is_authenticated:
            await self._refuse("already_authenticated", "This connection is already signed in.")
            return
        viewer = await self.database.run(viewer_from_token, message.token)
        if viewer is None:
            await self._refuse("unauthenticated", "The API token is invalid, expired or revoked.")
            return
        self.viewer = viewer

    async def _hello(self, message: protocol.Hello) -> None:
        if self.subscriber is not None:
            await self._refuse("already_greeted", "'hello' is sent once per connection.")
            return
        decision = await self.database.run(
            decide, self.viewer.user, message.streams, with_defaults=True
        )
        await self._report_refused(decision)
        if self.hanging_up:
            return
        user_id = self.viewer.user_id
        subscriber = Subscriber(self.connection, user_id=user_id)
        resuming = message.last_event_id is not None
        # From here on the hub routes live events to this connection (into its backlog while
        # it replays). Joining, reading the high-water mark and sending the welcome happen
        # without an await between them, so no event can slip in before the welcome.
        joined_after = self.hub.join(subscriber, decision.granted, replaying=resuming)
        self.subscriber = subscriber
        if message.last_event_id is None:
            subscriber.send(self._welcome(joined_after))
        else:
            await self._replay(subscriber, message.last_event_id, joined_after)
        if user_id is not None:
            self._present_as = user_id
            self.ephemera.connected(user_id, self.connection)

    async def _replay(self, subscriber: Subscriber, last_event_id: int, joined_after: int) -> None:
        try:
            replay = await self.database.run(
                feed.missed_events, last_event_id, set(subscriber.streams), joined_after
            )
        except Exception:
            logger.exception("replay after event %s failed", last_event_id)
            replay = feed.Replay([], reset="unavailable")
        # No awaits from here to end_replay: the backlog cannot grow behind our back.
        subscriber.send(self._welcome(last_event_id))
        if replay.reset is not None:
            subscriber.send(protocol.reset_frame(last_event_id=joined_after, reason=replay.reset))
            self.hub.end_replay(subscriber, sent_up_to=joined_after)
            return
        sent_up_to = last_event_id
        for event in replay.events:
            subscriber.send(event.frame)
            sent_up_to = event.id
        self.hub.end_replay(subscriber, sent_up_to=sent_up_to)

    def _welcome(self, last_event_id: int) -> bytes:
        assert self.subscriber is not None
        return protocol.welcome_frame(
            streams=self.subscriber.streams,
            last_event_id=last_event_id,
            user_id=self.viewer.user_id,
        )

    async def _report_refused(self, decision: Decision) -> None:
        if decision.invalid:
            await self._refuse(
                "invalid_stream", "These are not stream names.", streams=decision.invalid
            )
        if decision.forbidden:
            await self._refuse(
                "forbidden_stream",
                "You may not receive these streams.",
                streams=decision.forbidden,
            )

    async def _subscribe(self, message: protocol.Subscribe, subscriber: Subscriber) -> None:
        decision = await self.database.run(
            decide, self.viewer.user, message.streams, with_defaults=False
        )
        new = [name for name in decision.granted if name not in subscriber.streams]
        self.hub.subscribe(subscriber, new)
        await self._report_refused(decision)
        if decision.granted or not (decision.forbidden or decision.invalid):
            subscriber.send(protocol.subscribed_frame(subscriber.streams))

    def _unsubscribe(self, message: protocol.Unsubscribe, subscriber: Subscriber) -> None:
        self.hub.unsubscribe(subscriber, message.streams)
        subscriber.send(protocol.subscribed_frame(subscriber.streams))

    # --- Chat ------------------------------------------------------------------------------------

    async def _chat(self, message: protocol.ChatMessage) -> None:
        user_id = self.viewer.user_id
        if user_id is None:
            key = (
                {"client_key": message.client_key}
                if isinstance(message, protocol.SendMessage)
                else {}
            )
            await self._refuse("unauthenticated", "Sign in to chat.", **key)
            return
        if isinstance(message, protocol.SendMessage | protocol.MarkRead):
            if not self.viewer.may_write:
                key = (
                    {"client_key": message.client_key}
                    if isinstance(message, protocol.SendMessage)
                    else {}
                )
                await self._refuse(
                    "forbidden",
                    "This API token is read-only; create a write token to send messages.",
                    **key,
                )
                return
            await self._queue_chat_write(message)
        elif isinstance(message, protocol.Typing):
            await self._typing(message, user_id)
        elif isinstance(message, protocol.Presence):
            self.ephemera.set_status(user_id, self.connection, message.status)
        else:
            # Changes follow from now on; asking first and then following would miss one that
            # happened in between.
            self.ephemera.watch(self.connection)
            statuses = await self.ephemera.statuses(message.user_ids)
            self._send(protocol.presence_state_frame(statuses))

    async def _queue_chat_write(self, message: protocol.SendMessage | protocol.MarkRead) -> None:
        if self._chat_writes is None:
            self._chat_writes = asyncio.Queue(PENDING_CHAT_WRITES)
            self._chat_writer = asyncio.create_task(self._write_chat(self._chat_writes))
        # Waits while the queue is full: the connection stops reading, TCP pushes back.
        await self._chat_writes.put(message)

    async def _write_chat(
        self, writes: asyncio.Queue[protocol.SendMessage | protocol.MarkRead]
    ) -> None:
        """Run this connection's chat writes one at a time, in the order they were sent, so
        that messages typed in a row are stored in that order."""
        user = self.viewer.user
        while True:
            message = await writes.get()
            key = (
                {"client_key": message.client_key}
                if isinstance(message, protocol.SendMessage)
                else {}
            )
            outcome: chat.Acknowledged | DomainError | None
            try:
                if isinstance(message, protocol.SendMessage):
                    outcome = await self.chat_database.run(chat.send_message, user, message)
                else:
                    outcome = await self.chat_database.run(chat.mark_read, user, message)
            except Exception:
                logger.exception("a chat write failed")
                self._send(protocol.error_frame("unavailable", "Try again in a moment.", **key))
                continue
            if isinstance(outcome, DomainError):
                self._send(chat.error_frame(outcome, **key))
            elif isinstance(outcome, chat.Acknowledged):
                assert isinstance(message, protocol.SendMessage)
                self._send(
                    protocol.ack_frame(
                        client_key=message.client_key,
                        message_id=outcome.message_id,
                        created=outcome.created,
                    )
                )

    async def _typing(self, message: protocol.Typing, user_id: int) -> None:
        allowed = self.typing_gate.known(message.room_id)
        if allowed is None:
            allowed = await self.database.run(chat.may_type_in, self.viewer.user, message.room_id)
            self.typing_gate.remember(message.room_id, allowed)
        if not allowed:
            # The same answer whether the room exists or not.
            self._send(
                protocol.error_frame(
                    "not_found", "No such room, or you are not in it.", room_id=message.room_id
                )
            )
            return
        if self.typing_gate.take(message.room_id):
            name = str(getattr(self.viewer.user, "display_name", ""))
            self.ephemera.typing(room_id=message.room_id, user_id=user_id, name=name)
