"""/healthz, /readyz and /metrics: what load balancers, orchestrators and Prometheus see."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client, override_settings

from hashdesk.core import outbox
from hashdesk.ops import checks


class _EventServerHealth(BaseHTTPRequestHandler):
    """Answers GET /healthz like the event server (the real one is tested in tests/realtime)."""

    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def event_server_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EventServerHealth)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_healthz_answers_without_touching_the_database(client: Client) -> None:
    # No `db` fixture: any query would raise, so a passing test means none was made.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")
    assert response["X-Request-ID"]


def test_readyz_is_ok_when_database_event_server_and_queue_answer(
    db: Any, client: Client, event_server_port: int
) -> None:
    with override_settings(EVENT_SERVER_HOST="127.0.0.1", EVENT_SERVER_PORT=event_server_port):
        response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "event_server", "queue"}
    assert all(check["ok"] for check in body["checks"].values())
    assert "failing" not in body


def test_readyz_names_an_unreachable_event_server(db: Any, client: Client) -> None:
    from tests.servers import free_port

    with override_settings(EVENT_SERVER_HOST="127.0.0.1", EVENT_SERVER_PORT=free_port()):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["failing"] == ["event_server"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["queue"]["ok"] is True
    assert "refused" in body["checks"]["event_server"]["error"].lower()


def test_readyz_fails_when_the_event_server_reports_trouble(
    db: Any, client: Client, event_server_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_EventServerHealth, "status", 503)
    with override_settings(EVENT_SERVER_HOST="127.0.0.1", EVENT_SERVER_PORT=event_server_port):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["event_server"]


def test_readyz_fails_when_the_database_is_unreachable(
    client: Client, event_server_port: int
) -> None:
    # No `db` fixture: pytest-django refuses database access, as an unreachable database would.
    with override_settings(EVENT_SERVER_HOST="127.0.0.1", EVENT_SERVER_PORT=event_server_port):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]


def test_queue_check_reaches_the_task_storage() -> None:
    # SQLite storage by default, Redis when HASHDESK_REDIS_URL is set: both must answer.
    checks.check_queue()


def test_metrics_are_served_to_loopback(db: Any, client: Client) -> None:
    client.get("/healthz")
    outbox.enqueue("email", {"to": ["a@example.test"], "subject": "s", "text": "t"}, key="m1")
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'hashdesk_http_requests_total{method="GET",route="healthz",status="200"}' in text
    assert 'hashdesk_outbox_messages{status="pending"} 1.0' in text
    assert "hashdesk_outbox_oldest_pending_seconds" in text


@pytest.mark.parametrize("address", ["10.1.2.3", "192.168.0.5", "2001:db8::1", "not-an-ip"])
def test_metrics_are_forbidden_to_other_addresses(client: Client, address: str) -> None:
    response = client.get("/metrics", REMOTE_ADDR=address)
    assert response.status_code == 403
    assert b"hashdesk_" not in response.content


@override_settings(METRICS_ALLOW=["10.0.0.0/8", "192.0.2.7"])
def test_metrics_allow_list_takes_networks_and_addresses(db: Any, client: Client) -> None:
    assert client.get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.8").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_health_endpoints_refuse_writes(client: Client) -> None:
    assert client.post("/healthz").status_code in {403, 405}
