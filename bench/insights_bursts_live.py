"""Benchmark: the live burst detector's minute job (``insights.bursts.live.run_minute``), and the
guards on sparse counts measured on synthetic streams.

1. **The minute job over 2,000 streams** (SQLite, a fresh data directory, in-process): 2,000
   free-hashtag streams, each with a detector state that has learned 14 days (the real state's
   size), fed up to the bucket before the current one; one post per stream in the last five
   minutes, and three bursts of six posts from six people. Timed:
   - a *feeding* minute: every stream eats one new bucket (the minute after a bucket's end; one
     minute in five), reports read, states written back in bulk, bursts raised;
   - a *quiet* minute: nothing to feed, only the detection window (four minutes in five);
   - the *first* run of 200 new streams (each fed 14 days of zeros).
   Each timing is the median of ``--repeat`` runs (the first one raises the bursts; later ones
   find them raised).
2. **Guards on synthetic streams** (no database): 120 streams of Poisson counts per five-minute
   bucket with a daily rhythm (rate * (1 + 0.8 sin)), base rates 0.02, 0.2, 1 and 3 reports per
   bucket, 14 days of learning then 14 days scored, with a burst of +6 reports injected at 5
   random buckets per stream (one every ~3 days). Counted per rule: false raises per 1,000
   stream-days (outside injected buckets) and the share of injected bursts raised. Rules: the
   detector alone (score >= THRESHOLD), + at least MIN_REPORTS reports (from as many people),
   + the Poisson surprise (the product's rule, ``live.is_burst``).

Usage: ``.venv/bin/python bench/insights_bursts_live.py [--quick] [--repeat N]`` (about a
minute; ``--quick``: 500 streams and 40 synthetic ones). Results:
bench/results/insights_bursts_live.json; figures in docs/insights.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "insights_bursts_live.json"
SEED = 20261129
STREAMS = 2_000
QUICK_STREAMS = 500
NEW_STREAMS = 200
SYNTHETIC_STREAMS = 120
QUICK_SYNTHETIC_STREAMS = 40
BASE_RATES = (0.02, 0.2, 1.0, 3.0)
INJECTED_PER_STREAM = 5
BURST_SIZE = 6
# Other limits of the Poisson surprise, measured beside the product's (live.MAX_SURPRISE).
SURPRISE_LIMITS = (1e-3, 1e-4, 1e-5)


def _django(data_dir: Path) -> None:
    os.environ["HASHDESK_DATA_DIR"] = str(data_dir)
    for key in ("HASHDESK_DATABASE_URL", "HASHDESK_REDIS_URL", "HASHDESK_SQLITE_PATH"):
        os.environ.pop(key, None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hashdesk.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _learned_state(rng: random.Random, now: datetime) -> dict[str, Any]:
    """A detector after 14 days of a stream with a daily rhythm: a realistic state size."""
    from hashdesk.insights.bursts import live

    detector = live.new_detector()
    moment = live.floor_bucket(now) - live.ACTIVE
    while moment < now:
        rate = 0.3 * (1 + 0.8 * math.sin(2 * math.pi * moment.hour / 24))
        detector.update(moment, float(_poisson(rng, rate)))
        moment += live.BUCKET
    return detector.state()


def _poisson(rng: random.Random, rate: float) -> int:
    limit, k, product = math.exp(-rate), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def minute_job(streams: int, repeat: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from hashdesk.accounts import actions as account_actions
    from hashdesk.accounts.choices import Role
    from hashdesk.insights.bursts import live
    from hashdesk.insights.models import DetectorState, ProbableIncident
    from hashdesk.wall.models import Hashtag, Post

    rng = random.Random(SEED)
    now = timezone.now()
    window_start = now - live.BUCKET
    target = live.floor_bucket(window_start)
    state = _learned_state(rng, now)
    state[live.LAST_REPORT_KEY] = (now - timedelta(hours=1)).isoformat()
    names = [f"topic{n}" for n in range(streams)]
    people = [
        account_actions.do_create_user(
            None, email=f"p{n}@bench.test", display_name=f"P {n}", roles=[Role.REQUESTER]
        )
        for n in range(30)
    ]
    tags = Hashtag.objects.bulk_create(Hashtag(name=name) for name in names)
    posts = []
    # One report per stream in the window: the usual trickle (bursts are the three below).
    for n in range(streams):
        posts.append(
            Post(
                author=people[n % len(people)],
                body=f"#{names[n % streams]} is slow",
                created_at=window_start + timedelta(seconds=rng.uniform(5, 290)),
            )
        )
    for burst in range(3):
        for n in range(BURST_SIZE):
            posts.append(
                Post(
                    author=people[n],
                    body=f"#{names[burst]} down",
                    created_at=now - timedelta(seconds=30 + n),
                )
            )
    posts = Post.objects.bulk_create(posts)
    by_name = {tag.name: tag for tag in tags}
    Post.hashtags.through.objects.bulk_create(
        Post.hashtags.through(post_id=post.pk, hashtag_id=by_name[post.body[1:].split()[0]].pk)
        for post in posts
    )
    DetectorState.objects.bulk_create(
        (
            DetectorState(stream=live.tag_stream(name), state=state, fed_until=target - live.BUCKET)
            for name in names
        ),
        batch_size=500,
    )

    def timed(setup: Any) -> tuple[float, Any, int]:
        setup()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            summary = live.run_minute(now)
            seconds = time.perf_counter() - started
        return seconds, summary, len(queries)

    def rewind() -> None:
        DetectorState.objects.update(fed_until=target - live.BUCKET)

    feeding, quiet = [], []
    first_summary = None
    queries = {}
    for attempt in range(repeat):
        seconds, summary, count = timed(rewind)
        feeding.append(seconds)
        queries["feeding"] = count
        if attempt == 0:
            first_summary = summary
        seconds, summary, count = timed(lambda: None)
        quiet.append(seconds)
        queries["quiet"] = count
    assert first_summary is not None
    # New streams: a first report on 200 tags nobody used before.
    fresh = Hashtag.objects.bulk_create(Hashtag(name=f"new{n}") for n in range(NEW_STREAMS))
    new_posts = Post.objects.bulk_create(
        Post(author=people[0], body=f"#{tag.name}", created_at=now - timedelta(seconds=10))
        for tag in fresh
    )
    Post.hashtags.through.objects.bulk_create(
        Post.hashtags.through(post_id=post.pk, hashtag_id=tag.pk)
        for post, tag in zip(new_posts, fresh, strict=True)
    )
    started = time.perf_counter()
    new_summary = live.run_minute(now)
    new_seconds = time.perf_counter() - started
    return {
        "streams": streams,
        "reports_in_window": streams + 3 * BURST_SIZE,
        "feeding_minute_seconds": round(statistics.median(feeding), 3),
        "feeding_minute_all": [round(s, 3) for s in feeding],
        "quiet_minute_seconds": round(statistics.median(quiet), 3),
        "queries": queries,
        "streams_fed": first_summary.streams_fed,
        "bursts_found": len(first_summary.bursts),
        "probable_incidents_raised": ProbableIncident.objects.count(),
        "new_streams": NEW_STREAMS,
        "new_streams_first_run_seconds": round(new_seconds, 3),
        "new_streams_buckets_fed": new_summary.buckets_fed,
        "state_bytes": len(json.dumps(state)),
    }


def synthetic(streams: int) -> dict[str, Any]:
    from hashdesk.insights.bursts import live
    from hashdesk.insights.bursts.detector import THRESHOLD, StreamingDetector

    rng = random.Random(SEED + 1)
    start = datetime(2031, 3, 3, tzinfo=UTC)
    buckets_per_day = int(timedelta(days=1) / live.BUCKET)
    learn = 14 * buckets_per_day
    scored = 14 * buckets_per_day
    rules = (
        "detector_alone",
        "with_min_reports",
        "product_rule",
        *(f"surprise_at_most_{limit:g}" for limit in SURPRISE_LIMITS),
    )
    per_rate: dict[str, dict[str, dict[str, float]]] = {}
    started = time.perf_counter()
    for base in BASE_RATES:
        false = dict.fromkeys(rules, 0)
        caught = dict.fromkeys(rules, 0)
        injected_total = 0
        for _ in range(streams // len(BASE_RATES)):
            detector = live.new_detector()
            injected = set(rng.sample(range(learn, learn + scored), INJECTED_PER_STREAM))
            injected_total += len(injected)
            for index in range(learn + scored):
                moment = start + index * live.BUCKET
                rate = base * (1 + 0.8 * math.sin(2 * math.pi * (moment.hour + 0.5) / 24))
                count = _poisson(rng, rate)
                if index in injected:
                    count += BURST_SIZE
                if index >= learn:
                    expected = max(detector.expected(moment), 0.0)
                    score = StreamingDetector.from_state(detector.state()).update(moment, count)
                    # Background reports come from different people (the worst case for the
                    # people guard); an injected burst, from six.
                    gated = score >= THRESHOLD and count >= live.MIN_REPORTS
                    surprise = live.poisson_surprise(count, expected)
                    verdicts = {
                        "detector_alone": score >= THRESHOLD,
                        "with_min_reports": gated,
                        "product_rule": live.is_burst(count, count, score, expected),
                        **{
                            f"surprise_at_most_{limit:g}": gated and surprise <= limit
                            for limit in SURPRISE_LIMITS
                        },
                    }
                    for rule, raised in verdicts.items():
                        if raised and index in injected:
                            caught[rule] += 1
                        elif raised:
                            false[rule] += 1
                detector.update(moment, float(count))
        stream_days = (streams // len(BASE_RATES)) * 14
        per_rate[f"rate_{base}"] = {
            rule: {
                "false_raises_per_1000_stream_days": round(1000 * false[rule] / stream_days, 1),
                "bursts_raised_share": round(caught[rule] / injected_total, 3),
            }
            for rule in rules
        }
    return {
        "streams": streams,
        "days_learned": 14,
        "days_scored": 14,
        "burst_size": BURST_SIZE,
        "detector_params": live.PRODUCT_PARAMS,
        "max_surprise": live.MAX_SURPRISE,
        "injected_per_stream": INJECTED_PER_STREAM,
        "by_base_rate_per_bucket": per_rate,
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    load_before = round(os.getloadavg()[0], 2)
    data_dir = Path(tempfile.mkdtemp(prefix="hashdesk-bursts-bench-"))
    try:
        _django(data_dir)
        streams = QUICK_STREAMS if args.quick else STREAMS
        print(f"Minute job over {streams:,} streams ...", flush=True)
        job = minute_job(streams, max(1, args.repeat))
        count = QUICK_SYNTHETIC_STREAMS if args.quick else SYNTHETIC_STREAMS
        print(f"Guards on {count} synthetic streams ...", flush=True)
        guards = synthetic(count)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    report = {
        "benchmark": "insights_bursts_live",
        "what": "the burst detector's minute job (SQLite, in-process) and its guards on "
        "synthetic streams with a daily rhythm",
        "quick": args.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1min_before": load_before,
            "load_average_1min_after": round(os.getloadavg()[0], 2),
        },
        "minute_job": job,
        "guards": guards,
        "total_seconds": round(time.perf_counter() - started),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({"minute_job": job, "guards": guards["by_base_rate_per_bucket"]}, indent=2))
    print(f"Full results: {RESULTS.relative_to(ROOT)} ({report['total_seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
