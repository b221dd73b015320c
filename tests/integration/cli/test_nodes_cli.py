"""`chatrec nodes`, and one server at a time on a SQLite database (R20).

Real processes: a second `chatrec serve` on the first one's SQLite file must end at once,
saying what to do, and touch nothing; `chatrec nodes` lists the live one.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.harness import run_chatrec
from tests.integration.server import SeededDemo, ServerProcess


def test_R20_a_second_server_on_one_sqlite_file_is_refused_and_nodes_lists_the_first(
    tmp_path: Path, seeded_demo: SeededDemo
) -> None:
    url = seeded_demo.copy_to(tmp_path / "data", tmp_path / "chatrec.db")
    first = ServerProcess(tmp_path / "data", url)
    first.start()
    try:
        # One server alone: its notices stay in process.
        health = httpx.get(f"{first.url}/api/health", timeout=5).json()
        assert health == {"status": "ok", "database": "ok", "notices": "in process"}
        listed = run_chatrec("nodes", "--database-url", url)
        assert listed.returncode == 0, listed.stderr
        assert f" {first.process.pid} " in listed.stdout  # type: ignore[union-attr]

        second = run_chatrec("serve", "--database-url", url, "--data-dir", str(tmp_path / "two"))
        assert second.returncode == 1
        assert f"another chatrec server (process {first.process.pid} " in second.stderr  # type: ignore[union-attr]
        assert "PostgreSQL" in second.stderr
        assert first.process.poll() is None  # type: ignore[union-attr]
    finally:
        first.stop()
    # A clean stop leaves at once: no lease to wait for.
    assert (
        "no server is serving this database now"
        in run_chatrec("nodes", "--database-url", url).stdout
    )
