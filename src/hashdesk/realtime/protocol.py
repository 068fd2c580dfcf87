"""The WebSocket protocol between browsers (or API clients) and the event server.

JSON text frames, one message per frame, each an object with a ``type``. docs/realtime.md is the
reference; this module is the single place that parses what clients send and builds what the
server sends, so the two cannot drift apart.

Parsing is strict: unknown types, unknown fields and wrong types are refused with a
:class:`ProtocolError` whose ``code`` the client can act on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Frames larger than this are refused by the WebSocket layer itself (close code 1009).
MAX_MESSAGE_BYTES = 64 * 1024
MAX_STREAMS_PER_MESSAGE = 100
MAX_STREAM_NAME_LENGTH = 100
MAX_TOKEN_LENGTH = 200
# Event ids are 64-bit database keys.
MAX_EVENT_ID = 2**63 - 1


class ProtocolError(Exception):
    """A client message the server refuses; becomes an ``error`` frame with this code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Auth:
    token: str


@dataclass(frozen=True)
class Hello:
    last_event_id: int | None
    streams: tuple[str, ...]


@dataclass(frozen=True)
class Subscribe:
    streams: tuple[str, ...]


@dataclass(frozen=True)
class Unsubscribe:
    streams: tuple[str, ...]


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class SendMessage:
    """Post a chat message; answered by ``ack`` (stored) or an ``error`` with the key."""

    room_id: int
    body: str
    client_key: str
    thread_root_id: int | None


@dataclass(frozen=True)
class Typing:
    room_id: int


@dataclass(frozen=True)
class Presence:
    status: str  # "active" or "away"


@dataclass(frozen=True)
class PresenceQuery:
    user_ids: tuple[int, ...]


@dataclass(frozen=True)
class MarkRead:
    room_id: int
    message_id: int


ChatMessage = SendMessage | Typing | Presence | PresenceQuery | MarkRead
ClientMessage = Auth | Hello | Subscribe | Unsubscribe | Ping | ChatMessage

# The body's length is the chat action's rule (chat.models.BODY_MAX, an ``invalid`` error with
# the client_key); the protocol only bounds what a frame may carry at all (64 KiB).
MAX_CLIENT_KEY_LENGTH = 64
MAX_PRESENCE_QUERY = 200
PRESENCE_STATUSES = ("active", "away")

