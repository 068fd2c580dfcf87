"""RFC 9457 problem details: every error the API returns has this one shape.

``{"type": "urn:hashdesk:problem:<code>", "title", "status", "detail", "instance", "request_id"}``
plus, where it helps, ``errors`` (one entry per bad field, with a JSON pointer into the body)
and problem-specific members such as ``cycle``. Domain errors raised by actions carry their own
problem (``DomainError.as_problem``); this module maps everything else onto the same shape, and
never lets a traceback out.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from hashdesk.core.errors import DomainError, Forbidden, RateLimited

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Sent with every 401 so clients know which credentials to present.
WWW_AUTHENTICATE = 'Bearer realm="hashdesk"'

# Titles (and type codes) for statuses that reach us without a domain error.
_STATUS_PROBLEMS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("too_large", "Request body too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("invalid", "Invalid input"),
    429: ("rate_limited", "Too many requests"),
    500: ("server_error", "Internal server error"),
}


class Unauthenticated(DomainError):
    """No usable credentials: a missing, malformed, unknown, expired or revoked token."""

    status = 401
    title = "Authentication required"
    code = "unauthenticated"


class CsrfFailed(Forbidden):
    """A session-authenticated write without a valid CSRF token."""

    code = "csrf_failed"


def problem_type(code: str) -> str:
    return f"urn:hashdesk:problem:{code}"


def problem_response(
    request: HttpRequest,
    problem: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """Render ``problem`` (which has at least type, title and status) as problem+json."""
    body = {**problem, "instance": request.path}
    request_id = getattr(request, "request_id", "")
    if request_id:
        body["request_id"] = request_id
    response = HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder),
        status=int(problem["status"]),
        content_type=PROBLEM_CONTENT_TYPE,
    )
    if response.status_code == 401:
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def status_problem(status: int, detail: str, **extra: Any) -> dict[str, Any]:
    code, title = _STATUS_PROBLEMS.get(status, ("error", "Error"))
    return {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }


def _with_pointers(errors: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each field error of a domain problem a JSON pointer into the request body."""
    result = []
    for error in errors:
        entry = dict(error)
        if entry.get("field"):
            entry.setdefault("location", "body")
            if entry["location"] == "body":
                entry.setdefault("pointer", f"/{entry['field']}")
        result.append(entry)
    return result


def domain_problem(exc: DomainError) -> dict[str, Any]:
    problem = exc.as_problem()
    if "errors" in problem:
        problem["errors"] = _with_pointers(problem["errors"])
    return problem


def _json_pointer(parts: Iterable[object]) -> str:
    """RFC 6901: "" is the whole document, "/items/0/name" a member inside it."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def validation_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ninja/pydantic errors as ``{"field", "location", "message", "pointer"?}`` entries.

    ``loc`` is ``("body", "payload", "name")`` for a body field (the second element is the
    view's parameter name) and ``("query", "limit")`` for a parameter.
    """
    result = []
    for error in errors:
        loc = list(error.get("loc", ()))
        location = str(loc[0]) if loc else "body"
        path = loc[2:] if location == "body" else loc[1:]
        message = str(error.get("msg", "Invalid value."))
        if location == "body" and not path and error.get("type") == "missing":
            message = "A JSON object is required as the request body."
        entry: dict[str, Any] = {
            "field": ".".join(str(p) for p in path) or location,
            "location": location,
            "message": message,
            "code": str(error.get("type", "invalid")),
        }
        if location == "body":
            entry["pointer"] = _json_pointer(path)
        result.append(entry)
    return result


# --- Exception handlers, registered on the NinjaAPI instance -----------------------------------


def _on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    return problem_response(request, domain_problem(exc), headers=headers)


def _on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = validation_errors(exc.errors)
    first = errors[0] if errors else None
    detail = (
        f"{first['field']}: {first['message']}"
        + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
        if first
        else "The request is not valid."
    )
    return problem_response(request, status_problem(422, detail, errors=errors))


def _on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem_response(
        request,
        status_problem(
            401,
            "Sign in, or send an API token as 'Authorization: Bearer hd_…'.",
        ),
    )


def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    detail = str(exc)
    if status == 400 and detail.startswith("Cannot parse request body"):
        return problem_response(
            request,
            {
                "type": problem_type("malformed_body"),
                "title": "Malformed request body",
                "status": 400,
                "detail": "The request body is not valid JSON.",
            },
        )
    return problem_response(request, status_problem(status, detail))


def _on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(request, status_problem(404, "Nothing here, or not visible to you."))


def _on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return problem_response(request, status_problem(403, str(exc) or "You may not do this."))


def _on_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    from django.conf import settings

    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return problem_response(
        request,
        status_problem(413, f"The request body is larger than {limit} bytes.", max_bytes=limit),
    )


def _on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # Logged with its traceback; the client gets only the request id to quote.
    logger.exception("unhandled error in API operation %s %s", request.method, request.path)
    return problem_response(
        request,
        status_problem(500, "Something went wrong on our side; quote the request id."),
    )


_HANDLERS: dict[type[Exception], Callable[..., HttpResponse]] = {
    Exception: _on_unexpected,
    DomainError: _on_domain_error,
    NinjaValidationError: _on_validation_error,
    AuthenticationError: _on_authentication_error,
    HttpError: _on_http_error,
    Http404: _on_not_found,
    PermissionDenied: _on_permission_denied,
    RequestDataTooBig: _on_too_large,
}


def install_handlers(api: NinjaAPI) -> None:
    """Replace ninja's default handlers (which answer ``{"detail": ...}`` or raise).

    Ninja picks the handler of the nearest class in the exception's MRO.
    """
    for exception_class, handler in _HANDLERS.items():
        api.add_exception_handler(exception_class, handler)


# --- Responses made outside ninja's operations -------------------------------------------------


def with_problem_405(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a ninja path view so its plain-text 405 becomes a problem (keeping ``Allow``)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and response.get("Content-Type") != PROBLEM_CONTENT_TYPE:
            allowed = response.get("Allow", "")
            return problem_response(
                request,
                status_problem(405, f"{request.method} is not allowed here; use {allowed}."),
                headers={"Allow": allowed},
            )
        return response

    return wrapper


@csrf_exempt  # answers 404 to every method; a CSRF failure page would hide that
def unknown_path(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Every path under /api/ that no operation matches."""
    return problem_response(request, status_problem(404, "There is no API endpoint here."))
