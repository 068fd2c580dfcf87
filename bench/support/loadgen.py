"""Load generator and server helpers shared by the benchmarks in bench/.

The same approach as bench/api_reads.py, made reusable for any method and body: asyncio, raw
HTTP/1.1 over keep-alive connections, one request in flight per connection, latency measured
per request, the client's own CPU reported (on a 2-core machine the client competes with the
server: a client near 1.0 of a core means the figures are a floor, not the server's ceiling).

Run as a script it drives one target and prints one JSON line, so the client runs in its own
process, apart from the server and the orchestrating script::

    python bench/support/loadgen.py --port 8000 --spec '{"method": "GET", "path": "/x"}'

The spec: ``method``, ``path``, ``headers`` (a dict), ``body`` (text), ``expect`` (the status
that counts as success, default 200), ``seconds``, ``warmup``, ``connections``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")
CHUNKED = re.compile(rb"(?i)\r\ntransfer-encoding:\s*chunked")


def request_bytes(
    method: str, path: str, host: str, port: int, headers: dict[str, str], body: str
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    payload = body.encode()
    if payload or method not in {"GET", "HEAD"}:
        lines.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def _read_body(reader: asyncio.StreamReader, head: bytes) -> bytes:
    match = CONTENT_LENGTH.search(head)
    if match is not None:
        return await reader.readexactly(int(match.group(1)))
    if CHUNKED.search(head):
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    raise RuntimeError("response without Content-Length or chunked encoding")


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
            body = await _read_body(reader, head)
            finished = time.perf_counter()
            if started >= measure_from:
                out["latencies"].append(finished - started)
                out["bytes"] = len(body)
                out["statuses"][status] = out["statuses"].get(status, 0) + 1
                if status != out["expect"]:
                    out["errors"] += 1
                    out["last_error"] = body[:300].decode(errors="replace")
    finally:
        writer.close()


async def _drive(host: str, port: int, spec: dict[str, Any]) -> dict[str, Any]:
    request = request_bytes(
        spec.get("method", "GET"),
        spec["path"],
        host,
        port,
        spec.get("headers", {}),
        spec.get("body", ""),
    )
    out: dict[str, Any] = {
        "latencies": [],
        "errors": 0,
        "bytes": 0,
        "statuses": {},
        "expect": int(spec.get("expect", 200)),
    }
    now = time.perf_counter()
    measure_from = now + float(spec.get("warmup", 1.0))
    stop_at = measure_from + float(spec.get("seconds", 5.0))
    connections = int(spec.get("connections", 1))
    await asyncio.gather(
        *(_connection(host, port, request, stop_at, measure_from, out) for _ in range(connections))
    )
    return out


def drive(port: int, spec: dict[str, Any], host: str = "127.0.0.1") -> dict[str, Any]:
    """Drive one target in this process; latencies in milliseconds."""
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    wall_started = time.perf_counter()
    out = asyncio.run(_drive(host, port, spec))
    wall = time.perf_counter() - wall_started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    latencies = sorted(out["latencies"])
    count = len(latencies)
    seconds = float(spec.get("seconds", 5.0))

    def percentile(share: float) -> float | None:
        return round(latencies[min(count - 1, int(count * share))] * 1000, 2) if count else None

    result = {
        "requests": count,
        "errors": out["errors"],
        "statuses": {str(k): v for k, v in sorted(out["statuses"].items())},
        "requests_per_second": round(count / seconds, 1),
        "p50_ms": percentile(0.50),
        "p90_ms": percentile(0.90),
        "p99_ms": percentile(0.99),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if count else None,
        "response_bytes": out["bytes"],
        "connections": int(spec.get("connections", 1)),
        # Share of one core the client used: near 1.0 means the client was the limit.
        "client_cpu_share_of_one_core": round(cpu / wall, 2),
    }
    if out["errors"]:
        result["last_error"] = out.get("last_error", "")
    return result


def drive_in_child(port: int, spec: dict[str, Any]) -> dict[str, Any]:
    """Drive one target from a separate process (this file run as a script)."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--port", str(port), "--spec",
         json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# --- Serving --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(
    port: int, server: subprocess.Popen[bytes], path: str = "/healthz", timeout: float = 90
) -> None:
    """Until ``path`` answers at all (any status: the peer has no health check)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start serving in time")


def granian(
    python: str, app: str, port: int, *, workers: int, cwd: str, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """granian in WSGI mode, as api_reads.py and ``hashdesk web`` serve Hashdesk."""
    return subprocess.Popen(
        [python, "-m", "granian", "--interface", "wsgi", "--workers", str(workers), "--host",
         "127.0.0.1", "--port", str(port), "--no-ws", "--log-level", "warning", app],
        env=env,
        cwd=cwd,
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--spec", required=True, help="JSON: method, path, headers, body, ...")
    args = parser.parse_args()
    print(json.dumps(drive(args.port, json.loads(args.spec))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
