"""Benchmark: search queries at 1,000,000 indexed documents (target: p95 under 20 ms, on the
embedded SQLite and on PostgreSQL; docs/search.md, "Speed").

Reuses bench/insights_similar.py: the same fresh database, people, services and bulk loader
(``--items`` rows written straight into ``insights_indexeditem``, the FTS5 triggers / GIN index
maintained as in production, plausible IT texts over a 5,000-word Zipf vocabulary). Then:

1. The vocabulary is read once (as the first typo query of a process would), timed.
2. ``--queries`` short queries shaped like what people type in a search box (a subject, a
   subject and a fault, a rare word, sometimes a type or service filter), each through
   ``hashdesk.search.query.search`` end to end as a requester: groups with synonyms,
   candidates, visibility re-read, counts per type, highlights. Most generated rows have no
   record behind them, so the visibility re-read finds nothing for them: every multi-word
   query then also runs its "any word" fallback, the slow path (worst case).
3. The same number of typo queries (one word of the query misspelt by one edit).

Results: bench/results/search.json (``--output`` to change), one entry per database. Usage::

    .venv/bin/python bench/search.py [--items 1000000] [--queries 200]
    .venv/bin/python bench/search.py --database-url postgres://postgres@127.0.0.1/hd_x
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent / "src"))

import insights_similar as loader  # noqa: E402  (the shared bulk loader)

RESULTS = BENCH_DIR / "results" / "search.json"
TYPES = ["article", "post", "incident"]


def _query(generator: Any, rng: random.Random) -> str:
    subject = rng.choice(loader.SUBJECTS)
    shape = rng.random()
    if shape < 0.3:
        return subject
    if shape < 0.6:
        return f"{subject} {rng.choice(loader.FAULTS)}"
    if shape < 0.85:
        return f"{subject} {generator.rare(1)[0]}"
    return generator.rare(1)[0]


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    at = rng.randint(1, len(word) - 2)
    edit = rng.random()
    if edit < 0.4:
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]  # swap neighbours
    if edit < 0.7:
        return word[:at] + word[at + 1 :]  # drop a letter
    return word[:at] + rng.choice("aeiourst") + word[at:]  # an extra letter


def run_queries(viewer: Any, services: list[Any], count: int, seed: int, typos: bool) -> Any:
    from hashdesk.search.query import search

    generator = loader.Generator(seed)
    rng = generator.rng
    timings: list[float] = []
    corrected = 0
    hits = 0
    for _ in range(count):
        query = _query(generator, rng)
        if typos:
            words = query.split()
            longest = max(range(len(words)), key=lambda i: len(words[i]))
            words[longest] = _typo(words[longest], rng)
            query = " ".join(words)
        kinds = [rng.choice(TYPES)] if rng.random() < 0.2 else None
        service = rng.choice(services) if rng.random() < 0.2 else None
        began = time.perf_counter()
        found = search(viewer, query, kinds=kinds, service=service, limit=20)
        timings.append((time.perf_counter() - began) * 1000)
        corrected += found.corrected is not None
        hits += sum(found.counts.values())
    summary = loader._summary(timings)
    if typos:
        summary["corrected_share"] = round(corrected / max(count, 1), 2)
    return summary


def candidate_only(count: int, seed: int) -> dict[str, float]:
    """The index's part alone (candidates + counts, no visibility re-read), for reference."""
    from hashdesk.search import query as search_query

    generator = loader.Generator(seed)
    rng = generator.rng
    timings = []
    for _ in range(count):
        groups, _corrected = search_query.groups_of(_query(generator, rng))
        began = time.perf_counter()
        search_query._candidates(groups, False, list(search_query.PUBLIC_KINDS), None, None, None)
        timings.append((time.perf_counter() - began) * 1000)
    return loader._summary(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--database-url", default=None, help="PostgreSQL (default: SQLite)")
    parser.add_argument("--data-dir", default="/tmp/hd-bench-search")
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument(
        "--reuse", action="store_true", help="query the database a previous run loaded"
    )
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    if not args.database_url and not args.reuse:
        shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    loader.setup_django(args.database_url, data_dir)
    from django.db import connection
    from django.urls import reverse

    from hashdesk.insights.similar import forget_statistics
    from hashdesk.search import vocabulary

    vendor = connection.vendor
    print(f"{vendor}: loading {args.items} items", flush=True)
    if args.reuse:
        from hashdesk.accounts.models import User
        from hashdesk.catalog.models import Service

        requester = User.objects.get(email="bench.requester@example.test")
        services = list(Service.objects.filter(hashtag__startswith="svc"))
        load_s = 0.0
    else:
        _agent, requester, services = loader.people_and_services()
        load_s = loader.load(args.items, services, args.seed)
    reverse("search:results")  # the URL resolver is built once per process, as in a server
    forget_statistics()
    vocabulary.forget()
    print(f"loaded in {load_s:.1f} s; reading the vocabulary", flush=True)
    began = time.perf_counter()
    terms = len(vocabulary.vocabulary().counts)
    vocabulary_s = time.perf_counter() - began
    print(f"{terms} terms in {vocabulary_s:.2f} s; querying", flush=True)
    # Warm the statistics and the page cache as a running server would be.
    run_queries(requester, services, 20, args.seed + 100, typos=False)
    result = {
        "database": vendor,
        "items": args.items,
        "load_seconds": round(load_s, 1),
        "vocabulary": {"terms": terms, "load_seconds": round(vocabulary_s, 2)},
        "search": run_queries(requester, services, args.queries, args.seed, typos=False),
        "typo_search": run_queries(requester, services, args.queries, args.seed + 1, typos=True),
        "index_candidates_only": candidate_only(args.queries, args.seed + 2),
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
    if args.reuse and vendor in existing:
        # The rows were loaded by an earlier run: keep its load time.
        result["load_seconds"] = existing[vendor].get("load_seconds")
        result["reused_database"] = True
    existing[vendor] = result
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(existing, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
