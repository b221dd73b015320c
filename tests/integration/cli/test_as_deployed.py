"""The server as ``make run`` starts it: ``python -m chatrec demo``, a new interpreter.

Every other server and worker the tests start is a fork of one interpreter that
imported chatrec once (:mod:`tests.forking`); this one imports everything itself, as
deployed, so what only a fresh interpreter meets (the entry point, warnings raised at
import, the start-up banner) is met here.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from chatrec.demo.sshd import free_port
from tests.harness import CHATREC, ChildServer
from tests.integration.server import SeededDemo


def test_the_demo_as_deployed_starts_in_a_new_interpreter_and_warns_of_nothing(
    tmp_path: Path, seeded_demo: SeededDemo
) -> None:
    url = seeded_demo.copy_to(tmp_path / "data", tmp_path / "chatrec.db")
    port = free_port()
    argv = ["demo", "--port", str(port), "--data-dir", str(tmp_path / "data"),
            "--database-url", url, "--no-platform"]  # fmt: skip
    server = ChildServer([*CHATREC, *argv], tmp_path / "server.log", port=port, fork=False)
    server.start()
    try:
        assert isinstance(server.process, subprocess.Popen)  # not a fork
        assert httpx.get(f"{server.url}/api/health", timeout=5).json()["status"] == "ok"
    finally:
        server.stop()
    log = server.log_path.read_text()
    assert f"chatrec demo on http://127.0.0.1:{port}" in log
    assert "demo-logins.json" in log  # the logins, printed on start
    assert "ada " in log
    assert "Warning" not in log, log
    assert "Traceback" not in log, log
    assert server.process.returncode == 128 + 15, log  # stopped cleanly, as SIGTERM says
