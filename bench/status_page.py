"""Benchmark: the status page (``GET /status/``) at 200 services, warm and cold.

Data (seeded, the same every run): 200 services in 15 categories (60 % public, 30 % internal,
10 % confidential), each depending on one to three services of the categories before it; 30
open incidents (a major one among them) with two public updates each; 5,000 resolved incidents
spread over the last 90 days (the history bars); 10 changes scheduled within the next 30 days
and 60 implemented in the last 90. Everything is written in bulk, so no hook fires while
building.

Each request goes through the whole Django stack in-process (``django.test.Client``: middleware,
session, view, template), as an anonymous visitor and as a service desk agent:

- **warm**: the status generation is unchanged, so the snapshot and the rendered services part
  come from the cache (the embedded database cache here) and only the shell is rendered;
- **cold**: the generation is bumped before each request (what a write does), so every request
  rebuilds the tier's snapshot and renders the services part again.

p50/p95 over 200 requests (after 10 unmeasured); target p95 well under 100 ms warm. Also the
queries of one warm and one cold request and the page's size. Runs on SQLite (a fresh data
directory) and again on PostgreSQL when it answers (a fresh database, dropped afterwards).
Results: bench/results/status_page.json. Usage::

    .venv/bin/python bench/status_page.py [--quick] [--no-postgres] [--postgres URL]

``--quick`` measures 50 requests per case. About a minute in all.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "status_page.json"
sys.path.insert(0, str(BENCH_DIR / "support"))
import runs as runs_on  # noqa: E402
import scaled_out  # noqa: E402

SERVICES = 200
CATEGORIES = 15
OPEN_INCIDENTS = 30
HISTORY_INCIDENTS = 5_000
SCHEDULED_CHANGES = 10
IMPLEMENTED_CHANGES = 60
REQUESTS = 200
QUICK_REQUESTS = 50
WARM_UP = 10
TARGET_WARM_P95_MS = 100.0
SEED = 20261129


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hashdesk.settings")
    import django

    django.setup()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return round(ordered[index], 2)


def build(rng: random.Random) -> dict[str, Any]:
    """The catalogue, its graph, incidents, history and changes, in bulk."""
    from django.db import transaction
    from django.utils import timezone

    from hashdesk.accounts import actions as accounts
    from hashdesk.catalog.models import Service, ServiceCategory, ServiceDependency
    from hashdesk.changes.actions import format_number as change_number
    from hashdesk.changes.choices import AffectedReason, ChangeState
    from hashdesk.changes.models import AffectedService, Change
    from hashdesk.incidents.choices import State, TimelineKind
    from hashdesk.incidents.models import Incident, TimelineEntry, format_number

    started = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        reporter = accounts.do_create_user(
            None, email="reporter@bench.test", display_name="Reporter", password="x" * 16
        )
        agent = accounts.do_create_user(
            None,
            email="agent@bench.test",
            display_name="Agent",
            password="bench-password-1",
            roles=["agent"],
        )
        categories = ServiceCategory.objects.bulk_create(
            ServiceCategory(name=f"Category {index:02d}", slug=f"category-{index:02d}",
                            position=index)
            for index in range(CATEGORIES)
        )  # fmt: skip
        levels = ["public"] * 6 + ["internal"] * 3 + ["confidential"]
        services = Service.objects.bulk_create(
            Service(
                name=f"Service {index:03d}",
                slug=f"service-{index:03d}",
                hashtag=f"svc{index:03d}",
                visibility=levels[index % len(levels)],
                category=categories[index * CATEGORIES // SERVICES],
            )
            for index in range(SERVICES)
        )
        ids = [service.pk for service in services]
        edges = set()
        for position, service_id in enumerate(ids):
            if position < SERVICES // CATEGORIES:
                continue
            for upstream in rng.sample(ids[:position], rng.choice((1, 2, 3))):
                edges.add((service_id, upstream))
        ServiceDependency.objects.bulk_create(
            ServiceDependency(service_id=service_id, depends_on_id=upstream)
            for service_id, upstream in sorted(edges)
        )

        incidents: list[Incident] = []
        for index in range(OPEN_INCIDENTS):
            incidents.append(
                Incident(
                    title=f"Open incident {index}",
                    service_id=rng.choice(ids),
                    reporter=reporter,
                    priority=rng.choice((1, 2, 2, 3, 3, 3, 4)),
                    is_major=index == 0,
                    visibility=rng.choice(("public", "public", "internal")),
                    state=State.IN_PROGRESS,
                    created_at=now - timedelta(minutes=rng.randint(5, 600)),
                )
            )
        for index in range(HISTORY_INCIDENTS):
            opened = now - timedelta(minutes=rng.randint(60, 89 * 24 * 60))
            incidents.append(
                Incident(
                    title=f"Past incident {index}",
                    service_id=rng.choice(ids),
                    reporter=reporter,
                    priority=rng.choice((1, 2, 3, 3, 4, 4, 5, 5)),
                    visibility=rng.choice(("public", "internal", "internal")),
                    state=State.CLOSED,
                    created_at=opened,
                    resolved_at=opened + timedelta(minutes=rng.randint(10, 600)),
                    closed_at=opened + timedelta(days=3),
                )
            )
        Incident.objects.bulk_create(incidents, batch_size=500)
        numbered = list(Incident.objects.all())
        for incident in numbered:
            incident.number = format_number(incident.pk)
        Incident.objects.bulk_update(numbered, ["number"], batch_size=500)
        open_ids = list(
            Incident.objects.filter(state=State.IN_PROGRESS).values_list("pk", flat=True)
        )
        TimelineEntry.objects.bulk_create(
            TimelineEntry(
                incident_id=incident_id,
                kind=TimelineKind.PUBLIC_UPDATE,
                body=f"Update {step} on the incident.",
                body_html=f"<p>Update {step} on the incident.</p>",
                is_public=True,
                created_at=now - timedelta(minutes=5 * (2 - step)),
            )
            for incident_id in open_ids
            for step in range(2)
        )

        changes: list[tuple[Change, list[int]]] = []
        for index in range(SCHEDULED_CHANGES):
            start = now + timedelta(days=rng.randint(1, 29), hours=rng.randint(0, 23))
            changes.append(
                (
                    Change(
                        summary=f"Planned maintenance {index}",
                        state=ChangeState.SCHEDULED,
                        requester=agent,
                        planned_start=start,
                        planned_end=start + timedelta(hours=2),
                    ),
                    rng.sample(ids, 3),
                )
            )
        for index in range(IMPLEMENTED_CHANGES):
            start = now - timedelta(days=rng.randint(1, 89), hours=rng.randint(0, 23))
            changes.append(
                (
                    Change(
                        summary=f"Past maintenance {index}",
                        state=ChangeState.CLOSED,
                        requester=agent,
                        planned_start=start,
                        planned_end=start + timedelta(hours=2),
                        actual_start=start,
                        actual_end=start + timedelta(hours=2),
                    ),
                    rng.sample(ids, 2),
                )
            )
        Change.objects.bulk_create([change for change, _ in changes])
        for change, _ in changes:
            change.number = change_number(change.pk)
        Change.objects.bulk_update([change for change, _ in changes], ["number"])
        AffectedService.objects.bulk_create(
            AffectedService(change=change, service_id=service_id, reason=AffectedReason.CHOSEN)
            for change, chosen in changes
            for service_id in chosen
        )
    return {
        "services": SERVICES,
        "categories": CATEGORIES,
        "dependencies": len(edges),
        "open_incidents": OPEN_INCIDENTS,
        "history_incidents": HISTORY_INCIDENTS,
        "scheduled_changes": SCHEDULED_CHANGES,
        "implemented_changes": IMPLEMENTED_CHANGES,
        "build_seconds": round(time.perf_counter() - started, 1),
        "agent_id": agent.pk,
    }


def _time(client: Any, requests: int, before: Any = None) -> list[float]:
    times = []
    for index in range(WARM_UP + requests):
        if before is not None:
            before()
        started = time.perf_counter()
        response = client.get("/status/")
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.status_code
        if index >= WARM_UP:
            times.append(elapsed)
    return times


def _figures(times: list[float]) -> dict[str, Any]:
    return {
        "requests": len(times),
        "p50_ms": _percentile(times, 0.50),
        "p95_ms": _percentile(times, 0.95),
        "max_ms": round(max(times), 2),
    }


def measure(requests: int) -> dict[str, Any]:
    _django()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from hashdesk.accounts.models import User
    from hashdesk.status import snapshot as snapshots

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    cache.clear()
    built = build(random.Random(SEED))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    agent = User.objects.get(pk=built.pop("agent_id"))
    anonymous = Client()
    staff = Client()
    staff.force_login(agent)
    cases: dict[str, Any] = {}
    for name, client in (("anonymous", anonymous), ("staff", staff)):
        warm = _time(client, requests)
        cold = _time(client, requests, before=snapshots.bump_generation)
        with CaptureQueriesContext(connection) as warm_queries:
            page = client.get("/status/")
        snapshots.bump_generation()
        with CaptureQueriesContext(connection) as cold_queries:
            client.get("/status/")
        cases[name] = {
            "warm": {**_figures(warm), "queries": len(warm_queries)},
            "cold": {**_figures(cold), "queries": len(cold_queries)},
            "page_kib": round(len(page.content) / 1024, 1),
        }
    warm_p95 = max(case["warm"]["p95_ms"] for case in cases.values())
    return {
        "database": connection.vendor,
        **built,
        "cases": cases,
        "target_warm_p95_ms": TARGET_WARM_P95_MS,
        "met": warm_p95 < TARGET_WARM_P95_MS,
    }


def _summary(run: dict[str, Any]) -> dict[str, Any]:
    if "cases" not in run:
        return run
    return {
        f"{tier}_{kind}_p95_ms": run["cases"][tier][kind]["p95_ms"]
        for tier in ("anonymous", "staff")
        for kind in ("warm", "cold")
    } | {"met": run["met"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_REQUESTS} requests a case")
    parser.add_argument("--postgres", default=scaled_out.DEFAULT_POSTGRES_URL)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure)))
        return 0

    requests = QUICK_REQUESTS if args.quick else REQUESTS
    started = time.perf_counter()
    load_before = round(os.getloadavg()[0], 2)
    print(f"{SERVICES} services, {requests} requests a case", flush=True)
    runs = runs_on.on_sqlite_and_postgresql(
        __file__,
        [str(requests)],
        name="status",
        postgres_url=args.postgres,
        skip_postgres=args.no_postgres,
        extra_env={"HASHDESK_RATE_LIMITS": "0"},
    )
    report = {
        "benchmark": "status_page",
        "what": "GET /status/ through the whole Django stack in-process (test client), 200 "
        "services, anonymous and staff, warm cache and cold (generation bumped per request)",
        "quick": args.quick,
        "machine": runs_on.machine(load_before),
        "summary": {name: _summary(run) for name, run in runs.items()},
        "runs": runs,
        "total_seconds": round(time.perf_counter() - started),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["summary"], indent=2))
    print(f"Full results: {RESULTS.relative_to(ROOT)} ({report['total_seconds']} s)")
    return 1 if any("error" in run for run in runs.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
