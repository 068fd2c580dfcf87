"""Helpers for event server tests: a real server in a thread, clients, and probe events.

Tests talk to it with the synchronous ``websockets`` client, as a browser would over the network,
and raise events through ``send_event`` in committed transactions, so the whole path (event row,
on-commit wake-up, the server's read of the log, fan-out) is the product's.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from hashdesk.core.events import BaseEvent, send_event
from hashdesk.core.models import Event
from hashdesk.realtime.server import EventServer, EventServerAddress

ALLOWED_ORIGIN = "https://desk.example.test"
# Long enough that a test passing within its timeout proves the wake-up worked, not the poll.
NO_POLL_SECONDS = 120.0
RECEIVE_TIMEOUT = 5.0


class Probe(BaseEvent):
    """A minimal event for exercising the bus; real events live in each app's events.py."""

    type: ClassVar[str] = "probe"
    n: int


def publish(n: int, *streams: str) -> int:
    """Commit one probe event on ``streams``; returns its id."""
    with transaction.atomic():
        row = send_event(Probe(op="ping", n=n), streams=streams or ("public",))
    return row.pk


class RunningEventServer:
    """An EventServer on its own event loop thread, stopped like ``hashdesk events`` is."""

    def __init__(self, *, poll_seconds: float) -> None:
        self.server = EventServer(poll_seconds=poll_seconds)
        self.address: EventServerAddress | None = None
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._task: asyncio.Task[Any] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="test-event-server", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            self._task = asyncio.current_task()
            await self.server.serve("127.0.0.1", 0, notify_port=0, ready_callback=self._on_ready)

        try:
            self._loop.run_until_complete(main())
        except asyncio.CancelledError:
            pass
        except BaseException as exc:
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    def _on_ready(self, address: EventServerAddress) -> None:
        self.address = address
        self._ready.set()

    def start(self) -> RunningEventServer:
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None or self.address is None:
            raise RuntimeError(f"event server did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(15)
        assert not self._thread.is_alive(), "event server did not stop"

    @property
    def url(self) -> str:
        assert self.address is not None
        return f"ws://127.0.0.1:{self.address.port}/ws/"

    @property
    def http_url(self) -> str:
        assert self.address is not None
        return f"http://127.0.0.1:{self.address.port}"

    def wait_until_caught_up(self, timeout: float = RECEIVE_TIMEOUT) -> None:
        """Wait until the server has delivered every event committed so far, so that a client
        connecting now starts after them (as a page rendered now would)."""
        target = latest_event_id()
        deadline = time.monotonic() + timeout
        while self.call(lambda: self.server.hub.high_water) < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"the event server did not reach event {target}")
            time.sleep(0.01)

    def call(self, func: Callable[[], Any]) -> Any:
        """Run ``func`` on the server's loop (to inspect its state) and return the result."""

        async def run() -> Any:
            return func()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(5)


# --- Client helpers ----------------------------------------------------------------------------


def open_client(
    server: RunningEventServer,
    *,
    cookie: str | None = None,
    token: str | None = None,
    origin: str | None = ALLOWED_ORIGIN,
    settle: bool = True,
) -> ClientConnection:
    """Connect like a browser; with ``settle``, first let the server deliver what is committed."""
    if settle:
        server.wait_until_caught_up()
    headers: dict[str, str] = {}
    if cookie is not None:
        headers["Cookie"] = cookie
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return connect(
        server.url,
        additional_headers=headers,
        origin=Origin(origin) if origin is not None else None,
        compression=None,
    )


def receive(ws: ClientConnection, timeout: float = RECEIVE_TIMEOUT) -> dict[str, Any]:
    frame = ws.recv(timeout=timeout)
    assert isinstance(frame, str), "the server sends text frames only"
    message: dict[str, Any] = json.loads(frame)
    return message


def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    ws.send(json.dumps(message))


def say_hello(
    ws: ClientConnection, *, last_event_id: int | None = None, streams: list[str] | None = None
) -> dict[str, Any]:
    """Send hello and return the welcome (asserting nothing else came first)."""
    send(ws, {"type": "hello", "last_event_id": last_event_id, "streams": streams or []})
    welcome = receive(ws)
    assert welcome["type"] == "welcome", welcome
    return welcome


def next_event(ws: ClientConnection, timeout: float = RECEIVE_TIMEOUT) -> dict[str, Any]:
    message = receive(ws, timeout)
    assert message["type"] == "event", message
    event: dict[str, Any] = message["event"]
    return event


def assert_silent(ws: ClientConnection, seconds: float = 0.3) -> None:
    """Nothing arrives for ``seconds`` (used after a marker proved delivery is working)."""
    with pytest.raises(TimeoutError):
        ws.recv(timeout=seconds)


def session_cookie(user: Any) -> str:
    """A real signed-in session for ``user``, as the browser would send it."""
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}"


def latest_event_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
