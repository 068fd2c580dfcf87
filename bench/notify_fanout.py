"""Benchmark: a major-incident update told to 10,000 subscribers, in the app and by email.

Issue 9 asks for the time until every in-app notification exists and every email is handed to
the SMTP server when a major-incident update reaches 10,000 subscribers. Data (seeded): a public
service followed on the wall by 10,000 people (bulk rows; every one has an email address and the
default preferences, which send major incidents by email at once), and a major incident on it.
Measured, through the product's path (``incidents.major.do_post_official_update``, whose
transaction writes the notifications and, through ``notify.dispatch``, one outbox row per mail):

- ``action_ms``: the action, from the call until its transaction has committed;
- ``in_app_ms``: from the call until all 10,000 notification rows are counted after the commit;
- ``emails_ms``: from the call until every one of the 10,000 mails has been accepted by a real
  SMTP server (aiosmtpd, in a thread of this process), delivered by ``outbox.deliver_all_due``
  in this one process — one worker, as ``hashdesk worker`` runs it;
- ``emails_per_second``: 10,000 / the delivery part alone (after the commit).

Runs on SQLite (a fresh data directory) and again on PostgreSQL when it answers (a fresh
database, dropped afterwards). Results: bench/results/notify_fanout.json. Usage::

    .venv/bin/python bench/notify_fanout.py [--people 10000] [--no-postgres] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "notify_fanout.json"
sys.path.insert(0, str(BENCH_DIR / "support"))
import runs as runs_on  # noqa: E402
import scaled_out  # noqa: E402

PEOPLE = 10_000
KIND = "incident.official_update"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class CountingMailbox:
    """Counts the mails the SMTP server accepted (without keeping them)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted = 0
        self.recipients = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.accepted += 1
            self.recipients += len(envelope.rcpt_tos)
        return "250 Message accepted"


def measure(people: int) -> dict[str, Any]:
    from aiosmtpd.controller import Controller

    mailbox = CountingMailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="hashdesk.settings",
        HASHDESK_SMTP_HOST="127.0.0.1",
        HASHDESK_SMTP_PORT=str(port),
        HASHDESK_TASKS_IMMEDIATE="0",
        HASHDESK_RATE_LIMITS="0",
        HASHDESK_LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from hashdesk.accounts import actions as account_actions
    from hashdesk.accounts.models import User
    from hashdesk.catalog import actions as catalog_actions
    from hashdesk.core.models import OutboxMessage, OutboxStatus
    from hashdesk.core.outbox import deliver_all_due
    from hashdesk.incidents import actions as incident_actions
    from hashdesk.incidents import major
    from hashdesk.notify.models import Notification
    from hashdesk.wall.choices import FollowKind
    from hashdesk.wall.models import Follow

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    agent = account_actions.do_create_user(
        None,
        email="commander@bench.test",
        roles=["agent"],
        display_name="Incident Commander",
        password="bench-password-1",
    )
    reporter = account_actions.do_create_user(
        None,
        email="reporter@bench.test",
        roles=["requester"],
        display_name="Reporter",
        password="bench-password-1",
    )
    service = catalog_actions.do_create_service(None, name="VPN", hashtag="vpn")
    incident = incident_actions.do_create_incident(
        reporter, title="VPN down for everyone", description="No tunnel comes up.", service=service
    )
    incident = major.do_declare_major(
        agent, incident, reason="Everyone is affected.", commander=agent
    )
    deliver_all_due()  # the declaration's own mails (the reporter's), before measuring
    User.objects.bulk_create(
        (
            User(email=f"person{n}@bench.test", display_name=f"Person {n}", is_active=True)
            for n in range(people)
        ),
        batch_size=2000,
    )
    followers = User.objects.filter(email__startswith="person").values_list("pk", flat=True)
    Follow.objects.bulk_create(
        (Follow(user_id=pk, kind=FollowKind.SERVICE, target_id=service.pk) for pk in followers),
        batch_size=2000,
    )
    incident.refresh_from_db()
    before_mails = mailbox.accepted

    began = time.perf_counter()
    major.do_post_official_update(agent, incident, body="Tunnels are coming back region by region.")
    committed = time.perf_counter()
    told = Notification.objects.filter(kind=KIND, recipient__email__startswith="person").count()
    counted = time.perf_counter()
    queued = OutboxMessage.objects.filter(kind=KIND, channel="email").count()
    report = deliver_all_due()
    while mailbox.accepted - before_mails < queued:  # the server counts after answering
        time.sleep(0.001)
    mailed = time.perf_counter()
    controller.stop()

    unsent = OutboxMessage.objects.filter(kind=KIND).exclude(status=OutboxStatus.SENT).count()
    assert told == people, f"{told} of {people} notified in the app"
    assert queued >= people, f"{queued} mails queued for {people} people"
    assert unsent == 0, f"{unsent} mails not sent"
    delivery_seconds = mailed - counted
    return {
        "database": connection.vendor,
        "people": people,
        "notifications": told,
        "emails": queued,
        "smtp_accepted": mailbox.accepted - before_mails,
        "outbox_attempts": report.attempted,
        "action_ms": round((committed - began) * 1000, 1),
        "in_app_ms": round((counted - began) * 1000, 1),
        "emails_ms": round((mailed - began) * 1000, 1),
        "emails_per_second": round(queued / delivery_seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=PEOPLE)
    parser.add_argument("--postgres", default=scaled_out.DEFAULT_POSTGRES_URL)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.people)))
        return 0
    load_before = round(os.getloadavg()[0], 2)
    runs = runs_on.on_sqlite_and_postgresql(
        __file__,
        ["--people", str(args.people)],
        name="notify_fanout",
        postgres_url=args.postgres,
        skip_postgres=args.no_postgres,
    )
    report = {
        "benchmark": "notify_fanout",
        "what": "do_post_official_update on a major incident of a service 10,000 people follow "
        "(email on for major incidents): the action's commit, every in-app notification, and "
        "every mail accepted by a real SMTP server, delivered by one worker (this process)",
        "machine": runs_on.machine(load_before),
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(runs, indent=2))
    return 1 if any("error" in run for run in runs.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
