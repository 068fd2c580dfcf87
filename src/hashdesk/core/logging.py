"""Structured logging: every line is one event with the request id bound to it.

structlog renders both our own log calls and the standard library's (Django, huey, granian's
Python side), so one format and one set of context variables reach every line. The console
renderer is for people at a terminal; ``HASHDESK_LOG_FORMAT=json`` (the production default)
gives one JSON object per line for a log shipper.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog
from django.http import HttpRequest
from structlog.typing import EventDict, Processor

# Levels for chatty libraries: huey logs two INFO lines per task run (the outbox sweep runs
# every minute, and deliveries log themselves); its consumer's start/stop lines stay.
_LOGGER_LEVELS = {
    "django.db.backends": "WARNING",
    "huey": "WARNING",
    "huey.consumer": "INFO",
    "huey.consumer.Scheduler": "WARNING",
}


def _request_from_record(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """Django logs 4xx responses after the middleware has unbound the request id; such
    records carry the request itself, so take the id (and path) from it instead."""
    record = event_dict.get("_record")
    request = getattr(record, "request", None)
    if isinstance(request, HttpRequest):
        event_dict.pop("request", None)
        request_id = getattr(request, "request_id", None)
        if request_id:
            event_dict.setdefault("request_id", request_id)
        event_dict.setdefault("method", request.method)
        event_dict.setdefault("path", request.path)
    return event_dict


def _shared_processors() -> list[Processor]:
    """Run for our structlog calls and for stdlib records alike, so both carry the same keys."""
    return [
        # The request id (RequestIdMiddleware) and anything else bound for this request or task.
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
        _request_from_record,
    ]


def _renderer(log_format: str) -> Processor:
    if log_format == "json":
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())


def configure_logging(*, log_format: str, level: str, stream: TextIO | None = None) -> None:
    """Configure structlog and route the standard library's logging through it.

    Idempotent: called from ``CoreConfig.ready()`` in every process (web workers, worker,
    event server, management commands) and safe to call again with other settings.
    ``stream`` defaults to standard error, where service managers and containers collect logs.
    """
    shared = _shared_processors()
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            # Hand over to the stdlib handler below, which renders with the chosen renderer.
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # The console renderer prints tracebacks itself; JSON needs them as a string field.
            *([structlog.processors.format_exc_info] if log_format == "json" else []),
            _renderer(log_format),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    handler.set_name("hashdesk")

    root = logging.getLogger()
    # Replace only our own handler, so test harnesses (pytest's caplog) keep theirs.
    for existing in list(root.handlers):
        if existing.get_name() == "hashdesk":
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for name, logger_level in _LOGGER_LEVELS.items():
        logging.getLogger(name).setLevel(logger_level)


def get_logger(name: str, **initial: Any) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name, **initial)
    return logger
