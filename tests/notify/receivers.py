"""A real HTTP receiver for outgoing webhooks and other outbound requests, shared by tests.

``webhook_receiver`` starts a threaded stdlib HTTP server on a free loopback port. It records
every request (headers, body, and whether ``Hashdesk-Signature`` verifies with the product's own
``verify_signature``), and can be told to answer with another status, redirect, send a large
body, trickle its answer or hang for some seconds. Outbound requests to loopback are refused by
default, so tests that call it set ``settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]``
(the ``allow_loopback`` fixture).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from hashdesk.notify.webhooks import verify_signature


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    # None when the receiver had no secret to check with.
    signature_valid: bool | None

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Behaviour:
    status: int = 200
    body: bytes = b"ok"
    hang_seconds: float = 0.0
    trickle_seconds: float = 0.0
    location: str = ""


@dataclass
class WebhookReceiver:
    port: int
    secret: str = ""
    requests: list[ReceivedRequest] = field(default_factory=list)
    behaviour: Behaviour = field(default_factory=Behaviour)
    # Answers to give in turn before falling back to ``behaviour`` ("500 twice, then 200").
    queued: list[Behaviour] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # What the next requests get -----------------------------------------------------------
    def answer(self, status: int, body: bytes = b"") -> None:
        self.behaviour = Behaviour(status=status, body=body)

    def answer_in_turn(self, *statuses: int) -> None:
        self.queued.extend(Behaviour(status=status, body=b"") for status in statuses)

    def hang(self, seconds: float) -> None:
        """Accept the request, then say nothing for ``seconds`` (released at shutdown)."""
        self.behaviour = Behaviour(hang_seconds=seconds)

    def trickle(self, seconds: float) -> None:
        """Answer 200 but send the body one byte at a time for about ``seconds``."""
        self.behaviour = Behaviour(trickle_seconds=seconds, body=b"x" * 100)

    def redirect(self, location: str, status: int = 302) -> None:
        self.behaviour = Behaviour(status=status, body=b"", location=location)

    def large_body(self, size: int) -> None:
        self.behaviour = Behaviour(status=200, body=b"a" * size)

    # What arrived -------------------------------------------------------------------------
    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        """Poll (with a deadline) until ``count`` requests arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} requests, got {len(self.requests)}")

    def _next_behaviour(self) -> Behaviour:
        with self.lock:
            return self.queued.pop(0) if self.queued else self.behaviour

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = {key.lower(): value for key, value in handler.headers.items()}
        valid = (
            verify_signature(self.secret, headers.get("hashdesk-signature", ""), body)
            if self.secret
            else None
        )
        with self.lock:
            self.requests.append(
                ReceivedRequest(handler.command, handler.path, headers, body, valid)
            )


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            receiver._record(self, body)
            behaviour = receiver._next_behaviour()
            if behaviour.hang_seconds:
                receiver.released.wait(behaviour.hang_seconds)
                return
            self.send_response(behaviour.status)
            if behaviour.location:
                self.send_header("Location", behaviour.location)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(behaviour.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if behaviour.trickle_seconds:
                pause = behaviour.trickle_seconds / max(len(behaviour.body), 1)
                for byte in behaviour.body:
                    if receiver.released.wait(pause):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            else:
                self.wfile.write(behaviour.body)

        do_POST = _serve
        do_GET = _serve
        do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

        def handle(self) -> None:
            # The client may give up first (a timeout under test).
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                super().handle()

    return Handler


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A real HTTP receiver on a free loopback port; set ``.secret`` to verify signatures."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    receiver = WebhookReceiver(port=int(server.server_address[1]))
    server.RequestHandlerClass = _handler_for(receiver)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="webhook-receiver", daemon=True
    )
    thread.start()
    try:
        yield receiver
    finally:
        receiver.released.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def allow_loopback(settings: Any) -> Callable[[], None]:
    """Outbound requests may reach 127.0.0.0/8 (where the test receivers listen)."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    return lambda: None
