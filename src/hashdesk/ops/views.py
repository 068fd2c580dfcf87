"""Health, readiness and metrics endpoints for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest

from hashdesk.core import metrics
from hashdesk.ops.checks import run_checks
from hashdesk.ops.collectors import OutboxCollector

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up and serving. Touches nothing else, so it never flaps with the DB."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """Database, event server and task queue all answer; 503 names whatever does not."""
    results = run_checks()
    failing = [result.name for result in results if not result.ok]
    body: dict[str, object] = {
        "status": "fail" if failing else "ok",
        "checks": {result.name: result.as_dict() for result in results},
    }
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)


@lru_cache(maxsize=8)
def _allowed_networks(allow: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in allow)


def metrics_allowed(remote_addr: str) -> bool:
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in network for network in _allowed_networks(tuple(settings.METRICS_ALLOW)))


@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition, for the addresses in ``HASHDESK_METRICS_ALLOW`` only."""
    if not metrics_allowed(request.META.get("REMOTE_ADDR", "")):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    body, content_type = metrics.render()
    database_metrics = CollectorRegistry()
    database_metrics.register(OutboxCollector())
    return HttpResponse(body + generate_latest(database_metrics), content_type=content_type)
