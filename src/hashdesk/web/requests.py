"""Small request helpers shared by the web views."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from hashdesk.accounts.models import User


def current_user(request: HttpRequest) -> User:
    """The signed-in person (views behind ``login_required``); typed, so views need no casts."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied
    return user


def client_address(request: HttpRequest) -> str:
    """The peer address rate limits count by (the reverse proxy sets it; docs/deploy.md)."""
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def safe_next(request: HttpRequest, candidate: str | None) -> str | None:
    """``candidate`` if it is a URL on this site, else None (no open redirects)."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None
