"""Chat over the WebSocket: send and ack, typing, presence and read, against a live event server.

Sends run the same chat action as the REST API (hashdesk.chat.actions.do_send_message), so these
tests check the socket's side: the acknowledgement, errors that keep the connection, the message's
event reaching other members, and what typing and presence relay without storing anything.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from hashdesk.accounts.models import User
from hashdesk.chat import actions
from hashdesk.chat.models import BODY_MAX, Membership, Message, Room
from hashdesk.core import streams
from hashdesk.core.models import Event
from hashdesk.realtime import chat as realtime_chat
from hashdesk.realtime import protocol, session
from hashdesk.realtime.presence import Counts, combine_fields, encode_field
from tests.realtime.live import (
    RunningEventServer,
    assert_silent,
    latest_event_id,
    open_client,
    receive,
    say_hello,
    send,
    session_cookie,
)

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = os.environ.get("HASHDESK_TEST_REDIS_URL", "")


@pytest.fixture(autouse=True)
def _roomy_message_limit(settings: Any) -> None:
    """Tests send many messages in a second; the rate-limit test sets its own small limit."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "chat_message": (1000, 60)}


@pytest.fixture
def vpn_room(vpn_service: Any) -> Room:
    return actions.service_room(vpn_service)


def join(room: Room, *people: User) -> None:
    with transaction.atomic():
        for person in people:
            actions.add_member(room, person)


@contextmanager
def connect_as(
    server: RunningEventServer, person: User, *, streams_: list[str] | None = None
) -> Iterator[ClientConnection]:
    with open_client(server, cookie=session_cookie(person)) as ws:
        say_hello(ws, streams=streams_ or [])
        yield ws


def next_of(
    ws: ClientConnection, kind: str, *, skip: tuple[str, ...] = ("presence",)
) -> dict[str, Any]:
    """The next frame of type ``kind``, passing over frames of the types in ``skip``."""
    for _ in range(20):
        frame = receive(ws)
        if frame["type"] == kind:
            return frame
        assert frame["type"] in skip, frame
    raise AssertionError(f"no {kind} frame")


def send_message(ws: ClientConnection, room: Room, body: str, key: str, **extra: Any) -> None:
    send(ws, {"type": "send", "room_id": room.pk, "body": body, "client_key": key, **extra})


def still_open(ws: ClientConnection) -> None:
    send(ws, {"type": "ping"})
    assert next_of(ws, "pong") == {"type": "pong"}


# --- send -----------------------------------------------------------------------------------------


def test_a_send_is_acknowledged_and_reaches_the_other_members(
    event_server: RunningEventServer, vpn_room: Room, requester: User, vpn_agent: User
) -> None:
    join(vpn_room, requester, vpn_agent)
    room_stream = streams.room(vpn_room.pk)
    with (
        connect_as(event_server, vpn_agent, streams_=[room_stream]) as agent,
        connect_as(event_server, requester, streams_=[room_stream]) as sender,
    ):
        send_message(sender, vpn_room, "My VPN drops every hour", "k-1")
        # The sender hears its own message's event too, before or after the ack.
        ack = next_of(sender, "ack", skip=("event",))
        stored = Message.objects.get()
        assert ack == {"type": "ack", "client_key": "k-1", "message_id": stored.pk, "created": True}
        assert (stored.author, stored.client_key) == (requester, "k-1")

        event = next_of(agent, "event")["event"]
        assert (event["type"], event["op"]) == ("chat_message", "create")
        assert event["message"]["id"] == stored.pk
        assert event["message"]["body"] == "My VPN drops every hour"
        assert event["message"]["author"] == {"id": requester.pk, "name": requester.display_name}


