"""Starting Hashdesk processes (web, event server) from a test, on the test's own database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def database_environment() -> dict[str, str]:
    """Variables that point a child process at the database this test is using."""
    config: dict[str, Any] = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"HASHDESK_SQLITE_PATH": str(config["NAME"]), "HASHDESK_DATABASE_URL": ""}
    if connection.vendor == "postgresql":
        user = quote(config.get("USER") or "", safe="")
        password = quote(config.get("PASSWORD") or "", safe="")
        credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = config.get("HOST") or "127.0.0.1"
        port = config.get("PORT") or 5432
        url = f"postgresql://{credentials}{host}:{port}/{config['NAME']}"
        return {"HASHDESK_DATABASE_URL": url}
    raise RuntimeError(f"no child-process set-up for {connection.vendor}")


def child_environment(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "hashdesk.settings",
            "HASHDESK_DATA_DIR": str(settings.DATA_DIR),
            "HASHDESK_LOG_LEVEL": "WARNING",
            "HASHDESK_TASKS_IMMEDIATE": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(database_environment())
    env.update(overrides)
    return env


class ChildProcess:
    """A subprocess whose output is kept in a file, for the failure message if it misbehaves."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self._log: IO[bytes] = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix=f"hashdesk-{name}-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(
            argv, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")[-4000:]

    def wait_for_http(self, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.output()}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # answering at all means it is up
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer {url} in {timeout}s:\n{self.output()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)


def start_event_server(env: dict[str, str]) -> tuple[ChildProcess, int]:
    port = free_port()
    child = ChildProcess(
        f"events-{port}",
        [sys.executable, "-m", "hashdesk.realtime"],
        {**env, "HASHDESK_EVENT_SERVER_PORT": str(port)},
    )
    child.wait_for_http(f"http://127.0.0.1:{port}/healthz")
    return child, port


def start_web(env: dict[str, str]) -> tuple[ChildProcess, int]:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-ws",
        "hashdesk.wsgi:application",
    ]
    child = ChildProcess(f"web-{port}", argv, env)
    child.wait_for_http(f"http://127.0.0.1:{port}/healthz")
    return child, port
