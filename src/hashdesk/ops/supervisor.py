"""A small process supervisor: ``hashdesk run`` starts web, event server and worker as one tree.

The rules are those of a good foreman: start every child; when asked to stop (Ctrl-C, SIGTERM)
pass the request on, wait a while, then insist (SIGKILL); when one child dies on its own, stop
the others and report failure, because half an installation is worse than none — a web server
without its worker would accept changes whose mail is never sent.

Children run in their own process group, so a terminal's Ctrl-C reaches only the supervisor,
which then sends each child its own graceful-stop signal exactly once. On Linux each child also
asks the kernel to SIGTERM it if the supervisor itself is killed, so nothing is left orphaned.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType

# How often the supervisor looks at its children while everything is running.
POLL_SECONDS = 0.2
_PR_SET_PDEATHSIG = 1


@dataclass
class ChildSpec:
    """One program to run: its name in messages, its command line and how to stop it."""

    name: str
    argv: Sequence[str]
    # The signal that asks this program to finish its current work and exit.
    stop_signal: signal.Signals = signal.SIGTERM
    env: Mapping[str, str] = field(default_factory=dict)


def _parent_death_signal() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGTERM the child when the supervisor dies.

    The C library is loaded here, in the parent: between fork and exec only async-signal-safe
    work may happen, so the hook itself does nothing but one system call.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


class Supervisor:
    def __init__(
        self,
        children: Sequence[ChildSpec],
        *,
        stop_timeout: float = 15.0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.specs = list(children)
        self.stop_timeout = stop_timeout
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._stop_requested: signal.Signals | None = None

    # --- signals ---------------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self._stop_requested is None:
            self._stop_requested = signal.Signals(signum)

    def _install_signal_handlers(self) -> dict[int, object]:
        previous: dict[int, object] = {}
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            previous[signum] = signal.signal(signum, self._on_signal)
        return previous

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        pre_exec = _parent_death_signal()
        for spec in self.specs:
            env = {**os.environ, **spec.env}
            process = subprocess.Popen(  # noqa: S603 - argv built by us, no shell
                list(spec.argv),
                env=env,
                start_new_session=True,
                preexec_fn=pre_exec,
            )
            self.processes[spec.name] = process
            self.log(f"started {spec.name} (pid {process.pid})")

    def _first_exited(self) -> tuple[str, int] | None:
        for name, process in self.processes.items():
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def stop_all(self) -> None:
        """Ask every running child to stop, wait up to ``stop_timeout``, then kill the rest."""
        for spec in self.specs:
            process = self.processes.get(spec.name)
            if process is not None and process.poll() is None:
                # It may have exited since poll(): nothing to stop then.
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(spec.stop_signal)
        deadline = time.monotonic() + self.stop_timeout
        for name, process in self.processes.items():
            remaining = max(0.0, deadline - time.monotonic())
            try:
                process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                self.log(f"{name} did not stop within {self.stop_timeout:g} s; killing it")
                process.kill()
                process.wait()

    def run(self) -> int:
        """Start everything and supervise until a signal or a child's death; return exit code."""
        previous = self._install_signal_handlers()
        try:
            self.start()
            failure: tuple[str, int] | None = None
            while self._stop_requested is None:
                failure = self._first_exited()
                if failure is not None:
                    break
                time.sleep(POLL_SECONDS)
            if failure is not None:
                name, code = failure
                self.log(f"{name} exited with status {code}; stopping the others")
            else:
                assert self._stop_requested is not None
                self.log(f"received {self._stop_requested.name}; stopping")
            self.stop_all()
            for name, process in self.processes.items():
                self.log(f"{name} stopped (status {process.returncode})")
            if failure is not None:
                return failure[1] or 1
            return 0
        finally:
            # A failure while starting must not leave the already started children behind.
            if any(p.poll() is None for p in self.processes.values()):
                self.stop_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)  # type: ignore[arg-type]
