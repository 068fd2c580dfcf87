"""Benchmark: the recurring-pattern clustering on 100,000 incidents (target: under 60 s on the
2-core machine; docs/insights.md, "Problem candidates").

The input is synthetic and written here, so the run needs no database and no data folder:
100,000 reports over six weeks on 40 services, from 8,000 people. A third belong to recurring
patterns (12 per service), each a short fault description reworded per report (synonyms,
word order, filler, a configuration item now and then); the rest are one-off reports drawn from
a 3,000-word vocabulary with a Zipf distribution, so common words are shared everywhere as
in real tickets. The script times ``insights.clustering.find_clusters`` (analysis, TF-IDF,
sparse neighbours, components, cohesion split, attachment) end to end, plus the evidence and
impact computation of ``insights.candidates`` for every cluster found, and checks how well the
planted patterns were recovered (purity and recall of the clusters against the plan).

Results: bench/results/insights_clustering.json. Usage::

    .venv/bin/python bench/insights_clustering.py [--reports 100000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "insights_clustering.json"
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hashdesk.settings")
os.environ.setdefault("HASHDESK_DATA_DIR", "/tmp/hd-bench-clustering")

SERVICES = 40
PATTERNS_PER_SERVICE = 12
PATTERN_SHARE = 1 / 3
PEOPLE = 8_000
WEEKS = 6

SUBJECTS = [
    "outlook", "vpn", "printer", "laptop", "wifi", "teams", "sap", "excel", "browser", "badge",
    "monitor", "docking", "phone", "headset", "password", "sharepoint", "onedrive", "citrix",
    "scanner", "calendar", "mailbox", "keyboard", "webcam", "intranet", "crm", "hr portal",
    "expense tool", "timesheet", "ticket tool", "file share",
]  # fmt: skip
FAULTS = [
    ("crashes", "crashing", "closes suddenly", "quits"),
    ("is slow", "takes ages", "very slow", "crawls"),
    ("disconnects", "drops", "loses connection", "keeps dropping"),
    ("shows an error", "gives error", "error message appears", "fails with an error"),
    ("does not start", "will not open", "cannot launch", "fails to start"),
    ("freezes", "hangs", "stops responding", "is frozen"),
]
CONTEXTS = [
    "when opening attachments", "after the update", "on the second floor", "in meetings",
    "when printing pdf", "at login", "when syncing", "on battery", "with the new certificate",
    "when sharing screen", "on the guest network", "in the morning", "after sleep",
    "with large files", "when searching", "on the docking station", "over the vpn",
]  # fmt: skip
FILLER = [
    "again", "please help", "since monday", "urgent", "for my whole team", "every time",
    "no idea why", "tried restarting", "colleagues too", "it worked last week",
]  # fmt: skip


def _vocabulary(rng: random.Random, size: int = 3_000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(4, 9))))
    return sorted(words)


def make_reports(count: int, seed: int = 7) -> tuple[list[Any], dict[tuple[str, int], int]]:
    """``count`` reports and the planted pattern of each (-1: none)."""
    from hashdesk.insights.clustering import Report

    rng = random.Random(seed)
    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    vocabulary = _vocabulary(rng)
    zipf = [1 / (rank + 1) for rank in range(len(vocabulary))]
    patterns = []
    for service in range(1, SERVICES + 1):
        for _ in range(PATTERNS_PER_SERVICE):
            patterns.append(
                (
                    service,
                    rng.choice(SUBJECTS),
                    rng.randrange(len(FAULTS)),
                    rng.choice(CONTEXTS),
                    rng.choice(vocabulary[200:]),  # a distinctive word (product, code)
                )
            )
    weights = [rng.paretovariate(1.2) for _ in patterns]
    plan: dict[tuple[str, int], int] = {}
    reports = []
    span = timedelta(weeks=WEEKS).total_seconds()
    for index in range(count):
        created = now - timedelta(seconds=rng.random() * span)
        person = rng.randrange(1, PEOPLE + 1)
        if rng.random() < PATTERN_SHARE:
            which = rng.choices(range(len(patterns)), weights=weights)[0]
            service, subject, fault, context, word = patterns[which]
            parts = [subject, rng.choice(FAULTS[fault]), context]
            if rng.random() < 0.6:
                parts.append(word)
            if rng.random() < 0.5:
                parts.append(rng.choice(FILLER))
            rng.shuffle(parts[1:])
            noise = rng.choices(vocabulary, weights=zipf, k=rng.randint(3, 12))
            title = " ".join(parts[:3])
            text = f"{title}\n{title}\n{' '.join(parts + noise)}"
            ci = rng.randrange(1, 4) if rng.random() < 0.3 else None
            plan[("incident", index)] = which
        else:
            service = rng.randrange(1, SERVICES + 1)
            words = rng.choices(vocabulary, weights=zipf, k=rng.randint(6, 25))
            words.insert(0, rng.choice(SUBJECTS))
            text = " ".join(words)
            ci = None
            plan[("incident", index)] = -1
        reports.append(Report("incident", index, service, ci, person, created, text))
    return reports, plan


def quality(clusters: list[Any], plan: dict[tuple[str, int], int]) -> dict[str, float]:
    """Purity (share of clustered reports in their cluster's majority pattern) and recall
    (share of planted reports of patterns with ≥ 5 reports that were clustered)."""
    clustered = 0
    pure = 0
    for cluster in clusters:
        labels = Counter(plan[(r.kind, r.id)] for r in cluster.members)
        label, top = labels.most_common(1)[0]
        clustered += len(cluster.members)
        pure += top if label != -1 else 0
    sizes = Counter(label for label in plan.values() if label != -1)
    planted = sum(n for n in sizes.values() if n >= 5)
    found = sum(
        1
        for cluster in clusters
        for r in cluster.members
        if sizes.get(plan[(r.kind, r.id)], 0) >= 5
    )
    return {
        "purity": round(pure / clustered, 4) if clustered else 0.0,
        "recall": round(found / planted, 4) if planted else 0.0,
        "planted_patterns": sum(1 for n in sizes.values() if n >= 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    import django

    django.setup()
    from hashdesk.insights.candidates import evidence_of, impact_of
    from hashdesk.insights.clustering import find_clusters

    started = time.perf_counter()
    reports, plan = make_reports(args.reports)
    generated = time.perf_counter() - started
    runs = []
    clusters: list[Any] = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        clusters = find_clusters(reports)
        t1 = time.perf_counter()
        now = max(r.created_at for r in reports)
        sites = {p: f"Site {p % 4}" for p in range(PEOPLE + 1)}
        for cluster in clusters:
            evidence = evidence_of(cluster, sites, now, WEEKS)
            impact_of(evidence, len(cluster.members))
        t2 = time.perf_counter()
        runs.append({"cluster_s": round(t1 - t0, 2), "evidence_s": round(t2 - t1, 2)})
    best = min(runs, key=lambda r: r["cluster_s"] + r["evidence_s"])
    total = round(best["cluster_s"] + best["evidence_s"], 2)
    result = {
        "benchmark": "insights_clustering",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "reports": args.reports,
        "services": SERVICES,
        "generate_s": round(generated, 2),
        "runs": runs,
        "total_s": total,
        "target_s": 60,
        "met": total < 60,
        "clusters": len(clusters),
        "largest": max((len(c.members) for c in clusters), default=0),
        "quality": quality(clusters, plan),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
