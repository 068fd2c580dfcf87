"""Delivery guarantees: wake-ups, order, resume without gaps or duplicates, reset after expiry."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from hashdesk.core import streams
from hashdesk.core.models import Event
from hashdesk.realtime.retention import prune_events
from tests.realtime.live import (
    RunningEventServer,
    assert_silent,
    latest_event_id,
    next_event,
    open_client,
    publish,
    receive,
    say_hello,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_udp_wake_up_delivers_without_waiting_for_the_poll(
    start_event_server: Any, settings: Any
) -> None:
    settings.REDIS_URL = ""
    server = start_event_server()  # polls every two minutes: only the datagram can be in time
    assert server.address.notify_port is not None
    with open_client(server) as ws:
        say_hello(ws)
        event_id = publish(1)
        assert next_event(ws, timeout=3)["id"] == event_id


def test_the_poll_finds_events_whose_wake_up_was_lost(
    start_event_server: Any, settings: Any
) -> None:
    settings.REDIS_URL = ""
    server = start_event_server(poll_seconds=0.2)
    settings.EVENT_NOTIFY_PORT = 9  # the discard port: the wake-up goes nowhere
    with open_client(server) as ws:
        say_hello(ws)
        event_id = publish(1)
        assert next_event(ws, timeout=3)["id"] == event_id


def test_events_arrive_in_id_order_each_once(event_server: RunningEventServer) -> None:
    produced: list[int] = []
    lock = threading.Lock()

    def produce(offset: int) -> None:
        try:
            for n in range(25):
                event_id = publish(offset + n)
                with lock:
                    produced.append(event_id)
        finally:
            connection.close()  # this thread's own connection

    with open_client(event_server) as ws:
        say_hello(ws)
        producers = [threading.Thread(target=produce, args=(k * 100,)) for k in range(3)]
        for producer in producers:
            producer.start()
        for producer in producers:
            producer.join()
        received = [next_event(ws)["id"] for _ in produced]
        assert received == sorted(produced)
        assert_silent(ws, 0.2)


def test_resume_sends_what_was_missed_in_order_exactly_once(
    event_server: RunningEventServer,
) -> None:
    with open_client(event_server) as ws:
        say_hello(ws)
        seen = [publish(n) for n in range(3)]
        assert [next_event(ws)["id"] for _ in seen] == seen

    missed = [publish(10), publish(11)]
    publish(12, streams.STAFF)  # not for an anonymous client: never replayed to it
    missed.append(publish(13))

    with open_client(event_server) as ws:
        welcome = say_hello(ws, last_event_id=seen[-1])
        assert welcome["last_event_id"] == seen[-1]
        assert [next_event(ws)["id"] for _ in missed] == missed
        live = publish(14)
        assert next_event(ws)["id"] == live
        assert_silent(ws)


def test_resume_while_events_keep_coming_has_no_gap_and_no_duplicate(
    event_server: RunningEventServer,
) -> None:
    """The race between replaying the log and live fan-out: the live events that arrive while
    the replay query runs are buffered and only those newer than the replay are sent."""
    start = publish(0)
    stop = threading.Event()
    produced: list[int] = []

    def produce() -> None:
        try:
            n = 1
            while not stop.is_set() and n < 400:
                produced.append(publish(n))
                n += 1
        finally:
            connection.close()  # this thread's own connection

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        clients = []
        for _ in range(4):
            ws = open_client(event_server)
            say_hello(ws, last_event_id=start)
            clients.append(ws)
    finally:
        stop.set()
        producer.join()
    try:
        for ws in clients:
            received = [next_event(ws)["id"] for _ in produced]
            assert received == produced
            assert_silent(ws, 0.2)
    finally:
        for ws in clients:
            ws.close()


def test_resume_from_before_retention_gets_a_reset(event_server: RunningEventServer) -> None:
    old = publish(1)
    publish(2)
    Event.objects.filter(id__lte=old + 1).update(created_at=timezone.now() - timedelta(days=30))
    kept = publish(3)
    assert prune_events() == 2

    with open_client(event_server) as ws:
        say_hello(ws, last_event_id=old)
        reset = receive(ws)
        assert reset["type"] == "reset"
        assert reset["reason"] == "expired"
        assert reset["last_event_id"] >= kept
        live = publish(4)
        assert next_event(ws)["id"] == live


def test_resume_from_an_id_never_committed_gets_a_reset(event_server: RunningEventServer) -> None:
    publish(1)
    with open_client(event_server) as ws:
        say_hello(ws, last_event_id=latest_event_id() + 1000)
        assert receive(ws)["reason"] == "unknown_event"


def test_resume_when_nothing_was_missed(event_server: RunningEventServer) -> None:
    last = publish(1)
    with open_client(event_server) as ws:
        say_hello(ws, last_event_id=last)
        assert_silent(ws)
        live = publish(2)
        assert next_event(ws)["id"] == live


def _quiet_server(start_event_server: Any, settings: Any) -> RunningEventServer:
    """A server that reads the log only when the test says so."""
    settings.REDIS_URL = ""
    server: RunningEventServer = start_event_server()
    settings.EVENT_NOTIFY_PORT = 9  # wake-ups go nowhere; the poll is two minutes away
    return server


def _run_pump(server: RunningEventServer) -> None:
    server.call(lambda: server.server.pump.wake())


def test_resume_that_reads_ahead_of_the_fan_out_skips_those_live_events(
    start_event_server: Any, settings: Any
) -> None:
    server = _quiet_server(start_event_server, settings)
    seen = publish(0)
    _run_pump(server)
    ahead = [publish(1), publish(2)]  # committed, not yet read by the server's pump
    with open_client(server, settle=False) as ws:
        say_hello(ws, last_event_id=seen)
        assert [next_event(ws)["id"] for _ in ahead] == ahead
        _run_pump(server)  # the pump now delivers 1 and 2 live: they must not come again
        live = publish(3)
        _run_pump(server)
        assert next_event(ws)["id"] == live
        assert_silent(ws, 0.2)


def test_live_events_during_a_replay_follow_it_once(
    start_event_server: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hashdesk.realtime import feed

    server = _quiet_server(start_event_server, settings)
    seen = publish(0)
    _run_pump(server)
    replay_read = threading.Event()
    release = threading.Event()
    read_missed_events = feed.missed_events

    def slow_replay(*args: Any) -> Any:
        result = read_missed_events(*args)
        replay_read.set()
        release.wait(5)
        return result

    monkeypatch.setattr(feed, "missed_events", slow_replay)
    missed = publish(1)
    with open_client(server, settle=False) as ws:
        from tests.realtime.live import send

        send(ws, {"type": "hello", "last_event_id": seen})
        assert replay_read.wait(5)
        # While the replay is held: the pump delivers the missed event (also in the replay)
        # and a new one (only in the backlog).
        during = publish(2)
        _run_pump(server)
        release.set()
        assert receive(ws)["type"] == "welcome"
        assert [next_event(ws)["id"], next_event(ws)["id"]] == [missed, during]
        assert_silent(ws, 0.2)
