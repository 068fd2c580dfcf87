"""Benchmark: inbound mails per second through the SMTP listener, end to end.

A real smtplib client sends ``--count`` mails to ``hashdesk smtpd``'s handler (aiosmtpd in a
thread of this process, its database threads writing through ``integrations.mail.actions``):

- ``new_one_connection``: new mails to ``vpn@…``, one after another on one SMTP connection;
- ``new_4_connections``: the same spread over four client connections at once;
- ``replies_one_connection``: replies (References naming the thread root) to those incidents,
  each a public comment on its timeline.

The listener answers DATA only after the transaction that opened the incident (or added the
comment) committed, so when the last reply code arrives the records exist; the run checks their
count. Senders are 20 requesters (the per-sender rate limit raised out of the way). Runs on
SQLite (a fresh data directory) and on PostgreSQL when it answers (a fresh database, dropped
afterwards). Results: bench/results/inbound_mail.json. Usage::

    .venv/bin/python bench/inbound_mail.py [--count 500] [--no-postgres] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import socket
import statistics
import sys
import threading
import time
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "inbound_mail.json"
sys.path.insert(0, str(BENCH_DIR / "support"))
import runs as runs_on  # noqa: E402
import scaled_out  # noqa: E402

COUNT = 500
SENDERS = 20
CONNECTIONS = 4
DOMAIN = "desk.bench.test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _mail(n: int, *, subject: str, body: str, references: str = "") -> bytes:
    message = EmailMessage()
    message["From"] = f"Requester {n % SENDERS} <requester{n % SENDERS}@bench.test>"
    message["To"] = f"vpn@{DOMAIN}"
    message["Subject"] = subject
    message["Message-ID"] = f"<bench-{subject[:3]}-{n}-{time.time_ns()}@bench.test>"
    if references:
        message["References"] = references
    message.set_content(body)
    return message.as_bytes(policy=SMTP)


def _send_all(port: int, mails: list[tuple[str, bytes]], latencies: list[float]) -> None:
    with smtplib.SMTP("127.0.0.1", port, local_hostname="bench.test", timeout=60) as client:
        for sender, raw in mails:
            began = time.perf_counter()
            client.sendmail(sender, [f"vpn@{DOMAIN}"], raw)
            latencies.append(time.perf_counter() - began)


def _rate(count: int, seconds: float, latencies: list[float]) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "mails": count,
        "seconds": round(seconds, 3),
        "per_second": round(count / seconds, 1),
        "latency_ms_p50": round(statistics.median(ordered) * 1000, 2),
        "latency_ms_p99": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
    }


def measure(count: int) -> dict[str, Any]:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="hashdesk.settings",
        HASHDESK_REPLY_DOMAIN=DOMAIN,
        HASHDESK_RATE_INBOUND_MAIL_PER_HOUR="1000000",
        HASHDESK_TASKS_IMMEDIATE="0",
        HASHDESK_LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from hashdesk.accounts import actions as account_actions
    from hashdesk.catalog import actions as catalog_actions
    from hashdesk.incidents.models import Incident, TimelineEntry
    from hashdesk.integrations.mail.smtpd import InboundMailHandler, controller
    from hashdesk.notify.email import Thread

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    for n in range(SENDERS):
        account_actions.do_create_user(
            None, email=f"requester{n}@bench.test", display_name=f"Requester {n}"
        )
    catalog_actions.do_create_service(None, name="VPN", hashtag="vpn")
    handler = InboundMailHandler()
    port = free_port()
    listener = controller(handler, "127.0.0.1", port)
    listener.start()

    def run(mails: list[tuple[str, bytes]], connections: int) -> dict[str, Any]:
        latencies: list[float] = []
        shares = [mails[i::connections] for i in range(connections)]
        threads = [
            threading.Thread(target=_send_all, args=(port, share, latencies)) for share in shares
        ]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return _rate(len(mails), time.perf_counter() - began, latencies)

    def new_mails(offset: int) -> list[tuple[str, bytes]]:
        return [
            (
                f"requester{n % SENDERS}@bench.test",
                _mail(n, subject=f"VPN drops at site {n}", body=f"Tunnel {n} drops hourly."),
            )
            for n in range(offset, offset + count)
        ]

    results: dict[str, Any] = {"database": connection.vendor}
    results["new_one_connection"] = run(new_mails(0), 1)
    assert Incident.objects.count() == count
    results["new_4_connections"] = run(new_mails(count), CONNECTIONS)
    assert Incident.objects.count() == 2 * count
    numbers = list(Incident.objects.order_by("id").values_list("number", flat=True)[:count])
    replies = [
        (
            f"requester{n % SENDERS}@bench.test",
            _mail(
                n,
                subject=f"Re: [Hashdesk {number}] Update",
                body=f"Still dropping at site {n}.\n\nOn Monday, Hashdesk wrote:\n> Update",
                references=Thread("incident", number).root_id,
            ),
        )
        for n, number in enumerate(numbers)
    ]
    before = TimelineEntry.objects.count()
    results["replies_one_connection"] = run(replies, 1)
    assert TimelineEntry.objects.count() - before == count
    listener.stop()
    handler.close()
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
        name="inbound_mail",
        postgres_url=args.postgres,
        skip_postgres=args.no_postgres,
    )
    report = {
        "benchmark": "inbound_mail",
        "what": "mails through the inbound SMTP listener (aiosmtpd + receive_mail) from a real "
        "smtplib client until the incidents (or timeline comments) are committed: new mails "
        "on one connection and on four, and replies threaded by References",
        "machine": runs_on.machine(load_before),
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(runs, indent=2))
    return 1 if any("error" in run for run in runs.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
