"""Crashes and restarts lose nothing acknowledged; pause survives them (R8, R19).

A test that restarts or kills its server has one of its own (``server``); the others
need no restart and use a company of their own on the module's shared server (``tenant``).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from chatrec.cli import app
from chatrec.store.database import writing
from chatrec.store.models import ChatEventRow
from chatrec.store.store import Store
from tests.integration.clients import Client, run
from tests.integration.live.test_live_recording import SECRET, available, queued_to, recorded
from tests.integration.server import ServerProcess
from tests.integration.tenant import Tenant
from tests.keys import SECRETS

pytestmark = pytest.mark.long  # tens of seconds: handed out first (tests/conftest.py)


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
    for file in recorded(server, chat["id"]):
        assert SECRET.encode() not in file.content, file.path


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


def test_R18_customer_token_opens_only_its_own_chat(tenant: Tenant) -> None:
    server = tenant

    async def scenario() -> None:
        stranger = await Client.open(f"{server.ws_url}/ws/customer", {"token": "guessed"})
        error = stranger.frames[-1]
        assert error["type"] == "error"
        assert error["code"] == "not_found"

    run(scenario)
    response = httpx.get(f"{server.url}/api/chats")
    assert response.status_code == 401


def test_R19_a_customer_returning_to_an_ended_chat_sees_it_to_its_end(tenant: Tenant) -> None:
    server = tenant

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        seq = await customer.ok({"type": "message", "text": "Bye"})
        await alice.ok({"type": "end", "chat_id": chat_id})
        await customer.state(chat_id, lambda c: c["status"] == "ended")
        await customer.close()
        again = await Client.open(
            f"{server.ws_url}/ws/customer", {"token": customer.token, "last_seq": seq}
        )
        ended = await again.event(chat_id, lambda e: e["type"] == "ended")
        assert ended["reason"] == "ended by agent"
        await again.state(chat_id, lambda c: c["status"] == "ended")
        refused = await again.send({"type": "message", "text": "hello?"})
        assert refused["code"] == "conflict"

    run(scenario)


def test_an_agent_freed_by_a_chat_s_end_takes_the_next_waiting_chat(tenant: Tenant) -> None:
    server = tenant

    async def scenario() -> None:
        customers = []
        for _ in range(4):
            customer, chat_id, _ = await Client.customer(server, server.id("demo-support"))
            await customer.state(chat_id, lambda c: c["choices"] is not None)
            await customer.ok({"type": "message", "text": "Billing"})
            await customer.state(chat_id, lambda c: c["status"] == "queued")
            customers.append((customer, chat_id))
        alice = await available(server, "alice")  # capacity 3: the fourth waits
        for customer, chat_id in customers[:3]:
            await customer.state(chat_id, lambda c: c["status"] == "active")
        last, last_id = customers[3]
        summaries = [f["chat"] for f in last.frames if f["type"] == "chat"]
        assert summaries[-1]["status"] == "queued"
        await alice.ok({"type": "end", "chat_id": customers[0][1]})
        await last.state(last_id, lambda c: c["status"] == "active")

    run(scenario)


def test_R21_a_journal_changed_while_its_server_was_down_is_never_rendered_silently(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone with the database edits a message of an open chat; the server that loads
    it again renders its recordings, and their manifests, the audit trail, `chatrec
    check` and `chatrec verify` all say the journal does not verify."""
    chat: dict[str, str] = {}

    async def before() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        chat["id"] = chat_id
        await customer.ok({"type": "message", "text": "I agree to pay 10 euros."})
        await alice.event(chat_id, lambda e: e.get("text") == "I agree to pay 10 euros.")

    run(before)
    server.stop()
    store = Store(server.database_url, secrets=SECRETS)
    try:
        rows = ChatEventRow.__table__
        with writing(store.engine).begin() as connection:
            seq, payload = connection.execute(
                select(rows.c.seq, rows.c.payload).where(
                    rows.c.chat_id == chat["id"],
                    rows.c.payload["text"].as_string() == "I agree to pay 10 euros.",
                )
            ).one()
            payload["text"] = "I agree to pay 1000 euros."
            key = (rows.c.chat_id == chat["id"]) & (rows.c.seq == seq)
            connection.execute(update(rows).where(key).values(payload=payload))
    finally:
        store.close()
    server.start()

    async def after() -> None:
        alice = await Client.staff(server, "alice")
        await alice.state(chat["id"], lambda c: c["status"] == "active")
        await alice.ok({"type": "end", "chat_id": chat["id"]})
        await alice.state(chat["id"], lambda c: c["status"] == "ended")

    run(after)
    broken = f"event {seq} differs from what was committed"
    files = recorded(server, chat["id"])
    manifests = [json.loads(f.content) for f in files if f.path.endswith(".manifest.json")]
    assert manifests
    assert all(m["journal"]["problems"] == [broken] for m in manifests)
    for file in files:  # written out as a platform would have them
        (tmp_path / "platform" / file.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "platform" / file.path).write_bytes(file.content)
    caught = CliRunner().invoke(app, ["verify", str(tmp_path / "platform")])
    assert caught.exit_code == 1
    assert f"did not verify against its hash chain when this recording was made: {broken}" in (
        caught.stdout
    )
    monkeypatch.setenv("CHATREC_DATA_DIR", str(tmp_path / "cli"))
    checked = CliRunner().invoke(
        app, ["check", "--chat", chat["id"], "--database-url", server.database_url]
    )
    assert (checked.exit_code, f"chat {chat['id']}: {broken}" in checked.stdout) == (1, True)
    store = Store(server.database_url, secrets=SECRETS)
    try:
        decided = [a for a in store.list_audit("demo") if a.action == "recording_decision"]
    finally:
        store.close()
    assert decided[-1].chat_id == chat["id"]
    assert decided[-1].detail["journal_problems"] == [broken]
