"""Structured logs: one line per event, the request id on every line of a request."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from django.conf import settings
from django.test import Client

from hashdesk.core.logging import configure_logging, get_logger


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(log_format="json", level="INFO", stream=stream)
    try:
        yield stream
    finally:
        configure_logging(log_format=settings.LOG_FORMAT, level=settings.LOG_LEVEL)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_standard_library_and_structlog_lines_share_one_json_format(json_log: io.StringIO) -> None:
    structlog.contextvars.bind_contextvars(request_id="req-0001-abcd")
    try:
        logging.getLogger("django.request").warning("Not Found: %s", "/nowhere")
        get_logger("hashdesk.test").info("outbox delivery", outbox_id=7, outcome="sent")
    finally:
        structlog.contextvars.clear_contextvars()
    stdlib_line, structlog_line = _lines(json_log)
    assert stdlib_line["event"] == "Not Found: /nowhere"
    assert stdlib_line["level"] == "warning"
    assert stdlib_line["logger"] == "django.request"
    assert stdlib_line["request_id"] == "req-0001-abcd"
    assert "timestamp" in stdlib_line
    assert structlog_line["event"] == "outbox delivery"
    assert structlog_line["outbox_id"] == 7
    assert structlog_line["request_id"] == "req-0001-abcd"


def test_a_request_logs_with_its_request_id(json_log: io.StringIO, client: Client) -> None:
    response = client.get("/healthz/not-here", HTTP_X_REQUEST_ID="proxy-id-12345678")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "proxy-id-12345678"
    (line,) = [entry for entry in _lines(json_log) if entry["logger"] == "django.request"]
    assert line["request_id"] == "proxy-id-12345678"
    assert "/healthz/not-here" in str(line["event"])


def test_exceptions_are_rendered_into_the_json_line(json_log: io.StringIO) -> None:
    try:
        raise ValueError("broken payload")
    except ValueError:
        logging.getLogger("hashdesk.worker").exception("task failed")
    (line,) = _lines(json_log)
    assert line["event"] == "task failed"
    assert "ValueError: broken payload" in str(line["exception"])


def test_reconfiguring_keeps_a_single_handler(json_log: io.StringIO) -> None:
    configure_logging(log_format="json", level="INFO", stream=json_log)
    ours = [h for h in logging.getLogger().handlers if h.get_name() == "hashdesk"]
    assert len(ours) == 1
