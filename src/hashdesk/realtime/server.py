"""The event server: WebSockets at ``/ws/`` fed by the event log (docs/realtime.md).

One asyncio process holds every live connection of its share of users. It follows the event log
through one :class:`~hashdesk.realtime.pump.EventPump` (woken by UDP datagrams in the embedded
mode, by Redis pub/sub when ``HASHDESK_REDIS_URL`` is set, and by a timer) and fans each event out
locally through a :class:`~hashdesk.realtime.hub.Hub`. Web processes never talk to WebSocket
clients. The event server reads events, decides subscriptions through hashdesk.core.visibility
and performs chat writes (``send``, ``read``) through the same chat actions as the web
processes (hashdesk.realtime.chat); typing and presence it relays without storing
(hashdesk.realtime.ephemeral).

``GET /healthz`` answers readiness checks on the same port.

The same process serves the Mastodon streaming API (Server-Sent Events) on a port of its own
(``MASTODON_STREAMING_PORT``), fed by the same pump (hashdesk.integrations.mastodon.streaming).

Run it with ``hashdesk events`` (or ``python -m hashdesk.realtime``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from hashdesk.integrations.mastodon.streaming import MastodonStreaming
from hashdesk.realtime import protocol
from hashdesk.realtime.auth import ANONYMOUS, HandshakeRefused, Viewer, identify, read_credentials
from hashdesk.realtime.ephemeral import Ephemera
from hashdesk.realtime.feed import DatabaseThreads
from hashdesk.realtime.hub import Hub
from hashdesk.realtime.publish import events_channel
from hashdesk.realtime.pump import POLL_SECONDS, EventPump
from hashdesk.realtime.session import ClientSession
from hashdesk.realtime.wakeups import listen_redis, listen_udp

logger = logging.getLogger(__name__)
# The websockets library logs every connection opened and closed at INFO: noise with thousands of
# clients, so its lines go to this logger, quiet unless HASHDESK_LOG_LEVEL=DEBUG.
connection_logger = logging.getLogger("hashdesk.realtime.connections")

WEBSOCKET_PATH = "/ws/"
HEALTH_PATH = "/healthz"
# A connection whose unsent frames pile up beyond this is not reading; it is dropped so that one
# stalled client cannot hold the server's memory (it will reconnect and resume).
SLOW_CLIENT_BUFFER_BYTES = 4 * 1024 * 1024
# How long to wait at start for the Redis subscription before serving anyway (the poll covers).
REDIS_START_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class EventServerAddress:
    host: str
    port: int
    notify_port: int | None  # the UDP wake-up port in the embedded mode, None with Redis
    # The Mastodon streaming API's port; None when it could not listen.
    streaming_port: int | None = None


ReadyCallback = Callable[[EventServerAddress], object]


class EventServer:
    def __init__(self, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.hub = Hub()
        # The pump reads on its own thread so that a burst of sign-ins never delays delivery.
        self.pump_database = DatabaseThreads(1, "hashdesk-events-pump")
        self.client_database = DatabaseThreads(4, "hashdesk-events-clients")
        # Chat writes have threads of their own, so that a burst of sends (which wait for the
        # database's write lock) never holds up sign-ins and subscriptions.
        self.chat_database = DatabaseThreads(4, "hashdesk-events-chat")
        self.ephemera = Ephemera(self.hub)
        self.pump = EventPump(self.hub, self.pump_database, poll_seconds=poll_seconds)
        self.mastodon = MastodonStreaming(
            self.client_database, position=lambda: self.hub.high_water
        )
        self.pump.taps.append(self.mastodon.tap)
        self._viewers: weakref.WeakKeyDictionary[ServerConnection, Viewer] = (
            weakref.WeakKeyDictionary()
        )

    # --- HTTP side of the handshake --------------------------------------------------------------

    async def process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        path, _, query = request.path.partition("?")
        if path == HEALTH_PATH:
            return self._health(connection)
        if path != WEBSOCKET_PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, "Not found\n")
        if "token" in parse_qs(query, keep_blank_values=True):
            # URLs end up in proxy and server logs; a secret must never travel in one.
            return connection.respond(
                HTTPStatus.BAD_REQUEST,
                "Send the token in an Authorization header or an auth message, not the URL.\n",
            )
        headers = request.headers
        try:
            credentials = read_credentials(
                cookie=headers.get("Cookie"),
                authorization=headers.get("Authorization"),
                origin=headers.get("Origin"),
            )
            if credentials.session_key or credentials.bearer_token:
                viewer = await self.client_database.run(identify, credentials)
            else:
                viewer = ANONYMOUS
        except HandshakeRefused as refused:
            return connection.respond(refused.status, refused.detail + "\n")
        self._viewers[connection] = viewer
        return None

    def _health(self, connection: ServerConnection) -> Response:
        body = json.dumps(
            {
                "status": "ok",
                "connections": len(self.hub),
                "last_event_id": self.hub.high_water,
                "events_delivered": self.pump.delivered,
                "frames_sent": self.pump.frames_sent,
                "last_fanout_ms": round(self.pump.last_wake_to_sent * 1000, 2),
                "mastodon_streams": len(self.mastodon),
                "mastodon_last_fanout_ms": round(self.mastodon.last_fanout * 1000, 2),
            }
        )
        response = connection.respond(HTTPStatus.OK, body + "\n")
        response.headers["Content-Type"] = "application/json"
        response.headers["Cache-Control"] = "no-store"
        return response

    # --- WebSocket side --------------------------------------------------------------------------

    async def handle(self, connection: ServerConnection) -> None:
        viewer = self._viewers.pop(connection, ANONYMOUS)
        await ClientSession(
            connection,
            viewer,
            self.hub,
            self.client_database,
            chat_database=self.chat_database,
            ephemera=self.ephemera,
        ).run()

    def drop_slow_clients(self) -> None:
        for connection in list(self.hub.connections):
            transport = connection.transport
            if transport.get_write_buffer_size() > SLOW_CLIENT_BUFFER_BYTES:
                logger.warning("dropping a connection that stopped reading")
                transport.abort()

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(5)
            self.drop_slow_clients()

    # --- Life cycle ------------------------------------------------------------------------------

    async def serve(
        self,
        host: str,
        port: int,
        *,
        notify_port: int | None = None,
        streaming_port: int | None = None,
        ready_callback: ReadyCallback | None = None,
    ) -> None:
        """Serve until cancelled; then close every connection (code 1001) and the database.

        ``streaming_port``: the Mastodon streaming API's; by default the setting, or any free
        port when ``port`` is 0 (tests).
        """
        if settings.LOG_LEVEL != "DEBUG":
            connection_logger.setLevel(logging.WARNING)
        await self.pump.start()
        tasks: list[asyncio.Task[Any]] = []
        udp: asyncio.DatagramTransport | None = None
        server: Server | None = None
        try:
            if settings.REDIS_URL:
                subscribed = asyncio.Event()
                follow = listen_redis(
                    settings.REDIS_URL, events_channel(), self.pump.wake, subscribed
                )
                tasks.append(asyncio.create_task(follow))
                shared = self.ephemera.run_shared(settings.REDIS_URL, settings.REDIS_PREFIX)
                tasks.append(asyncio.create_task(shared))
                try:
                    await asyncio.wait_for(subscribed.wait(), REDIS_START_TIMEOUT_SECONDS)
                except TimeoutError:
                    logger.warning("Redis is not answering; serving on polling alone for now")
                bound_notify_port = None
            else:
                udp_port = settings.EVENT_NOTIFY_PORT if notify_port is None else notify_port
                udp = await listen_udp("127.0.0.1", udp_port, self.pump.wake)
                bound_notify_port = udp.get_extra_info("sockname")[1]
            tasks.append(asyncio.create_task(self.pump.run()))
            tasks.append(asyncio.create_task(self._housekeeping()))
            if streaming_port is None:
                streaming_port = 0 if port == 0 else settings.MASTODON_STREAMING_PORT
            bound_streaming_port: int | None = None
            try:
                bound_streaming_port = await self.mastodon.start(host, streaming_port)
            except OSError:
                # An add-on: the WebSockets keep serving; the log says why Mastodon apps can't.
                logger.exception("the Mastodon streaming API cannot listen on %s", streaming_port)
            server = await serve(
                self.handle,
                host,
                port,
                process_request=self.process_request,
                # Every event is encoded once and the same bytes go to all connections; per-
                # connection compression would redo the work for each of them.
                compression=None,
                max_size=protocol.MAX_MESSAGE_BYTES,
                max_queue=32,
                ping_interval=20,
                ping_timeout=20,
                close_timeout=5,
                logger=connection_logger,
            )
            bound = server.sockets[0].getsockname()
            address = EventServerAddress(
                host=bound[0],
                port=bound[1],
                notify_port=bound_notify_port,
                streaming_port=bound_streaming_port,
            )
            logger.info(
                "event server listening on ws://%s:%s%s", address.host, address.port, WEBSOCKET_PATH
            )
            if ready_callback is not None:
                ready_callback(address)
            await asyncio.Future()  # until cancelled
        finally:
            if server is not None:
                server.close()
                with contextlib.suppress(Exception):
                    await server.wait_closed()
            await self.mastodon.close()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if udp is not None:
                udp.close()
            await asyncio.to_thread(self.pump_database.shutdown)
            await asyncio.to_thread(self.client_database.shutdown)
            await asyncio.to_thread(self.chat_database.shutdown)


async def serve_forever(
    host: str | None = None,
    port: int | None = None,
    ready_callback: ReadyCallback | None = None,
    *,
    notify_port: int | None = None,
    poll_seconds: float = POLL_SECONDS,
) -> None:
    """Run an event server until the task is cancelled (settings give the default address)."""
    await EventServer(poll_seconds=poll_seconds).serve(
        settings.EVENT_SERVER_HOST if host is None else host,
        settings.EVENT_SERVER_PORT if port is None else port,
        notify_port=notify_port,
        ready_callback=ready_callback,
    )


async def _serve_until_signalled(serving: Callable[[], Coroutine[Any, Any, None]]) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(serving())
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def run_event_server(host: str | None = None, port: int | None = None) -> None:
    """Blocking entry point (``hashdesk events``): serve until SIGINT or SIGTERM."""
    asyncio.run(_serve_until_signalled(lambda: serve_forever(host, port)))
