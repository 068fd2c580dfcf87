"""Benchmark: imports and exports (docs/integrations/transfer.md).

In-process on a fresh SQLite data directory (migrated first):

- **import people**: a CSV of ``--people`` people checked (dry run), then applied, through
  ``importers.import_file`` (one ``accounts.actions.do_create_user`` per row, in savepoints);
- **import incidents**: ``--incidents`` historical incidents (JSON) checked, then applied in
  files of 2,000 rows (the row limit);
- **export incidents**: the whole incident list streamed as CSV and as JSON by an
  administrator through ``GET /integrations/transfer/export/incidents.<fmt>?queue=all``
  (``django.test.Client``: middleware, visibility, filters), with rows/s and the queries.

Rate limits are off. Results: bench/results/transfer.json. Usage::

    .venv/bin/python bench/transfer.py [--people 500] [--incidents 2000]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "transfer.json"


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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--incidents", type=int, default=2000)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="hd-bench-transfer-")
    os.environ["HASHDESK_DATA_DIR"] = data_dir
    os.environ["HASHDESK_RATE_LIMITS"] = "0"
    os.environ.pop("HASHDESK_DATABASE_URL", None)
    try:
        figures = measure(args.people, args.incidents)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    document = {
        "benchmark": "transfer",
        "database": "sqlite",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "results": figures,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    json.dump(document, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
