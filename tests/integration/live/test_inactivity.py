"""A chat nobody writes in ends by itself, and is decided like any other (R12-R14)."""

from __future__ import annotations

from pathlib import Path

from tests.integration.clients import run
from tests.integration.live.test_live_recording import explanation, queued_to, recorded
from tests.integration.server import SeededDemo, ServerProcess


def test_an_idle_chat_ends_after_the_inactivity_timeout(
    database_url: str, tmp_path: Path, seeded_demo: SeededDemo
) -> None:
    """Its own server: a timeout this short would end the chats of a shared one's tests.
    The sweep looks often, so the chat ends soon after the timeout."""
    if database_url.startswith("sqlite"):
        database_url = seeded_demo.copy_to(tmp_path / "data", tmp_path / "chatrec.db")
    server = ServerProcess(
        tmp_path / "data",
        database_url,
        env={"CHATREC_INACTIVITY_TIMEOUT_SECONDS": "2", "CHATREC_SWEEP_INTERVAL_SECONDS": "0.1"},
    )
    server.start()
    chat: dict[str, str] = {}
    try:

        async def scenario() -> None:
            customer, _, chat_id = await queued_to(server, "alice")
            chat["id"] = chat_id
            ended = await customer.event(chat_id, lambda e: e["type"] == "ended")
            assert ended["reason"] == "inactivity timeout"

        run(scenario)
        assert recorded(server, chat["id"])  # recorded as usual (R5)
        assert explanation(server, chat["id"])["status"] == "ended"
    finally:
        server.stop()
