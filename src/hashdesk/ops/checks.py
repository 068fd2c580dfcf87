"""Readiness checks: can this process do its work right now?

Each check returns quickly (short timeouts) and raises on failure; ``/readyz`` runs them all
and names the ones that failed, so a load balancer takes the process out of rotation and an
operator sees why.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

# The event server answers its health probe from memory; anything slower means trouble.
EVENT_SERVER_TIMEOUT_SECONDS = 1.0


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def event_server_health_url() -> str:
    return f"http://{settings.EVENT_SERVER_HOST}:{settings.EVENT_SERVER_PORT}/healthz"


def check_event_server() -> None:
    # A fixed http:// URL built from settings, never from the request.
    with urllib.request.urlopen(  # noqa: S310
        event_server_health_url(), timeout=EVENT_SERVER_TIMEOUT_SECONDS
    ) as response:
        if response.status != 200:
            raise RuntimeError(f"event server answered {response.status}")


def check_queue() -> None:
    """The task queue's storage (SQLite file or Redis) answers."""
    from huey.contrib.djhuey import HUEY

    storage = HUEY.storage
    ping = getattr(getattr(storage, "conn", None), "ping", None)
    if callable(ping):  # Redis
        ping()
    else:
        storage.queue_size()


READINESS_CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "event_server": check_event_server,
    "queue": check_queue,
}


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    duration_ms: float
    error: str = ""

    def as_dict(self) -> dict[str, object]:
        result: dict[str, object] = {"ok": self.ok, "duration_ms": round(self.duration_ms, 2)}
        if self.error:
            result["error"] = self.error
        return result


def run_checks(checks: dict[str, Callable[[], None]] | None = None) -> list[CheckResult]:
    results = []
    for name, check in (checks or READINESS_CHECKS).items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # a readiness probe reports every failure, never raises
            error = f"{type(exc).__name__}: {exc}"[:300]
            results.append(CheckResult(name, False, (time.perf_counter() - started) * 1000, error))
        else:
            results.append(CheckResult(name, True, (time.perf_counter() - started) * 1000))
    return results
