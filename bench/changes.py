"""Benchmark: the conflict check of a change (``changes.conflicts.find_conflicts``).

Asked every time a change is scheduled or moved, so it must stay fast on a busy calendar: the
target is a p95 under 20 ms for one check with 10,000 scheduled changes on a 40-service graph.

Data (seeded, the same every run): 40 services in 8 layers of 5, each depending on one or two
services of the layer below (so a change low in the graph affects many services above it);
10,000 scheduled or implementing changes spread over a year, 1 to 6 hours long, each on one or
two chosen services plus their dependents (``AffectedService`` rows, as the change actions
derive them), written in bulk; a year-end freeze for every service and weekly maintenance
windows (a year of them) on five services. Then 200 new changes being authorised, planned over
the same year, are checked one by one (after 20 unmeasured checks): p50/p95/p99, the queries
of one check and the overlap query's plan.

Runs on SQLite (the embedded default, a fresh data directory) and again on PostgreSQL when it
answers (a fresh database, dropped afterwards; ``--postgres URL``, ``--no-postgres``).
Results: bench/results/changes.json; figures in docs/performance.md, "Changes". Usage::

    .venv/bin/python bench/changes.py [--quick] [--no-postgres] [--postgres URL]

``--quick`` checks 50 changes instead of 200. About a minute in all.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "changes.json"
sys.path.insert(0, str(BENCH_DIR / "support"))
import scaled_out  # noqa: E402

LAYERS, PER_LAYER = 8, 5
SCHEDULED_CHANGES = 10_000
CHECKED_CHANGES = 200
QUICK_CHECKED_CHANGES = 50
WARM_UP_CHECKS = 20
TARGET_P95_MS = 20.0
SEED = 20261128
YEAR_START = datetime(2031, 1, 1, tzinfo=UTC)


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hashdesk.settings")
    import django

    django.setup()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return round(ordered[index], 2)


def build(rng: random.Random) -> dict[str, Any]:
    """The graph, the windows and the scheduled changes, in bulk."""
    from django.db import transaction

    from hashdesk.accounts import actions as accounts
    from hashdesk.catalog.graph import _walk, dependents_index
    from hashdesk.catalog.models import Service, ServiceDependency
    from hashdesk.changes.choices import AffectedReason, ChangeState, WindowKind
    from hashdesk.changes.models import AffectedService, Change
    from hashdesk.changes.windows import do_create_window

    started = time.perf_counter()
    requester = accounts.do_create_user(
        None, email="bench.planner@example.test", display_name="Bench Planner", roles=["agent"]
    )
    with transaction.atomic():
        services = Service.objects.bulk_create(
            [
                Service(name=f"Service {layer}.{index}", slug=f"s-{layer}-{index}",
                        hashtag=f"s{layer}x{index}", visibility="internal")
                for layer in range(LAYERS)
                for index in range(PER_LAYER)
            ]
        )  # fmt: skip
        ids = [service.pk for service in services]
        edges = []
        for layer in range(1, LAYERS):
            below = ids[(layer - 1) * PER_LAYER : layer * PER_LAYER]
            for service_id in ids[layer * PER_LAYER : (layer + 1) * PER_LAYER]:
                for depends_on in rng.sample(below, rng.choice((1, 2))):
                    edges.append((service_id, depends_on))
        ServiceDependency.objects.bulk_create(
            [ServiceDependency(service_id=s, depends_on_id=d) for s, d in edges]
        )
        dependents = dependents_index(edges)

        def affected_rows(change: Change, chosen: list[int]) -> list[AffectedService]:
            derived = [sid for sid in _walk(chosen, dependents) if sid not in chosen]
            return [
                AffectedService(change=change, service_id=sid, reason=AffectedReason.CHOSEN)
                for sid in chosen
            ] + [
                AffectedService(
                    change=change, service_id=sid, reason=AffectedReason.DERIVED, distance=1
                )
                for sid in derived
            ]

        def planned(count: int, state: str, prefix: str) -> list[Change]:
            changes = []
            chosen_by_index = []
            for index in range(count):
                start = YEAR_START + timedelta(minutes=rng.randrange(0, 365 * 24 * 60, 15))
                changes.append(
                    Change(
                        number=f"{prefix}-{index:06d}",
                        summary=f"Planned work {index}",
                        state=state,
                        requester=requester,
                        planned_start=start,
                        planned_end=start + timedelta(hours=rng.randint(1, 6)),
                    )
                )
                chosen_by_index.append(rng.sample(ids, rng.choice((1, 1, 2))))
            created = Change.objects.bulk_create(changes, batch_size=2_000)
            rows = [
                row
                for change, chosen in zip(created, chosen_by_index, strict=True)
                for row in affected_rows(change, chosen)
            ]
            AffectedService.objects.bulk_create(rows, batch_size=5_000)
            return created

        planned(SCHEDULED_CHANGES, ChangeState.SCHEDULED, "CHG")
        checked = planned(CHECKED_CHANGES, ChangeState.AUTHORISE, "NEW")
        do_create_window(
            None,
            kind=WindowKind.FREEZE,
            name="Year-end freeze",
            starts_at=datetime(2031, 12, 20, tzinfo=UTC),
            ends_at=datetime(2032, 1, 3, tzinfo=UTC),
        )
        for week in range(53):
            night = YEAR_START + timedelta(weeks=week, hours=1)
            do_create_window(
                None,
                kind=WindowKind.MAINTENANCE,
                name=f"Sunday night {week}",
                starts_at=night,
                ends_at=night + timedelta(hours=5),
                services=[services[index] for index in (0, 7, 14, 21, 28)],
            )
    return {
        "services": len(ids),
        "dependencies": len(edges),
        "scheduled_changes": SCHEDULED_CHANGES,
        "affected_rows": AffectedService.objects.count(),
        "windows": 54,
        "build_seconds": round(time.perf_counter() - started, 1),
        "checked_ids": [change.pk for change in checked],
    }


def measure(checks: int) -> dict[str, Any]:
    """Build the data in the configured database, then time ``checks`` conflict checks."""
    _django()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from hashdesk.changes.conflicts import find_conflicts
    from hashdesk.changes.models import Change

    call_command("migrate", interactive=False, verbosity=0)
    rng = random.Random(SEED)
    built = build(rng)
    with connection.cursor() as cursor:
        # Fresh statistics, as a live database has: the planner chooses by them.
        cursor.execute("ANALYZE")
    changes = list(Change.objects.filter(pk__in=built.pop("checked_ids")).order_by("pk"))
    for change in changes[:WARM_UP_CHECKS]:
        find_conflicts(change)
    times: list[float] = []
    found: list[int] = []
    for change in changes[:checks]:
        started = time.perf_counter()
        conflicts = find_conflicts(change)
        times.append((time.perf_counter() - started) * 1000)
        found.append(len(conflicts))
    with CaptureQueriesContext(connection) as context:
        find_conflicts(changes[0])
    queries = [query["sql"] for query in context.captured_queries]
    overlap_sql = next(sql for sql in queries if "changes_change" in sql and "state" in sql)
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(explain + overlap_sql)
        plan = [str(row[-1]) for row in cursor.fetchall()]
    return {
        "database": connection.vendor,
        **built,
        "checks": len(times),
        "p50_ms": _percentile(times, 0.50),
        "p95_ms": _percentile(times, 0.95),
        "p99_ms": _percentile(times, 0.99),
        "max_ms": round(max(times), 2),
        "target_p95_ms": TARGET_P95_MS,
        "met": _percentile(times, 0.95) < TARGET_P95_MS,
        "conflicts_per_check_mean": round(sum(found) / len(found), 2),
        "queries_per_check": len(queries),
        "overlap_query_plan": plan,
    }


def _child(env: dict[str, str], checks: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", str(checks)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"measurement failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CHECKED_CHANGES} checks")
    parser.add_argument("--postgres", default=scaled_out.DEFAULT_POSTGRES_URL)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure)))
        return 0

    checks = QUICK_CHECKED_CHANGES if args.quick else CHECKED_CHANGES
    started = time.perf_counter()
    load_before = round(os.getloadavg()[0], 2)
    base_env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"HASHDESK_DATABASE_URL", "HASHDESK_REDIS_URL", "HASHDESK_SQLITE_PATH"}
    }
    runs: dict[str, Any] = {}
    data_dir = Path(tempfile.mkdtemp(prefix="hashdesk-changes-bench-"))
    try:
        env = {**base_env, "HASHDESK_DATA_DIR": str(data_dir)}
        print(f"SQLite: {SCHEDULED_CHANGES:,} changes, {checks} checks ...", flush=True)
        runs["sqlite"] = _child(env, checks)
        reason = None if not args.no_postgres else "--no-postgres"
        if reason is None:
            reason = scaled_out.unavailable(args.postgres, scaled_out.DEFAULT_REDIS_URL)
            # Only PostgreSQL is needed here; a missing Redis does not matter.
            if reason is not None and reason.startswith("Redis"):
                reason = None
        if reason is None:
            print(f"PostgreSQL: {SCHEDULED_CHANGES:,} changes, {checks} checks ...", flush=True)
            name = f"hashdesk_bench_changes_{os.getpid()}_{int(time.time())}"
            with scaled_out.fresh_database(args.postgres, name) as url:
                runs["postgresql"] = _child({**env, "HASHDESK_DATABASE_URL": url}, checks)
        else:
            runs["postgresql"] = {"skipped": reason}
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    report = {
        "benchmark": "changes",
        "what": "find_conflicts for one change against 10,000 scheduled changes on a "
        "40-service dependency graph, in-process",
        "quick": args.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1min_before": load_before,
            "load_average_1min_after": round(os.getloadavg()[0], 2),
        },
        "summary": {
            name: (
                {key: run[key] for key in ("p50_ms", "p95_ms", "p99_ms", "met")}
                if "p95_ms" in run
                else run
            )
            for name, run in runs.items()
        },
        "runs": runs,
        "total_seconds": round(time.perf_counter() - started),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["summary"], indent=2))
    print(f"Full results: {RESULTS.relative_to(ROOT)} ({report['total_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
