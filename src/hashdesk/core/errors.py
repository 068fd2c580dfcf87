"""Domain errors raised by actions. The API turns them into RFC 9457 problem details and the web
views into form errors or messages; the same error reads the same everywhere."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error an action raises on bad input; nothing has been changed."""

    status = 400
    title = "Bad request"
    code = "bad_request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra

    def as_problem(self) -> dict[str, Any]:
        problem: dict[str, Any] = {
            "type": f"urn:hashdesk:problem:{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.field:
            problem["errors"] = [{"field": self.field, "message": self.detail}]
        problem.update(self.extra)
        return problem


class ValidationFailed(DomainError):
    status = 422
    title = "Invalid input"
    code = "invalid"


class NotFound(DomainError):
    status = 404
    title = "Not found"
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    code = "conflict"


class PayloadTooLarge(DomainError):
    """An uploaded file (or body) is over its size limit."""

    status = 413
    title = "Payload too large"
    code = "too_large"


class UnsupportedMediaType(DomainError):
    """A file of a type that is not accepted, or whose content does not match its name."""

    status = 415
    title = "Unsupported media type"
    code = "unsupported_media_type"


class RateLimited(DomainError):
    status = 429
    title = "Too many requests"
    code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after
