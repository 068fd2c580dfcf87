"""Who is on the other end of a WebSocket: a session cookie, an API token, or nobody.

Browsers authenticate with the Django session cookie they already hold; because any web page can
open a WebSocket to us and the browser would attach that cookie, a cookie is honoured only when the
handshake's ``Origin`` is one of ``HASHDESK_EVENT_ALLOWED_ORIGINS`` (cross-site WebSocket
hijacking). Scripts authenticate with a personal API token, either in an ``Authorization: Bearer``
header or in a first ``{"type": "auth"}`` message; never in the URL, where it would end up in
proxy logs. Without either, the connection is anonymous and may listen to public events only.

The functions that touch the database are synchronous and run on the event server's database
threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.utils.module_loading import import_string

from hashdesk.accounts.tokens import authenticate_token


@dataclass(frozen=True)
class Credentials:
    """What the opening handshake carried, read without touching the database."""

    session_key: str | None
    bearer_token: str | None


@dataclass(frozen=True)
class Viewer:
    """The person a connection acts for, and how they proved it."""

    user: Any  # accounts.User, or AnonymousUser
    method: str  # "session", "token" or "anonymous"
    # Whether the connection may change things (chat sends, read markers): a signed-in browser
    # session or a write-scope token; a read-only token may only listen, as in the REST API.
    may_write: bool = False

    @property
    def user_id(self) -> int | None:
        return cast(int, self.user.pk) if self.user.is_authenticated else None


ANONYMOUS = Viewer(user=AnonymousUser(), method="anonymous")


class HandshakeRefused(Exception):
    """The handshake must be answered with an HTTP error instead of a WebSocket."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def session_key_from_cookies(cookie_header: str | None) -> str | None:
    if not cookie_header:
        return None
    # The same lenient parser Django uses for requests, so both read cookies alike.
    return parse_cookie(cookie_header).get(settings.SESSION_COOKIE_NAME) or None


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise HandshakeRefused(401, "Authorization must be 'Bearer <token>'.")
    return value.strip()


def origin_allowed(origin: str | None) -> bool:
    """Whether a browser page at ``origin`` may use the person's session cookie here.

    No Origin header means no browser made the request (browsers always send it on WebSocket
    handshakes), so there is no page to hijack the cookie.
    """
    if origin is None:
        return True
    allowed = {value.rstrip("/").lower() for value in settings.EVENT_ALLOWED_ORIGINS}
    return origin.rstrip("/").lower() in allowed


def read_credentials(
    *, cookie: str | None, authorization: str | None, origin: str | None
) -> Credentials:
    """Check the handshake headers; raises :class:`HandshakeRefused` for a forged or bad one."""
    token = bearer_token(authorization)
    session_key = session_key_from_cookies(cookie)
    if session_key and token is None and not origin_allowed(origin):
        raise HandshakeRefused(403, "This origin may not open a signed-in WebSocket.")
    return Credentials(session_key=session_key, bearer_token=token)


def user_from_session(session_key: str) -> Any:
    """The signed-in user of a session, or AnonymousUser for a stale or forged key.

    Goes through ``django.contrib.auth.get_user`` so that the session's password hash check
    applies: changing one's password signs out live connections' next handshake too.
    """
    engine = import_string(settings.SESSION_ENGINE + ".SessionStore")
    request = SimpleNamespace(session=engine(session_key))
    return get_user(cast(HttpRequest, request))


def viewer_from_token(raw: str) -> Viewer | None:
    token = authenticate_token(raw)
    if token is None:
        return None
    return Viewer(user=token.user, method="token", may_write=token.allows_write)


def identify(credentials: Credentials) -> Viewer:
    """Resolve handshake credentials (database access); a bad token refuses the handshake."""
    if credentials.bearer_token is not None:
        viewer = viewer_from_token(credentials.bearer_token)
        if viewer is None:
            raise HandshakeRefused(401, "The API token is invalid, expired or revoked.")
        return viewer
    if credentials.session_key:
        user = user_from_session(credentials.session_key)
        if user.is_authenticated and user.is_active:
            return Viewer(user=user, method="session", may_write=True)
    return ANONYMOUS
