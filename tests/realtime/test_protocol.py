"""Parsing what clients send: valid messages become typed values, anything else a clear code."""

from __future__ import annotations

import json

import pytest

from hashdesk.realtime import protocol
from hashdesk.realtime.protocol import Auth, Hello, Ping, ProtocolError, Subscribe, Unsubscribe


def parse(message: object) -> object:
    return protocol.parse_client_message(json.dumps(message))


def test_valid_messages_become_typed_values() -> None:
    assert parse({"type": "hello"}) == Hello(last_event_id=None, streams=())
    assert parse({"type": "hello", "last_event_id": 41, "streams": ["staff", "service:3"]}) == (
        Hello(last_event_id=41, streams=("staff", "service:3"))
    )
    assert parse({"type": "auth", "token": "hd_abc_def"}) == Auth(token="hd_abc_def")
    assert parse({"type": "subscribe", "streams": ["team:2", "team:2"]}) == Subscribe(
        streams=("team:2",)
    )
    assert parse({"type": "unsubscribe", "streams": ["members"]}) == Unsubscribe(
        streams=("members",)
    )
    assert parse({"type": "ping"}) == Ping()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"\x00\x01binary", "binary_frame"),
        ("{not json", "invalid_json"),
        ("[1, 2]", "invalid_message"),
        ('"hello"', "invalid_message"),
        ('{"streams": []}', "unknown_type"),
        ('{"type": "launch_missiles"}', "unknown_type"),
        ('{"type": 7}', "unknown_type"),
        ('{"type": "ping", "extra": 1}', "invalid_message"),
        ('{"type": "hello", "last_event_id": "12"}', "invalid_message"),
        ('{"type": "hello", "last_event_id": -1}', "invalid_message"),
        ('{"type": "hello", "last_event_id": true}', "invalid_message"),
        ('{"type": "hello", "last_event_id": 1.5}', "invalid_message"),
        ('{"type": "hello", "last_event_id": 99999999999999999999}', "invalid_message"),
        ('{"type": "hello", "streams": "staff"}', "invalid_message"),
        ('{"type": "hello", "streams": [1]}', "invalid_message"),
        ('{"type": "hello", "streams": [""]}', "invalid_message"),
        ('{"type": "subscribe"}', "invalid_message"),
        ('{"type": "subscribe", "streams": []}', "invalid_message"),
        ('{"type": "auth", "token": 42}', "invalid_message"),
        ('{"type": "auth", "token": ""}', "invalid_message"),
    ],
)
def test_garbage_is_refused_with_a_code(raw: str | bytes, code: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        protocol.parse_client_message(raw)
    assert refused.value.code == code
    assert refused.value.detail


def test_limits_on_stream_lists() -> None:
    too_many = [f"team:{n}" for n in range(protocol.MAX_STREAMS_PER_MESSAGE + 1)]
    with pytest.raises(ProtocolError, match="At most"):
        parse({"type": "subscribe", "streams": too_many})
    with pytest.raises(ProtocolError, match="characters"):
        parse({"type": "subscribe", "streams": ["x" * (protocol.MAX_STREAM_NAME_LENGTH + 1)]})


def test_server_frames_are_compact_json() -> None:
    frame = protocol.welcome_frame(streams={"public", "members"}, last_event_id=7, user_id=3)
    assert json.loads(frame) == {
        "type": "welcome",
        "streams": ["members", "public"],
        "last_event_id": 7,
        "user_id": 3,
    }
    assert b" " not in protocol.event_frame({"id": 1, "type": "probe", "op": "x"})
    assert json.loads(protocol.error_frame("forbidden_stream", "No.", streams=["staff"])) == {
        "type": "error",
        "code": "forbidden_stream",
        "detail": "No.",
        "streams": ["staff"],
    }
