"""A WebSocket sending garbage gets clear errors, changes nothing, and is cut off if it persists."""

from __future__ import annotations

import contextlib
import json

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from hashdesk.core import streams
from hashdesk.realtime import protocol, session
from tests.realtime.live import (
    RunningEventServer,
    next_event,
    open_client,
    publish,
    receive,
    say_hello,
    send,
)

pytestmark = pytest.mark.django_db(transaction=True)


def closed_with(ws: ClientConnection) -> int | None:
    """Read until the server closes; return its close code."""
    with pytest.raises(ConnectionClosed) as closed:
        for _ in range(100):
            ws.recv(timeout=5)
    return closed.value.rcvd.code if closed.value.rcvd else None


def test_each_kind_of_garbage_gets_an_error_and_changes_nothing(
    event_server: RunningEventServer,
) -> None:
    with open_client(event_server) as ws:
        say_hello(ws)
        garbage: list[tuple[str | bytes, str]] = [
            (b"\x00binary", "binary_frame"),
            ("not json", "invalid_json"),
            ('{"type": "subscribe", "streams": "staff"}', "invalid_message"),
            ('{"type": "teleport"}', "unknown_type"),
        ]
        for raw, code in garbage:
            ws.send(raw)
            error = receive(ws)
            assert (error["type"], error["code"]) == ("error", code)
        # Still connected, still on the same streams, still receiving.
        send(ws, {"type": "ping"})
        assert receive(ws) == {"type": "pong"}
        marker = publish(1, streams.PUBLIC)
        assert next_event(ws)["id"] == marker


def test_repeated_garbage_closes_with_policy_violation(event_server: RunningEventServer) -> None:
    with open_client(event_server) as ws:
        for _ in range(session.MAX_REFUSALS):
            ws.send("{{{")
        assert closed_with(ws) == 1008


def test_messages_before_hello_are_refused(event_server: RunningEventServer) -> None:
    with open_client(event_server) as ws:
        send(ws, {"type": "subscribe", "streams": ["public"]})
        assert receive(ws)["code"] == "hello_required"
        say_hello(ws)
        send(ws, {"type": "hello"})
        assert receive(ws)["code"] == "already_greeted"


def test_oversized_frames_close_with_message_too_big(event_server: RunningEventServer) -> None:
    with open_client(event_server) as ws:
        say_hello(ws)
        padding = "x" * protocol.MAX_MESSAGE_BYTES
        ws.send(json.dumps({"type": "ping", "padding": padding}))
        assert closed_with(ws) == 1009


def test_flooding_closes_the_connection(event_server: RunningEventServer) -> None:
    with open_client(event_server) as ws:
        say_hello(ws)
        # The server may hang up while the flood is still being sent: that is the point.
        with contextlib.suppress(ConnectionClosed):
            for _ in range(session.BURST_MESSAGES + 20):
                ws.send('{"type": "ping"}')
        assert closed_with(ws) == 1008


def test_silence_instead_of_hello_is_cut_off(
    event_server: RunningEventServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session, "HELLO_TIMEOUT_SECONDS", 0.2)
    with open_client(event_server) as ws:
        assert closed_with(ws) == 1008


def test_a_token_in_the_url_is_refused(event_server: RunningEventServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(event_server.url + "?token=hd_000000000000_secret")
    assert refused.value.response.status_code == 400


def test_unknown_paths_and_health(event_server: RunningEventServer) -> None:
    from urllib.error import HTTPError
    from urllib.request import urlopen

    def health() -> dict[str, object]:
        with urlopen(event_server.http_url + "/healthz", timeout=5) as response:
            answer: dict[str, object] = json.loads(response.read())
            return answer

    assert health()["status"] == "ok"
    assert health()["connections"] == 0
    with open_client(event_server) as ws:
        say_hello(ws)
        event_id = publish(1, streams.PUBLIC)
        next_event(ws)
        now = health()
    assert (now["connections"], now["last_event_id"]) == (1, event_id)
    assert now["events_delivered"] == now["frames_sent"] == 1
    with pytest.raises(HTTPError) as missing:
        urlopen(event_server.http_url + "/admin/", timeout=5)
    assert missing.value.code == 404
    missing.value.close()
