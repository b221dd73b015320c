"""``chatrec simulate`` against a real server, on SQLite and PostgreSQL.

The load generator runs as a user runs it (a subprocess with ``--json``); the test
checks its summary, then asks the server, through the R14 explanation API, whether
each chat produced recordings exactly when the rules say it should.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from chatrec.cli import app
from chatrec.simulate.plan import Options, plan_chats
from tests.integration.live.test_live_recording import recorded
from tests.integration.server import SeededDemo, ServerProcess

pytestmark = pytest.mark.long  # tens of seconds: handed out first (tests/conftest.py)

CHATS = 20


@pytest.fixture
def server(database_url: str, tmp_path: Path, seeded_demo: SeededDemo) -> Iterator[ServerProcess]:
    if database_url.startswith("sqlite"):  # the demo seeded already, logins and all
        database_url = seeded_demo.copy_to(tmp_path / "data", tmp_path / "chatrec.db")
    process = ServerProcess(tmp_path / "data", database_url)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def simulate(server: ServerProcess, *options: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "chatrec",
        "simulate",
        "--url",
        server.url,
        "--data-dir",
        str(server.data_dir),
        *options,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def should_record(result: dict[str, Any]) -> bool:
    """Alice and Carol permit recordings, and every demo flow records (R5b): only the
    agent's Delete (R12b) and a declined consent with discard (R12c) suppress."""
    return not result["delete_pressed"] and result["consent"] != "no"


def test_simulate_drives_every_action_and_recordings_follow_the_rules(
    server: ServerProcess,
) -> None:
    done = simulate(
        server,
        *("--chats", str(CHATS), "--concurrency", "5", "--messages", "4", "--seed", "7"),
        *("--service", "demo-support,demo-sales", "--agents", "alice,carol"),
        *("--pause-share", "0.3", "--transfer-share", "0.2", "--delete-share", "0.2"),
        *("--consent-no-share", "0.4", "--json"),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)

    assert summary["chats_started"] == summary["chats_ended"] == CHATS
    assert summary["errors"] == {}
    assert summary["messages_acked"] == summary["messages_sent"] > CHATS * 4
    actions = summary["actions"]
    for action in ("pause", "resume", "transfer", "request_deletion", "delete_recording", "end"):
        assert actions.get(action, 0) >= 1, actions
    assert summary["send_to_ack"]["count"] > 0
    assert summary["customer_to_agent"]["count"] == CHATS * 4
    results = summary["results"]
    assert {r["consent"] for r in results} == {None, "yes", "no"}
    assert {r["ended_by"] for r in results} == {"customer", "agent"}

    token = server.token("sam")
    for result in results:
        response = httpx.get(
            f"{server.url}/api/chats/{result['chat_id']}/explanation",
            headers={"Authorization": f"Bearer {token}"},
        )
        response.raise_for_status()
        explanation = response.json()
        assert explanation["status"] == "ended"
        produced = [r for r in explanation["recordings"] if r["outcome"] == "produced"]
        assert bool(produced) == should_record(result), (result, explanation)
        assert bool(recorded(server, result["chat_id"])) == should_record(result), result


def test_simulate_reports_a_missing_password_without_a_traceback(tmp_path: Path) -> None:
    idle = ServerProcess(tmp_path, "sqlite://")  # never started: no request is made
    # In process: the test above runs the installed command as a process.
    done = CliRunner().invoke(
        app,
        [
            *("simulate", "--url", idle.url, "--data-dir", str(idle.data_dir)),
            *("--agents", "nobody", "--chats", "1"),
        ],
    )
    assert done.exit_code == 2
    assert "no password for nobody" in done.stderr
    assert "Traceback" not in done.stderr


def test_plans_follow_the_seed_and_the_shares_exactly() -> None:
    options = Options(chats=40, services=("demo-support", "demo-sales"), pause_share=0.25, seed=3)
    plans = plan_chats(options)
    assert plans == plan_chats(options)
    assert plans != plan_chats(replace(options, seed=4))
    assert sum(p.pause_at is not None for p in plans) == 10
    sales = [p for p in plans if p.service_id == "demo-sales"]
    assert sum(p.consent_no for p in sales) == round(0.2 * len(sales))
