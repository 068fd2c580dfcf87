"""The WebSocket form of the Mastodon streaming API: one connection, many subscriptions.

``GET /api/v1/streaming`` with ``Upgrade: websocket`` on the streaming port, as Mastodon's web
interface and the apps built on its JavaScript client library use it. The token comes from
``Authorization: Bearer``, the ``access_token`` query parameter, or ``Sec-WebSocket-Protocol``
(browsers cannot set headers; the token is then echoed as the chosen subprotocol). The client
then sends ``{"type": "subscribe", "stream": "hashtag", "tag": "vpn"}`` and
``{"type": "unsubscribe", ...}``; ``?stream=public`` (with ``tag``) subscribes at once. Every
event arrives as ``{"stream": ["hashtag", "vpn"], "event": "update", "payload": "<JSON>"}`` and
a refused subscription as ``{"error": "...", "status": 4xx}``; the connection stays open.

Each subscription is a :class:`~hashdesk.integrations.mastodon.streaming.StreamClient` of its
own, so it is fed, rendered and decided exactly as the Server-Sent Events form: same listeners,
same scopes, same per-person limit, same token recheck. The WebSocket framing is the ``websockets``
package's sans-I/O protocol (handshake, pings, close); event frames are built once per event and
stream and written as they are to every connection (no compression is negotiated, so the bytes
are the same for all).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from websockets.frames import Frame, Opcode
from websockets.http11 import Request as WebSocketRequest
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from hashdesk.integrations.mastodon.streaming_feed import Refused, StreamViewer, identify
from hashdesk.integrations.mastodon.streaming_http import (
    STREAMING_PREFIX,
    BadRequest,
    Request,
    bearer_token,
    channel_for_name,
    peer_address,
    respond_error,
)

if TYPE_CHECKING:
    from hashdesk.integrations.mastodon.streaming import MastodonStreaming, StreamClient

logger = logging.getLogger(__name__)

# A client message is a small JSON object; anything bigger is a protocol error (close 1009).
MAX_MESSAGE_BYTES = 4 * 1024
# Subscriptions one connection may hold (the per-person limit applies as well).
MAX_SUBSCRIPTIONS = 32


def wants_websocket(request: Request) -> bool:
    return request.headers.get("upgrade", "").lower() == "websocket"


def text_frame(value: Any) -> bytes:
    """A server text frame, ready to write to any connection."""
    data = json.dumps(value, separators=(",", ":")).encode()
    return Frame(Opcode.TEXT, data).serialize(mask=False)


PING = Frame(Opcode.PING, b"").serialize(mask=False)


def stream_key(channel: str, tag: str | None) -> tuple[str, ...]:
    """The ``stream`` field of an event: the channel, and the tag of a hashtag stream."""
    return (channel, tag) if tag is not None else (channel,)


def event_frame(key: tuple[str, ...], name: str, data: bytes) -> bytes:
    return text_frame({"stream": list(key), "event": name, "payload": data.decode()})


def _token(request: Request) -> tuple[str | None, bool]:
    """The token and whether it came as the subprotocol (which must then be echoed)."""
    token = bearer_token(request)
    if token:
        return token, False
    offered = [
        part.strip()
        for part in request.headers.get("sec-websocket-protocol", "").split(",")
        if part.strip()
    ]
    return (offered[0], True) if offered else (None, False)


class WebSocketSession:
    """One WebSocket connection of the streaming API and its subscriptions."""

    def __init__(
        self,
        streaming: MastodonStreaming,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        viewer: StreamViewer,
        protocol: ServerProtocol,
    ) -> None:
        self.streaming = streaming
        self.reader = reader
        self.writer = writer
        self.viewer = viewer
        self.protocol = protocol
        self.subscriptions: dict[tuple[str, ...], StreamClient] = {}

    # --- Opening -------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        streaming: MastodonStreaming,
        request: Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> WebSocketSession | None:
        """Authenticate and complete the handshake; None when refused (the answer is sent)."""
        if request.path.rstrip("/") != STREAMING_PREFIX:
            respond_error(writer, 404, "Unknown stream type")
            return None
        token, as_subprotocol = _token(request)
        try:
            viewer = await streaming.database.run(identify, token, peer_address(writer))
        except Refused as refused:
            respond_error(writer, refused.status, refused.error)
            return None
        chosen: Callable[[ServerProtocol, Any], Subprotocol | None] | None = None
        if as_subprotocol and token:
            echoed = Subprotocol(token)

            def chosen(protocol: ServerProtocol, offered: Any) -> Subprotocol | None:
                return echoed

        protocol = ServerProtocol(select_subprotocol=chosen, max_size=MAX_MESSAGE_BYTES)
        # The protocol reads the handshake itself, then the frames that follow it.
        protocol.receive_data(request.raw)
        handshake = [
            event for event in protocol.events_received() if isinstance(event, WebSocketRequest)
        ]
        if not handshake:
            respond_error(writer, 400, "Malformed WebSocket handshake")
            return None
        response = protocol.accept(handshake[0])
        protocol.send_response(response)
        for data in protocol.data_to_send():
            writer.write(data)
        if protocol.state is not State.OPEN:
            return None  # a malformed handshake: the 400 answer is written
        session = cls(streaming, reader, writer, viewer, protocol)
        first = (request.query.get("stream") or [""])[0]
        if first:
            session.subscribe({"stream": first, "tag": (request.query.get("tag") or [""])[0]})
        return session

    # --- Running -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Read client frames until the connection ends; then drop every subscription."""
        try:
            while self.protocol.state is State.OPEN or self.protocol.state is State.CLOSING:
                data = await self.reader.read(65536)
                if data:
                    self.protocol.receive_data(data)
                else:
                    self.protocol.receive_eof()
                for event in self.protocol.events_received():
                    if isinstance(event, Frame) and event.opcode in (Opcode.TEXT, Opcode.BINARY):
                        self.handle(event.data)
                self._flush()
                if not data or self.protocol.close_expected():
                    break
        finally:
            for client in list(self.subscriptions.values()):
                self.streaming.leave(client)
            self.subscriptions.clear()

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.writer.write(data)

    def _error(self, status: int, error: str) -> None:
        self.writer.write(text_frame({"error": error, "status": status}))

    def handle(self, raw: bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            self._error(400, "Could not parse message")
            return
        if not isinstance(message, dict) or message.get("type") not in ("subscribe", "unsubscribe"):
            self._error(400, "Unknown message type")
            return
        if message["type"] == "subscribe":
            self.subscribe(message)
        else:
            self.unsubscribe(message)

    def _channel(self, message: dict[str, Any]) -> tuple[str, str | None] | None:
        try:
            return channel_for_name(str(message.get("stream") or ""), message.get("tag"))
        except BadRequest as bad:
            self._error(bad.status, bad.error)
            return None

    def subscribe(self, message: dict[str, Any]) -> None:
        found = self._channel(message)
        if found is None:
            return
        channel, tag = found
        key = stream_key(channel, tag)
        if key in self.subscriptions:
            return  # already subscribed: nothing to do, as Mastodon
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            self._error(429, "Too many subscriptions on this connection")
            return
        refused = self.streaming.refusal(self.viewer, channel)
        if refused is not None:
            self._error(*refused)
            return
        self.subscriptions[key] = self.streaming.join_new(
            self.writer, self.viewer, channel, tag, socket=self
        )

    def unsubscribe(self, message: dict[str, Any]) -> None:
        found = self._channel(message)
        if found is None:
            return
        client = self.subscriptions.pop(stream_key(*found), None)
        if client is not None:
            self.streaming.leave(client)
