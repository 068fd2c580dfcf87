"""The Mastodon streaming API: Server-Sent Events at ``/api/v1/streaming/...``.

Served by the event server process (hashdesk.realtime.server) on a port of its own
(``MASTODON_STREAMING_PORT``), at the root of that host:port, because Mastodon clients keep only
``scheme://host:port`` of the ``urls.streaming_api`` the instance reports. It is fed by the event
server's one reader of the event log (hashdesk.realtime.pump): each ``wall_post`` and
``notification`` event is taken once, rendered once per viewer class on a database thread
(streaming_feed), and the same bytes are written to every connection that should hear it:

- ``public`` (``/public``, ``/public/local``; ``/media`` variants): new public posts and replies;
- ``hashtag`` (``/hashtag?tag=x``, ``/hashtag/local?tag=x``): public posts carrying the tag;
- ``user``: the home timeline (wall.timelines.home) and the person's notifications;
  ``user/notification``: the notifications alone; ``direct``: nothing (the wall has no DMs).

Events: ``update`` (created), ``status.update`` (edited), ``delete`` (deleted, hidden, held),
``notification``; a ``:thump`` comment every 15 s keeps proxies from closing an idle stream.
Every connection only hears the event streams core.visibility grants its token's owner.

Each event carries the event log's ``id:``, so a client that reconnects with ``Last-Event-ID``
(browsers' EventSource do it by themselves) first gets what it missed, then the live events, with
no gap and no duplicate: the same replay as the WebSocket resume (realtime.feed.missed_events),
queued behind the events this process had already taken when the client joined. A client away
longer than the event log keeps (or with more than ``feed.REPLAY_LIMIT`` events missed) gets no
replay and reloads its timeline over the REST API, as Mastodon apps do after any reconnect.

``GET /api/v1/streaming`` with ``Upgrade: websocket`` is the WebSocket form, one connection
carrying many subscriptions (streaming_ws); each subscription is a :class:`StreamClient` here
like any SSE stream. Requests and stream names are parsed in streaming_http.

The HTTP side is deliberately small: GET only, request line and headers up to 8 KiB, a
close-delimited ``text/event-stream`` response. A connection whose unsent bytes exceed
:data:`SLOW_CLIENT_BUFFER_BYTES` is dropped, like on the WebSocket side.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from hashdesk.integrations.mastodon.streaming_feed import (
    Refused,
    RenderedPost,
    StreamViewer,
    identify,
    render_notification,
    render_post,
    tokens_still_valid,
)
from hashdesk.integrations.mastodon.streaming_http import (
    CHANNELS,
    MAX_REQUEST_BYTES,
    STREAMING_PREFIX,
    BadRequest,
    Request,
    bearer_token,
    channel_for,
    peer_address,
    read_request,
    respond,
    respond_error,
    resume_point,
)
from hashdesk.integrations.mastodon.streaming_ws import (
    PING,
    WebSocketSession,
    event_frame,
    stream_key,
    wants_websocket,
)
from hashdesk.realtime.feed import DatabaseThreads, WireEvent, missed_events

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
# Seconds a client has to send its request before the connection is closed.
REQUEST_TIMEOUT_SECONDS = 10.0
# Unsent bytes after which a connection that stopped reading is dropped.
SLOW_CLIENT_BUFFER_BYTES = 1024 * 1024
# Open streams per person and process: a runaway client cannot hold thousands of sockets.
MAX_STREAMS_PER_USER = 64
# Events waiting for rendering; beyond this the streams are too far behind and lose events
# (logged), rather than the process growing without bound.
MAX_PENDING_EVENTS = 10_000
# Event types this API streams (bytes, to skip every other event without decoding it).
_INTERESTING = (b'"type":"wall_post"', b'"type":"notification"')


@dataclass(eq=False)
class StreamClient:
    """One open event stream."""

    writer: asyncio.StreamWriter
    viewer: StreamViewer
    channel: str
    tag: str | None = None
    opened: float = field(default_factory=time.monotonic)
    # Events up to this id are not streamed live to this client: it joined after them, and a
    # resume replays those it missed.
    after: int = 0
    # The WebSocket connection this is one subscription of; None for a Server-Sent Events stream.
    socket: WebSocketSession | None = None

    @property
    def key(self) -> tuple[str, ...]:
        return stream_key(self.channel, self.tag)

    @property
    def wants_posts(self) -> bool:
        return CHANNELS[self.channel][1]

    @property
    def wants_notifications(self) -> bool:
        return CHANNELS[self.channel][2]

    def hears(self, snapshot: dict[str, Any]) -> bool:
        """Whether a post (its event snapshot) belongs to this public or hashtag stream."""
        if self.channel == "user" or not self.wants_posts:
            return False
        if snapshot.get("visibility") != "public":
            return False
        if self.channel.endswith(":media") and not snapshot.get("media"):
            return False
        if self.tag is not None:
            return self.tag in {str(name).lower() for name in snapshot.get("hashtags") or ()}
        return True


def message(event: str, data: bytes, event_id: int) -> bytes:
    """One SSE message. ``id`` comes with the event (never alone: Mastodon clients refuse a
    message without ``event``)."""
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, event.encode(), data)


@dataclass(frozen=True)
class LiveEvent:
    """An event taken from the pump, waiting for rendering."""

    id: int
    streams: tuple[str, ...]
    payload: dict[str, Any]
    handed_over: float


@dataclass(frozen=True)
class Resume:
    """A reconnected client's replay of the events after ``last_event_id`` up to ``joined_after``.

    Queued with the live events, so it runs after every event taken before the client joined and
    before every event taken after."""

    client: StreamClient
    last_event_id: int
    joined_after: int


def event_payload(frame: bytes) -> dict[str, Any] | None:
    """The wall post or notification event in a wire frame; None for any other event."""
    if not any(marker in frame for marker in _INTERESTING):
        return None
    payload = json.loads(frame).get("event") or {}
    if payload.get("type") not in ("wall_post", "notification"):
        return None
    return dict(payload)


class MastodonStreaming:
    """The streaming listener of one event server process."""

    def __init__(self, database: DatabaseThreads, position: Callable[[], int]) -> None:
        """``position``: the id of the newest event the pump has handed to :meth:`tap`."""
        self.database = database
        self._position = position
        self._listeners: dict[str, set[StreamClient]] = {}
        self._clients: set[StreamClient] = set()
        self._per_user: dict[int, int] = {}
        self._pending: asyncio.Queue[LiveEvent | Resume] | None = None
        self._server: asyncio.Server | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.events_streamed = 0
        self.messages_sent = 0
        self.dropped_slow = 0
        self.dropped_events = 0
        self.resumed = 0
        self.resume_refused = 0
        # Seconds from the pump handing over the last streamed event to its last write queued.
        self.last_fanout = 0.0

    def __len__(self) -> int:
        return len(self._clients)

    # --- Life cycle ------------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0: any free port) and return the bound port."""
        self._pending = asyncio.Queue(MAX_PENDING_EVENTS)
        self._server = await asyncio.start_server(self._handle, host, port, limit=MAX_REQUEST_BYTES)
        self._tasks = [
            asyncio.create_task(self._render_loop()),
            asyncio.create_task(self._heartbeat_loop()),
            asyncio.create_task(self._recheck_loop()),
        ]
        bound: int = self._server.sockets[0].getsockname()[1]
        logger.info("Mastodon streaming API on http://%s:%s%s", host, bound, STREAMING_PREFIX)
        return bound

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for client in list(self._clients):
            client.writer.transport.abort()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    # --- Input: the event pump's tap -------------------------------------------------------------

    def tap(self, event: WireEvent) -> None:
        """Called by the pump for every event, in id order, on the loop (never awaits)."""
        if not self._clients or self._pending is None:
            return
        if not any(name in self._listeners for name in event.streams):
            return
        try:
            payload = event_payload(event.frame)
        except ValueError:
            logger.exception("event %s is not JSON", event.id)
            return
        if payload is None:
            return
        try:
            self._pending.put_nowait(
                LiveEvent(event.id, event.streams, payload, time.perf_counter())
            )
        except asyncio.QueueFull:
            self.dropped_events += 1
            logger.warning("Mastodon streaming is behind; event %s not streamed", event.id)

    # --- Output ----------------------------------------------------------------------------------

    def _targets(self, streams: Iterable[str], event_id: int) -> set[StreamClient]:
        targets: set[StreamClient] = set()
        for name in streams:
            listeners = self._listeners.get(name)
            if listeners:
                targets |= listeners
        return {client for client in targets if client.after < event_id}

    def _send(self, clients: Iterable[StreamClient], name: str, data: bytes, event_id: int) -> None:
        """Write one event to ``clients``: encoded once for every SSE stream and once per
        WebSocket stream key, never once per connection."""
        sse: bytes | None = None
        frames: dict[tuple[str, ...], bytes] = {}
        for client in clients:
            if client.socket is None:
                if sse is None:
                    sse = message(name, data, event_id)
                self._write(client, sse)
            else:
                frame = frames.get(client.key)
                if frame is None:
                    frame = frames[client.key] = event_frame(client.key, name, data)
                self._write(client, frame)

    def _write(self, client: StreamClient, data: bytes) -> None:
        transport = client.writer.transport
        if transport.is_closing():
            return
        transport.write(data)
        self.messages_sent += 1
        if transport.get_write_buffer_size() > SLOW_CLIENT_BUFFER_BYTES:
            logger.warning("dropping a Mastodon stream that stopped reading")
            self.dropped_slow += 1
            transport.abort()

    async def _render_loop(self) -> None:
        assert self._pending is not None
        while True:
            job = await self._pending.get()
            if isinstance(job, Resume):
                try:
                    await self._resume(job)
                except Exception:
                    logger.exception("replaying events after %s failed", job.last_event_id)
                continue
            try:
                streamed_before = self.events_streamed
                await self._stream_event(job.id, self._targets(job.streams, job.id), job.payload)
                if self.events_streamed != streamed_before:
                    self.last_fanout = time.perf_counter() - job.handed_over
            except Exception:
                logger.exception("streaming event %s failed", job.id)

    async def _resume(self, job: Resume) -> None:
        """Stream to ``job.client`` alone the events it missed, as they would have come live."""
        client = job.client
        if client not in self._clients:
            return
        replay = await self.database.run(
            missed_events, job.last_event_id, client.viewer.streams, job.joined_after
        )
        if replay.reset is not None:
            self.resume_refused += 1
            logger.info(
                "no replay after event %s (%s); the client reloads its timeline",
                job.last_event_id,
                replay.reset,
            )
            return
        for event in replay.events:
            if event.id > job.joined_after or client not in self._clients:
                break  # later events are coming live, in order, behind this job
            payload = event_payload(event.frame)
            if payload is not None:
                await self._stream_event(event.id, {client}, payload)
        self.resumed += 1

    async def _stream_event(
        self, event_id: int, targets: set[StreamClient], payload: dict[str, Any]
    ) -> None:
        if not targets:
            return
        op = payload.get("op")
        if payload["type"] == "notification":
            if op == "create":
                await self._stream_notification(event_id, targets, payload)
            return
        snapshot = payload.get("post") or {}
        post_id = snapshot.get("id")
        if not isinstance(post_id, int):
            return
        if op == "delete":
            wanting = [client for client in targets if client.wants_posts]
            self._send(wanting, "delete", str(post_id).encode(), event_id)
            self.events_streamed += 1
        elif op in ("create", "update"):
            name = "update" if op == "create" else "status.update"
            await self._stream_post(event_id, targets, post_id, snapshot, name)

    async def _stream_post(
        self,
        event_id: int,
        targets: set[StreamClient],
        post_id: int,
        snapshot: dict[str, Any],
        name: str,
    ) -> None:
        public = [client for client in targets if client.hears(snapshot)]
        home = [client for client in targets if client.channel == "user"]
        if not public and not home:
            return
        representatives: dict[str, StreamViewer] = {}
        for client in (*public, *home):
            representatives.setdefault(client.viewer.viewer_class, client.viewer)
        candidates = {client.viewer.user_id: client.viewer for client in home}
        rendered: RenderedPost | None = await self.database.run(
            render_post, post_id, representatives, list(candidates.values())
        )
        if rendered is None:
            return
        home_ids = rendered.home_user_ids
        by_class: dict[str, list[StreamClient]] = {}
        for client in public:
            by_class.setdefault(client.viewer.viewer_class, []).append(client)
        for client in home:
            if client.viewer.user_id in home_ids:
                by_class.setdefault(client.viewer.viewer_class, []).append(client)
        for viewer_class, clients in by_class.items():
            self._send(clients, name, rendered.status_by_class[viewer_class], event_id)
        self.events_streamed += 1

    async def _stream_notification(
        self, event_id: int, targets: set[StreamClient], payload: dict[str, Any]
    ) -> None:
        notification_id = (payload.get("notification") or {}).get("id")
        if not isinstance(notification_id, int):
            return
        by_user: dict[int, list[StreamClient]] = {}
        for client in targets:
            if client.wants_notifications:
                by_user.setdefault(client.viewer.user_id, []).append(client)
        for clients in by_user.values():
            data = await self.database.run(render_notification, notification_id, clients[0].viewer)
            if data is not None:
                self._send(clients, "notification", data, event_id)
                self.events_streamed += 1

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            sockets: set[WebSocketSession] = set()
            for client in list(self._clients):
                if client.socket is None:
                    self._write(client, b":thump\n\n")
                elif client.socket not in sockets:
                    sockets.add(client.socket)
                    self._write(client, PING)

    async def _recheck_loop(self) -> None:
        """Close the streams of tokens revoked or expired since they opened (as Mastodon does)."""
        while True:
            await asyncio.sleep(settings.MASTODON_STREAMING_RECHECK_SECONDS)
            if not self._clients:
                continue
            try:
                valid = await self.database.run(
                    tokens_still_valid, [client.viewer.token for client in self._clients]
                )
            except Exception:
                logger.exception("checking the tokens of open streams failed")
                continue
            for client in list(self._clients):
                if client.viewer.token not in valid:
                    self._leave(client)
                    client.writer.transport.abort()

    # --- Connections -----------------------------------------------------------------------------

    def _join(self, client: StreamClient) -> None:
        self._clients.add(client)
        user_id = client.viewer.user_id
        self._per_user[user_id] = self._per_user.get(user_id, 0) + 1
        for name in client.viewer.streams:
            self._listeners.setdefault(name, set()).add(client)

    def refusal(self, viewer: StreamViewer, channel: str) -> tuple[int, str] | None:
        """Why ``viewer`` may not open a ``channel`` stream now (status, error), or None."""
        if not viewer.allows(CHANNELS[channel][0]):
            return 401, "Access token does not have the required scopes"
        if self._per_user.get(viewer.user_id, 0) >= MAX_STREAMS_PER_USER:
            return 429, "Too many streams open"
        return None

    def join_new(
        self,
        writer: asyncio.StreamWriter,
        viewer: StreamViewer,
        channel: str,
        tag: str | None,
        socket: WebSocketSession | None = None,
    ) -> StreamClient:
        """Open a stream that hears the events taken from now on (call between two events)."""
        client = StreamClient(
            writer=writer,
            viewer=viewer,
            channel=channel,
            tag=tag,
            after=self._position(),
            socket=socket,
        )
        self._join(client)
        return client

    def leave(self, client: StreamClient) -> None:
        self._leave(client)

    def _leave(self, client: StreamClient) -> None:
        if client not in self._clients:
            return
        self._clients.discard(client)
        user_id = client.viewer.user_id
        left = self._per_user.get(user_id, 1) - 1
        if left:
            self._per_user[user_id] = left
        else:
            self._per_user.pop(user_id, None)
        for name in client.viewer.streams:
            listeners = self._listeners.get(name)
            if listeners is not None:
                listeners.discard(client)
                if not listeners:
                    del self._listeners[name]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client: StreamClient | None = None
        try:
            try:
                request = await asyncio.wait_for(read_request(reader), REQUEST_TIMEOUT_SECONDS)
            except TimeoutError:
                return
            except BadRequest as bad:
                respond_error(writer, bad.status, bad.error)
                return
            if request is None:
                return
            if wants_websocket(request):
                session = await WebSocketSession.open(self, request, reader, writer)
                if session is not None:
                    await session.run()
                return
            client = await self._open(request, writer)
            if client is None:
                return
            # Nothing more is expected from the client; reading tells when it goes away.
            while await reader.read(4096):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if client is not None:
                # A stream ends when its client leaves: nothing is left worth flushing.
                self._leave(client)
                writer.transport.abort()
            else:
                writer.close()

    async def _open(self, request: Request, writer: asyncio.StreamWriter) -> StreamClient | None:
        if request.path == STREAMING_PREFIX + "/health":
            respond(writer, 200, b"OK", "text/plain")
            return None
        if request.method not in ("GET", "HEAD"):
            respond_error(writer, 405, "Method not allowed")
            return None
        try:
            channel, tag = channel_for(request.path, request.query)
            last_event_id = resume_point(request)
            viewer = await self.database.run(identify, bearer_token(request), peer_address(writer))
        except (BadRequest, Refused) as refused:
            respond_error(writer, refused.status, refused.error)
            return None
        refused_now = self.refusal(viewer, channel)
        if refused_now is not None:
            respond_error(writer, *refused_now)
            return None
        writer.write(
            b"HTTP/1.1 200 OK\r\n"
            b"Content-Type: text/event-stream; charset=utf-8\r\n"
            b"Cache-Control: no-store\r\n"
            # Apps served from their own origin read the stream (the token, never a cookie,
            # authenticates, so any origin may), as on Mastodon.
            b"Access-Control-Allow-Origin: *\r\n"
            b"X-Accel-Buffering: no\r\n"
            b"Connection: close\r\n\r\n"
        )
        if request.method == "HEAD":
            return None
        # A comment right away, so that the client sees the stream is open (Mastodon sends ":)").
        writer.write(b":)\n\n")
        # No await from here to the end: the position read, the join and the queued replay
        # happen between two events, which is what makes the replay meet the live events.
        client = self.join_new(writer, viewer, channel, tag)
        joined_after = client.after
        # An id ahead of this process (another event server, or one not yet read here): no
        # replay, and the events in between may come twice rather than not at all.
        if last_event_id is not None and last_event_id < joined_after:
            assert self._pending is not None
            try:
                self._pending.put_nowait(Resume(client, last_event_id, joined_after))
            except asyncio.QueueFull:
                self.resume_refused += 1
                logger.warning("Mastodon streaming is behind; no replay for a reconnecting client")
        return client
