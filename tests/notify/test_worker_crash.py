"""Exactly once under a killed worker: the real ``hashdesk worker`` is SIGKILLed while it waits
inside a delivery, a new one is started, and every mail (real aiosmtpd server) and every webhook
call (real HTTP receiver) arrives exactly once, with every outbox row sent.

The receiving side stalls on delivery ``STALL_AT`` of ``COUNT`` until the first worker is dead,
then refuses that conversation (SMTP 451, HTTP 503): the far side never accepted it, so the new
worker must send it again, and must not send again anything that was accepted before the crash.
The claim lease is 2 s, so rows the dead worker had claimed are due again 2 s after its claim.
"""

from __future__ import annotations

import asyncio
import email
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.db import transaction
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from hashdesk.core.models import DeliveryAttempt, OutboxMessage, OutboxStatus
from hashdesk.core.outbox import Delivery, enqueue_many, message_id_for
from hashdesk.core.tasks import deliver_outbox
from hashdesk.notify.models import Notification, WebhookEndpoint
from hashdesk.notify.webhooks import notice_webhooks
from tests.realtime.processes import ChildProcess, child_environment
from tests.servers import free_port

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kills child processes"),
]

COUNT = 6
STALL_AT = 3
WAIT_SECONDS = 90.0
LEASE_SECONDS = 2


def _wait_for(condition: Callable[[], bool], what: str, worker: ChildProcess | None = None) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            output = worker.output() if worker is not None else ""
            raise AssertionError(f"{what} did not happen in {WAIT_SECONDS} s\n{output}")
        time.sleep(0.05)


# --- The receiving sides ------------------------------------------------------------------------


@dataclass
class Stall:
    """The ``at``-th arrival waits until ``release`` is set, then is refused."""

    at: int
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrivals: int = 0

    def arrive(self) -> bool:
        """Count an arrival; True for the one that must stall."""
        with self.lock:
            self.arrivals += 1
            return self.arrivals == self.at


@dataclass
class StallingMailbox:
    stall: Stall
    accepted: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.stall.arrive():
            self.stall.reached.set()
            while not self.stall.release.is_set():
                await asyncio.sleep(0.02)
            return "451 4.3.0 Try again later"
        self.accepted.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def stalling_smtp() -> Iterator[tuple[int, StallingMailbox]]:
    mailbox = StallingMailbox(Stall(at=STALL_AT))
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        mailbox.stall.release.set()
        controller.stop()


@dataclass
class StallingReceiver:
    stall: Stall
    accepted: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0


def _receiver_handler(receiver: StallingReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if receiver.stall.arrive():
                receiver.stall.reached.set()
                receiver.stall.release.wait(WAIT_SECONDS)
                self._answer(503)
                return
            receiver.accepted.append({"headers": dict(self.headers.items()), "body": body})
            self._answer(204)

        def _answer(self, status: int) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the worker that asked is gone

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def stalling_receiver() -> Iterator[StallingReceiver]:
    receiver = StallingReceiver(Stall(at=STALL_AT))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _receiver_handler(receiver))
    server.daemon_threads = True
    receiver.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.stall.release.set()
        server.shutdown()
        server.server_close()


# --- The worker ---------------------------------------------------------------------------------


