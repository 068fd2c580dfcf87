"""Receivers, real-shaped Alertmanager v4 payloads and a poster for the webhook."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.integrations.alertmanager import actions
from hashdesk.integrations.alertmanager.models import AlertReceiver

GROUP_KEY = '{}/{}:{alertname="VPNDown"}'


def alert(
    fingerprint: str,
    *,
    status: str = "firing",
    name: str = "VPNDown",
    service: str = "vpn",
    severity: str = "critical",
    instance: str = "vpn-1",
) -> dict[str, Any]:
    labels = {"alertname": name, "instance": instance, "severity": severity}
    if service:
        labels["service"] = service
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": f"{name} on {instance}"},
        "startsAt": "2026-11-29T06:00:00.123456789Z",
        "endsAt": "2026-11-29T06:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.test/graph?g0.expr=up",
        "fingerprint": fingerprint,
    }


def notification(
    alerts: list[dict[str, Any]], *, group_key: str = GROUP_KEY, **extra: Any
) -> dict[str, Any]:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    common = dict(alerts[0]["labels"]) if len(alerts) == 1 else {}
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "hashdesk",
        "groupLabels": {"alertname": alerts[0]["labels"]["alertname"]},
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.test:9093",
        "alerts": alerts,
        **extra,
    }


@pytest.fixture
def make_receiver(administrator: User) -> Callable[..., tuple[AlertReceiver, str]]:
    def make(name: str = "Prometheus", **fields: Any) -> tuple[AlertReceiver, str]:
        return actions.do_create_receiver(administrator, name=name, **fields)

    return make


@pytest.fixture
def receiver(
    make_receiver: Callable[..., tuple[AlertReceiver, str]], vpn_service: Service
) -> tuple[AlertReceiver, str]:
    return make_receiver(human_gate=True)


@pytest.fixture
def post(client: Client) -> Callable[..., Any]:
    def send(token: str | None, payload: Any, *, path: str = "/integrations/alertmanager/") -> Any:
        body = payload if isinstance(payload, bytes | str) else json.dumps(payload)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
        return client.post(path, body, content_type="application/json", **headers)

    return send
