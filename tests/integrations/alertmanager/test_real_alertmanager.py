"""Story 9 with the real Prometheus Alertmanager: an alert pushed to it for the VPN opens an
incident in Hashdesk (a granian web process on the test database), and resolving it in
Alertmanager resolves the incident.

Without /usr/bin/prometheus-alertmanager the test is skipped, unless
``HASHDESK_TEST_ALERTMANAGER=1`` requires it (CI), where a missing binary fails it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hashdesk.catalog.models import Service
from hashdesk.incidents.choices import Channel, State
from hashdesk.incidents.models import Incident
from hashdesk.integrations.alertmanager.models import AlertNotification
from tests.realtime import processes

BINARY = Path("/usr/bin/prometheus-alertmanager")

pytestmark = pytest.mark.django_db(transaction=True)

CONFIG = """
route:
  receiver: hashdesk
  group_by: ['alertname', 'service']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 4h
receivers:
  - name: hashdesk
    webhook_configs:
      - url: {url}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"""


@pytest.fixture
def alertmanager_binary() -> Path:
    if not BINARY.exists():
        message = f"{BINARY} is not installed (apt-get install prometheus-alertmanager)"
        if os.environ.get("HASHDESK_TEST_ALERTMANAGER") == "1":
            pytest.fail(
                f"Alertmanager tests are required (HASHDESK_TEST_ALERTMANAGER=1): {message}"
            )
        pytest.skip(message)
    return BINARY


@pytest.fixture
def web_port() -> Iterator[int]:
    child, port = processes.start_web(processes.child_environment())
    try:
        yield port
    finally:
        child.stop()


def _start_alertmanager(binary: Path, config: str, workdir: Path) -> tuple[Any, int]:
    (workdir / "alertmanager.yml").write_text(config)
    port = processes.free_port()
    log = (workdir / "alertmanager.log").open("wb")
    process = subprocess.Popen(
        [
            str(binary),
            f"--config.file={workdir / 'alertmanager.yml'}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((workdir / "alertmanager.log").read_text()[-3000:])
        try:
            if httpx.get(f"http://127.0.0.1:{port}/-/ready", timeout=1).status_code == 200:
                return process, port
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("Alertmanager did not become ready in 30 s")


def _wait_for(condition: Callable[[], Any], what: str, workdir: Path, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    log = (workdir / "alertmanager.log").read_text()[-3000:]
    raise AssertionError(f"timed out waiting for {what}; Alertmanager said:\n{log}")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_an_alert_in_alertmanager_opens_and_resolves_the_vpn_incident(
    alertmanager_binary: Path,
    web_port: int,
    make_receiver: Any,
    vpn_service: Service,
) -> None:
    receiver, token = make_receiver("Production Prometheus", human_gate=False)
    workdir = Path(tempfile.mkdtemp(prefix="hashdesk-alertmanager-"))
    url = f"http://127.0.0.1:{web_port}/integrations/alertmanager/{receiver.slug}/"
    process, port = _start_alertmanager(
        alertmanager_binary, CONFIG.format(url=url, token=token), workdir
    )
    try:
        api = f"http://127.0.0.1:{port}/api/v2/alerts"
        now = datetime.now(UTC)
        alert = {
            "labels": {
                "alertname": "VPNConcentratorDown",
                "service": "vpn",
                "severity": "critical",
                "instance": "vpn-gw-1",
            },
            "annotations": {"summary": "VPN concentrator vpn-gw-1 is down"},
            "generatorURL": "http://prometheus.example.test/graph",
            "startsAt": _iso(now - timedelta(minutes=1)),
            "endsAt": _iso(now + timedelta(hours=1)),
        }
        assert httpx.post(api, json=[alert], timeout=10).status_code == 200

        incident = _wait_for(
            lambda: Incident.objects.filter(source=Channel.ALERT).first(),
            "the incident to open",
            workdir,
        )
        assert incident.service == vpn_service
        assert incident.title == "VPN concentrator vpn-gw-1 is down"
        assert incident.priority == 1
        assert incident.visibility == "public"  # gate off

        resolved = {**alert, "endsAt": _iso(datetime.now(UTC) - timedelta(seconds=1))}
        assert httpx.post(api, json=[resolved], timeout=10).status_code == 200
        _wait_for(
            lambda: AlertNotification.objects.filter(outcome="resolved").exists(),
            "the incident to resolve",
            workdir,
        )
        incident.refresh_from_db()
        assert incident.state == State.RESOLVED
        outcomes = list(
            AlertNotification.objects.filter(receiver=receiver)
            .order_by("id")
            .values_list("outcome", flat=True)
        )
        assert outcomes[0] == "opened" and outcomes[-1] == "resolved"
        assert Incident.objects.count() == 1
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        shutil.rmtree(workdir, ignore_errors=True)