@pytest.fixture
def start_worker(transactional_db: Any) -> Iterator[Callable[..., ChildProcess]]:
    # Tasks of earlier tests on this data directory must not run in these workers.
    HUEY.flush()
    started: list[ChildProcess] = []

    def start(**overrides: str) -> ChildProcess:
        env = child_environment(
            HASHDESK_TASKS_IMMEDIATE="0",
            HASHDESK_WORKER_THREADS="1",
            HASHDESK_OUTBOX_CLAIM_LEASE_SECONDS=str(LEASE_SECONDS),
            HASHDESK_OUTBOX_RETRY_BASE_SECONDS="1",
            HASHDESK_OUTBOX_RETRY_MAX_SECONDS="2",
            **overrides,
        )
        worker = ChildProcess(
            f"worker-{len(started)}",
            [sys.executable, "-m", "hashdesk.cli", "worker", "--threads", "1"],
            env,
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    HUEY.flush()


def _kill(worker: ChildProcess) -> None:
    worker.process.kill()  # SIGKILL: no clean-up, no chance to record anything
    worker.process.wait(30)
    assert worker.process.returncode == -9


def _statuses(ids: list[int]) -> list[str]:
    rows = dict(OutboxMessage.objects.filter(pk__in=ids).values_list("pk", "status"))
    return [rows[pk] for pk in ids]


def _enqueue(deliveries: list[Delivery]) -> list[int]:
    with transaction.atomic():  # commits: the wake-up task goes to the worker's queue
        enqueue_many(deliveries)
    keys = [delivery.key for delivery in deliveries]
    by_key = dict(
        OutboxMessage.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", "pk")
    )
    return [by_key[key] for key in keys]


def _crash_and_recover(
    start_worker: Callable[..., ChildProcess],
    stall: Stall,
    ids: list[int],
    settings_for_worker: dict[str, str],
) -> None:
    """Worker one stalls on delivery STALL_AT and is killed there; worker two finishes."""
    first = start_worker(**settings_for_worker)
    _wait_for(stall.reached.is_set, "the stall", first)
    # Deliveries before the stalled one were accepted and recorded; the stalled one is not
    # recorded at all (the attempt row is written after the far side answers).
    _wait_for(
        lambda: _statuses(ids[: STALL_AT - 1]) == [OutboxStatus.SENT] * (STALL_AT - 1),
        "recording the deliveries before the stall",
        first,
    )
    _kill(first)
    stall.release.set()  # the stalled conversation is refused now that nobody waits for it
    stalled = OutboxMessage.objects.get(pk=ids[STALL_AT - 1])
    assert (stalled.status, stalled.attempts) == (OutboxStatus.PENDING, 0)
    assert not DeliveryAttempt.objects.filter(message=stalled).exists()

    # The dead worker's claims run out after the lease; a new worker takes them over.
    _wait_for(
        lambda: (
            not OutboxMessage.objects.filter(
                status=OutboxStatus.PENDING, next_attempt_at__gt=timezone.now()
            ).exists()
        ),
        "the dead worker's lease running out",
    )
    second = start_worker(**settings_for_worker)
    deliver_outbox()  # the wake-up a new commit would send; the minute sweep would do it too
    _wait_for(
        lambda: _statuses(ids) == [OutboxStatus.SENT] * len(ids), "every delivery sent", second
    )


def test_every_mail_arrives_once_when_the_worker_is_killed_mid_conversation(
    start_worker, stalling_smtp
):
    port, mailbox = stalling_smtp
    ids = _enqueue(
        [
            Delivery(
                channel="email",
                payload={
                    "to": [f"person{n}@example.test"],
                    "subject": f"VPN is down ({n})",
                    "text": "We are on it.",
                },
                key=f"crash-mail-{n}",
                target=f"person{n}@example.test",
                summary=f"VPN is down ({n})",
                kind="incident.major_update",
            )
            for n in range(COUNT)
        ]
    )
    _crash_and_recover(
        start_worker,
        mailbox.stall,
        ids,
        {
            "HASHDESK_SMTP_HOST": "127.0.0.1",
            "HASHDESK_SMTP_PORT": str(port),
            "HASHDESK_SMTP_TIMEOUT": "60",
        },
    )

    message_ids = [
        email.message_from_bytes(envelope.original_content or b"")["Message-ID"]
        for envelope in mailbox.accepted
    ]
    expected = {message_id_for(f"crash-mail-{n}") for n in range(COUNT)}
    assert len(message_ids) == COUNT  # raw arrivals accepted: no mail twice
    assert set(message_ids) == expected  # and none missing
    assert mailbox.stall.arrivals == COUNT + 1  # the one interrupted conversation, refused
    assert sorted(rcpt for e in mailbox.accepted for rcpt in e.rcpt_tos) == sorted(
        f"person{n}@example.test" for n in range(COUNT)
    )
    # The delivery log: one successful attempt per row; the interrupted try left no record.
    for pk in ids:
        tries = list(
            DeliveryAttempt.objects.filter(message_id=pk).values_list("succeeded", flat=True)
        )
        assert tries == [True], pk


def test_every_webhook_call_arrives_once_when_the_worker_is_killed_mid_request(
    start_worker, stalling_receiver, requester
):
    endpoint = WebhookEndpoint.objects.create(
        owner=requester,
        name="Crash receiver",
        url=f"http://127.0.0.1:{stalling_receiver.port}/hooks/hashdesk",
        secret="s3cret-for-the-crash-test",
    )
    notifications = Notification.objects.bulk_create(
        Notification(recipient=requester, kind="incident.major_update", title=f"VPN down {n}")
        for n in range(COUNT)
    )
    deliveries = [
        delivery
        for notification in notifications
        for delivery in notice_webhooks(notification, [endpoint])
    ]
    assert len(deliveries) == COUNT
    ids = _enqueue(deliveries)
    _crash_and_recover(
        start_worker,
        stalling_receiver.stall,
        ids,
        {
            "HASHDESK_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
            "HASHDESK_OUTBOUND_TIMEOUT_SECONDS": "60",
        },
    )

    keys = [
        {name.lower(): value for name, value in call["headers"].items()}.get("hashdesk-delivery")
        for call in stalling_receiver.accepted
    ]
    assert len(keys) == COUNT  # every accepted call once
    assert set(keys) == {delivery.key for delivery in deliveries}
    assert stalling_receiver.stall.arrivals == COUNT + 1
    for call in stalling_receiver.accepted:
        json.loads(call["body"])  # a complete JSON body each time
    endpoint.refresh_from_db()
    assert endpoint.is_active
