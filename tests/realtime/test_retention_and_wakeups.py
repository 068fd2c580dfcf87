"""Pruning the event log, and waking event servers without ever hurting the committing request."""

from __future__ import annotations

import contextlib
import socket
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from hashdesk.core.models import Event
from hashdesk.realtime import publish as publisher
from hashdesk.realtime.retention import prune_events
from tests.realtime.live import publish


def _age(event_id: int, days: float) -> None:
    Event.objects.filter(pk=event_id).update(created_at=timezone.now() - timedelta(days=days))


@pytest.mark.django_db
def test_prune_deletes_events_older_than_the_retention_period(settings: Any) -> None:
    settings.EVENT_RETENTION_HOURS = 24
    old = [publish(n) for n in range(3)]
    for event_id in old:
        _age(event_id, 2)
    recent = [publish(n) for n in range(3, 5)]

    assert prune_events(batch_size=2) == 3
    assert list(Event.objects.values_list("id", flat=True)) == recent
    assert prune_events() == 0


@pytest.mark.django_db
def test_prune_removes_a_prefix_even_when_clocks_disagree(settings: Any) -> None:
    """An event stamped late by a slow clock must not survive between deleted ones, or a
    resuming client could not tell that something before it was pruned."""
    settings.EVENT_RETENTION_HOURS = 24
    first, skewed, last_old, kept = (publish(n) for n in range(4))
    _age(first, 3)
    _age(skewed, 0.5)  # "recent" by its timestamp, yet committed before an old event
    _age(last_old, 2)

    assert prune_events() == 3
    assert list(Event.objects.values_list("id", flat=True)) == [kept]


def test_wake_up_datagram_carries_the_event_id(settings: Any) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(2)
    settings.REDIS_URL = ""
    settings.EVENT_NOTIFY_PORT = listener.getsockname()[1]
    try:
        publisher.wake_event_servers(4242)
        data, _ = listener.recvfrom(64)
    finally:
        listener.close()
    assert publisher.parse_wake_payload(data) == 4242


def test_wake_up_with_nobody_listening_is_silent(settings: Any) -> None:
    settings.REDIS_URL = ""
    settings.EVENT_NOTIFY_PORT = 9
    for _ in range(3):
        publisher.wake_event_servers(1)


def test_unanswering_redis_neither_raises_nor_stalls_every_commit(settings: Any) -> None:
    # A socket that completes TCP handshakes (the kernel does) but never answers a command.
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(64)
    settings.REDIS_URL = f"redis://127.0.0.1:{blackhole.getsockname()[1]}/0"
    try:
        for event_id in range(20):
            publisher.wake_event_servers(event_id)
        blackhole.setblocking(False)
        attempts = 0
        with contextlib.suppress(BlockingIOError):
            while True:
                blackhole.accept()[0].close()
                attempts += 1
    finally:
        blackhole.close()
    # The first commit pays one timeout (and one retry); the rest skip Redis during the back-off.
    assert 1 <= attempts <= 2


@pytest.mark.parametrize(
    ("payload", "expected"),
    [(b"17", 17), (b" 17\n", 17), (b"", None), (b"-3", None), (b"x" * 40, None), ("9", 9)],
)
def test_wake_payload_parsing(payload: bytes | str, expected: int | None) -> None:
    assert publisher.parse_wake_payload(payload) == expected
