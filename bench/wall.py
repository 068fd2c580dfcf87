"""Benchmark: the wall — post ingestion through the API, and post-to-screen latency.

1. **Ingestion**: ``POST /api/v1/wall/posts`` (one post per request, 16 connections) and
   ``POST /api/v1/wall/posts/batch`` (100 posts per request, 2 connections), the whole pipeline
   (parse, redact, store, index hashtags, fan-out events), served by granian in WSGI mode with 2
   workers on the embedded default (SQLite), rate limits off; driven by bench/support/loadgen.py
   in its own process. Counted in posts per second. Bodies are realistic service-desk posts
   ("#vpn drops every 5 minutes since 9am", half of a batch with a second hashtag) and carry no
   mentions, so no notification work is measured.
2. **Post-to-screen, one process**: 1,000 WebSocket clients (bench/ws_fanout.py's load client,
   signed in with a requester's API token, so on the ``members`` stream where public wall posts
   go) connected to ``python -m hashdesk.realtime`` (embedded mode: SQLite, UDP wake-ups); this
   driver posts through the API every ~100 ms; latency = the time a client receives the
   ``wall_post`` ``create`` event minus the time the post request was sent (same machine clock),
   over every (client, post) pair.
3. **Post-to-screen, two processes sharing Redis** (bench/support/scaled_out.py): two
   ``hashdesk run --no-demo`` process trees (what ``make run`` starts: web, event server, worker)
   on ports of their own, on one fresh PostgreSQL database and one Redis database (pub/sub wakes
   both event servers); 500 clients on each event server, every post through node A's web
   server, latency measured as in 2. for A's clients, B's clients and all of them. Skipped, with
   the reason, when PostgreSQL or Redis does not answer (or with ``--no-two-processes``).

Usage: ``.venv/bin/python bench/wall.py [--quick] [--no-two-processes] [--postgres URL]
[--redis URL]`` (45-60 seconds, about 20 of them for part 3; ``--quick`` about 35).
Results: bench/results/wall.json; figures in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "wall.json"
sys.path.insert(0, str(BENCH_DIR / "support"))
sys.path.insert(0, str(BENCH_DIR))
import loadgen  # noqa: E402
import scaled_out  # noqa: E402

import ws_fanout  # noqa: E402

WORKERS = 2
BATCH_SIZE = 100
TARGET_POSTS_PER_SECOND = 1000
TARGET_P99_MS = 100.0
WARM_UP_POSTS = 2
POST_INTERVAL_SECONDS = 0.1
# Redis keys and the pub/sub channel of the two-process installation (its Redis database is
# flushed before and after anyway).
REDIS_PREFIX = "hashdesk-bench-wall"
BODIES = (
    "#vpn drops every 5 minutes since 9am",
    "#vpn drops every 5 minutes since 9am, and #wifi on floor 3 is slow too",
)


# --- Load role: authenticated clients that time each wall_post create ----------------------


def _authenticated_client(token: str) -> type:
    class AuthenticatedClient(ws_fanout.LoadClient):
        """ws_fanout's client, with the API token in the handshake (a signed-in member)."""

        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            request = self.protocol.connect()
            request.headers["Authorization"] = f"Bearer {token}"
            self.protocol.send_request(request)
            self._flush()

    return AuthenticatedClient


async def run_load(url: str, token: str, clients: int, posts: int, out: Path) -> None:
    ws_fanout.raise_file_limit()
    loop = asyncio.get_running_loop()
    port = int(url.split(":")[2].split("/")[0])
    client_class = _authenticated_client(token)
    received: list[tuple[float, bytes]] = []
    connections: list[Any] = []

    async def open_one() -> Any:
        for attempt in range(5):
            try:
                _, client = await loop.create_connection(
                    lambda: client_class(url, received.append), "127.0.0.1", port
                )
                await client.welcomed
                return client
            except OSError:
                await asyncio.sleep(0.2 * (attempt + 1))
        raise RuntimeError("could not connect")

    for start in range(0, clients, 100):  # the server's listen backlog is 100
        connections += await asyncio.gather(*(open_one() for _ in range(min(100, clients - start))))
    print("ready", flush=True)
    arrivals: dict[str, list[float]] = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        while received:
            arrived, frame = received.pop()
            message = json.loads(frame)
            event = message.get("event", message)
            if event.get("type") == "wall_post" and event.get("op") == "create":
                arrivals.setdefault(str(event["post"]["id"]), []).append(arrived)
        if sum(len(times) for times in arrivals.values()) >= clients * posts:
            break
    out.write_text(json.dumps(arrivals))
    for client in connections:
        if client.transport is not None:
            client.transport.close()


