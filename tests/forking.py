"""``chatrec`` commands forked from one interpreter that imported them once, for the tests.

``python -m chatrec demo`` spends about 1.2 s of its 1.7 s start importing chatrec and
its libraries and building its command tree (measured on this project's test machine);
the suite starts about a hundred servers and workers, on two cores where that work
waits for the tests' own.  A :class:`Forker` runs this file as a parent process that
imports everything those commands import, builds the command tree once, then forks a
child per start: the child takes the environment, working directory, umask and log the
test gives it and runs the same command as ``python -m chatrec <argv>`` would.  It is a
real process of its own, signalled and killed for real; the parent opens no database,
socket or thread before it forks.  A child's pid is the parent's child, not the test's:
:class:`ForkedProcess` waits for it through the parent, as :class:`subprocess.Popen`
would.

The benchmarks start their servers with ``python -m chatrec`` as deployed, and so do
the tests of the command line itself (``tests.harness.run_chatrec``).

Protocol on the parent's stdin/stdout, one line each way:
``start <json {argv, log, env, cwd, umask}>`` → pid; ``wait <pid> <seconds>`` → the
exit code (negative: the signal), or ``running`` if it still runs after that long.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

PRELOADED = (
    "chatrec.bootstrap",
    "chatrec.cli",
    "chatrec.cli.serving",
    "chatrec.cli.worker",
    "chatrec.delivery.worker",
    "chatrec.demo.company",
    "chatrec.demo.platform",
    "chatrec.live.heap",
    "chatrec.store.migrations",
    "uvicorn",
    "uvicorn.lifespan.on",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.websockets.websockets_sansio_impl",
)
"""What ``chatrec demo``, ``serve`` and ``worker`` import as they start (``-X importtime``)."""


def _run(command: Callable[..., Any], spec: dict[str, Any], out: int) -> None:
    """In the fork: the test's environment, folder, umask and log, then the command;
    never returns."""
    code = 1
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        os.close(null)
        os.environ.clear()
        os.environ.update(spec["env"])
        if spec["cwd"] is not None:
            os.chdir(spec["cwd"])
        if spec["umask"] >= 0:
            os.umask(spec["umask"])
        sys.argv = ["chatrec", *spec["argv"]]
        try:
            command(args=spec["argv"], prog_name="chatrec")
            code = 0
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _status(pid: int, block_seconds: float) -> str:
    """``running``, or the child's exit code as :class:`subprocess.Popen` gives it."""
    deadline = time.monotonic() + block_seconds
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return str(os.waitstatus_to_exitcode(status))
        if time.monotonic() >= deadline:
            return "running"
        time.sleep(0.01)


def serve() -> None:
    """The parent: import once, then answer one line per command until stdin closes."""
    import importlib

    import typer.main

    for module in PRELOADED:
        importlib.import_module(module)
    from chatrec.cli import app

    command = typer.main.get_command(app)
    assert threading.active_count() == 1, "a thread started at import would not be forked"
    # What a started server freezes (chatrec.live.heap) frozen once here: a child's own
    # full collection then walks only what it made, as a server's does after start-up.
    gc.collect()
    gc.freeze()
    print("ready", flush=True)
    for line in sys.stdin:
        verb, _, argument = line.strip().partition(" ")
        if verb == "start":
            spec = json.loads(argument)
            # Opened before the pid is answered, so the test can read it at once.
            out = os.open(spec["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                _run(command, spec, out)
            os.close(out)
            answer = str(pid)
        elif verb == "wait":
            waited, seconds = argument.split()
            answer = _status(int(waited), float(seconds))
        else:
            answer = f"unknown command {verb!r}"
        print(answer, flush=True)


class Forker:
    """The parent process, from the test's side; started at its first :meth:`start`."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def _ask(self, line: str) -> str:
        with self._lock:
            if self.process is None:
                self.process = subprocess.Popen(
                    [sys.executable, str(Path(__file__).resolve())],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                assert self._read() == "ready"
            assert self.process.stdin is not None
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
            return self._read()

    def _read(self) -> str:
        assert self.process is not None
        assert self.process.stdout is not None
        answer = self.process.stdout.readline().strip()
        assert answer, f"the forking parent exited with {self.process.poll()}"
        return answer

    def start(
        self,
        argv: Sequence[str],
        log: Path,
        env: Mapping[str, str],
        cwd: Path | None = None,
        umask: int = -1,
    ) -> ForkedProcess:
        """``chatrec <argv>`` forked, appending to ``log``, with exactly ``env``."""
        spec = {
            "argv": list(argv),
            "log": str(log),
            "env": dict(env),
            "cwd": None if cwd is None else str(cwd),
            "umask": umask,
        }
        return ForkedProcess(self, int(self._ask("start " + json.dumps(spec))))

    def status(self, pid: int, block_seconds: float = 0) -> int | None:
        """The exit code of ``pid`` (negative: the signal), or ``None`` while it runs."""
        answer = self._ask(f"wait {pid} {block_seconds}")
        return None if answer == "running" else int(answer)

    def close(self) -> None:
        """Close its stdin: it exits; its children were stopped or waited for already."""
        with self._lock:
            if self.process is None:
                return
            assert self.process.stdin is not None
            assert self.process.stdout is not None
            self.process.stdin.close()
            self.process.wait(timeout=10)
            self.process.stdout.close()
            self.process = None


class ForkedProcess:
    """A forked child, with the part of :class:`subprocess.Popen` the tests use."""

    def __init__(self, forker: Forker, pid: int) -> None:
        self.forker = forker
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.forker.status(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Its exit code; :class:`subprocess.TimeoutExpired` if it runs past ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            left = 1.0 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(f"chatrec (pid {self.pid})", timeout or 0)
            self.returncode = self.forker.status(self.pid, min(left, 1.0))
        return code

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)


if __name__ == "__main__":
    serve()
