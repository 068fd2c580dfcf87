"""Benchmark: deliveries per second of one outbox worker, per channel.

``outbox.deliver_all_due`` in this one process (what one ``hashdesk worker`` task runs) over
``--count`` due rows of each channel:

- ``email``: mails accepted by a real SMTP server (aiosmtpd, in a thread of this process);
- ``webhook``: signed JSON POSTs through the outbound HTTP client to a threaded stdlib HTTP
  receiver on 127.0.0.1 (``HASHDESK_OUTBOUND_ALLOWED_NETWORKS=127.0.0.0/8``), answering 204;
- ``noop``: a channel registered here whose handler does nothing — the outbox's own cost per
  row (claim, attempt record, status update), the floor under every channel.

Rows are written with ``enqueue_many`` (webhook rows through ``notify.webhooks.notice_webhooks``)
before the clock starts. Runs on SQLite (a fresh data directory) and on PostgreSQL when it
answers (a fresh database, dropped afterwards). Results: bench/results/deliveries.json. Usage::

    .venv/bin/python bench/deliveries.py [--count 2000] [--no-postgres] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "deliveries.json"
sys.path.insert(0, str(BENCH_DIR / "support"))
import runs as runs_on  # noqa: E402
import scaled_out  # noqa: E402

COUNT = 2_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class CountingMailbox:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.accepted += 1
        return "250 Message accepted"


class Receiver(BaseHTTPRequestHandler):
    calls = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with Receiver.lock:
            Receiver.calls += 1
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _rate(count: int, seconds: float) -> dict[str, Any]:
    return {
        "deliveries": count,
        "seconds": round(seconds, 3),
        "per_second": round(count / seconds, 1),
        "ms_each": round(seconds * 1000 / count, 3),
    }


def measure(count: int) -> dict[str, Any]:
    from aiosmtpd.controller import Controller

    mailbox = CountingMailbox()
    smtp_port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    http = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    http.daemon_threads = True
    threading.Thread(target=http.serve_forever, daemon=True).start()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="hashdesk.settings",
        HASHDESK_SMTP_HOST="127.0.0.1",
        HASHDESK_SMTP_PORT=str(smtp_port),
        HASHDESK_TASKS_IMMEDIATE="0",
        HASHDESK_OUTBOUND_ALLOWED_NETWORKS="127.0.0.0/8",
        HASHDESK_LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from hashdesk.accounts import actions as account_actions
    from hashdesk.core.models import OutboxMessage, OutboxStatus
    from hashdesk.core.outbox import Delivery, deliver_all_due, delivery_handler, enqueue_many
    from hashdesk.notify.models import Notification, WebhookEndpoint
    from hashdesk.notify.webhooks import notice_webhooks

    @delivery_handler("bench-noop")
    def deliver_nothing(payload: dict[str, Any], key: str) -> None:
        return None

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    owner = account_actions.do_create_user(
        None,
        email="owner@bench.test",
        roles=["requester"],
        display_name="Webhook Owner",
        password="bench-password-1",
    )

    def run(channel: str, deliveries: list[Delivery], delivered: Any) -> dict[str, Any]:
        with transaction.atomic():
            enqueue_many(deliveries)
        began = time.perf_counter()
        deliver_all_due()
        while delivered() < count:  # the far side counts after it answers
            time.sleep(0.001)
        seconds = time.perf_counter() - began
        unsent = OutboxMessage.objects.filter(channel=channel).exclude(status=OutboxStatus.SENT)
        assert not unsent.exists(), f"{unsent.count()} {channel} deliveries not sent"
        return _rate(count, seconds)

    results: dict[str, Any] = {"database": connection.vendor}
    results["noop"] = run(
        "bench-noop",
        [
            Delivery(channel="bench-noop", payload={"n": n}, key=f"noop-{n}", kind="bench")
            for n in range(count)
        ],
        lambda: OutboxMessage.objects.filter(channel="bench-noop", status="sent").count(),
    )
    results["email"] = run(
        "email",
        [
            Delivery(
                channel="email",
                payload={
                    "to": [f"person{n}@bench.test"],
                    "subject": f"Update {n} on the VPN outage",
                    "text": "Tunnels are coming back region by region.",
                },
                key=f"mail-{n}",
                target=f"person{n}@bench.test",
                kind="bench",
            )
            for n in range(count)
        ],
        lambda: mailbox.accepted,
    )
    endpoint = WebhookEndpoint.objects.create(
        owner=owner,
        name="Bench receiver",
        url=f"http://127.0.0.1:{http.server_address[1]}/hooks",
        secret="bench-webhook-secret",
    )
    notifications = Notification.objects.bulk_create(
        Notification(recipient=owner, kind="incident.official_update", title=f"Update {n}")
        for n in range(count)
    )
    results["webhook"] = run(
        "webhook",
        [d for n in notifications for d in notice_webhooks(n, [endpoint])],
        lambda: Receiver.calls,
    )
    controller.stop()
    http.shutdown()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--postgres", default=scaled_out.DEFAULT_POSTGRES_URL)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.count)))
        return 0
    load_before = round(os.getloadavg()[0], 2)
    runs = runs_on.on_sqlite_and_postgresql(
        __file__,
        ["--count", str(args.count)],
        name="deliveries",
        postgres_url=args.postgres,
        skip_postgres=args.no_postgres,
    )
    report = {
        "benchmark": "deliveries",
        "what": "outbox.deliver_all_due in one process (one worker) over due rows of each "
        "channel: email to a real SMTP server, signed webhooks to a local HTTP receiver, and "
        "a no-op channel (the outbox's own cost per row)",
        "machine": runs_on.machine(load_before),
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(runs, indent=2))
    return 1 if any("error" in run for run in runs.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
