"""Crashes and restarts lose nothing acknowledged; pause survives them (R8, R19)."""

from __future__ import annotations

import httpx

from tests.integration.clients import Client, run
from tests.integration.live.test_live_recording import SECRET, available, queued_to, spooled
from tests.integration.server import ServerProcess


def test_R8_pause_survives_a_transfer_and_a_restart(server: ServerProcess) -> None:
    chat: dict[str, str] = {}

    async def before() -> None:
        _, alice, chat_id = await queued_to(server, "alice")
        chat["id"] = chat_id
        await alice.ok({"type": "pause", "chat_id": chat_id})
        carol = await available(server, "carol")
        await alice.ok({"type": "transfer", "chat_id": chat_id, "to_agent": "demo-carol"})
        state = await carol.state(chat_id, lambda c: c["status"] == "active")
        assert state["recording"] in {"paused", "not_recorded"}

    run(before)
    server.stop()
    server.start()

    async def after() -> None:
        carol = await Client.staff(server, "carol")
        state = await carol.state(chat["id"], lambda c: c["status"] == "active")
        assert state["recording"] != "recording"  # still paused after the restart
        await carol.ok({"type": "message", "chat_id": chat["id"], "text": f"card {SECRET}"})
        await carol.ok({"type": "resume", "chat_id": chat["id"]})
        await carol.ok({"type": "message", "chat_id": chat["id"], "text": "All done."})
        await carol.ok({"type": "end", "chat_id": chat["id"]})

    run(after)
    for path in spooled(server, chat["id"]):
        assert SECRET.encode() not in path.read_bytes(), path


def test_R19_sigkill_mid_chat_loses_no_acknowledged_message(server: ServerProcess) -> None:
    chat: dict[str, str] = {}
    sent = [f"message {n}" for n in range(20)]

    async def before() -> None:
        customer, chat_id, token = await Client.customer(server, "demo-support")
        chat["id"], chat["token"] = chat_id, token
        await customer.state(chat_id, lambda c: c["choices"] is not None)
        await customer.ok({"type": "message", "text": "Billing"})
        alice = await available(server, "alice")
        await alice.state(chat_id, lambda c: c["status"] == "active")
        await alice.ok({"type": "pause", "chat_id": chat_id})
        for text in sent:
            await customer.ok({"type": "message", "text": text})

    run(before)
    server.kill()
    server.start()

    async def after() -> None:
        customer = await Client.open(
            f"{server.ws_url}/ws/customer", {"token": chat["token"], "last_seq": 0}
        )
        state = await customer.state(chat["id"], lambda c: True)
        assert state["recording"] == "paused"  # R8: pause state survives the crash
        assert customer.texts(chat["id"])[-len(sent) :] == sent
        # Resync from a sequence number sends only what came after it.
        seqs = [f["seq"] for f in customer.frames if f["type"] == "event"]
        again = await Client.open(
            f"{server.ws_url}/ws/customer", {"token": chat["token"], "last_seq": seqs[-3]}
        )
        await again.state(chat["id"], lambda c: True)
        assert [f["seq"] for f in again.frames if f["type"] == "event"] == seqs[-2:]

    run(after)


def test_R18_customer_token_opens_only_its_own_chat(server: ServerProcess) -> None:
    async def scenario() -> None:
        stranger = await Client.open(f"{server.ws_url}/ws/customer", {"token": "guessed"})
        error = stranger.frames[-1]
        assert error["type"] == "error"
        assert error["code"] == "not_found"

    run(scenario)
    response = httpx.get(f"{server.url}/api/chats")
    assert response.status_code == 401