# Fields each message type accepts besides "type" (required ones first, then optional ones).
_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "auth": (frozenset({"token"}), frozenset()),
    "hello": (frozenset(), frozenset({"last_event_id", "streams"})),
    "subscribe": (frozenset({"streams"}), frozenset()),
    "unsubscribe": (frozenset({"streams"}), frozenset()),
    "ping": (frozenset(), frozenset()),
    "send": (frozenset({"room_id", "body", "client_key"}), frozenset({"thread_root_id"})),
    "typing": (frozenset({"room_id"}), frozenset()),
    "presence": (frozenset({"status"}), frozenset()),
    "presence_query": (frozenset({"user_ids"}), frozenset()),
    "read": (frozenset({"room_id", "message_id"}), frozenset()),
}


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """Turn one received frame into a message, or raise :class:`ProtocolError`."""
    if not isinstance(raw, str):
        raise ProtocolError("binary_frame", "Send JSON in text frames; binary frames are refused.")
    try:
        data = json.loads(raw)
    except ValueError:
        raise ProtocolError("invalid_json", "The message is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ProtocolError("invalid_message", "A message is a JSON object with a 'type'.")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in _FIELDS:
        known = ", ".join(sorted(_FIELDS))
        raise ProtocolError("unknown_type", f"Unknown message type; expected one of: {known}.")
    required, optional = _FIELDS[kind]
    present = set(data) - {"type"}
    unknown = present - required - optional
    if unknown:
        names = ", ".join(sorted(str(name)[:40] for name in unknown))
        raise ProtocolError("invalid_message", f"Unknown field(s) in '{kind}': {names}.")
    missing = required - present
    if missing:
        raise ProtocolError(
            "invalid_message", f"'{kind}' needs the field(s): {', '.join(sorted(missing))}."
        )
    if kind == "auth":
        return Auth(token=_token(data["token"]))
    if kind == "hello":
        return Hello(
            last_event_id=_event_id(data.get("last_event_id")),
            streams=_streams(data.get("streams", []), allow_empty=True),
        )
    if kind == "subscribe":
        return Subscribe(streams=_streams(data["streams"], allow_empty=False))
    if kind == "unsubscribe":
        return Unsubscribe(streams=_streams(data["streams"], allow_empty=False))
    if kind == "ping":
        return Ping()
    return _chat_message(kind, data)


def _chat_message(kind: str, data: dict[str, Any]) -> ChatMessage:
    if kind == "send":
        thread_root = data.get("thread_root_id")
        return SendMessage(
            room_id=_object_id(data["room_id"], "room_id"),
            body=_text(data["body"], "body"),
            client_key=_client_key(data["client_key"]),
            thread_root_id=None
            if thread_root is None
            else _object_id(thread_root, "thread_root_id"),
        )
    if kind == "typing":
        return Typing(room_id=_object_id(data["room_id"], "room_id"))
    if kind == "presence":
        status = data["status"]
        if status not in PRESENCE_STATUSES:
            raise ProtocolError("invalid_message", "'status' must be 'active' or 'away'.")
        return Presence(status=status)
    if kind == "presence_query":
        ids = data["user_ids"]
        if not isinstance(ids, list) or len(ids) > MAX_PRESENCE_QUERY:
            raise ProtocolError(
                "invalid_message", f"'user_ids' must be a list of at most {MAX_PRESENCE_QUERY} ids."
            )
        return PresenceQuery(
            user_ids=tuple(dict.fromkeys(_object_id(value, "user_ids") for value in ids))
        )
    return MarkRead(
        room_id=_object_id(data["room_id"], "room_id"),
        message_id=_object_id(data["message_id"], "message_id", allow_zero=True),
    )


def _object_id(value: Any, name: str, *, allow_zero: bool = False) -> int:
    lowest = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= MAX_EVENT_ID:
        raise ProtocolError("invalid_message", f"'{name}' must be a positive integer id.")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ProtocolError("invalid_message", f"'{name}' must be a string.")
    return value


def _client_key(value: Any) -> str:
    # Required over the WebSocket: without a key a resend after a lost ack would double the
    # message. Its characters are the chat action's rule.
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_CLIENT_KEY_LENGTH:
        raise ProtocolError(
            "invalid_message",
            f"'client_key' must be a non-empty string of up to {MAX_CLIENT_KEY_LENGTH} characters.",
        )
    return value


def _token(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TOKEN_LENGTH:
        raise ProtocolError("invalid_message", "'token' must be a non-empty string.")
    return value


def _event_id(value: Any) -> int | None:
    if value is None:
        return None
    # bool is an int in Python; true is not an event id.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_EVENT_ID:
        raise ProtocolError(
            "invalid_message", "'last_event_id' must be null or a non-negative integer."
        )
    return value


def _streams(value: Any, *, allow_empty: bool) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ProtocolError("invalid_message", "'streams' must be a list of stream names.")
    if not value and not allow_empty:
        raise ProtocolError("invalid_message", "'streams' must name at least one stream.")
    if len(value) > MAX_STREAMS_PER_MESSAGE:
        raise ProtocolError(
            "invalid_message", f"At most {MAX_STREAMS_PER_MESSAGE} streams per message."
        )
    for name in value:
        if not isinstance(name, str) or not name or len(name) > MAX_STREAM_NAME_LENGTH:
            raise ProtocolError(
                "invalid_message",
                f"Stream names are strings of 1 to {MAX_STREAM_NAME_LENGTH} characters.",
            )
    # Keep the client's order but drop repeats.
    return tuple(dict.fromkeys(value))


# --- Frames the server sends ---------------------------------------------------------------------


def encode(message: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON, ready for a text frame."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def welcome_frame(*, streams: Iterable[str], last_event_id: int, user_id: int | None) -> bytes:
    return encode(
        {
            "type": "welcome",
            "streams": sorted(streams),
            "last_event_id": last_event_id,
            "user_id": user_id,
        }
    )


def subscribed_frame(streams: Iterable[str]) -> bytes:
    return encode({"type": "subscribed", "streams": sorted(streams)})


def event_frame(event: dict[str, Any]) -> bytes:
    return encode({"type": "event", "event": event})


def reset_frame(*, last_event_id: int, reason: str) -> bytes:
    return encode({"type": "reset", "last_event_id": last_event_id, "reason": reason})


def error_frame(code: str, detail: str, **extra: Any) -> bytes:
    return encode({"type": "error", "code": code, "detail": detail, **extra})


def ack_frame(*, client_key: str, message_id: int, created: bool) -> bytes:
    return encode(
        {"type": "ack", "client_key": client_key, "message_id": message_id, "created": created}
    )


def typing_frame(*, room_id: int, user_id: int, name: str) -> bytes:
    return encode({"type": "typing", "room_id": room_id, "user_id": user_id, "name": name})


def presence_frame(*, user_id: int, status: str) -> bytes:
    return encode({"type": "presence", "user_id": user_id, "status": status})


def presence_state_frame(statuses: dict[int, str]) -> bytes:
    # JSON object keys are strings; a list keeps the ids numbers, as everywhere else.
    return encode(
        {
            "type": "presence_state",
            "users": [{"user_id": uid, "status": status} for uid, status in statuses.items()],
        }
    )


PONG_FRAME = encode({"type": "pong"})
