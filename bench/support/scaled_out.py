"""The scaled-out setup of docs/deploy.md on one machine, for the benchmarks.

Two *nodes*, each a ``hashdesk run --no-demo`` process tree (granian web workers, the event
server and a task worker: what ``make run`` starts) with its own data directory and ports, both
on one fresh PostgreSQL database and one Redis database. Web processes wake every event server
through Redis pub/sub; each event server reads the shared event log from PostgreSQL.

The PostgreSQL database is created here and dropped afterwards; the Redis database is flushed
before and after (``FLUSHDB`` on that database number only), so it must be one nothing else
uses: database 0 (the default, and CI's) is refused.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
CONNECT_TIMEOUT_SECONDS = 3
START_TIMEOUT_SECONDS = 120.0
# `hashdesk run` lets its worker finish tasks for up to 10 s on SIGTERM, and children 15 s.
STOP_TIMEOUT_SECONDS = 30.0
# Variables of the embedded bench environment that must not leak into a node.
EMBEDDED_ONLY = ("HASHDESK_SQLITE_PATH", "PROMETHEUS_MULTIPROC_DIR")


def redis_database(url: str) -> int:
    path = urlsplit(url).path.strip("/")
    return int(path) if path.isdigit() else 0


def database_url(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def unavailable(postgres_url: str, redis_url: str) -> str | None:
    """Why the scaled-out setup cannot run here, or None when PostgreSQL and Redis answer."""
    if redis_database(redis_url) == 0:
        return (
            f"{redis_url} is Redis database 0; the benchmark flushes its database, so give it "
            "a number of its own (e.g. redis://127.0.0.1:6379/5)"
        )
    try:
        import psycopg
        import redis
    except ImportError as exc:
        return f"a client library is missing ({exc})"
    try:
        with psycopg.connect(
            database_url(postgres_url, "postgres"), connect_timeout=CONNECT_TIMEOUT_SECONDS
        ):
            pass
    except Exception as exc:
        return f"PostgreSQL at {postgres_url} is not reachable ({_one_line(exc)})"
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS).ping()
    except Exception as exc:
        return f"Redis at {redis_url} is not reachable ({_one_line(exc)})"
    return None


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextlib.contextmanager
def fresh_database(postgres_url: str, name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for the run; dropped (connections and all) at the end."""
    import psycopg
    from psycopg import sql

    admin = database_url(postgres_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url(postgres_url, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextlib.contextmanager
def flushed_redis(redis_url: str) -> Iterator[None]:
    """The Redis database empty before the run and again after it."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    try:
        yield
    finally:
        client.flushdb()
        client.close()


def subscribers(redis_url: str, channel: str) -> int:
    """How many connections listen on a pub/sub channel (one per event server)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        counts = client.pubsub_numsub(channel)
        return int(counts[0][1]) if counts else 0
    finally:
        client.close()


def shared_environment(
    base: dict[str, str], *, database: str, redis_url: str, prefix: str
) -> dict[str, str]:
    """What every process of the installation is given: database, Redis, one secret key."""
    env = {name: value for name, value in base.items() if name not in EMBEDDED_ONLY}
    env |= {
        "HASHDESK_DATABASE_URL": database,
        "HASHDESK_REDIS_URL": redis_url,
        "HASHDESK_REDIS_PREFIX": prefix,
        # Nodes are separate hosts in a real deployment; they share the key, not a data dir.
        "HASHDESK_SECRET_KEY": secrets.token_urlsafe(64),
    }
    return env


class Node:
    """One ``hashdesk run --no-demo`` process tree on ports of its own."""

    def __init__(
        self, name: str, env: dict[str, str], data_dir: Path, *, web_port: int, events_port: int
    ) -> None:
        self.name = name
        self.web_port = web_port
        self.events_port = events_port
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = data_dir / "run.log"
        node_env = env | {
            "HASHDESK_DATA_DIR": str(data_dir),
            "HASHDESK_WEB_PORT": str(web_port),
            "HASHDESK_EVENT_SERVER_PORT": str(events_port),
            # Unused with Redis (no UDP wake-ups), but kept off the other node's port anyway.
            "HASHDESK_EVENT_NOTIFY_PORT": str(events_port + 1),
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hashdesk.cli", "run", "--no-demo"],
                env=node_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def events_url(self) -> str:
        return f"ws://127.0.0.1:{self.events_port}/ws/"

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Until the web server's /readyz is 200: database, event server and queue all answer."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"node {self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                url = f"http://127.0.0.1:{self.web_port}/readyz"
                with urllib.request.urlopen(url, timeout=5):
                    return
            except urllib.error.HTTPError as exc:
                last = f"/readyz answered {exc.code}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.3)
        raise RuntimeError(f"node {self.name} not ready in {timeout:.0f} s ({last})")

    def events_health(self) -> dict[str, Any]:
        import json

        url = f"http://127.0.0.1:{self.events_port}/healthz"
        with urllib.request.urlopen(url, timeout=5) as answer:
            health: dict[str, Any] = json.load(answer)
            return health

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM to the supervisor, which stops its children gracefully; SIGKILL if stuck."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            # The children ask the kernel for SIGTERM when the supervisor dies (PDEATHSIG).
            self.process.kill()
            self.process.wait(10)


def bench_database_name() -> str:
    return f"hashdesk_bench_wall_{os.getpid()}_{int(time.time())}"
