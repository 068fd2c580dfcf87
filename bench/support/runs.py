"""Running a benchmark's measurement on SQLite and then on PostgreSQL, each in a child process.

A benchmark script measures in a child (``<script> --measure ...``) so that Django is set up
afresh for each database, from a fresh data directory; the child prints its figures as one JSON
line. PostgreSQL runs on a database created for the run and dropped afterwards
(``scaled_out.fresh_database``); it is skipped, with the reason recorded, when the server is
not there or ``--no-postgres`` was given. Redis is not needed.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

import scaled_out

# Variables of the calling shell that would point the child at another database.
DATABASE_VARIABLES = ("HASHDESK_DATABASE_URL", "HASHDESK_REDIS_URL", "HASHDESK_SQLITE_PATH")


def measure_in_child(
    script: str, args: Sequence[str], env: Mapping[str, str], *, timeout: float = 3600
) -> dict[str, Any]:
    """``script --measure *args`` in a child; its last output line, or the error it died with."""
    done = subprocess.run(
        [sys.executable, script, "--measure", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if done.returncode != 0:
        return {"error": done.stderr[-3000:]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def postgres_unavailable(postgres_url: str) -> str | None:
    """Why PostgreSQL cannot be used, or None (Redis is not needed, so its absence is not)."""
    reason = scaled_out.unavailable(postgres_url, scaled_out.DEFAULT_REDIS_URL)
    return None if reason is None or reason.startswith("Redis") else reason


def on_sqlite_and_postgresql(
    script: str,
    args: Sequence[str],
    *,
    name: str,
    postgres_url: str,
    skip_postgres: bool,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 3600,
) -> dict[str, Any]:
    """The child's figures on SQLite and on a fresh PostgreSQL database, keyed by database.
    ``extra_env``: settings the benchmark needs (rate limits lifted, quieter logs)."""
    base_env = {key: value for key, value in os.environ.items() if key not in DATABASE_VARIABLES}
    base_env.update(extra_env or {})
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix=f"hashdesk-{name}-bench-") as data_dir:
        print(f"{name}: SQLite ...", flush=True)
        env = {**base_env, "HASHDESK_DATA_DIR": data_dir}
        runs["sqlite"] = measure_in_child(script, args, env, timeout=timeout)
    reason = "--no-postgres" if skip_postgres else postgres_unavailable(postgres_url)
    if reason is not None:
        runs["postgresql"] = {"skipped": reason}
        return runs
    print(f"{name}: PostgreSQL ...", flush=True)
    database = f"hashdesk_bench_{name}_{os.getpid()}_{int(time.time())}"
    with (
        scaled_out.fresh_database(postgres_url, database) as url,
        tempfile.TemporaryDirectory(prefix=f"hashdesk-{name}-bench-pg-") as data_dir,
    ):
        env = {**base_env, "HASHDESK_DATA_DIR": data_dir, "HASHDESK_DATABASE_URL": url}
        runs["postgresql"] = measure_in_child(script, args, env, timeout=timeout)
    return runs


def machine(load_before: float) -> dict[str, Any]:
    """What the figures were measured on, with the load average before and after the run."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1min_before": load_before,
        "load_average_1min_after": round(os.getloadavg()[0], 2),
    }
