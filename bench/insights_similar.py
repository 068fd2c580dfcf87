"""Benchmark: similar-items queries at 1,000,000 indexed items (target: p95 under 50 ms on
SQLite; docs/insights.md, "Speed").

1. A fresh database (SQLite in a scratch data directory, or ``--database-url`` for PostgreSQL),
   migrated, with a few services, an agent (the viewer) and a requester.
2. ``--items`` index rows written straight into ``insights_indexeditem`` with ``executemany``
   (the FTS triggers / the GIN index are maintained as they would be in production). The texts
   are plausible IT reports: a subject ("outlook", "vpn", …) with a fault, a context, filler and
   words from a 5,000-word Zipf vocabulary (product names, error codes, hosts), analysed with
   ``insights.text.tokens`` exactly as the index stores them. Kinds are mixed like a real desk
   (mostly incidents, then posts, chats, articles, problems, known errors).
3. 200 queries shaped like someone typing a report, each through ``similar_items`` end to end
   (rare-term pick, full-text candidates, rerank, visibility re-read of every candidate kind),
   as an agent with a service; p50/p95/max. Most generated rows have no record behind them, so
   the visibility re-read finds nothing for them, but its queries run as they would.
4. Index size (SQLite: ``dbstat`` pages of the table, its indexes and the FTS shadow tables;
   PostgreSQL: ``pg_total_relation_size``), per million items.
5. Time for a new item to become findable: an incident created through
   ``incidents.actions.do_create_incident`` and then found by ``similar_items`` (wall clock from
   the start of the create to the end of the query that finds it).

Results: bench/results/insights_similar.json (``--output`` to change). Usage::

    .venv/bin/python bench/insights_similar.py [--items 1000000] [--queries 200]
    .venv/bin/python bench/insights_similar.py --database-url postgres://postgres@127.0.0.1/hd_x
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "insights_similar.json"
sys.path.insert(0, str(ROOT / "src"))

SUBJECTS = [
    "outlook", "vpn", "printer", "laptop", "wifi", "teams", "sap", "excel", "browser", "badge",
    "monitor", "docking station", "phone", "headset", "password", "sharepoint", "onedrive",
    "citrix", "scanner", "calendar", "mailbox", "keyboard", "webcam", "intranet", "crm",
    "hr portal", "expense tool", "timesheet", "file share", "single sign-on",
]  # fmt: skip
FAULTS = [
    "crashes", "crashing", "closes suddenly", "is slow", "takes ages", "disconnects", "drops",
    "loses connection", "shows an error", "fails with error", "does not start", "will not open",
    "freezes", "hangs", "stops responding", "cannot log in", "asks for the password again",
    "certificate expired", "sync fails", "is blank",
]  # fmt: skip
CONTEXTS = [
    "when opening attachments", "after the update", "on the second floor", "in meetings",
    "when printing pdf", "at login", "when syncing", "on battery", "with the new certificate",
    "when sharing screen", "on the guest network", "in the morning", "after sleep",
    "with large files", "when searching", "over the vpn", "from home", "in the warehouse",
]  # fmt: skip
FILLER = [
    "again", "please help", "since monday", "urgent", "for my whole team", "every time",
    "no idea why", "tried restarting", "colleagues too", "it worked last week",
]  # fmt: skip
KIND_SHARE = [
    ("incident", 0.55), ("post", 0.2), ("chat", 0.15), ("article", 0.05), ("problem", 0.03),
    ("known_error", 0.02),
]  # fmt: skip
SERVICES = 40


def _vocabulary(rng: random.Random, size: int = 5_000) -> list[str]:
    """Plausible rare words: product-ish names, hosts, error codes, versions."""
    syllables = ["ex", "on", "tra", "lin", "ko", "net", "ser", "dat", "ver", "mo", "pi", "qua"]
    words: set[str] = set()
    while len(words) < size:
        shape = rng.random()
        if shape < 0.6:
            words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
        elif shape < 0.8:
            words.add(f"0x{rng.randint(0, 0xFFFFF):05x}")
        elif shape < 0.9:
            words.add(f"srv{rng.randint(1, 9999):04d}")
        else:
            words.add(f"{rng.randint(1, 20)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}")
    return sorted(words)


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.vocabulary = _vocabulary(self.rng)
        # Zipf-like weights: a few rare words are common, most are rare.
        self.weights = [1.0 / (rank + 1) for rank in range(len(self.vocabulary))]
        self.cumulative: list[float] = []
        total = 0.0
        for weight in self.weights:
            total += weight
            self.cumulative.append(total)

    def rare(self, k: int) -> list[str]:
        return self.rng.choices(self.vocabulary, cum_weights=self.cumulative, k=k)

    def report(self) -> tuple[str, str]:
        rng = self.rng
        subject = rng.choice(SUBJECTS)
        title = f"{subject} {rng.choice(FAULTS)}"
        body = " ".join(
            [
                title,
                rng.choice(CONTEXTS),
                *self.rare(rng.randint(1, 5)),
                rng.choice(FILLER),
                rng.choice(CONTEXTS) if rng.random() < 0.3 else "",
            ]
        )
        return title, body


def _kind(rng: random.Random) -> str:
    pick = rng.random()
    for kind, share in KIND_SHARE:
        pick -= share
        if pick <= 0:
            return kind
    return "incident"


def setup_django(database_url: str | None, data_dir: Path) -> None:
    if database_url:
        os.environ["HASHDESK_DATABASE_URL"] = database_url
    os.environ["HASHDESK_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hashdesk.settings")
    os.environ.setdefault("HASHDESK_RATE_LIMITS", "0")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def people_and_services() -> tuple[Any, Any, list[Any]]:
    from hashdesk.accounts import actions as account_actions
    from hashdesk.accounts.choices import Role
    from hashdesk.catalog import actions as catalog_actions

    admin = account_actions.do_create_user(
        None,
        email="bench.admin@example.test",
        display_name="Admin",
        password="x" * 20,
        roles=[Role.ADMINISTRATOR],
    )
    agent = account_actions.do_create_user(
        None,
        email="bench.agent@example.test",
        display_name="Agent",
        password="x" * 20,
        roles=[Role.AGENT],
    )
    requester = account_actions.do_create_user(
        None,
        email="bench.requester@example.test",
        display_name="Requester",
        password="x" * 20,
        roles=[Role.REQUESTER],
    )
    services = [
        catalog_actions.do_create_service(
            admin, name=f"Service {n}", hashtag=f"svc{n}", visibility="public"
        )
        for n in range(SERVICES)
    ]
    return agent, requester, services


def load(items: int, services: list[Any], seed: int) -> float:
    """Write ``items`` index rows; returns the seconds it took."""
    from django.db import connection, transaction

    from hashdesk.insights.text import tokens

    generator = Generator(seed)
    rng = generator.rng
    service_ids = [service.pk for service in services]
    start_time = datetime(2026, 1, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    sql = (
        "INSERT INTO insights_indexeditem (kind, object_id, service_id, title, text, is_open, "
        "created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    )
    object_ids: dict[str, int] = {}
    began = time.perf_counter()
    batch: list[tuple[Any, ...]] = []
    with transaction.atomic():
        for n in range(items):
            kind = _kind(rng)
            object_ids[kind] = object_ids.get(kind, 1_000_000) + 1
            title, body = generator.report()
            created = start_time + timedelta(seconds=n * 30)
            batch.append(
                (
                    kind,
                    object_ids[kind],
                    rng.choice(service_ids),
                    title,
                    " ".join(tokens(body)),
                    rng.random() < 0.3,
                    created,
                    now,
                )
            )
            if len(batch) == 10_000:
                with connection.cursor() as cursor:
                    cursor.executemany(sql, batch)
                batch = []
                if n % 100_000 == 99_999:
                    print(f"  {n + 1} items, {time.perf_counter() - began:.0f} s", flush=True)
        if batch:
            with connection.cursor() as cursor:
                cursor.executemany(sql, batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE insights_indexeditem")
    return time.perf_counter() - began


def index_size() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sum(pgsize) FROM dbstat WHERE name LIKE 'insights_indexeditem%' "
                "OR name IN (SELECT name FROM sqlite_master WHERE tbl_name = "
                "'insights_indexeditem' AND type = 'index') GROUP BY name"
            )
        else:
            cursor.execute(
                "SELECT 'insights_indexeditem (with indexes)', "
                "pg_total_relation_size('insights_indexeditem') UNION ALL "
                "SELECT 'insights_indexeditem_search (GIN)', "
                "pg_relation_size('insights_indexeditem_search')"
            )
        parts = {name: int(size) for name, size in cursor.fetchall()}
    if connection.vendor == "sqlite":
        total = sum(parts.values())
        fts = sum(
            size for name, size in parts.items() if name.startswith("insights_indexeditem_fts")
        )
    else:
        total = parts["insights_indexeditem (with indexes)"]
        fts = parts["insights_indexeditem_search (GIN)"]
    return {"parts_bytes": parts, "total_bytes": total, "full_text_bytes": fts}


def queries(agent: Any, services: list[Any], count: int, seed: int) -> dict[str, Any]:
    from hashdesk.insights.similar import similar_items

    generator = Generator(seed + 1)
    rng = generator.rng
    timings: list[float] = []
    known: list[float] = []
    found = 0
    for _ in range(count):
        title, body = generator.report()
        text = body if rng.random() < 0.7 else title
        service = rng.choice(services)
        began = time.perf_counter()
        similar_items(agent, text, service=service, limit=10)
        timings.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        found += len(similar_items(agent, text, service=service, kinds=("known_error",), limit=3))
        known.append((time.perf_counter() - began) * 1000)
    return {"all_kinds": _summary(timings), "known_errors_only": _summary(known)}


def _summary(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    return {
        "queries": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        "max_ms": round(ordered[-1], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


def findable(agent: Any, requester: Any, service: Any) -> dict[str, Any]:
    from hashdesk.incidents import actions as incident_actions
    from hashdesk.insights.similar import similar_items

    text = "Quantum flux capacitor overheats zorblax7 during backup"
    began = time.perf_counter()
    incident = incident_actions.do_create_incident(
        requester, title=text, description="", service=service
    )
    created = time.perf_counter()
    hits = similar_items(agent, text, limit=1)
    done = time.perf_counter()
    return {
        "found": bool(hits) and hits[0].object.pk == incident.pk,
        "create_ms": round((created - began) * 1000, 2),
        "create_to_found_ms": round((done - began) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--database-url", default=None, help="PostgreSQL (default: SQLite)")
    parser.add_argument("--data-dir", default="/tmp/hd-bench-similar")
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    if not args.database_url:
        shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    setup_django(args.database_url, data_dir)
    from django.db import connection

    from hashdesk.insights.similar import forget_statistics

    vendor = connection.vendor
    print(f"{vendor}: loading {args.items} items", flush=True)
    agent, requester, services = people_and_services()
    from django.urls import reverse

    reverse("incidents:queue")  # the URL resolver is built once per process, as in a server
    load_s = load(args.items, services, args.seed)
    forget_statistics()
    print(f"loaded in {load_s:.1f} s; querying", flush=True)
    # Warm the corpus statistics and the page cache as a running server would be.
    queries(agent, services, 10, args.seed + 100)
    figures = queries(agent, services, args.queries, args.seed)
    size = index_size()
    per_million = size["total_bytes"] * 1_000_000 / max(args.items, 1)
    result = {
        "database": vendor,
        "items": args.items,
        "load_seconds": round(load_s, 1),
        "load_items_per_second": round(args.items / load_s) if load_s else None,
        "query": figures,
        "index_bytes": size,
        "index_mib_per_million_items": round(per_million / 2**20, 1),
        "full_text_mib_per_million_items": round(
            size["full_text_bytes"] * 1_000_000 / max(args.items, 1) / 2**20, 1
        ),
        "new_item": findable(agent, requester, services[0]),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    output = Path(args.output)
    existing: dict[str, Any] = {}
    if output.exists():
        try:
            existing = json.loads(output.read_text())
        except ValueError:
            existing = {}
    existing[vendor] = result
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(existing, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
