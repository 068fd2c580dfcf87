"""A real event server for tests: in a thread of the test process, on free ports.

Tests talk to it with the synchronous ``websockets`` client, as a browser would over the network,
and raise events through ``send_event`` in committed transactions, so the whole path (event row,
on-commit wake-up, the server's read of the log, fan-out) is the product's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.realtime.live import ALLOWED_ORIGIN, NO_POLL_SECONDS, RunningEventServer


@pytest.fixture
def start_event_server(
    transactional_db: Any, settings: Any
) -> Iterator[Callable[..., RunningEventServer]]:
    settings.EVENT_ALLOWED_ORIGINS = [ALLOWED_ORIGIN]
    started: list[RunningEventServer] = []

    def start(*, poll_seconds: float = NO_POLL_SECONDS) -> RunningEventServer:
        running = RunningEventServer(poll_seconds=poll_seconds).start()
        started.append(running)
        assert running.address is not None
        if running.address.notify_port is not None:
            # Web code wakes the server through the port named in settings.
            settings.EVENT_NOTIFY_PORT = running.address.notify_port
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def event_server(start_event_server: Callable[..., RunningEventServer]) -> RunningEventServer:
    return start_event_server()
