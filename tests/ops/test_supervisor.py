"""The process supervisor behind `hashdesk run`, with small real child processes.

The supervisor runs in its own process (signal handlers belong to a main thread), started
by a short driver script; its children are Python one-liners that record what happened to
them in files.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    name, folder, behaviour = sys.argv[1], sys.argv[2], sys.argv[3]
    def mark(what):
        with open(os.path.join(folder, name + "." + what), "w") as handle:
            handle.write(str(os.getpid()))
    def on_term(signum, frame):
        mark("stopped")
        sys.exit(0)
    if behaviour == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, on_term)
    mark("started")
    if behaviour.startswith("exit-"):
        time.sleep(0.3)
        sys.exit(int(behaviour[5:]))
    while True:
        time.sleep(0.05)
    """
)

DRIVER = textwrap.dedent(
    """
    import sys
    from hashdesk.ops.supervisor import ChildSpec, Supervisor
    folder, stop_timeout, *children = sys.argv[1:]
    specs = [
        ChildSpec(name, [sys.executable, "-c", {child!r}, name, folder, behaviour])
        for name, behaviour in (c.split(":") for c in children)
    ]
    sys.exit(Supervisor(specs, stop_timeout=float(stop_timeout)).run())
    """
).format(child=CHILD)


def _start(folder: Path, *children: str, stop_timeout: float = 5.0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(folder), str(stop_timeout), *children],
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} did not appear")
        time.sleep(0.05)
    return int(path.read_text())


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_stops_every_child_gracefully(tmp_path: Path, stop: signal.Signals) -> None:
    supervisor = _start(tmp_path, "web:serve", "worker:serve")
    pids = [_wait_for(tmp_path / f"{name}.started") for name in ("web", "worker")]
    supervisor.send_signal(stop)
    _out, err = supervisor.communicate(timeout=30)
    assert supervisor.returncode == 0
    assert f"received {stop.name}; stopping" in err
    for name, pid in zip(("web", "worker"), pids, strict=True):
        assert _wait_for(tmp_path / f"{name}.stopped") == pid
        assert _gone(pid)


def test_when_one_child_dies_the_others_are_stopped_and_the_exit_is_non_zero(
    tmp_path: Path,
) -> None:
    supervisor = _start(tmp_path, "web:serve", "worker:exit-3")
    web = _wait_for(tmp_path / "web.started")
    _out, err = supervisor.communicate(timeout=30)
    assert supervisor.returncode == 3
    assert "worker exited with status 3; stopping the others" in err
    assert _wait_for(tmp_path / "web.stopped") == web
    assert _gone(web)


def test_a_child_that_exits_cleanly_on_its_own_is_still_a_failure(tmp_path: Path) -> None:
    supervisor = _start(tmp_path, "web:serve", "events:exit-0")
    supervisor.communicate(timeout=30)
    assert supervisor.returncode == 1


def test_a_child_ignoring_the_stop_signal_is_killed_after_the_timeout(tmp_path: Path) -> None:
    supervisor = _start(tmp_path, "web:serve", "worker:stubborn", stop_timeout=1.0)
    stubborn = _wait_for(tmp_path / "worker.started")
    _wait_for(tmp_path / "web.started")
    started = time.monotonic()
    supervisor.send_signal(signal.SIGINT)
    _out, err = supervisor.communicate(timeout=30)
    assert supervisor.returncode == 0
    assert "worker did not stop within 1 s; killing it" in err
    assert time.monotonic() - started < 10
    assert _gone(stubborn)
    assert not (tmp_path / "worker.stopped").exists()


def test_children_do_not_outlive_a_killed_supervisor(tmp_path: Path) -> None:
    supervisor = _start(tmp_path, "web:serve", "worker:serve")
    pids = [_wait_for(tmp_path / f"{name}.started") for name in ("web", "worker")]
    os.kill(supervisor.pid, signal.SIGKILL)
    supervisor.communicate(timeout=30)
    for pid in pids:
        assert _gone(pid), f"child {pid} survived its supervisor"
