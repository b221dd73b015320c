"""Real ``chatrec worker`` processes forked from one interpreter that imported them once.

A test that SIGKILLs a worker 20 times paid ``python -m chatrec worker``'s imports
(1.5-3 s on a busy machine) per kill.  :class:`Preforker` runs this file as a parent
process that imports the command line and the worker's modules once, then forks a child
per start: the child runs the same Typer command with the same arguments and
environment, writes to its own log, and is a process of its own that the test kills
with a real SIGKILL.  The parent opens no database, socket or thread before it forks.

Protocol on the parent's stdin/stdout, one line each way:
``start <json [argv, log path]>`` → pid; ``poll <pid>`` → ``running`` or the exit code;
``wait <pid> <seconds>`` → the exit code (negative: the signal) or ``running``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def _child(argv: list[str], out: int) -> None:
    """In the fork: ``out`` as stdout and stderr, no stdin, then the command; never returns."""
    code = 1
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        os.close(null)
        from chatrec.cli import app

        sys.argv = ["chatrec", *argv]
        try:
            app(prog_name="chatrec", args=argv)
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
    import chatrec.bootstrap  # what each worker imports as it starts
    import chatrec.cli  # noqa: F401

    print("ready", flush=True)
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "start":
            argv, log = json.loads(argument)
            # Created before the pid is answered, so the test can read it at once.
            out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                _child(argv, out)
            os.close(out)
            answer = str(pid)
        elif command == "poll":
            answer = _status(int(argument), 0)
        elif command == "wait":
            waited, seconds = argument.split()
            answer = _status(int(waited), float(seconds))
        else:
            answer = f"unknown command {command!r}"
        print(answer, flush=True)


class Preforker:
    """The parent process, from the test's side: start, poll and wait for forked workers."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert self._ask(None) == "ready"

    def _ask(self, line: str | None) -> str:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        if line is not None:
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        assert answer, f"the preforking parent exited with {self.process.poll()}"
        return answer

    def start(self, argv: list[str], log: Path) -> int:
        """A forked ``chatrec <argv>`` writing to ``log``; its pid."""
        return int(self._ask("start " + json.dumps([argv, str(log)])))

    def poll(self, pid: int) -> int | None:
        answer = self._ask(f"poll {pid}")
        return None if answer == "running" else int(answer)

    def wait(self, pid: int, timeout: float) -> int:
        answer = self._ask(f"wait {pid} {timeout}")
        assert answer != "running", f"worker {pid} still runs after {timeout} s"
        return int(answer)

    def close(self) -> None:
        """Close its stdin: it exits; its children were killed or waited for already."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)
        self.process.stdout.close()


if __name__ == "__main__":
    serve()