def test_the_same_client_key_twice_stores_one_message(
    event_server: RunningEventServer, vpn_room: Room, requester: User
) -> None:
    join(vpn_room, requester)
    with connect_as(event_server, requester) as ws:
        send_message(ws, vpn_room, "Hello", "same-key")
        first = next_of(ws, "ack")
        send_message(ws, vpn_room, "Hello", "same-key")
        second = next_of(ws, "ack")
    assert first["created"] is True
    assert second == {**first, "created": False}
    assert Message.objects.count() == 1


def test_sends_are_stored_in_the_order_they_were_sent(
    event_server: RunningEventServer, vpn_room: Room, requester: User
) -> None:
    join(vpn_room, requester)
    with connect_as(event_server, requester) as ws:
        for n in range(10):
            send_message(ws, vpn_room, f"line {n}", f"line-{n}")
        acks = [next_of(ws, "ack") for _ in range(10)]
    assert [ack["client_key"] for ack in acks] == [f"line-{n}" for n in range(10)]
    ids = [ack["message_id"] for ack in acks]
    assert ids == sorted(ids)
    assert list(Message.objects.order_by("pk").values_list("body", flat=True)) == [
        f"line {n}" for n in range(10)
    ]


def test_a_person_who_is_not_a_member_is_refused_and_stays_connected(
    event_server: RunningEventServer,
    vpn_room: Room,
    requester: User,
    security_service: Any,
) -> None:
    secret_room = actions.service_room(security_service)
    before = latest_event_id()
    with connect_as(event_server, requester) as ws:
        send_message(ws, vpn_room, "Let me in", "k-1")
        refused = next_of(ws, "error")
        assert (refused["code"], refused["client_key"]) == ("forbidden", "k-1")
        # A room one may not see does not exist, as far as its answer says.
        send_message(ws, secret_room, "Hello?", "k-2")
        hidden = next_of(ws, "error")
        assert (hidden["code"], hidden["client_key"]) == ("not_found", "k-2")
        send_message(ws, Room(pk=secret_room.pk + 100), "Anyone?", "k-3")
        missing = next_of(ws, "error")
        assert (missing["code"], missing["detail"]) == ("not_found", hidden["detail"])
        still_open(ws)
    assert Message.objects.count() == 0
    assert latest_event_id() == before


def test_anonymous_sends_are_refused(event_server: RunningEventServer, vpn_room: Room) -> None:
    with open_client(event_server) as ws:
        say_hello(ws)
        send_message(ws, vpn_room, "Hi", "k-1")
        refused = next_of(ws, "error")
        assert (refused["code"], refused["client_key"]) == ("unauthenticated", "k-1")
        still_open(ws)
    assert Message.objects.count() == 0


def test_a_read_only_token_listens_but_may_not_send(
    event_server: RunningEventServer, vpn_room: Room, requester: User
) -> None:
    """As in the REST API: a read token reads; sending and read markers need a write token."""
    from hashdesk.accounts.actions import do_create_api_token

    join(vpn_room, requester)
    with transaction.atomic():
        _token, raw = do_create_api_token(requester, name="dashboard", scope="read")
    with open_client(event_server, token=raw) as ws:
        say_hello(ws, streams=[streams.room(vpn_room.pk)])
        send_message(ws, vpn_room, "Hello", "k-1")
        refused = next_of(ws, "error")
        assert (refused["code"], refused["client_key"]) == ("forbidden", "k-1")
        send(ws, {"type": "read", "room_id": vpn_room.pk, "message_id": 0})
        assert next_of(ws, "error")["code"] == "forbidden"
        still_open(ws)
    assert Message.objects.count() == 0


