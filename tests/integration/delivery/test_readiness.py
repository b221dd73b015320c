"""At start the server names every platform it cannot reach, before any chat ends (R16)."""

from __future__ import annotations

import time
from pathlib import Path

from chatrec.store.store import Store
from tests.integration.server import SeededDemo, ServerProcess, free_port
from tests.integration.store.factories import destination
from tests.keys import SECRETS


def test_R16_an_unreachable_platform_is_warned_about_at_start(
    database_url: str, tmp_path: Path, seeded_demo: SeededDemo
) -> None:
    if database_url.startswith("sqlite"):  # the demo company seeded already
        database_url = seeded_demo.copy_to(tmp_path / "data", tmp_path / "chatrec.db")
    server = ServerProcess(tmp_path / "data", database_url)
    server.start()  # the demo company, without a platform (seeded here on PostgreSQL)
    server.stop()
    assert "demo records chats but has no recording platform" in server.log_path.read_text()
    closed = free_port()
    store = Store(database_url, secrets=SECRETS)
    try:
        store.set_destination(destination("demo", host="127.0.0.1", port=closed, folder="/nowhere"))
    finally:
        store.close()
    server.start()
    try:
        expected = f"(127.0.0.1:{closed}) failed at 'connect'"
        deadline = time.monotonic() + 10
        while expected not in server.log_path.read_text():
            assert time.monotonic() < deadline, server.log_path.read_text()[-2000:]
            time.sleep(0.02)
    finally:
        server.stop()
