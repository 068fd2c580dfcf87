"""Benchmark: imports and exports (docs/integrations/transfer.md).

In-process, on a fresh SQLite data directory and then on a fresh PostgreSQL database
(``bench/support/runs.py``; each migrated first, in a child process of its own):

- **import people**: a CSV of ``--people`` people checked (dry run), then applied, through
  ``importers.import_file`` (one ``accounts.actions.do_create_user`` per row, in savepoints);
- **import incidents**: ``--incidents`` historical incidents (JSON) checked, then applied in
  files of 2,000 rows (the row limit): every row read first, then recorded through
  ``intake.do_create_incidents`` 500 rows a batch;
- **export incidents**: the whole incident list streamed as CSV and as JSON by an
  administrator through ``GET /integrations/transfer/export/incidents.<fmt>?queue=all``
  (``django.test.Client``: middleware, visibility, filters), with rows/s and the queries.

Rate limits are off. Results: bench/results/transfer.json. Usage::

    .venv/bin/python bench/transfer.py [--people 500] [--incidents 2000] [--no-postgres]
        [--postgres URL]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "transfer.json"
sys.path.insert(0, str(BENCH_DIR / "support"))
import runs as runs_on  # noqa: E402
import scaled_out  # noqa: E402


def measure(people: int, incidents: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hashdesk.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from hashdesk.accounts import actions as accounts
    from hashdesk.accounts.choices import Role
    from hashdesk.catalog import actions as catalog
    from hashdesk.integrations.transfer.importers import import_file
    from hashdesk.integrations.transfer.parsing import MAX_ROWS

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    admin = accounts.do_create_user(
        None, email="admin@bench.test", display_name="Admin", roles=[Role.ADMINISTRATOR]
    )
    catalog.do_create_service(None, name="VPN", hashtag="vpn")
    results: dict[str, Any] = {}

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "display_name", "department", "roles"])
    for number in range(people):
        writer.writerow([f"p{number}@bench.test", f"Person {number}", "Finance", "requester"])
    data = out.getvalue().encode()
    for mode, dry_run in (("dry_run", True), ("apply", False)):
        started = time.perf_counter()
        report = import_file(admin, "people", data, "csv", dry_run=dry_run)
        elapsed = time.perf_counter() - started
        assert not report.errors, report.errors[:3]
        results[f"import_people_{mode}"] = {
            "rows": people,
            "seconds": round(elapsed, 2),
            "rows_per_second": round(people / elapsed, 1),
        }

    timings = {"dry_run": 0.0, "apply": 0.0}
    for start in range(0, incidents, MAX_ROWS):
        rows = [
            {
                "title": f"VPN drops {number}",
                "description": "Tunnel drops every five minutes.",
                "service": "vpn",
                "reporter": f"p{number % people}@bench.test",
                "state": "closed",
                "priority": 1 + number % 5,
                "created_at": "2024-03-01T09:30:00Z",
                "resolved_at": "2024-03-01T11:00:00Z",
            }
            for number in range(start, min(incidents, start + MAX_ROWS))
        ]
        payload = json.dumps(rows).encode()
        for mode, dry_run in (("dry_run", True), ("apply", False)):
            started = time.perf_counter()
            report = import_file(admin, "incidents", payload, "json", dry_run=dry_run)
            timings[mode] += time.perf_counter() - started
            assert not report.errors, report.errors[:3]
    for mode, seconds in timings.items():
        results[f"import_incidents_{mode}"] = {
            "rows": incidents,
            "seconds": round(seconds, 2),
            "rows_per_second": round(incidents / seconds, 1),
        }

    client = Client()
    client.force_login(admin)
    # One unmeasured request first: URL resolution, middleware and template loading warm up.
    for _chunk in client.get(
        "/integrations/transfer/export/incidents.csv?q=none"
    ).streaming_content:
        pass
    for fmt in ("csv", "json"):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(f"/integrations/transfer/export/incidents.{fmt}?queue=all")
            size = sum(len(chunk) for chunk in response.streaming_content)
            elapsed = time.perf_counter() - started
        results[f"export_incidents_{fmt}"] = {
            "rows": incidents,
            "seconds": round(elapsed, 2),
            "rows_per_second": round(incidents / elapsed, 1),
            "bytes": size,
            "queries": len(queries),
        }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--incidents", type=int, default=2000)
    parser.add_argument("--postgres", default=scaled_out.DEFAULT_POSTGRES_URL)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.people, args.incidents)))
        return 0

    started = time.perf_counter()
    load_before = round(os.getloadavg()[0], 2)
    runs = runs_on.on_sqlite_and_postgresql(
        __file__,
        ["--people", str(args.people), "--incidents", str(args.incidents)],
        name="transfer",
        postgres_url=args.postgres,
        skip_postgres=args.no_postgres,
        extra_env={"HASHDESK_RATE_LIMITS": "0", "HASHDESK_LOG_LEVEL": "ERROR"},
    )
    document = {
        "benchmark": "transfer",
        "what": f"import {args.people} people and {args.incidents} historical incidents "
        "(dry run, then apply), export the incident list as CSV and JSON; in-process",
        "machine": runs_on.machine(load_before),
        "summary": {
            name: (
                {step: figures["rows_per_second"] for step, figures in run.items()}
                if "error" not in run and "skipped" not in run
                else run
            )
            for name, run in runs.items()
        },
        "runs": runs,
        "total_seconds": round(time.perf_counter() - started),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(document["summary"], indent=2))
    return 1 if any("error" in run for run in runs.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