def test_malformed_and_overlong_sends_get_errors_and_keep_the_connection(
    event_server: RunningEventServer, vpn_room: Room, requester: User
) -> None:
    join(vpn_room, requester)
    with connect_as(event_server, requester) as ws:
        send(ws, {"type": "send", "room_id": vpn_room.pk, "body": "no key"})
        assert next_of(ws, "error")["code"] == "invalid_message"
        send(ws, {"type": "send", "room_id": "vpn", "body": "x", "client_key": "k"})
        assert next_of(ws, "error")["code"] == "invalid_message"
        # Under the 64 KiB frame limit, over the message's length: the action's answer.
        send_message(ws, vpn_room, "x" * (BODY_MAX + 1), "too-long")
        refused = next_of(ws, "error")
        assert (refused["code"], refused["field"], refused["client_key"]) == (
            "invalid",
            "body",
            "too-long",
        )
        send_message(ws, vpn_room, "   ", "blank")
        assert next_of(ws, "error")["code"] == "invalid"
        send_message(ws, vpn_room, "ok", "bad key!")
        assert next_of(ws, "error")["field"] == "client_key"
        still_open(ws)
    assert Message.objects.count() == 0


def test_a_flood_of_sends_is_rate_limited_with_retry_after(
    event_server: RunningEventServer, vpn_room: Room, requester: User, settings: Any
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "chat_message": (2, 60)}
    join(vpn_room, requester)
    with connect_as(event_server, requester) as ws:
        for n in range(3):
            send_message(ws, vpn_room, f"spam {n}", f"spam-{n}")
        assert [next_of(ws, "ack")["created"] for _ in range(2)] == [True, True]
        limited = next_of(ws, "error")
        assert (limited["code"], limited["client_key"]) == ("rate_limited", "spam-2")
        assert 1 <= limited["retry_after"] <= 60
        still_open(ws)
    assert Message.objects.count() == 2


def test_a_send_over_the_socket_costs_one_query_more_than_the_action(
    vpn_room: Room, requester: User
) -> None:
    """The socket adds the room's lookup to the chat action, nothing else."""
    join(vpn_room, requester)
    actions.do_send_message(requester, vpn_room, body="warm-up", client_key="w-0")
    with CaptureQueriesContext(connection) as direct:
        actions.do_send_message(requester, vpn_room, body="direct", client_key="w-1")
    frame = protocol.SendMessage(
        room_id=vpn_room.pk, body="socket", client_key="w-2", thread_root_id=None
    )
    with CaptureQueriesContext(connection) as socket:
        outcome = realtime_chat.send_message(requester, frame)
    assert isinstance(outcome, realtime_chat.Acknowledged) and outcome.created
    assert len(socket) == len(direct) + 1


def test_chat_frames_count_against_the_flood_limit(
    event_server: RunningEventServer, vpn_room: Room, requester: User
) -> None:
    join(vpn_room, requester)
    with connect_as(event_server, requester) as ws:
        with contextlib.suppress(ConnectionClosed):
            for _ in range(session.BURST_MESSAGES + 20):
                send(ws, {"type": "typing", "room_id": vpn_room.pk})
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(100):
                ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


# --- read -----------------------------------------------------------------------------------------


def test_read_moves_the_marker_and_tells_the_readers_other_tabs(
    event_server: RunningEventServer, vpn_room: Room, requester: User, vpn_agent: User
) -> None:
    join(vpn_room, requester, vpn_agent)
    with transaction.atomic():
        sent = actions.do_send_message(vpn_agent, vpn_room, body="Fixed?", client_key="a-1")
    with (
        connect_as(event_server, requester) as other_tab,
        connect_as(event_server, requester) as ws,
    ):
        send(ws, {"type": "read", "room_id": vpn_room.pk, "message_id": sent.message.pk})
        event = next_of(other_tab, "event")["event"]
        assert (event["type"], event["last_read_message_id"]) == ("chat_read", sent.message.pk)
        send(ws, {"type": "read", "room_id": vpn_room.pk, "message_id": sent.message.pk + 50})
        # The reading tab hears its own chat_read on user:<id> too.
        assert next_of(ws, "error", skip=("presence", "event"))["code"] == "invalid"
    membership = Membership.objects.get(room=vpn_room, user=requester)
    assert membership.last_read_message_id == sent.message.pk


# --- typing ---------------------------------------------------------------------------------------


