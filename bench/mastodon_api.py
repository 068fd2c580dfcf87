"""Benchmark: the Mastodon client API's timelines, notifications and posting, over HTTP.

1. ``--prepare`` (a child process): a fresh data directory, migrations, two people, the VPN
   service (``#vpn``), ``--posts`` wall posts by the author (every third one tagged ``#vpn``
   and mentioning the reader, so the reader has notifications), the reader following the
   author, and a Mastodon app with a ``read write`` token for the reader (django-oauth-toolkit's
   own token row).
2. granian in WSGI mode (one worker process, as ``hashdesk web`` starts each) serves Hashdesk.
3. This process calls each endpoint ``--requests`` times over one keep-alive connection
   (httpx), after a warm-up, and reports latency p50/p95/p99 and sequential requests per second:
   home, public and tag timelines and notifications at ``limit=40`` (the maximum page, so the
   batched Status building is what is measured), one status, its context, and
   ``POST /api/v1/statuses``.

Rate limits are off (``HASHDESK_RATE_LIMITS=0``). Results: bench/results/mastodon_api.json.
Usage: ``.venv/bin/python bench/mastodon_api.py [--posts 400] [--requests 200]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "mastodon_api.json"


def prepare(posts: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hashdesk.settings")
    import django

    django.setup()
    import secrets
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone
    from oauth2_provider.models import AccessToken, set_token_value

    from hashdesk.accounts import actions as accounts
    from hashdesk.catalog import actions as catalog
    from hashdesk.catalog.choices import Visibility
    from hashdesk.integrations.mastodon import actions as mastodon
    from hashdesk.wall import actions as wall
    from hashdesk.wall.choices import FollowKind

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    author = accounts.do_create_user(
        None, email="author@example.test", display_name="Post Author", roles=["requester"]
    )
    reader = accounts.do_create_user(
        None, email="reader@example.test", display_name="Wall Reader", roles=["requester"]
    )
    team = accounts.do_create_team(None, name="Network")
    catalog.do_create_service(
        None,
        name="VPN",
        hashtag="vpn",
        owner_team=team,
        visibility=Visibility.PUBLIC,
        criticality="high",
    )
    for number in range(posts):
        tagged = number % 3 == 0
        body = (
            f"#vpn tunnel dropped again ({number}) @reader"
            if tagged
            else f"Printer on floor {number % 7} jams"
        )
        wall.do_post(author, body=body)
    wall.do_follow(reader, FollowKind.PERSON, author)
    app = mastodon.do_register_app(
        client_name="Bench",
        redirect_uris="urn:ietf:wg:oauth:2.0:oob",
        scopes="read write",
        ip="::1",
    )
    raw = secrets.token_urlsafe(32)
    token = AccessToken(
        user=reader,
        application=app.application,
        expires=timezone.now() + timedelta(days=1),
        scope="read write",
    )
    set_token_value(token, raw)
    token.save()
    first = wall.do_post(author, body="#vpn thread start")
    for number in range(10):
        wall.do_post(reader, body=f"reply {number}", reply_to=first)
    print(json.dumps({"token": raw, "thread": first.pk}))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_serving(port: int, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the web server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the web server did not start")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def _measure(call: Any, count: int, warmup: int = 10) -> dict[str, Any]:
    for _ in range(warmup):
        call()
    times: list[float] = []
    started = time.perf_counter()
    for _ in range(count):
        begin = time.perf_counter()
        call()
        times.append((time.perf_counter() - begin) * 1000)
    elapsed = time.perf_counter() - started
    return {
        "requests": count,
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(_percentile(times, 0.95), 2),
        "p99_ms": round(_percentile(times, 0.99), 2),
        "sequential_requests_per_second": round(count / elapsed, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--posts", type=int, default=400, help="wall posts to read from")
    parser.add_argument("--requests", type=int, default=200, help="measured requests per target")
    args = parser.parse_args()
    if args.prepare:
        prepare(args.posts)
        return 0

    import httpx

    data_dir = Path(tempfile.mkdtemp(prefix="hashdesk-bench-mastodon-"))
    src = BENCH_DIR.parent / "src"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hashdesk.settings",
        "HASHDESK_DATA_DIR": str(data_dir),
        "HASHDESK_DATABASE_URL": "",
        "HASHDESK_REDIS_URL": "",
        "HASHDESK_RATE_LIMITS": "0",
        "HASHDESK_TASKS_IMMEDIATE": "1",
        "HASHDESK_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(data_dir / "metrics"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")])),
    }
    (data_dir / "metrics").mkdir()
    server: subprocess.Popen[bytes] | None = None
    try:
        print(f"Preparing {args.posts} posts ...", flush=True)
        done = subprocess.run(
            [sys.executable, __file__, "--prepare", "--posts", str(args.posts)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        prepared = json.loads(done.stdout.strip().splitlines()[-1])
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "granian",
                "--interface",
                "wsgi",
                "--workers",
                "1",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-ws",
                "--log-level",
                "warning",
                "hashdesk.wsgi:application",
            ],
            env=env,
        )
        _wait_until_serving(port, server)
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}/mastodon",
            headers={"Authorization": f"Bearer {prepared['token']}"},
            timeout=30,
        )

        def get(path: str) -> Any:
            def call() -> None:
                answer = client.get(path)
                if answer.status_code != 200:
                    raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:200]}")

            return call

        counter = iter(range(10**9))

        def post() -> None:
            answer = client.post("/api/v1/statuses", data={"status": f"#vpn bench {next(counter)}"})
            if answer.status_code != 200:
                raise RuntimeError(f"post: {answer.status_code} {answer.text[:200]}")

        thread = prepared["thread"]
        targets = {
            "timeline_home_40": get("/api/v1/timelines/home?limit=40"),
            "timeline_public_40": get("/api/v1/timelines/public?limit=40"),
            "timeline_tag_40": get("/api/v1/timelines/tag/vpn?limit=40"),
            "timeline_public_40_page_2": get("/api/v1/timelines/public?limit=40&max_id=200"),
            "notifications_40": get("/api/v1/notifications?limit=40"),
            "status": get(f"/api/v1/statuses/{thread}"),
            "status_context_10_replies": get(f"/api/v1/statuses/{thread}/context"),
            "post_status": post,
        }
        results = {}
        for name, call in targets.items():
            print(f"Measuring {name} ...", flush=True)
            results[name] = _measure(call, args.requests)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)

    report = {
        "benchmark": "mastodon_api",
        "what": "Mastodon client API over HTTP with a read write bearer token; pages of 40 "
        "statuses built in a fixed number of queries",
        "server": "granian WSGI, 1 worker process, SQLite",
        "client": "httpx, one keep-alive connection, sequential requests",
        "posts": args.posts,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1min": round(os.getloadavg()[0], 2),
        },
        "results": results,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
