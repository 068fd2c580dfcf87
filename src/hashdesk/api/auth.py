"""Who is calling the API: a personal token (``Authorization: Bearer hd_…``) or a browser session.

A presented token decides alone: if it is unknown, expired or revoked the answer is 401, never a
fall-back to the session cookie. Read-scope tokens may only use safe methods. Session requests
that change something must carry the CSRF token (``X-CSRFToken``), as every form does.

Each admitted request counts against a per-client rate limit (``api-read`` for safe methods,
``api-write`` otherwise), keyed by the token's public prefix or the person; failed
authentication counts against the caller's address.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.middleware.csrf import CsrfViewMiddleware
from ninja.security import APIKeyCookie, HttpBearer

from hashdesk.accounts.models import ApiToken, User
from hashdesk.accounts.tokens import authenticate_token
from hashdesk.api.problems import CsrfFailed, Unauthenticated
from hashdesk.core import ratelimit
from hashdesk.core.errors import Forbidden

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_safe(request: HttpRequest) -> bool:
    return (request.method or "GET") in SAFE_METHODS


def _rate_limit(request: HttpRequest, key: str) -> None:
    ratelimit.hit("api-read" if is_safe(request) else "api-write", key)


def _count_failed_attempt(request: HttpRequest) -> None:
    ratelimit.hit("api-read", f"ip:{request.META.get('REMOTE_ADDR', '')}")


def request_token(request: HttpRequest) -> ApiToken | None:
    """The token that authenticated ``request``, or None for a session."""
    return getattr(request, "api_token", None)


def acting_user(request: HttpRequest) -> User:
    """The authenticated person (every operation requires authentication)."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


class _CsrfCheck(CsrfViewMiddleware):
    """Django's CSRF rules, answering with the reason instead of rendering the failure page."""

    def _reject(self, request: HttpRequest, reason: str) -> HttpResponse:
        return HttpResponseForbidden(reason)


def _no_view(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    raise AssertionError


def csrf_failure(request: HttpRequest) -> str | None:
    """Why ``request`` fails Django's CSRF check, or None when it passes."""
    check = _CsrfCheck(_no_view)
    request.csrf_processing_done = False  # type: ignore[attr-defined]
    check.process_request(request)
    rejected = check.process_view(request, _no_view, (), {})
    return rejected.content.decode() if rejected is not None else None


class BearerToken(HttpBearer):
    """Personal API tokens (see hashdesk.accounts.tokens)."""

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get("Authorization", "")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            _count_failed_attempt(request)
            raise Unauthenticated("Send the API token as 'Authorization: Bearer hd_…'.")
        return self.authenticate(request, raw.strip())

    def authenticate(self, request: HttpRequest, token: str) -> User:
        found = authenticate_token(token)
        if found is None:
            _count_failed_attempt(request)
            raise Unauthenticated("This API token is not valid: unknown, expired or revoked.")
        if not is_safe(request) and not found.allows_write:
            raise Forbidden("This API token is read-only; create a write token to make changes.")
        _rate_limit(request, f"token:{found.prefix}")
        request.user = found.user
        request.api_token = found  # type: ignore[attr-defined]
        return found.user


class SessionWithCsrf(APIKeyCookie):
    """The browser session of a signed-in person; writes need the CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def __call__(self, request: HttpRequest) -> Any:
        return self.authenticate(request, request.COOKIES.get(self.param_name))

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            _count_failed_attempt(request)
            return None
        if not is_safe(request):
            reason = csrf_failure(request)
            if reason is not None:
                raise CsrfFailed(f"{reason} Send the CSRF cookie's value as X-CSRFToken.")
        _rate_limit(request, f"user:{user.pk}")
        request.api_token = None  # type: ignore[attr-defined]
        assert isinstance(user, User)
        return user


# Tried in order: a token if one is presented, else the session.
API_AUTH = [BearerToken(), SessionWithCsrf()]