def test_typing_reaches_the_other_members_only_and_is_not_stored(
    event_server: RunningEventServer,
    vpn_room: Room,
    requester: User,
    vpn_agent: User,
    other_requester: User,
) -> None:
    join(vpn_room, requester, vpn_agent)
    room_stream = streams.room(vpn_room.pk)
    before = latest_event_id()
    with (
        connect_as(event_server, vpn_agent, streams_=[room_stream]) as agent,
        connect_as(event_server, other_requester) as outsider,
        connect_as(event_server, requester, streams_=[room_stream]) as own_other_tab,
        connect_as(event_server, requester, streams_=[room_stream]) as typist,
    ):
        send(typist, {"type": "typing", "room_id": vpn_room.pk})
        assert next_of(agent, "typing") == {
            "type": "typing",
            "room_id": vpn_room.pk,
            "user_id": requester.pk,
            "name": requester.display_name,
        }
        # Throttled: a second frame within two seconds is dropped without an answer.
        send(typist, {"type": "typing", "room_id": vpn_room.pk})
        still_open(typist)
        assert_silent(agent)
        assert_silent(own_other_tab)
        assert_silent(outsider)
        # Someone outside the room can neither type in it nor hear it.
        send(outsider, {"type": "typing", "room_id": vpn_room.pk})
        assert next_of(outsider, "error")["code"] == "not_found"
        assert_silent(agent)
    assert latest_event_id() == before


# --- presence -------------------------------------------------------------------------------------


def presence_of(ws: ClientConnection, person: User) -> str:
    send(ws, {"type": "presence_query", "user_ids": [person.pk]})
    frame = receive(ws)
    while frame["type"] != "presence_state":
        frame = receive(ws)
    status: str = frame["users"][0]["status"]
    return status


def next_presence(ws: ClientConnection, person: User) -> dict[str, Any]:
    """The next presence change of ``person`` (the watcher may hear of itself coming online)."""
    for _ in range(5):
        frame = receive(ws)
        assert frame["type"] == "presence", frame
        if frame["user_id"] == person.pk:
            return frame
    raise AssertionError(f"no presence frame for {person}")


def test_presence_follows_a_persons_connections(
    event_server: RunningEventServer, requester: User, vpn_agent: User
) -> None:
    with connect_as(event_server, vpn_agent) as watcher:
        assert presence_of(watcher, requester) == "offline"
        laptop = open_client(event_server, cookie=session_cookie(requester)).__enter__()
        say_hello(laptop)
        assert next_presence(watcher, requester) == {
            "type": "presence",
            "user_id": requester.pk,
            "status": "online",
        }
        phone = open_client(event_server, cookie=session_cookie(requester)).__enter__()
        say_hello(phone)
        send(laptop, {"type": "presence", "status": "away"})
        still_open(laptop)
        # One connection still active: still online, and nothing is said about it.
        assert_silent(watcher)
        send(phone, {"type": "presence", "status": "away"})
        assert next_presence(watcher, requester)["status"] == "away"
        assert presence_of(watcher, requester) == "away"
        send(phone, {"type": "presence", "status": "active"})
        assert next_presence(watcher, requester)["status"] == "online"
        phone.close()
        send(laptop, {"type": "presence", "status": "away"})
        assert next_presence(watcher, requester)["status"] == "away"
        laptop.close()
        assert next_presence(watcher, requester)["status"] == "offline"
        assert presence_of(watcher, requester) == "offline"


def test_presence_frames_go_only_to_connections_that_asked(
    event_server: RunningEventServer, requester: User, vpn_agent: User
) -> None:
    with connect_as(event_server, vpn_agent) as script:
        with connect_as(event_server, requester):
            pass
        still_open(script)
        assert_silent(script)


