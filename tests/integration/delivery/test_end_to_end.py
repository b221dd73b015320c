"""Chats through the live server land on the demo platform's real sshd (R15, R16, R17).

The server runs `chatrec demo` with its local recording platform (OpenSSH sshd when
installed); what the tests read is the platform's folder, as a QA system would.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.clients import run
from tests.integration.live.test_live_recording import SECRET, queued_to
from tests.integration.server import ServerProcess


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "data", database_url, platform=True)
    process.start()
    try:
        yield process
    finally:
        process.stop()
        process.stop_platform()


def landed(server: ServerProcess, chat_id: str, count: int, timeout: float = 60) -> list[Path]:
    """The chat's files on the platform once ``count`` of them are there (no .part)."""
    folder = server.data_dir / "platform"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p for p in folder.rglob("*") if p.is_file() and chat_id in p.name]
        if len(found) >= count:
            return sorted(found)
        time.sleep(0.2)
    raise AssertionError(f"only {sorted(folder.rglob('*'))} arrived for {chat_id}")


def test_R16_a_chat_s_recordings_arrive_complete_with_matching_sidecars(
    server: ServerProcess,
) -> None:
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        chat["id"] = chat_id
        await customer.ok({"type": "message", "text": "Hello, I have a question."})
        await alice.ok({"type": "pause", "chat_id": chat_id})
        await customer.ok({"type": "message", "text": f"card {SECRET}"})
        await alice.ok({"type": "resume", "chat_id": chat_id})
        await customer.ok({"type": "end"})
        await alice.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    # Two recordings (flow and Alice's), four formats and a sidecar each.
    files = landed(server, chat["id"], 10)
    assert not [p for p in files if p.name.endswith(".part")]
    sidecars = [p for p in files if p.name.endswith(".meta.json")]
    assert len(sidecars) == 2
    for sidecar in sidecars:
        meta = json.loads(sidecar.read_bytes())
        for entry in meta["files"]:
            delivered = sidecar.parent / entry["name"]
            content = delivered.read_bytes()
            assert len(content) == entry["size"]
            assert hashlib.sha256(content).hexdigest() == entry["sha256"]
            assert SECRET.encode() not in content  # R8
    # The spool is emptied only after delivery is confirmed (R16).
    spool = server.data_dir / "spool" / chat["id"]
    deadline = time.monotonic() + 30
    while spool.exists() and any(p.is_file() for p in spool.rglob("*")):
        assert time.monotonic() < deadline, "spool was not cleaned after delivery"
        time.sleep(0.2)
    token = server.token("ada")
    listed = httpx.get(
        f"{server.url}/api/deliveries?state=delivered",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert len([d for d in listed if d["chat_id"] == chat["id"]]) == 10


def test_stopping_the_demo_stops_its_platform_too(tmp_path: Path) -> None:
    """SIGTERM ends `chatrec demo` and the sshd it started: nothing is left listening."""
    server = ServerProcess(tmp_path / "data", f"sqlite:///{tmp_path / 'chatrec.db'}", platform=True)
    server.start()
    pid_file = server.data_dir / "platform-run" / "sshd.pid"
    try:
        sshd = int(pid_file.read_text().strip())
        server.stop()
        assert server.process is not None
        assert server.process.returncode == 128 + 15  # as a death by SIGTERM would say
        deadline = time.monotonic() + 10
        while Path(f"/proc/{sshd}").exists() and "zombie" not in _state(sshd):
            assert time.monotonic() < deadline, "the platform's sshd outlived the demo"
            time.sleep(0.1)
    finally:
        server.stop()
        server.stop_platform()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"
