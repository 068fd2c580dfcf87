"""Benchmark: Slack-compatible incoming webhooks — the cost of one message, end to end.

Each request goes through the whole Django stack in-process (``django.test.Client``:
middleware, view, payload reading, mrkdwn conversion, the target's action with its redaction,
audit row and event, the hook's rate-limit counter): a Slack message with mrkdwn, a link and a
mention, posted

- **timeline**: to a service's wall timeline (an official post);
- **room**: to a service's chat room (a chat message, with its room lock and unread counters);
- **refused**: with a wrong secret (``403 invalid_token``; nothing written).

p50/p95/p99 over the requests (after 10 unmeasured), and the queries of one request. Rate limits
stay on (a bucket large enough for the run), so their cost is counted. Runs on SQLite (a fresh
data directory) and again on PostgreSQL when it answers (a fresh database, dropped afterwards).
Results: bench/results/slack_hooks.json. Usage::

    .venv/bin/python bench/slack_hooks.py [--quick] [--no-postgres] [--postgres URL]

``--quick`` measures 50 requests per case. Under a minute in all.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "slack_hooks.json"
sys.path.insert(0, str(BENCH_DIR / "support"))
import scaled_out  # noqa: E402

REQUESTS = 300
QUICK_REQUESTS = 50
WARM_UP = 10
TARGET_P95_MS = 50.0
MESSAGE = {
    "text": "*VPN* gateway restarted after the patch, see <https://status.example.org/vpn|the "
    "status page> <!here> `gw-2` is _back_",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*VPN* restarted"}}],
}


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hashdesk.settings")
    import django

    django.setup()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return round(ordered[index], 2)


def _figures(times: list[float]) -> dict[str, Any]:
    return {
        "requests": len(times),
        "p50_ms": _percentile(times, 0.50),
        "p95_ms": _percentile(times, 0.95),
        "p99_ms": _percentile(times, 0.99),
        "per_second_one_client": round(len(times) / (sum(times) / 1000), 1),
    }


def measure(requests: int) -> dict[str, Any]:
    _django()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from hashdesk.accounts import actions as accounts
    from hashdesk.catalog import actions as catalog
    from hashdesk.integrations.slack import actions as hooks

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    admin = accounts.do_create_user(
        None, email="admin@example.org", display_name="Admin", roles=["administrator"]
    )
    service = catalog.do_create_service(None, name="VPN", hashtag="vpn", visibility="public")
    paths = {}
    for target in ("timeline", "room"):
        hook, secret = hooks.do_create_hook(
            admin, name=f"Bench {target}", service=service, target=target
        )
        paths[target] = reverse("slack:receive", args=[hook.public_id, secret])
    paths["refused"] = paths["timeline"][:-4] + "xxxx"
    expected = {"timeline": 200, "room": 200, "refused": 403}
    body = json.dumps(MESSAGE)
    client = Client()
    cases: dict[str, Any] = {}
    for name, path in paths.items():
        times: list[float] = []
        for index in range(requests + WARM_UP):
            started = time.perf_counter()
            response = client.post(path, data=body, content_type="application/json")
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != expected[name]:
                raise SystemExit(f"{name}: {response.status_code} {response.content!r}")
            if index >= WARM_UP:
                times.append(elapsed)
        with CaptureQueriesContext(connection) as queries:
            client.post(path, data=body, content_type="application/json")
        cases[name] = {**_figures(times), "queries": len(queries)}
    worst = max(cases[name]["p95_ms"] for name in ("timeline", "room"))
    return {
        "database": connection.vendor,
        "cases": cases,
        "target_p95_ms": TARGET_P95_MS,
        "met": worst < TARGET_P95_MS,
    }


def _child(env: dict[str, str], requests: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", str(requests)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"measurement failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _summary(run: dict[str, Any]) -> dict[str, Any]:
    if "cases" not in run:
        return run
    return {f"{name}_p95_ms": case["p95_ms"] for name, case in run["cases"].items()} | {
        "met": run["met"]
    }


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
    base_env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"HASHDESK_DATABASE_URL", "HASHDESK_REDIS_URL", "HASHDESK_SQLITE_PATH"}
    }
    # One bucket large enough for the whole run: the counter is written, never refused.
    base_env["HASHDESK_RATE_SLACK_HOOK_PER_MINUTE"] = "1000000"
    base_env["HASHDESK_RATE_CHAT_MESSAGE_PER_MINUTE"] = "1000000"
    base_env["HASHDESK_LOG_LEVEL"] = "ERROR"
    runs: dict[str, Any] = {}
    data_dir = Path(tempfile.mkdtemp(prefix="hashdesk-slack-bench-"))
    try:
        env = {**base_env, "HASHDESK_DATA_DIR": str(data_dir)}
        print(f"SQLite: {requests} requests a case ...", flush=True)
        runs["sqlite"] = _child(env, requests)
        reason = None if not args.no_postgres else "--no-postgres"
        if reason is None:
            reason = scaled_out.unavailable(args.postgres, scaled_out.DEFAULT_REDIS_URL)
            if reason is not None and reason.startswith("Redis"):
                reason = None
        if reason is None:
            print(f"PostgreSQL: {requests} requests a case ...", flush=True)
            name = f"hashdesk_bench_slack_{os.getpid()}_{int(time.time())}"
            with scaled_out.fresh_database(args.postgres, name) as url:
                runs["postgresql"] = _child({**env, "HASHDESK_DATABASE_URL": url}, requests)
        else:
            runs["postgresql"] = {"skipped": reason}
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    report = {
        "benchmark": "slack_hooks",
        "what": "POST of one Slack message to an incoming webhook through the whole Django "
        "stack in-process (test client): to a service timeline, to a service room, and "
        "refused for a wrong secret",
        "quick": args.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1min_before": load_before,
            "load_average_1min_after": round(os.getloadavg()[0], 2),
        },
        "summary": {name: _summary(run) for name, run in runs.items()},
        "runs": runs,
        "total_seconds": round(time.perf_counter() - started),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["summary"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
