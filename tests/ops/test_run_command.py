"""`hashdesk run` end to end: the real web server, event server and worker as one process tree.

Runs the embedded mode (SQLite in a temporary data directory) on free loopback ports, whatever
database the rest of the suite uses: `hashdesk run` is the single-node command.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.servers import free_port

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc"),
]


ENQUEUE_MAIL = """
import os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "hashdesk.settings"
django.setup()
from django.db import transaction
from hashdesk.core.outbox import enqueue
with transaction.atomic():
    enqueue("email", {"to": ["agent@example.test"], "subject": "Delivered by the worker",
                      "text": "hello"}, key="run-test")
"""


def _environment(data_dir: Path, web_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HASHDESK_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        HASHDESK_DATA_DIR=str(data_dir),
        HASHDESK_WEB_PORT=str(web_port),
        HASHDESK_WEB_WORKERS="1",
        HASHDESK_WEB_THREADS="2",
        HASHDESK_WORKER_THREADS="1",
        HASHDESK_PUBLIC_URL=f"http://127.0.0.1:{web_port}",
        HASHDESK_EVENT_SERVER_PORT=str(free_port()),
        HASHDESK_EVENT_NOTIFY_PORT=str(free_port(socket.SOCK_DGRAM)),
    )
    return env


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _wait_until_ready(process: subprocess.Popen[bytes], base: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        assert process.poll() is None, f"hashdesk run exited early ({process.returncode})"
        try:
            status, body = _get(f"{base}/readyz")
        except OSError as error:  # not listening yet
            last = error
        else:
            last = body
            if status == 200:
                return dict(json.loads(body))
        time.sleep(0.25)
    raise AssertionError(f"not ready in {timeout} s: {last!r}")


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(p) for p in handle.read().split()]


def _command_line(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        return handle.read().decode().split("\0")[:-1]


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] == "Z"
    except FileNotFoundError:
        return True


def _start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hashdesk.cli", "run", "--no-demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_run_serves_everything_and_stops_as_one_tree(tmp_path: Path) -> None:
    web_port = free_port()
    base = f"http://127.0.0.1:{web_port}"
    env = _environment(tmp_path, web_port)

    process = _start(env)
    try:
        readiness = _wait_until_ready(process, base)
        assert set(readiness["checks"]) == {"database", "event_server", "queue"}
        assert _get(f"{base}/healthz")[0] == 200
        metrics_status, metrics = _get(f"{base}/metrics")
        assert metrics_status == 200
        assert b"hashdesk_http_requests_total" in metrics
        children = _children(process.pid)
        assert len(children) == 3  # web, events, worker

        # Another process commits an outbox row; the running worker is woken and delivers it
        # (no SMTP host configured, so mail lands in the data directory's mail folder).
        subprocess.run([sys.executable, "-c", ENQUEUE_MAIL], env=env, check=True, timeout=60)
        deadline = time.monotonic() + 30
        while not list((tmp_path / "mail").glob("*.log")):
            assert time.monotonic() < deadline, "the worker did not deliver the outbox mail"
            time.sleep(0.2)
        (mail,) = (tmp_path / "mail").glob("*.log")
        assert "Subject: Delivered by the worker" in mail.read_text()

        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        output = process.communicate(timeout=60)[0].decode()
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "Press Ctrl-C to stop." in output
    for name in ("web", "events", "worker"):
        assert f"{name} stopped" in output
    assert all(_gone(pid) for pid in children)
    # The whole tree shared one metrics directory, so /metrics adds up every process.
    assert (tmp_path / "metrics").is_dir()

    # Start again on the same data directory, then lose the worker: everything must stop.
    process = _start(env)
    try:
        _wait_until_ready(process, base)
        children = _children(process.pid)
        (worker,) = [pid for pid in children if _command_line(pid)[-1:] == ["worker"]]
        os.kill(worker, signal.SIGKILL)
        output = process.communicate(timeout=60)[0].decode()
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0
    assert "worker exited with status -9; stopping the others" in output
    assert all(_gone(pid) for pid in children)
