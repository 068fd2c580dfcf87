"""How every Mastodon API endpoint authenticates, answers and fails.

Only a bearer token authenticates (a session cookie never does, so the endpoints are exempt
from CSRF); errors have Mastodon's shape ``{"error": "..."}``; lists are paged by id with
``max_id`` / ``since_id`` / ``min_id`` / ``limit`` and an RFC 8288 ``Link`` header, exactly as
Mastodon pages them. Responses carry ``Access-Control-Allow-Origin: *`` so web clients on
other origins can call: no cookie is ever read, so that opens nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.models import AccessToken

from hashdesk.accounts.models import User
from hashdesk.core import ratelimit
from hashdesk.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    RateLimited,
    ValidationFailed,
)
from hashdesk.integrations.mastodon import tokens
from hashdesk.web.requests import client_address

PAGE_SIZE = 20
PAGE_MAX = 40
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key",
    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    "Access-Control-Expose-Headers": "Link",
    "Access-Control-Max-Age": "3600",
}


class MastodonError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def unauthorized(message: str = "The access token is invalid") -> MastodonError:
    return MastodonError(
        401,
        message,
        {"WWW-Authenticate": 'Bearer realm="Mastodon", error="invalid_token"'},
    )


def _from_domain(exc: DomainError) -> JsonResponse:
    if isinstance(exc, RateLimited):
        return error(429, "Too many requests", {"Retry-After": str(exc.retry_after)})
    if isinstance(exc, NotFound):
        return error(404, "Record not found")
    if isinstance(exc, Forbidden):
        return error(403, exc.detail)
    if isinstance(exc, ValidationFailed | Conflict):
        return error(422, f"Validation failed: {exc.detail}")
    return error(exc.status, exc.detail)


@dataclass(frozen=True)
class Caller:
    """Who calls: the token, its person (None for an app-only token) and its scopes."""

    token: AccessToken
    user: User | None
    scopes: frozenset[str]

    @property
    def person(self) -> User:
        if self.user is None:
            raise MastodonError(422, "This method requires an authenticated user")
        return self.user


def bearer(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def caller_of(request: HttpRequest) -> Caller | None:
    raw = bearer(request)
    if raw is None:
        return None
    token = tokens.lookup(raw)
    if token is None:
        raise unauthorized()
    return Caller(token, token.user if token.user_id else None, tokens.scopes_of(token))


def params(request: HttpRequest) -> QueryDict | dict[str, Any]:
    """The request's parameters: a JSON body, a form body, or the query string."""
    if request.method in ("GET", "HEAD", "DELETE"):
        return request.GET
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise MastodonError(422, "Validation failed: the body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise MastodonError(422, "Validation failed: the body must be a JSON object")
        return data
    return request.POST


def with_cors(response: HttpResponse) -> HttpResponse:
    for name, value in CORS_HEADERS.items():
        response[name] = value
    return response


def endpoint(
    *methods: str, scope: dict[str, str] | None = None, user: bool = True, auth: bool = True
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Wrap a view: methods, bearer authentication, scope per method, rate limit, errors, CORS.

    ``scope`` maps a method to the scope it needs (``{"GET": "read:statuses"}``); ``user``:
    an app-only token is not enough; ``auth=False``: the endpoint is open (a token, if sent,
    must still be valid).
    """
    allowed = set(methods)

    def wrap(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def run(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "OPTIONS":
                return with_cors(HttpResponse(status=204))
            try:
                if request.method not in allowed:
                    response: HttpResponse = error(405, "Method not allowed")
                    response["Allow"] = ", ".join(sorted(allowed))
                    return with_cors(response)
                caller = caller_of(request)
                if caller is None and auth:
                    raise unauthorized("The access token is invalid")
                if caller is not None:
                    needed = (scope or {}).get(request.method or "")
                    if needed and not tokens.allows(caller.scopes, needed):
                        raise MastodonError(403, "This action is outside the authorized scopes")
                    if user and auth:
                        caller.person  # noqa: B018  (raises for an app-only token)
                writing = request.method not in ("GET", "HEAD")
                key = (
                    f"user:{caller.user.pk}" if caller and caller.user else client_address(request)
                )
                ratelimit.hit("api-write" if writing else "api-read", key)
                response = view(request, caller, *args, **kwargs)
            except MastodonError as exc:
                response = error(exc.status, exc.message, exc.headers)
            except DomainError as exc:
                response = _from_domain(exc)
            return with_cors(response)

        return run

    return wrap


# --- Paging -------------------------------------------------------------------------------------


def _id_param(values: Any, name: str) -> int | None:
    raw = values.get(name)
    if raw in (None, ""):
        return None
    text = str(raw)
    if not text.isdigit() or len(text) > 18:
        raise MastodonError(422, f"Validation failed: {name} must be an id")
    return int(text)


def limit_of(values: Any, default: int = PAGE_SIZE, maximum: int = PAGE_MAX) -> int:
    raw = values.get("limit")
    if raw in (None, ""):
        return default
    try:
        number = int(str(raw))
    except ValueError as exc:
        raise MastodonError(422, "Validation failed: limit must be a number") from exc
    return max(1, min(number, maximum))


@dataclass(frozen=True)
class Page:
    items: list[Any]
    ids: list[int]


def page(
    request: HttpRequest,
    rows: QuerySet[Any],
    *,
    id_field: str = "id",
    default: int = PAGE_SIZE,
    maximum: int = PAGE_MAX,
) -> Page:
    """One page of ``rows``, newest (highest id) first, the way Mastodon reads the parameters:
    ``max_id`` — older than; ``since_id`` — newer than, the newest ones; ``min_id`` — newer
    than, the ones right after it."""
    values = request.GET
    size = limit_of(values, default, maximum)
    max_id = _id_param(values, "max_id")
    since_id = _id_param(values, "since_id")
    min_id = _id_param(values, "min_id")
    if max_id is not None:
        rows = rows.filter(**{f"{id_field}__lt": max_id})
    if since_id is not None:
        rows = rows.filter(**{f"{id_field}__gt": since_id})
    if min_id is not None and since_id is None:
        items = list(rows.filter(**{f"{id_field}__gt": min_id}).order_by(id_field)[:size])
        items.reverse()
    else:
        items = list(rows.order_by(f"-{id_field}")[:size])
    return Page(items, [int(getattr(item, id_field)) for item in items])


def link_header(request: HttpRequest, ids: Sequence[int]) -> str | None:
    """``Link: <...?max_id=last>; rel="next", <...?min_id=first>; rel="prev"`` (none when empty)."""
    if not ids:
        return None
    kept = [
        (name, value)
        for name, values in request.GET.lists()
        if name not in ("max_id", "since_id", "min_id")
        for value in values
    ]
    base = request.build_absolute_uri(request.path)

    def url(extra: tuple[str, str]) -> str:
        return f"{base}?{urlencode([*kept, extra])}"

    return (
        f'<{url(("max_id", str(ids[-1])))}>; rel="next", '
        f'<{url(("min_id", str(ids[0])))}>; rel="prev"'
    )


def paged(request: HttpRequest, body: list[dict[str, Any]], ids: Sequence[int]) -> JsonResponse:
    response = JsonResponse(body, safe=False)
    link = link_header(request, ids)
    if link:
        response["Link"] = link
    return response


def ok(body: Any, status: int = 200) -> JsonResponse:
    return JsonResponse(body, safe=not isinstance(body, list), status=status)
