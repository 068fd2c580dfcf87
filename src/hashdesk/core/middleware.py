"""Request-wide middleware: request ids, Content Security Policy and metrics."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from hashdesk.core import metrics

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Gives every request an id (kept from a trusted ``X-Request-ID`` when well-formed).

    The id is bound to the structured log context and stored on audit rows, so one request can
    be followed from the proxy log through the application log to the audit trail.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.clear_contextvars()
        response["X-Request-ID"] = request_id
        return response


def _event_server_origin() -> str:
    parts = urlsplit(settings.EVENTS_PUBLIC_URL)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


class ContentSecurityPolicyMiddleware:
    """A strict CSP: scripts, styles and connections only from this site and its event server."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            connect = " ".join(filter(None, ["'self'", _event_server_origin()]))
            response["Content-Security-Policy"] = "; ".join(
                [
                    "default-src 'self'",
                    "script-src 'self'",
                    "style-src 'self'",
                    "img-src 'self' data:",
                    "font-src 'self'",
                    f"connect-src {connect}",
                    "object-src 'none'",
                    "base-uri 'self'",
                    "form-action 'self'",
                    "frame-ancestors 'none'",
                ]
            )
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


class MetricsMiddleware:
    """Counts requests and their duration per route for ``/metrics``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None and match.route else "unmatched"
        metrics.observe_request(
            method=request.method or "GET",
            route=route,
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response


class RefuseNulCharactersMiddleware:
    """A NUL character in the address (``%00``) is never a real request: no person or client
    types one, and PostgreSQL cannot compare text with it. Refuse it as invalid input (422, as
    the API answers any invalid parameter) before any view runs, so no lookup by a path or
    query value can reach the database with it. (Request bodies are checked by the API schemas
    and Django's form fields.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            return JsonResponse(
                {
                    "type": "urn:hashdesk:problem:invalid",
                    "title": "Invalid request",
                    "status": 422,
                    "detail": "The address may not contain NUL characters (%00).",
                },
                status=422,
                content_type="application/problem+json",
            )
        return self.get_response(request)
