"""An agent's history (R23): the ended chats they took part in, read-only, as staff saw
them, until retention purges the texts (R17); nobody else's (R18).  Real server, real
sockets, SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from chatrec.store.store import Store
from tests.integration.clients import run
from tests.integration.live.test_live_recording import available, queued_to
from tests.integration.tenant import Tenant
from tests.keys import SECRETS


@pytest.fixture
def server(tenant: Tenant) -> Tenant:
    """A company of the test's own on the module's server (one per database)."""
    return tenant


def get(server: Tenant, login: str, path: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}{path}", headers={"Authorization": f"Bearer {server.token(login)}"}
    )


def history(server: Tenant, login: str) -> list[dict[str, Any]]:
    answer = get(server, login, "/api/me/history")
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def test_R23_R18_R17_each_agent_reads_the_ended_chats_they_took_part_in(server: Tenant) -> None:
    chats: dict[str, str] = {}

    async def scenario() -> None:
        customer, alice, ended = await queued_to(server, "alice")
        chats["ended"] = ended
        carol = await available(server, "carol")
        await alice.ok({"type": "message", "chat_id": ended, "text": "Passing you to Carol."})
        carol_id = server.id("demo-carol")
        handover = {"type": "transfer", "chat_id": ended, "to_agent": carol_id, "note": "VIP"}
        await alice.ok(handover)
        await carol.state(ended, lambda c: c["status"] == "active")
        await carol.ok({"type": "end", "chat_id": ended})
        await customer.state(ended, lambda c: c["status"] == "ended")
        await carol.ok({"type": "presence", "available": False})
        _, _, still_open = await queued_to(server, "alice")
        chats["open"] = still_open

    run(scenario)
    ended, still_open = chats["ended"], chats["open"]
    for login in ("alice", "carol"):  # assigned, and transferred to
        assert [item["chat_id"] for item in history(server, login)] == [ended], login
    assert history(server, "bob") == []
    item = history(server, "alice")[0]
    assert (item["service"], item["purged"], item["ended_at"] is not None) == (
        "Support",
        False,
        True,
    )

    shown = get(server, "alice", f"/api/me/history/{ended}").json()
    texts = [e.get("text") for e in shown["events"] if e["type"] in {"message", "note"}]
    assert "Passing you to Carol." in texts
    assert "VIP" in texts  # as staff saw it, notes too (R23)
    assert [e["seq"] for e in shown["events"]] == sorted(e["seq"] for e in shown["events"])
    for login, chat_id in (("bob", ended), ("alice", still_open), ("alice", "no-such-chat")):
        refused = get(server, login, f"/api/me/history/{chat_id}")
        assert refused.status_code == 404, (login, chat_id, refused.text)

    store = Store(server.database_url, secrets=SECRETS)
    try:
        store.purge_message_bodies(ended)
    finally:
        store.close()
    assert history(server, "alice")[0]["purged"] is True
    purged = get(server, "alice", f"/api/me/history/{ended}").json()
    assert {e["text"] for e in purged["events"] if e["type"] in {"message", "note"}} == {""}