# --- The driver -------------------------------------------------------------------------------


def _prepare() -> dict[str, str]:
    """Migrations, a requester who posts (write token), one who listens (read token)."""
    import django

    django.setup()
    from django.core.management import call_command

    from hashdesk.accounts import actions as accounts

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    poster = accounts.do_create_user(
        None, email="bench.poster@example.test", display_name="Bench Poster"
    )
    listener = accounts.do_create_user(
        None, email="bench.listener@example.test", display_name="Bench Listener"
    )
    _token, write = accounts.do_create_api_token(poster, name="bench write", scope="write")
    _token, read = accounts.do_create_api_token(listener, name="bench read", scope="read")
    return {"write_token": write, "read_token": read}


def _in_process(token: str) -> dict[str, Any]:
    """One post and one batch through Django's test client (no HTTP): median time, queries."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers={"Authorization": f"Bearer {token}"})
    out: dict[str, Any] = {}
    for name, path, body, runs in (
        ("single", "/api/v1/wall/posts", {"body": BODIES[0]}, 50),
        ("batch", "/api/v1/wall/posts/batch", _batch_body(), 7),
    ):
        payload = json.dumps(body)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            answer = client.post(path, payload, content_type="application/json")
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 201, answer.content
        with CaptureQueriesContext(connection) as queries:
            client.post(path, payload, content_type="application/json")
        out[name] = {
            "median_ms": round(statistics.median(times), 2),
            "queries": len(queries.captured_queries),
        }
    return out


def _batch_body() -> dict[str, Any]:
    return {"posts": [{"body": BODIES[i % 2]} for i in range(BATCH_SIZE)]}


def _ingestion(port: int, token: str, seconds: float, warmup: float) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    common = {"method": "POST", "headers": headers, "expect": 201}
    common |= {"seconds": seconds, "warmup": warmup}
    print("ingestion: one post per request, 16 connections ...", flush=True)
    single = loadgen.drive_in_child(
        port,
        {
            **common,
            "path": "/api/v1/wall/posts",
            "body": json.dumps({"body": BODIES[0]}),
            "connections": 16,
        },
    )
    single["posts_per_second"] = single["requests_per_second"]
    print(f"ingestion: {BATCH_SIZE} posts per request, 2 connections ...", flush=True)
    batch = loadgen.drive_in_child(
        port,
        {
            **common,
            "path": "/api/v1/wall/posts/batch",
            "body": json.dumps(_batch_body()),
            "connections": 2,
        },
    )
    batch["batch_size"] = BATCH_SIZE
    batch["posts_per_second"] = round(batch["requests_per_second"] * BATCH_SIZE, 1)
    return {"single": single, "batch": batch}


def _post(port: int, token: str, body: str) -> tuple[int, float, float]:
    """The new post's id, when the request was sent, and how long its answer took (ms)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/wall/posts",
        data=json.dumps({"body": body}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    sent = time.time()
    with urllib.request.urlopen(request, timeout=10) as answer:
        post_id = int(json.load(answer)["id"])
    return post_id, sent, (time.time() - sent) * 1000


def _latency(
    port: int, env: dict[str, str], tokens: dict[str, str], clients: int, posts: int
) -> dict[str, Any]:
    """One embedded event server; its clients split over two load processes."""
    url = f"ws://127.0.0.1:{env['HASHDESK_EVENT_SERVER_PORT']}/ws/"
    server = ws_fanout.Child([sys.executable, "-m", "hashdesk.realtime"], env)
    try:
        ws_fanout.wait_http(url.replace("ws://", "http://").replace("/ws/", "/healthz"))
        print(f"post-to-screen: {clients} clients ...", flush=True)
        half = clients // 2
        screens = [("embedded", url, half), ("embedded", url, clients - half)]
        return _post_to_screen(port, env, tokens, screens, posts)
    finally:
        server.stop()


def _post_to_screen(
    post_port: int,
    env: dict[str, str],
    tokens: dict[str, str],
    screens: list[tuple[str, str, int]],
    posts: int,
) -> dict[str, Any]:
    """Post through ``post_port``; time each post's arrival on every client of every screen.

    ``screens``: (side, event server URL, clients), one load process each. With more than one
    side, the figures are also given per side.
    """
    workdir = Path(tempfile.mkdtemp(prefix="wall-bench-load-"))
    loads: list[tuple[ws_fanout.Child, Path, str, int]] = []
    sent: dict[str, float] = {}
    # Per post, in the order sent: tells one slow post (a pause somewhere) from a spread tail.
    per_post: dict[str, list[float]] = {}
    request_ms: list[float] = []
    try:
        for index, (side, url, share) in enumerate(screens):
            out = workdir / f"load-{index}.json"
            argv = [sys.executable, __file__, "--role", "load", "--url", url, "--token"]
            argv += [tokens["read_token"], "--clients", str(share)]
            argv += ["--posts", str(posts + WARM_UP_POSTS), "--out", str(out)]
            loads.append((ws_fanout.Child(argv, env), out, side, share))
        for child, _, _, _ in loads:
            child.wait_line("ready")
        time.sleep(1.0)  # let the connection storm settle
        for seq in range(posts + WARM_UP_POSTS):
            post_id, at, took = _post(post_port, tokens["write_token"], BODIES[seq % 2])
            if seq >= WARM_UP_POSTS:
                sent[str(post_id)] = at
                request_ms.append(round(took, 1))
            time.sleep(POST_INTERVAL_SECONDS)
        for child, _, _, _ in loads:
            child.process.wait(150)
        by_side: dict[str, dict[str, Any]] = {}
        for _, out, side, share in loads:
            tally = by_side.setdefault(
                side, {"clients": 0, "samples": [], "missing": 0, "not_exactly_once": set()}
            )
            tally["clients"] += share
            arrivals = json.loads(out.read_text())
            for key, at in sent.items():
                times = arrivals.get(key, [])
                tally["missing"] += share - len(times)
                # Each post must reach each client exactly once: a repeat would hide a loss.
                if len(times) != share:
                    tally["not_exactly_once"].add(key)
                latencies = [(arrived - at) * 1000 for arrived in times]
                tally["samples"] += latencies
                per_post.setdefault(key, []).extend(latencies)
    finally:
        for child, _, _, _ in loads:
            child.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    merged = {
        "clients": sum(tally["clients"] for tally in by_side.values()),
        "samples": [value for tally in by_side.values() for value in tally["samples"]],
        "missing": sum(tally["missing"] for tally in by_side.values()),
        "not_exactly_once": set().union(*(tally["not_exactly_once"] for tally in by_side.values())),
    }
    result = {
        "clients": merged["clients"],
        "posts": posts,
        "interval_ms": round(POST_INTERVAL_SECONDS * 1000),
        **_figures(merged),
        "target_p99_ms": TARGET_P99_MS,
        "per_post_p50_ms": [
            round(statistics.median(v), 1) if v else None for v in per_post.values()
        ],
        "per_post_max_ms": [round(max(v), 1) if v else None for v in per_post.values()],
        # The post request's own time to answer (the commit is inside it).
        "per_post_request_ms": request_ms,
    }
    if len(by_side) > 1:
        result["sides"] = {
            side: {"clients": tally["clients"], **_figures(tally)}
            for side, tally in by_side.items()
        }
    return result


def _figures(tally: dict[str, Any]) -> dict[str, Any]:
    samples: list[float] = tally["samples"]
    figures: dict[str, Any] = {
        "samples": len(samples),
        "missing": tally["missing"],
        "posts_not_exactly_once": sorted(tally["not_exactly_once"], key=int),
        "p50_ms": None,
        "p95_ms": None,
        "p99_ms": None,
        "max_ms": None,
    }
    if samples:
        figures["p50_ms"] = round(statistics.median(samples), 2)
        figures["p95_ms"] = round(ws_fanout.percentile(samples, 0.95), 2)
        figures["p99_ms"] = round(ws_fanout.percentile(samples, 0.99), 2)
        figures["max_ms"] = round(max(samples), 2)
    return figures


# --- Two processes sharing Redis ---------------------------------------------------------------


def _prepare_in_child(env: dict[str, str]) -> dict[str, str]:
    """``_prepare`` against another database: Django is already set up here for SQLite."""
    done = subprocess.run(
        [sys.executable, __file__, "--role", "prepare"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        timeout=300,
    )
    tokens: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return tokens


def _two_processes(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """Post through node A; 500 clients on A's event server and 500 on B's (one Redis, one DB)."""
    if not args.two_processes:
        return {"skipped": "--no-two-processes"}
    reason = scaled_out.unavailable(args.postgres, args.redis)
    if reason is not None:
        print(f"post-to-screen, two processes: SKIPPED: {reason}", flush=True)
        return {"skipped": reason}
    load_before = round(os.getloadavg()[0], 2)
    started = time.perf_counter()
    data_dir = Path(tempfile.mkdtemp(prefix="wall-bench-nodes-"))
    try:
        with (
            scaled_out.fresh_database(args.postgres, scaled_out.bench_database_name()) as db,
            scaled_out.flushed_redis(args.redis),
        ):
            node_env = scaled_out.shared_environment(
                env, database=db, redis_url=args.redis, prefix=REDIS_PREFIX
            )
            print("post-to-screen, two processes: migrating PostgreSQL ...", flush=True)
            tokens = _prepare_in_child(node_env | {"HASHDESK_DATA_DIR": str(data_dir)})
            subscribed, latency, delivered = _on_two_nodes(args, node_env, tokens, data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "setup": "two `hashdesk run --no-demo` process trees (granian WSGI, 2 workers; event "
        "server; task worker), each with its own ports and data directory, on one fresh "
        "PostgreSQL database and one Redis database (pub/sub wake-ups, cache, task queue); "
        "rate limits off; every post through node A's web server",
        "postgresql": _server_version_postgres(args.postgres),
        "redis": args.redis,
        "redis_event_server_subscribers": subscribed,
        "events_delivered_per_event_server": delivered,
        "load_average_1min_before": load_before,
        "load_average_1min_after": round(os.getloadavg()[0], 2),
        "post_to_screen": latency,
        "seconds": round(time.perf_counter() - started),
    }


def _on_two_nodes(
    args: argparse.Namespace, node_env: dict[str, str], tokens: dict[str, str], data_dir: Path
) -> tuple[int, dict[str, Any], dict[str, int]]:
    """Start nodes A and B, measure, stop them (before their database and Redis go away)."""
    nodes: list[scaled_out.Node] = []
    try:
        for name in ("A", "B"):
            ports = {"web_port": loadgen.free_port(), "events_port": loadgen.free_port()}
            nodes.append(scaled_out.Node(name, node_env, data_dir / name, **ports))
        for node in nodes:
            node.wait_ready()
        # Both event servers must hear the web processes' wake-ups through Redis; otherwise B's
        # clients would be served by its 1 s poll and the figures would measure that.
        subscribed = scaled_out.subscribers(args.redis, f"{REDIS_PREFIX}:events")
        if subscribed != len(nodes):
            raise RuntimeError(f"{subscribed} event servers subscribed to Redis, not 2")
        half = args.clients // 2
        print(f"post-to-screen, two processes: {half} + {args.clients - half} clients ...",
              flush=True)  # fmt: skip
        screens = [("A", nodes[0].events_url, half)]
        screens.append(("B", nodes[1].events_url, args.clients - half))
        latency = _post_to_screen(nodes[0].web_port, node_env, tokens, screens, args.posts)
        delivered = {node.name: int(node.events_health()["events_delivered"]) for node in nodes}
        return subscribed, latency, delivered
    finally:
        for node in nodes:
            node.stop()


def _server_version_postgres(postgres_url: str) -> str:
    import psycopg

    with psycopg.connect(scaled_out.database_url(postgres_url, "postgres")) as connection:
        version = connection.info.server_version  # e.g. 150020 for 15.20
        return f"{version // 10000}.{version % 10000}"


def drive(args: argparse.Namespace) -> None:
    ws_fanout.raise_file_limit()
    data_dir = Path(tempfile.mkdtemp(prefix="wall-bench-"))
    (data_dir / "metrics").mkdir()
    env = ws_fanout.bench_environment(data_dir)
    env |= {
        "HASHDESK_RATE_LIMITS": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(data_dir / "metrics"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")])),
    }
    os.environ.update(env)
    started = time.perf_counter()
    load_before = round(os.getloadavg()[0], 2)
    server = None
    try:
        tokens = _prepare()
        in_process = _in_process(tokens["write_token"])
        port = loadgen.free_port()
        server = loadgen.granian(
            sys.executable, "hashdesk.wsgi:application", port, workers=WORKERS, cwd=str(ROOT),
            env=env,
        )  # fmt: skip
        loadgen.wait_until_serving(port, server)
        ingestion = _ingestion(port, tokens["write_token"], args.seconds, args.warmup)
        latency = _latency(port, env, tokens, args.clients, args.posts)
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        shutil.rmtree(data_dir, ignore_errors=True)
    failure = None
    try:
        two_processes = _two_processes(args, env)
    except Exception as exc:
        # Recorded with the other figures, which stay valid; the exit status says it failed.
        failure = f"{type(exc).__name__}: {exc}"
        two_processes = {"error": failure}
    scaled = two_processes.get("post_to_screen", {})
    report = {
        "benchmark": "wall",
        "what": "wall posts through the API per second; post request sent to wall_post event "
        "received by N WebSocket clients",
        "server": f"granian WSGI, {WORKERS} workers, SQLite (WAL), rate limits off; event server "
        "python -m hashdesk.realtime, embedded mode (UDP wake-ups); the PostgreSQL + Redis "
        "variant with two processes is in two_processes",
        "bodies": list(BODIES),
        "mentions": "none",
        "quick": args.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1min_before": load_before,
            "load_average_1min_after": round(os.getloadavg()[0], 2),
        },
        "summary": {
            "single_posts_per_second": ingestion["single"]["posts_per_second"],
            "batch_posts_per_second": ingestion["batch"]["posts_per_second"],
            "target_posts_per_second": TARGET_POSTS_PER_SECOND,
            "post_to_screen_p50_ms": latency["p50_ms"],
            "post_to_screen_p99_ms": latency["p99_ms"],
            "target_p99_ms": TARGET_P99_MS,
            "two_processes_post_to_screen_p50_ms": scaled.get("p50_ms"),
            "two_processes_post_to_screen_p99_ms": scaled.get("p99_ms"),
            "two_processes_p99_ms_by_side": {
                side: figures["p99_ms"] for side, figures in scaled.get("sides", {}).items()
            },
        },
        "ingestion": ingestion,
        "in_process": in_process,
        "post_to_screen": latency,
        "two_processes": two_processes,
        "total_seconds": round(time.perf_counter() - started),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["summary"], indent=2))
    print(f"wrote {RESULTS.relative_to(ROOT)} ({report['total_seconds']} s)")
    if failure is not None:
        raise SystemExit(f"post-to-screen, two processes: FAILED: {failure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=["drive", "load", "prepare"], default="drive")
    parser.add_argument("--quick", action="store_true", help="3 s per target, 20 posts")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--warmup", type=float, default=1.5)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=50)
    parser.add_argument(
        "--two-processes",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure two processes sharing PostgreSQL and Redis (default: on; skipped "
        "with a message when either does not answer)",
    )
    parser.add_argument(
        "--postgres",
        default=scaled_out.DEFAULT_POSTGRES_URL,
        help="PostgreSQL server for the two-process part; a fresh database is created and "
        "dropped (default: %(default)s)",
    )
    parser.add_argument(
        "--redis",
        default=scaled_out.DEFAULT_REDIS_URL,
        help="Redis database for the two-process part, flushed before and after; not 0 "
        "(default: %(default)s)",
    )
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.role == "load":
        asyncio.run(run_load(args.url, args.token, args.clients, args.posts, Path(args.out)))
        return
    if args.role == "prepare":
        print(json.dumps(_prepare()), flush=True)
        return
    if args.quick:
        args.seconds, args.warmup, args.posts = 3.0, 1.0, 20
    drive(args)


if __name__ == "__main__":
    main()
