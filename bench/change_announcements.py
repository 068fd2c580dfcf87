"""Benchmark: a change announced to 5,000 affected people (``changes.announcements``).

Issue 6 asks for the time until every in-app notification exists when a change is announced
to 5,000 affected users. Data (seeded): one service followed on the wall by 5,000 requesters
(bulk rows), and a change on it planned for next week. Measured: the change moving to
Scheduled through ``changes.actions.do_transition`` — which sends the "scheduled" notice in its
transaction: the official post on the service's timeline and one notification per person —
from the call until the transaction has committed and all 5,000 notification rows exist
(counted after the commit), three times on fresh changes (the first, warm-up, not counted).

Runs on SQLite (a fresh data directory) and again on PostgreSQL when it answers (a fresh
database, dropped afterwards). Results: bench/results/change_announcements.json; figures in
docs/performance.md, "Changes". Usage::

    .venv/bin/python bench/change_announcements.py [--no-postgres] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "change_announcements.json"
sys.path.insert(0, str(BENCH_DIR / "support"))
import runs as runs_on  # noqa: E402
import scaled_out  # noqa: E402

PEOPLE = 5_000
ROUNDS = 3


def measure() -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hashdesk.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from hashdesk.accounts import actions as account_actions
    from hashdesk.accounts.models import User
    from hashdesk.catalog import actions as catalog_actions
    from hashdesk.changes import actions
    from hashdesk.notify.models import Notification
    from hashdesk.wall.choices import FollowKind
    from hashdesk.wall.models import Follow

    call_command("migrate", interactive=False, verbosity=0)
    # As on an installation (cli.prepare_installation): the status page's cache lives there.
    call_command("createcachetable", verbosity=0)
    manager = account_actions.do_create_user(
        None,
        email="change.manager@bench.test",
        roles=["change_manager"],
        display_name="Change Manager",
        password="bench-password-1",
    )
    service = catalog_actions.do_create_service(None, name="VPN", hashtag="vpn")
    User.objects.bulk_create(
        User(email=f"person{n}@bench.test", display_name=f"Person {n}", is_active=True)
        for n in range(PEOPLE)
    )
    people = User.objects.filter(email__startswith="person").values_list("pk", flat=True)
    Follow.objects.bulk_create(
        Follow(user_id=pk, kind=FollowKind.SERVICE, target_id=service.pk) for pk in people
    )
    timings: list[float] = []
    for round_ in range(ROUNDS + 1):
        start = timezone.now() + timedelta(days=7, hours=round_ * 5)
        change = actions.do_create_change(
            manager,
            type="normal",
            summary=f"Firmware upgrade {round_}",
            implementation_plan="Upgrade.",
            backout_plan="Downgrade.",
            test_plan="Connect.",
            services=[service],
            planned_start=start,
            planned_end=start + timedelta(hours=2),
        )
        for state in ("assess", "authorise"):
            change = actions.do_transition(manager, change, state, expected_version=change.version)
        before = Notification.objects.filter(kind="change.scheduled").count()
        began = time.perf_counter()
        actions.do_transition(manager, change, "scheduled", expected_version=change.version)
        told = Notification.objects.filter(kind="change.scheduled").count() - before
        elapsed = time.perf_counter() - began
        assert told == PEOPLE, f"{told} of {PEOPLE} told"
        if round_:
            timings.append(elapsed * 1000)
    return {
        "people": PEOPLE,
        "rounds": ROUNDS,
        "ms": [round(value, 1) for value in timings],
        "median_ms": round(sorted(timings)[len(timings) // 2], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=scaled_out.DEFAULT_POSTGRES_URL)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure()))
        return 0
    load_before = round(os.getloadavg()[0], 2)
    print(f"A change announced to {PEOPLE:,} people", flush=True)
    runs = runs_on.on_sqlite_and_postgresql(
        __file__,
        [],
        name="announce",
        postgres_url=args.postgres,
        skip_postgres=args.no_postgres,
        extra_env={"HASHDESK_RATE_LIMITS": "0"},
        timeout=900,
    )
    report = {
        "benchmark": "change_announcements",
        "what": "do_transition to Scheduled of a change on a service 5,000 people follow: from "
        "the call to every notification committed, in-process",
        "machine": runs_on.machine(load_before),
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(runs, indent=2))
    return 1 if any("error" in run for run in runs.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
