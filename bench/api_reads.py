"""Benchmark: authenticated API reads per second (``GET /api/v1/services``) with p50/p99 latency.

What it does, each step in its own process:

1. ``--prepare``: a fresh data directory, migrations, the demo organisation (``hashdesk demo``:
   about 40 services, 500 people) and a read token for a service-desk agent.
2. granian in WSGI mode with 2 worker processes serves Hashdesk plus two peer-reference views
   (bench/support/api_peer_app.py): a bare Django JSON view and one doing a single SQLite read.
3. ``--drive``: a load generator in a separate process: asyncio, raw HTTP/1.1 over keep-alive
   connections, one request in flight per connection, latency measured per request. It reports
   its own CPU use: on a 2-core machine the client competes with the server, so a client near
   100% of a core means the figures are a floor, not the server's ceiling. When ``wrk`` is on
   PATH it is run on the same targets as well.

Rate limits are off (``HASHDESK_RATE_LIMITS=0``). Results: bench/results/api_reads.json.
Usage: ``.venv/bin/python bench/api_reads.py [--seconds 8] [--connections 16]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
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
RESULTS = BENCH_DIR / "results" / "api_reads.json"
WORKERS = 2

TARGETS = [
    # (name, path, authenticated)
    ("api_services", "/api/v1/services", True),
    ("peer_django_json", "/bench/peer-json", False),
    ("peer_django_json_one_read", "/bench/peer-json-one-read", False),
]


# --- Step 1: data ---------------------------------------------------------------------------


def prepare() -> None:
    """Runs in a child process whose environment names the data directory."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hashdesk.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from hashdesk.accounts import actions as accounts
    from hashdesk.catalog.models import Service

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    from hashdesk.demo.loader import load_demo

    load_demo(incidents=0)  # the services list does not need the incident history
    agent = accounts.do_create_user(
        None, email="bench.agent@example.test", display_name="Bench Agent", roles=["agent"]
    )
    _token, raw = accounts.do_create_api_token(agent, name="bench", scope="read")
    print(json.dumps({"token": raw, "services": Service.objects.count()}))


# --- Step 3: the load generator -------------------------------------------------------------


async def _connection(
    host: str, port: int, request: bytes, stop_at: float, measure_from: float, out: dict[str, Any]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            started = time.perf_counter()
            if started >= stop_at:
                return
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            if match is None:
                raise RuntimeError("response without Content-Length")
            body = await reader.readexactly(int(match.group(1)))
            finished = time.perf_counter()
            if started >= measure_from:
                out["latencies"].append(finished - started)
                out["bytes"] = len(body)
                if status != 200:
                    out["errors"] += 1
    finally:
        writer.close()


async def _drive(
    host: str, port: int, path: str, token: str, seconds: float, warmup: float, connections: int
) -> dict[str, Any]:
    headers = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    request = ("\r\n".join(headers) + "\r\n\r\n").encode()
    out: dict[str, Any] = {"latencies": [], "errors": 0, "bytes": 0}
    now = time.perf_counter()
    measure_from, stop_at = now + warmup, now + warmup + seconds
    await asyncio.gather(
        *(_connection(host, port, request, stop_at, measure_from, out) for _ in range(connections))
    )
    return out


def drive(args: argparse.Namespace) -> None:
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    wall_started = time.perf_counter()
    out = asyncio.run(
        _drive(
            "127.0.0.1",
            args.port,
            args.path,
            args.token,
            args.seconds,
            args.warmup,
            args.connections,
        )
    )
    wall = time.perf_counter() - wall_started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    latencies = sorted(out["latencies"])
    count = len(latencies)
    print(
        json.dumps(
            {
                "requests": count,
                "errors": out["errors"],
                "requests_per_second": round(count / args.seconds, 1),
                "p50_ms": round(latencies[count // 2] * 1000, 2) if count else None,
                "p99_ms": round(latencies[min(count - 1, int(count * 0.99))] * 1000, 2)
                if count
                else None,
                "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if count else None,
                "response_bytes": out["bytes"],
                # Share of one core the client used: near 1.0 means the client was the limit.
                "client_cpu_share_of_one_core": round(cpu / wall, 2),
            }
        )
    )


# --- Orchestration --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_serving(port: int, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"granian exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("granian did not start serving in time")


def _run_wrk(port: int, path: str, token: str, seconds: float, connections: int) -> dict[str, Any]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", "--latency"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def latency(label: str) -> float | None:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if match is None:
            return None
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
        return round(float(match.group(1)) * scale, 2)

    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {
        "requests_per_second": float(rate.group(1)) if rate else None,
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
    }


def _child(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--path", default="", help=argparse.SUPPRESS)
    parser.add_argument("--token", default="", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per target")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    args = parser.parse_args()
    if args.prepare:
        prepare()
        return 0
    if args.drive:
        drive(args)
        return 0

    load_before = round(os.getloadavg()[0], 2)
    data_dir = Path(tempfile.mkdtemp(prefix="hashdesk-bench-api-"))
    src = BENCH_DIR.parent / "src"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hashdesk.settings",
        "HASHDESK_DATA_DIR": str(data_dir),
        "HASHDESK_RATE_LIMITS": "0",
        "HASHDESK_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(data_dir / "metrics"),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(BENCH_DIR / "support"), str(src), os.environ.get("PYTHONPATH")])
        ),
    }
    (data_dir / "metrics").mkdir()
    server: subprocess.Popen[bytes] | None = None
    try:
        print("Preparing data (migrations, demo organisation, token) ...", flush=True)
        prepared = _child(env, "--prepare")
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "granian",
                "--interface",
                "wsgi",
                "--workers",
                str(WORKERS),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-ws",
                "--log-level",
                "warning",
                "api_peer_app:application",
            ],
            env=env,
            cwd=str(BENCH_DIR / "support"),
        )
        _wait_until_serving(port, server)
        results: dict[str, Any] = {}
        for name, path, authenticated in TARGETS:
            token = prepared["token"] if authenticated else ""
            print(f"Driving {path} for {args.warmup + args.seconds:.0f} s ...", flush=True)
            results[name] = {
                "path": path,
                "python_asyncio_client": _child(
                    env,
                    "--drive",
                    "--port",
                    str(port),
                    "--path",
                    path,
                    "--token",
                    token,
                    "--seconds",
                    str(args.seconds),
                    "--warmup",
                    str(args.warmup),
                    "--connections",
                    str(args.connections),
                ),
            }
            if shutil.which("wrk"):
                results[name]["wrk"] = _run_wrk(port, path, token, args.seconds, args.connections)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)

    api = results["api_services"]["python_asyncio_client"]
    peer = results["peer_django_json"]["python_asyncio_client"]
    report = {
        "benchmark": "api_reads",
        "what": "GET /api/v1/services with a read token (agent: sees every service), "
        "versus peer Django JSON views on the same server",
        "server": f"granian {_granian_version()} WSGI, {WORKERS} worker processes",
        "client": f"asyncio raw HTTP/1.1 keep-alive, {args.connections} connections, "
        "separate process" + (" (and wrk)" if shutil.which("wrk") else ""),
        "services_in_catalogue": prepared["services"],
        "seconds_per_target": args.seconds,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            # Other work on the machine skews every figure; this says how busy it was.
            "load_average_1min_before": load_before,
            "load_average_1min_after": round(os.getloadavg()[0], 2),
        },
        "results": results,
        "api_share_of_peer_throughput": round(
            api["requests_per_second"] / peer["requests_per_second"], 2
        ),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


def _granian_version() -> str:
    from importlib.metadata import version

    return version("granian")


if __name__ == "__main__":
    sys.exit(main())