def test_presence_query_is_for_signed_in_people(event_server: RunningEventServer) -> None:
    with open_client(event_server) as ws:
        say_hello(ws)
        send(ws, {"type": "presence_query", "user_ids": [1]})
        assert next_of(ws, "error")["code"] == "unauthenticated"
        send(ws, {"type": "presence", "status": "asleep"})
        assert next_of(ws, "error")["code"] == "invalid_message"


# --- resume ---------------------------------------------------------------------------------------


def test_reconnecting_gets_the_missed_messages_once_in_order(
    event_server: RunningEventServer, vpn_room: Room, requester: User, vpn_agent: User
) -> None:
    join(vpn_room, requester, vpn_agent)
    room_stream = streams.room(vpn_room.pk)
    with connect_as(event_server, vpn_agent) as sender:
        with connect_as(event_server, requester, streams_=[room_stream]) as reader:
            send_message(sender, vpn_room, "before", "m-0")
            next_of(sender, "ack")
            last_seen = next_of(reader, "event")["event"]["id"]
        # The reader is away while three messages are sent.
        for n in range(1, 4):
            send_message(sender, vpn_room, f"missed {n}", f"m-{n}")
            next_of(sender, "ack")
        event_server.wait_until_caught_up()
        with open_client(event_server, cookie=session_cookie(requester)) as back:
            say_hello(back, last_event_id=last_seen, streams=[room_stream])
            send_message(sender, vpn_room, "live", "m-4")
            bodies = [next_of(back, "event")["event"]["message"]["body"] for _ in range(4)]
            assert bodies == ["missed 1", "missed 2", "missed 3", "live"]
            still_open(back)
            assert_silent(back)


# --- across event servers (Redis) -----------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="HASHDESK_TEST_REDIS_URL is not set")
def test_typing_and_presence_cross_event_servers(
    start_event_server: Callable[..., RunningEventServer],
    settings: Any,
    vpn_room: Room,
    requester: User,
    vpn_agent: User,
) -> None:
    settings.REDIS_URL = REDIS_URL
    settings.REDIS_PREFIX = f"hashdesk-test-{uuid.uuid4().hex[:12]}"
    one = start_event_server(poll_seconds=0.2)
    two = start_event_server(poll_seconds=0.2)
    join(vpn_room, requester, vpn_agent)
    room_stream = streams.room(vpn_room.pk)
    with connect_as(one, vpn_agent, streams_=[room_stream]) as agent:
        assert presence_of(agent, requester) == "offline"
        with connect_as(two, requester, streams_=[room_stream]) as typist:
            assert next_presence(agent, requester)["status"] == "online"
            assert presence_of(agent, requester) == "online"
            send(typist, {"type": "typing", "room_id": vpn_room.pk})
            assert next_of(agent, "typing")["user_id"] == requester.pk
            send(typist, {"type": "presence", "status": "away"})
            assert next_presence(agent, requester)["status"] == "away"
        assert next_presence(agent, requester)["status"] == "offline"
    assert not Event.objects.filter(type="typing").exists()


# --- units ----------------------------------------------------------------------------------------


def test_stale_presence_fields_of_a_dead_server_are_ignored() -> None:
    now = 1_000_000.0
    fields = {
        b"server-a": encode_field(Counts(active=0, away=1), now).encode(),
        b"server-b": encode_field(Counts(active=1, away=0), now - 500).encode(),
        b"garbage": b"not a field",
    }
    assert combine_fields(fields, now) == Counts(active=0, away=1)
    assert combine_fields(fields, now).status == "away"


def test_typing_gate_throttles_per_room() -> None:
    gate = realtime_chat.TypingGate()
    assert gate.known(1) is None
    gate.remember(1, True)
    assert gate.known(1) is True
    assert gate.take(1) is True
    assert gate.take(1) is False
    assert gate.take(2) is True


def test_frames_are_compact_json() -> None:
    frame = protocol.ack_frame(client_key="k", message_id=3, created=False)
    assert json.loads(frame) == {
        "type": "ack",
        "client_key": "k",
        "message_id": 3,
        "created": False,
    }
