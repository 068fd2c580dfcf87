"""Reading what a Slack client POSTs to an incoming webhook, as Slack reads it.

The body is JSON (``application/json``) or a form with the JSON in ``payload``
(``application/x-www-form-urlencoded``). Errors are Slack's own codes (:class:`HookRefused`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from hashdesk.integrations.slack import mrkdwn

# The most a request body may hold; Slack's own limit is not published, and 50 blocks of 3,000
# characters fit.
PAYLOAD_MAX_BYTES = 256 * 1024


class HookRefused(Exception):
    """A request refused with Slack's plain-text error ``code`` and HTTP ``status``."""

    def __init__(self, status: int, code: str, *, retry_after: int | None = None) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.retry_after = retry_after


@dataclass(frozen=True)
class SlackMessage:
    """A message as markdown. ``username`` and ``icon_emoji`` are checked and not used: a hook
    speaks as the account an administrator named (docs/integrations/slack.md)."""

    text: str


def _fields(content_type: str, body: bytes) -> dict[str, Any]:
    if content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(body.decode("utf-8"), strict_parsing=False)
        except UnicodeDecodeError:
            raise HookRefused(400, "invalid_payload") from None
        raw = form.get("payload")
        if not raw:
            raise HookRefused(400, "invalid_payload")
        text = raw[0]
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise HookRefused(400, "invalid_payload") from None
    try:
        fields = json.loads(text)
    except ValueError:
        raise HookRefused(400, "invalid_payload") from None
    if not isinstance(fields, dict):
        raise HookRefused(400, "invalid_payload")
    return fields


def _optional_text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise HookRefused(400, "invalid_payload")
    return value


def _maybe_json(value: Any) -> Any:
    """Slack accepts ``blocks`` and ``attachments`` as JSON strings too (form payloads)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def read_message(content_type: str, body: bytes) -> SlackMessage:
    """The message of a request body, or HookRefused (``invalid_payload``, ``no_text``)."""
    if len(body) > PAYLOAD_MAX_BYTES:
        raise HookRefused(413, "request_too_large")
    fields = _fields(content_type, body)
    text = _optional_text(fields, "text")
    _optional_text(fields, "username")
    _optional_text(fields, "icon_emoji")
    markup = fields.get("mrkdwn", True) is not False
    source = text
    if not source.strip():
        source = mrkdwn.blocks_text(_maybe_json(fields.get("blocks")))
    if not source.strip():
        source = mrkdwn.attachments_text(_maybe_json(fields.get("attachments")))
    converted = mrkdwn.to_markdown(source, markup=markup)
    if not converted:
        raise HookRefused(400, "no_text")
    return SlackMessage(text=converted)
