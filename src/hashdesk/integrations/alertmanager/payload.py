"""Reading Alertmanager's webhook payload, version 4.

https://prometheus.io/docs/alerting/latest/configuration/#webhook_config — one notification is
one group (``groupKey``) with its alerts; each alert has a ``fingerprint`` that stays the same
for the same label set, and ``status`` firing or resolved (``endsAt`` in the past).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hashdesk.core.errors import DomainError

VERSION = "4"
STATUSES = ("firing", "resolved")


class MalformedPayload(DomainError):
    """The body is not an Alertmanager v4 notification: 400 problem details."""

    status = 400
    title = "Malformed notification"
    code = "malformed_notification"


@dataclass(frozen=True)
class AlertIn:
    status: str
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    generator_url: str


@dataclass(frozen=True)
class Notification:
    group_key: str
    status: str
    receiver: str
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    external_url: str
    alerts: list[AlertIn]


def _strings(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise MalformedPayload(f"{where} must be an object of strings.", field=where)
    return dict(value)


def _time(value: Any, where: str) -> datetime | None:
    """An RFC 3339 time; Alertmanager writes the zero time for "not set"."""
    if value in (None, "") or (isinstance(value, str) and value.startswith("0001-01-01")):
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"{where} must be an RFC 3339 time.", field=where)
    text = value.replace("Z", "+00:00")
    # Go writes nanoseconds; Python reads at most microseconds.
    if "." in text:
        head, tail = text.split(".", 1)
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = f"{head}.{tail[:digits][:6].ljust(6, '0')}{tail[digits:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedPayload(f"{where} must be an RFC 3339 time.", field=where) from None
    if moment.tzinfo is None:
        raise MalformedPayload(f"{where} needs a time zone.", field=where)
    return moment


def _text(value: Any, where: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise MalformedPayload(f"{where} must be a non-empty string.", field=where)
    return value


def parse(body: bytes) -> Notification:
    """The notification in ``body``, or MalformedPayload naming what is wrong."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedPayload("The body is not JSON.") from None
    if not isinstance(data, dict):
        raise MalformedPayload("The body must be a JSON object.")
    if data.get("version") != VERSION:
        raise MalformedPayload(
            f"Only version {VERSION} of the webhook payload is understood, "
            f"not {data.get('version')!r}.",
            field="version",
        )
    status = data.get("status")
    if status not in STATUSES:
        raise MalformedPayload("status must be firing or resolved.", field="status")
    raw_alerts = data.get("alerts")
    if not isinstance(raw_alerts, list) or not raw_alerts:
        raise MalformedPayload("alerts must be a non-empty list.", field="alerts")
    alerts: list[AlertIn] = []
    for index, raw in enumerate(raw_alerts):
        where = f"alerts[{index}]"
        if not isinstance(raw, dict):
            raise MalformedPayload(f"{where} must be an object.", field=where)
        if raw.get("status") not in STATUSES:
            raise MalformedPayload(
                f"{where}.status must be firing or resolved.", field=f"{where}.status"
            )
        fingerprint = _text(raw.get("fingerprint"), f"{where}.fingerprint")
        if len(fingerprint) > 64:
            raise MalformedPayload(
                f"{where}.fingerprint is too long.", field=f"{where}.fingerprint"
            )
        alerts.append(
            AlertIn(
                status=raw["status"],
                fingerprint=fingerprint,
                labels=_strings(raw.get("labels"), f"{where}.labels"),
                annotations=_strings(raw.get("annotations"), f"{where}.annotations"),
                starts_at=_time(raw.get("startsAt"), f"{where}.startsAt"),
                ends_at=_time(raw.get("endsAt"), f"{where}.endsAt"),
                generator_url=_text(
                    raw.get("generatorURL"), f"{where}.generatorURL", required=False
                ),
            )
        )
    group_key = _text(data.get("groupKey"), "groupKey")
    if len(group_key) > 1000:
        raise MalformedPayload("groupKey is too long.", field="groupKey")
    return Notification(
        group_key=group_key,
        status=status,
        receiver=_text(data.get("receiver"), "receiver", required=False),
        group_labels=_strings(data.get("groupLabels"), "groupLabels"),
        common_labels=_strings(data.get("commonLabels"), "commonLabels"),
        common_annotations=_strings(data.get("commonAnnotations"), "commonAnnotations"),
        external_url=_text(data.get("externalURL"), "externalURL", required=False),
        alerts=alerts,
    )
