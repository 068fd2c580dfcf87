"""Benchmark: the streaming burst detector's throughput (events/s) and state size.

Issue 7: "burst detector throughput (events/s)". The product (insights/bursts/live.py) keeps one
detector per service and hashtag and feeds each of them the report count of every 5-minute
bucket, resuming it from its JSON state in the database. Three measurements, one process, no
database (the detector is pure Python):

- **hot loop**: one detector fed a long stream point by point (``update`` only);
- **resume round trip**: many streams, each resumed from its JSON state, fed a bucket and stored
  again (``json.loads``, ``from_state``, ``update``, ``state()``, ``json.dumps``), what the minute
  job does per stream;
- **state size**: the JSON of a detector that has seen a busy stream for weeks.

The streams are seeded synthetic report counts per bucket (a weekday rhythm, Poisson noise, a few
bursts), so every run sees the same data.

Usage: ``.venv/bin/python bench/insights_bursts.py [--quick]`` (about 40 s; ``--quick`` about 5).
Results: bench/results/insights_bursts.json; figures in docs/insights.md ("Bursts").
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "insights_bursts.json"
sys.path.insert(0, str(ROOT / "src"))

from hashdesk.insights.bursts.detector import THRESHOLD, StreamingDetector  # noqa: E402

BUCKET = timedelta(minutes=5)
START = datetime(2026, 11, 2)


def _poisson(rng: random.Random, rate: float) -> int:
    # Knuth's method: fine for the small rates of report counts.
    limit, k, product = math.exp(-rate), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def synthetic_stream(points: int, seed: int) -> list[tuple[datetime, float]]:
    """Report counts per 5-minute bucket: office-hours rhythm, Poisson noise, rare bursts."""
    rng = random.Random(seed)
    base = rng.choice((0.05, 0.3, 1.0, 3.0))
    stream = []
    burst_left = 0
    for i in range(points):
        moment = START + i * BUCKET
        office = moment.weekday() < 5 and 8 <= moment.hour < 18
        rate = base * (4.0 if office else 0.5)
        if burst_left == 0 and rng.random() < 0.0005:
            burst_left = rng.randint(2, 6)
        if burst_left:
            rate += 10.0
            burst_left -= 1
        stream.append((moment, float(_poisson(rng, rate))))
    return stream


def hot_loop(points: int, repeats: int) -> dict[str, float]:
    stream = synthetic_stream(points, seed=1)
    rates = []
    detections = 0
    for _ in range(repeats):
        detector = StreamingDetector()
        update = detector.update
        started = time.perf_counter()
        scores = [update(t, v) for t, v in stream]
        rates.append(points / (time.perf_counter() - started))
        detections = sum(s >= THRESHOLD for s in scores)
    return {
        "points": points,
        "repeats": repeats,
        "events_per_second_median": round(statistics.median(rates)),
        "events_per_second_best": round(max(rates)),
        "detections": detections,
    }


def resume_round_trip(streams: int, warm_points: int, buckets: int) -> dict[str, float]:
    """Per stream: JSON state in, ``buckets`` updates, JSON state out (the minute job's work)."""
    stored = []
    tails = []
    for n in range(streams):
        stream = synthetic_stream(warm_points + buckets, seed=100 + n)
        detector = StreamingDetector()
        for t, v in stream[:warm_points]:
            detector.update(t, v)
        stored.append(json.dumps(detector.state()))
        tails.append(stream[warm_points:])
    started = time.perf_counter()
    sizes = []
    for text, tail in zip(stored, tails, strict=True):
        detector = StreamingDetector.from_state(json.loads(text))
        for t, v in tail:
            detector.update(t, v)
        out = json.dumps(detector.state())
        sizes.append(len(out))
    seconds = time.perf_counter() - started
    return {
        "streams": streams,
        "buckets_per_stream": buckets,
        "seconds": round(seconds, 3),
        "streams_per_second": round(streams / seconds),
        "events_per_second": round(streams * buckets / seconds),
        "state_bytes_median": int(statistics.median(sizes)),
        "state_bytes_max": max(sizes),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller run (about 5 s)")
    args = parser.parse_args()
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    if args.quick:
        hot = hot_loop(20_000, 2)
        resume = resume_round_trip(200, 2_000, 1)
    else:
        hot = hot_loop(100_000, 3)
        resume = resume_round_trip(1_000, 2_016, 1)
    report = {
        "benchmark": "insights_bursts",
        "what": "streaming burst detector: update() events per second on one stream, and the "
        "minute job's per-stream work (JSON state in, one 5-minute bucket, JSON state out)",
        "quick": args.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1min_before": round(load_before, 2),
            "load_average_1min_after": round(os.getloadavg()[0], 2),
        },
        "summary": {
            "events_per_second": hot["events_per_second_median"],
            "resume_streams_per_second": resume["streams_per_second"],
            "state_bytes_max": resume["state_bytes_max"],
        },
        "hot_loop": hot,
        "resume_round_trip": resume,
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["summary"], indent=2))
    print(f"wrote {RESULTS.relative_to(ROOT)} ({report['total_seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
