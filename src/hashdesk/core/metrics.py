"""Prometheus metrics. Worker processes share values through files in ``METRICS_DIR``."""

from __future__ import annotations

import os

from django.conf import settings
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

HTTP_REQUESTS = Counter(
    "hashdesk_http_requests_total", "HTTP requests served", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "hashdesk_http_request_duration_seconds", "Time to serve an HTTP request", ["route"]
)
EVENTS_SENT = Counter("hashdesk_events_total", "Events written to the event log", ["type"])
OUTBOX_DELIVERIES = Counter(
    "hashdesk_outbox_deliveries_total", "Outbox delivery attempts", ["channel", "outcome"]
)


def observe_request(*, method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    HTTP_DURATION.labels(route=route).observe(seconds)


def render() -> tuple[bytes, str]:
    """The exposition text; aggregated over processes when multiprocess mode is on."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def prepare_multiprocess_dir() -> str:
    """Create (and empty) the shared metrics directory before worker processes start."""
    path = settings.METRICS_DIR
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    return str(path)
