"""A server (or a worker) in a child process, for the tests and the benchmarks alike.

One launcher for every place that runs ``chatrec`` beside itself: the live tests'
:class:`tests.integration.server.ServerProcess`, the benchmarks' servers and workers.
A :class:`ChildServer` listens on a loopback port (a free one unless given), logs to a
file, and is ready once it answers ``/api/health`` (or, for a server that has no such
route, accepts a connection); it stops with a signal and a grace period, then SIGKILL.
In the tests a ``python -m chatrec`` child is forked from an interpreter that imported
chatrec once (:mod:`tests.forking`, switched on by the tests' conftest); the benchmarks
start theirs as deployed.

It lives with the tests, not in ``src``: nothing chatrec ships starts a server of its
own (``chatrec simulate`` drives one that is already running), and the benchmarks
already import the tests' helpers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import httpx

from chatrec.demo.sshd import LOOPBACK, free_port
from tests.forking import Forker

LOG_TAIL = 10_000
"""How much of a child's log (its end) a failure to start quotes."""
KILL_WAIT = 10.0
CHATREC = (sys.executable, "-m", "chatrec")
"""How a child runs ``chatrec``: as deployed, the module of this interpreter."""


class Running(Protocol):
    """A started child: a :class:`subprocess.Popen` or a forked one."""

    pid: int
    returncode: int | None

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, signum: int) -> None: ...


_forker: Forker | None = None


def fork_chatrec_from(forker: Forker | None) -> None:
    """From now on, start ``python -m chatrec`` children as forks of ``forker`` (the
    tests' conftest does, :mod:`tests.forking`), or as new interpreters (``None``)."""
    global _forker
    _forker = forker


@dataclass
class ChildProcess:
    """A command run beside this process, its output appended to ``log_path``."""

    command: Sequence[str]
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    """On top of this process's environment."""
    cwd: Path | None = None
    umask: int = -1  # -1: this process's own
    preexec_fn: Callable[[], None] | None = None
    stop_signal: int = signal.SIGTERM
    stop_grace: float = 15.0
    """Seconds :meth:`stop` waits after ``stop_signal`` before SIGKILL."""
    fork: bool = True
    """May a ``python -m chatrec`` command be forked (see :func:`fork_chatrec_from`)?"""
    process: Running | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = tuple(self.command)
        if self.fork and _forker is not None and command[:3] == CHATREC and self.preexec_fn is None:
            env = {**os.environ, **self.env}
            self.process = _forker.start(command[3:], self.log_path, env, self.cwd, self.umask)
            return
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                list(self.command),
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
                cwd=self.cwd,
                umask=self.umask,
                preexec_fn=self.preexec_fn,
            )

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-LOG_TAIL:]
        return ""

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as in a crash."""
        if self.running:
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(KILL_WAIT)

    def stop(self) -> None:
        """``stop_signal``, then SIGKILL if it has not exited within ``stop_grace`` s."""
        if self.running:
            assert self.process is not None
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(self.stop_grace)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class ChildServer(ChildProcess):
    """A server in a child process, listening on ``port`` of the loopback."""

    port: int = field(default_factory=free_port)
    ready: Literal["health", "listening"] = "health"
    """What :meth:`start` waits for: ``/api/health`` to answer 200, or a connection."""

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 30) -> None:
        """Start it and wait until it is ready; its log's end if it dies or is late."""
        self.spawn()
        self.wait_ready(timeout)

    def restart(self, timeout: float = 30) -> None:
        """Stop it (gracefully, as :meth:`stop`) and start it again on the same port."""
        self.stop()
        self.start(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"server exited early:\n{self.log_tail()}")
            if self._answers():
                return
            time.sleep(0.1)
        raise RuntimeError(f"server did not start in {timeout} s:\n{self.log_tail()}")

    def _answers(self) -> bool:
        if self.ready == "listening":
            with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, self.port), 1):
                return True
            return False
        try:
            return httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


def run_chatrec(
    *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """One ``chatrec`` command to its end, as a person types it; ``env`` on top of ours."""
    return subprocess.run(
        [sys.executable, "-m", "chatrec", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )
