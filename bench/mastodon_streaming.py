"""Benchmark: Mastodon streaming API, one post fanned out to 1,000 clients, commit to receipt,
over Server-Sent Events and over the WebSocket form, side by side in one run.

- the **event server** (``python -m hashdesk.realtime``, which serves the streaming API on its
  own port) on SQLite in a fresh data directory, embedded mode (UDP wake-ups, no Redis);
- two **load** processes (``--role load``) per transport, N/2 connections each with a bearer
  token (20 people, since one person may hold 64 streams per process), recording the wall-clock
  time each ``update`` arrives: for SSE raw asyncio sockets on ``GET
  /api/v1/streaming/public``; for WebSocket the ``websockets`` client on ``/api/v1/streaming``,
  subscribed with ``{"type": "subscribe", "stream": "public"}``;
- this **driver**, which makes posts through ``wall.actions.do_post`` (rate limits off) and takes
  the time just before each call, so the write and commit count in the latency.

Latency = receipt time - time before do_post (same machine clock), over every (client, post)
pair, warm-up posts excluded; fan-out time = per post, the last client's receipt. Results:
bench/results/mastodon_streaming.json.

Usage: ``.venv/bin/python bench/mastodon_streaming.py [--clients 1000] [--posts 20]
[--transport sse|websocket|both]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "mastodon_streaming.json"
WARM_UP_POSTS = 2
PEOPLE = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


# --- Load process ----------------------------------------------------------------------------


async def one_client(
    port: int, token: str, expected: int, receipts: dict[str, list[float]], ready: Any
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    writer.write(
        f"GET /api/v1/streaming/public HTTP/1.1\r\nHost: bench\r\n"
        f"Authorization: Bearer {token}\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:80]
    await reader.readuntil(b"\n\n")  # the opening comment
    ready()
    got = 0
    try:
        while got < expected:
            block = await reader.readuntil(b"\n\n")
            now = time.time()
            # Messages are "id: N\nevent: update\ndata: {...}" (the id is the resume point).
            if b"\nevent: update\n" in block:
                # The Status JSON begins with its id ({"id":"123",...}); reading just that keeps
                # the load processes from taking the CPU the server is measured on.
                data = block.split(b"\ndata: ", 1)[1]
                assert data.startswith(b'{"id":"'), data[:40]
                status_id = data[7 : data.index(b'"', 7)].decode()
                receipts.setdefault(status_id, []).append(now)
                got += 1
    finally:
        writer.close()


async def one_websocket_client(
    port: int, token: str, expected: int, receipts: dict[str, list[float]], ready: Any
) -> None:
    from websockets.asyncio.client import connect

    url = f"ws://127.0.0.1:{port}/api/v1/streaming"
    async with connect(
        url,
        additional_headers={"Authorization": f"Bearer {token}"},
        compression=None,
        ping_interval=None,
        max_queue=None,
    ) as websocket:
        await websocket.send('{"type":"subscribe","stream":"public"}')
        # No acknowledgement in Mastodon's protocol: a refused subscription's error, answered in
        # order, tells that the one before it is in force.
        await websocket.send('{"type":"subscribe","stream":"list"}')
        await websocket.recv()
        ready()
        got = 0
        while got < expected:
            text = await websocket.recv()
            now = time.time()
            assert isinstance(text, str)
            if '"event":"update"' in text:
                # The payload is the Status JSON as a string: {\"id\":\"123\",...
                start = text.index('{\\"id\\":\\"') + 10
                receipts.setdefault(text[start : text.index("\\", start)], []).append(now)
                got += 1


async def run_load(args: argparse.Namespace) -> None:
    tokens = json.loads(Path(args.tokens).read_text())
    receipts: dict[str, list[float]] = {}
    connected = 0

    def ready() -> None:
        nonlocal connected
        connected += 1
        if connected == args.count:
            print("ready", flush=True)

    tasks = []
    for n in range(args.count):
        token = tokens[(args.offset + n) % len(tokens)]
        client = one_websocket_client if args.transport == "websocket" else one_client
        tasks.append(asyncio.create_task(client(args.port, token, args.expected, receipts, ready)))
        if n % 100 == 99:
            await asyncio.sleep(0.05)  # don't overrun the listen backlog
    done, pending = await asyncio.wait(tasks, timeout=args.timeout)
    for task in pending:
        task.cancel()
    failures = [repr(task.exception()) for task in done if task.exception()]
    Path(args.out).write_text(json.dumps({"receipts": receipts, "failures": failures[:5]}))


# --- Driver ----------------------------------------------------------------------------------


def wait_line(process: subprocess.Popen[str], text: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if text in line:
            return
        if not line and process.poll() is not None:
            raise RuntimeError(f"load process exited: {process.returncode}")
    raise RuntimeError("load process not ready")


def drive(args: argparse.Namespace) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    data_dir = Path(tempfile.mkdtemp(prefix="mastodon-streaming-"))
    try:
        run_benchmark(args, data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def run_benchmark(args: argparse.Namespace, data_dir: Path) -> None:
    event_port, streaming_port = free_port(), free_port()
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "hashdesk.settings",
            "HASHDESK_DATA_DIR": str(data_dir),
            "HASHDESK_EVENT_SERVER_PORT": str(event_port),
            "HASHDESK_EVENT_NOTIFY_PORT": str(free_port()),
            "HASHDESK_MASTODON_STREAMING_PORT": str(streaming_port),
            "HASHDESK_LOG_LEVEL": "WARNING",
            "HASHDESK_REDIS_URL": "",
            "HASHDESK_DATABASE_URL": "",
            "HASHDESK_SQLITE_PATH": str(data_dir / "hashdesk.sqlite3"),
            "HASHDESK_RATE_LIMITS": "0",
            "HASHDESK_TASKS_IMMEDIATE": "1",
        }
    )
    subprocess.run([sys.executable, "-m", "django", "migrate", "-v", "0"], env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import AccessToken

    from hashdesk.accounts import actions as accounts
    from hashdesk.integrations.mastodon import actions as mastodon
    from hashdesk.wall import actions as wall

    app = mastodon.do_register_app(
        client_name="Bench", redirect_uris="urn:ietf:wg:oauth:2.0:oob", ip="192.0.2.1"
    )
    people = [
        accounts.do_create_user(None, email=f"reader{n}@example.test", display_name=f"R {n}")
        for n in range(PEOPLE)
    ]
    tokens = []
    for person in people:
        raw = f"bench-token-{person.pk}-{os.urandom(8).hex()}"
        AccessToken.objects.create(
            user=person,
            application=app.application,
            token=raw,
            expires=timezone.now() + timedelta(hours=2),
            scope="read",
        )
        tokens.append(raw)
    tokens_file = data_dir / "tokens.json"
    tokens_file.write_text(json.dumps(tokens))
    author = accounts.do_create_user(None, email="author@example.test", display_name="Author")

    server = subprocess.Popen(
        [sys.executable, "-m", "hashdesk.realtime"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        health = f"http://127.0.0.1:{event_port}/healthz"
        for _ in range(300):
            try:
                urllib.request.urlopen(health, timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        transports = ["sse", "websocket"] if args.transport == "both" else [args.transport]
        measured_by: dict[str, dict[str, Any]] = {}
        for transport in transports:
            measured_by[transport] = measure(
                args, transport, data_dir, streaming_port, tokens_file, health, author, wall
            )
    finally:
        server.terminate()
        server.wait(30)
    result = {
        "benchmark": "mastodon_streaming",
        "clients": args.clients,
        "load_processes": args.load_processes,
        "interval_s": args.interval,
        "transports": measured_by,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average_1min": round(os.getloadavg()[0], 2),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def measure(
    args: argparse.Namespace,
    transport: str,
    data_dir: Path,
    streaming_port: int,
    tokens_file: Path,
    health: str,
    author: Any,
    wall: Any,
) -> dict[str, Any]:
    """One transport's run: its load processes connect, the posts are made, receipts compared."""
    loads: list[tuple[subprocess.Popen[str], Path]] = []
    try:
        total = WARM_UP_POSTS + args.posts
        share = args.clients // args.load_processes
        for index in range(args.load_processes):
            out = data_dir / f"load-{transport}-{index}.json"
            argv = [
                sys.executable,
                __file__,
                "--role",
                "load",
                "--port",
                str(streaming_port),
                "--count",
                str(share),
                "--offset",
                str(index * share),
                "--tokens",
                str(tokens_file),
                "--expected",
                str(total),
                "--out",
                str(out),
                "--timeout",
                str(60 + total * args.interval * 3),
                "--transport",
                transport,
            ]
            load = subprocess.Popen(argv, env=dict(os.environ), stdout=subprocess.PIPE, text=True)
            loads.append((load, out))
        for load, _ in loads:
            wait_line(load, "ready")
        committed: dict[str, float] = {}
        for seq in range(total):
            started = time.time()
            post = wall.do_post(author, body=f"Bench post {seq} #bench")
            committed[str(post.pk)] = started
            time.sleep(args.interval)
        for load, _ in loads:
            load.wait(120)
        with urllib.request.urlopen(health, timeout=5) as answer:
            health_answer = json.load(answer)
        streams_at_end = health_answer.get("mastodon_streams")
        server_fanout_ms = health_answer.get("mastodon_last_fanout_ms")
    finally:
        for load, _ in loads:
            if load.poll() is None:
                load.kill()

    measured = list(committed)[WARM_UP_POSTS:]
    samples: list[float] = []
    fanout: list[float] = []
    missing = 0
    failures: list[str] = []
    per_post: dict[str, list[float]] = {key: [] for key in measured}
    for _, out in loads:
        data = json.loads(out.read_text())
        failures += data["failures"]
        for key in measured:
            per_post[key] += data["receipts"].get(key, [])
    for key in measured:
        latencies = [(at - committed[key]) * 1000 for at in per_post[key]]
        missing += args.clients - len(latencies)
        samples += latencies
        if latencies:
            fanout.append(max(latencies))
    return {
        "posts_measured": len(measured),
        "samples": len(samples),
        "missing": missing,
        "p50_ms": round(statistics.median(samples), 2) if samples else None,
        "p95_ms": round(percentile(samples, 0.95), 2) if samples else None,
        "p99_ms": round(percentile(samples, 0.99), 2) if samples else None,
        "max_ms": round(max(samples), 2) if samples else None,
        "fanout_to_all_median_ms": round(statistics.median(fanout), 2) if fanout else None,
        "fanout_to_all_max_ms": round(max(fanout), 2) if fanout else None,
        "streams_open_at_end": streams_at_end,
        # The server's own time for the last post: from the pump handing it over to the last
        # write queued (rendering on a database thread included).
        "server_last_fanout_ms": server_fanout_ms,
        "load_failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--role", choices=["driver", "load"], default="driver")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.3)
    parser.add_argument("--load-processes", type=int, default=2)
    parser.add_argument("--transport", choices=["sse", "websocket", "both"], default="both")
    # load role
    parser.add_argument("--port", type=int)
    parser.add_argument("--count", type=int)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--tokens")
    parser.add_argument("--expected", type=int)
    parser.add_argument("--out")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    if args.role == "load":
        asyncio.run(run_load(args))
    else:
        sys.path.insert(0, str(BENCH_DIR.parent / "src"))
        drive(args)


if __name__ == "__main__":
    main()
