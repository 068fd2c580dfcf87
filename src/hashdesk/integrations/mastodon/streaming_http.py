"""The streaming port's small HTTP side: requests, the stream a request names, answers.

Shared by the Server-Sent Events form (hashdesk.integrations.mastodon.streaming) and the
WebSocket form (streaming_ws). Mastodon's stream names: ``public``, ``public:local``,
``hashtag`` (with ``tag``), ``user``, ``user:notification``, ...; the SSE form spells them as
paths (``/api/v1/streaming/public/local``), the WebSocket form as names in messages.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

STREAMING_PREFIX = "/api/v1/streaming"
# Request line plus headers; anything longer is refused (431).
MAX_REQUEST_BYTES = 8 * 1024

# Scopes a token needs for the streams (as Mastodon: ``read`` covers both).
STATUS_SCOPE = "read:statuses"
NOTIFICATION_SCOPE = "read:notifications"
# channel -> (scope needed, receives posts, receives notifications)
CHANNELS: dict[str, tuple[str, bool, bool]] = {
    "user": (STATUS_SCOPE, True, True),
    "user:notification": (NOTIFICATION_SCOPE, False, True),
    "public": (STATUS_SCOPE, True, False),
    "public:local": (STATUS_SCOPE, True, False),
    "public:remote": (STATUS_SCOPE, False, False),
    "public:media": (STATUS_SCOPE, True, False),
    "public:local:media": (STATUS_SCOPE, True, False),
    "public:remote:media": (STATUS_SCOPE, False, False),
    "hashtag": (STATUS_SCOPE, True, False),
    "hashtag:local": (STATUS_SCOPE, True, False),
    "direct": (STATUS_SCOPE, False, False),
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    # The request line and headers as received (the WebSocket handshake parses them again).
    raw: bytes = b""


class BadRequest(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def channel_for(path: str, query: dict[str, list[str]]) -> tuple[str, str | None]:
    """The Mastodon stream a path names, and its tag for hashtag streams; raises BadRequest."""
    if not path.startswith(STREAMING_PREFIX + "/"):
        raise BadRequest(404, "Unknown stream type")
    channel = path[len(STREAMING_PREFIX) + 1 :].strip("/").replace("/", ":")
    if channel not in CHANNELS:
        raise BadRequest(404, "Unknown stream type")
    tag = None
    if channel.startswith("hashtag"):
        tag = (query.get("tag") or [""])[0].strip().lstrip("#").lower()
        if not tag or len(tag) > 100:
            raise BadRequest(400, "No tag for stream provided")
    return channel, tag


def channel_for_name(name: str, tag: object = None) -> tuple[str, str | None]:
    """The stream a WebSocket ``subscribe`` names, and its tag; raises BadRequest."""
    if name not in CHANNELS:
        raise BadRequest(400, "Unknown stream type")
    if not name.startswith("hashtag"):
        return name, None
    cleaned = str(tag or "").strip().lstrip("#").lower()
    if not cleaned or len(cleaned) > 100:
        raise BadRequest(400, "No tag for stream provided")
    return name, cleaned


# --- Minimal HTTP/1.1 ----------------------------------------------------------------------------


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """Parse a request line and headers (None when the client left first); raises BadRequest."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    except asyncio.LimitOverrunError as overrun:
        raise BadRequest(431, "Request header fields too large") from overrun
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
    except ValueError as malformed:
        raise BadRequest(400, "Malformed request") from malformed
    if not version.startswith("HTTP/1."):
        raise BadRequest(400, "Malformed request")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(400, "Malformed request")
        headers[name.strip().lower()] = value.strip()
    path, _, query = target.partition("?")
    return Request(
        method=method.upper(),
        path=unquote(path),
        query=parse_qs(query, keep_blank_values=True),
        headers=headers,
        raw=head,
    )


def bearer_token(request: Request) -> str | None:
    """The token from ``Authorization: Bearer``, else Mastodon's ``access_token`` parameter."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    from_query = (request.query.get("access_token") or [""])[0]
    return from_query or None


def resume_point(request: Request) -> int | None:
    """The ``Last-Event-ID`` a reconnecting client sends (an event log id); raises BadRequest."""
    raw = request.headers.get("last-event-id", "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise BadRequest(400, "Last-Event-ID must be the id of an event this stream sent")
    return int(raw)


def peer_address(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return str(peer[0]) if peer else ""


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
}


def respond(writer: asyncio.StreamWriter, status: int, body: bytes, content_type: str) -> None:
    writer.write(
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        "Access-Control-Allow-Origin: *\r\n"
        "Connection: close\r\n\r\n".encode()
        + body
    )


def respond_error(writer: asyncio.StreamWriter, status: int, error: str) -> None:
    """Mastodon's error shape: ``{"error": "..."}`` with the status."""
    respond(writer, status, json.dumps({"error": error}).encode(), "application/json")
