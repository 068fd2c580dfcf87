"""Who is acting and in which request, for audit rows and logs."""

from __future__ import annotations

import structlog


def current_request_id() -> str:
    return str(structlog.contextvars.get_contextvars().get("request_id", ""))
