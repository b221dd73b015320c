"""Every seed case of SPEC.md end to end through the live server (R5-R13).

Real WebSocket clients talk to a real ``chatrec demo`` process on SQLite and on
PostgreSQL; what the tests check is what the chat's end committed to the database, bytes
and all (read as a worker would, R20), and the R14 explanation.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from click.testing import Result
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from chatrec.cli import app
from chatrec.domain.journal import NoteAdded
from chatrec.store.database import writing
from chatrec.store.models import ChatEventRow
from chatrec.store.store import Store
from tests.integration.clients import Client, run
from tests.integration.server import ServerProcess
from tests.integration.tenant import Tenant
from tests.keys import SECRETS

SUPPORT, SALES = "demo-support", "demo-sales"
SECRET = "Zanzibar-7731"
"""Said while paused: not a card number, so that R8 alone keeps it out (R22 masks cards)."""
CARD = "4111 1111 1111 1111"


@pytest.fixture
def server(tenant: Tenant) -> Tenant:
    """A company of the test's own on the module's server (one per database)."""
    return tenant


@dataclass(frozen=True, order=True)
class Recorded:
    """One recording file as a chat's end committed it: its path on the platform, bytes."""

    path: str
    content: bytes = field(repr=False)

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    @property
    def is_transcript(self) -> bool:
        """A format of the chat, not its sidecar, manifest or the key that signed it."""
        return not self.path.endswith((".meta.json", ".manifest.json")) and not (
            self.path.startswith("keys/")
        )


def recorded(server: ServerProcess, chat_id: str) -> list[Recorded]:
    """The chat's recording files in the database; their bytes are there until delivered
    (these servers have no platform)."""
    store = Store(server.database_url, secrets=SECRETS)
    try:
        files = [f for r in store.get_recordings(chat_id, with_bytes=True) for f in r.files]
    finally:
        store.close()
    assert all(f.content is not None for f in files), "delivered: no platform was expected"
    return sorted(Recorded(f.path, f.content or b"") for f in files)


def explanation(server: ServerProcess, chat_id: str) -> dict[str, object]:
    token = server.token("sam")
    response = httpx.get(
        f"{server.url}/api/chats/{chat_id}/explanation",
        headers={"Authorization": f"Bearer {token}"},
    )
    response.raise_for_status()
    body: dict[str, object] = response.json()
    return body


async def queued_to(
    server: ServerProcess, agent: str, service: str = SUPPORT, **start: object
) -> tuple[Client, Client, str]:
    """A customer through the flow, taken by ``agent`` (who alone is available); ``start``
    as :meth:`Client.customer` takes it."""
    customer, chat_id, _ = await Client.customer(server, server.id(service), **start)
    await customer.state(chat_id, lambda c: c["choices"] is not None)
    answer = "Billing" if service == SUPPORT else "Yes"
    await customer.ok({"type": "message", "text": answer})
    await customer.state(chat_id, lambda c: c["status"] == "queued")
    staff = await Client.staff(server, agent)
    await staff.ok({"type": "presence", "available": True})
    await staff.state(chat_id, lambda c: c["status"] == "active")
    return customer, staff, chat_id


async def available(server: ServerProcess, login: str) -> Client:
    client = await Client.staff(server, login)
    await client.ok({"type": "presence", "available": True})
    return client


def test_R5_R8_chat_is_recorded_without_the_paused_text(server: ServerProcess) -> None:
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        chat["id"] = chat_id
        await alice.ok({"type": "message", "chat_id": chat_id, "text": "Hello, Alice here."})
        await customer.ok({"type": "message", "text": "I want to pay my bill."})
        await alice.ok({"type": "pause", "chat_id": chat_id})
        state = await customer.state(chat_id, lambda c: c["recording"] == "paused")
        assert state["recording"] == "paused"  # R11a: the customer sees it
        await customer.ok({"type": "message", "text": f"My password is {SECRET}"})
        await alice.ok({"type": "resume", "chat_id": chat_id})
        await customer.state(chat_id, lambda c: c["recording"] == "recording")
        # A card read out while recording (a forgotten pause) is masked for everyone,
        # the customer's own echo included (R22).
        await customer.ok({"type": "message", "text": f"Oops, card {CARD}"})
        for client in (customer, alice):
            said = await client.event(chat_id, lambda e: e.get("text", "").startswith("Oops"))
            assert said["text"] == "Oops, card **** **** **** 1111"
        await customer.ok({"type": "message", "text": "Thanks!"})
        await alice.event(chat_id, lambda e: e.get("text") == "Thanks!")
        await customer.ok({"type": "end"})
        await alice.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    chat_id = chat["id"]
    files = recorded(server, chat_id)
    # A flow recording (R5b) and Alice's agent recording (R5a), in 4 formats + sidecar.
    # ... each with its signed manifest and the company's public key beside it (R21).
    assert len(files) == 2 * 7, files
    for file in files:
        assert SECRET.encode() not in file.content, file.path  # R8
        assert b"4111 1111" not in file.content, file.path  # R22 (a bare 4111 may be in a hash)
    sidecars = [json.loads(f.content) for f in files if f.path.endswith(".meta.json")]
    transcripts = [f for f in files if f.is_transcript]
    assert all(b"**** **** **** 1111" in f.content for f in transcripts)
    assert [s["flags"]["masked_card_numbers"] for s in sidecars] == [1, 1]  # how many, not which
    assert any(b"I want to pay my bill." in f.content for f in files)
    body = explanation(server, chat_id)
    assert body["status"] == "ended"
    sentences = body["sentences"]
    assert isinstance(sentences, list)
    assert any("R5a" in s for s in sentences)
    assert any("R5b" in s for s in sentences)
    # The audit trail names who paused and resumed by login, as it names administrators.
    trail = httpx.get(
        f"{server.url}/api/admin/audit-entries",
        params={"chat_id": chat_id},
        headers={"Authorization": f"Bearer {server.token('ada')}"},
    ).json()["items"][::-1]  # newest first: turned to the order it happened
    staff_actions = [(a["actor"], a["action"]) for a in trail if a["actor"] != "system"]
    assert staff_actions == [("alice", "pause"), ("alice", "resume")]
    # Alice's sampling draw, made as she took the chat, is there too (R7).
    (draw,) = [a["detail"] for a in trail if a["action"] == "sampling_draw"]
    assert (draw["agent"], draw["record_percentage"], draw["sampled_in"]) == ("alice", 100, True)


def test_R22_a_company_masks_values_of_its_own_and_may_keep_card_numbers(
    server: Tenant,
) -> None:
    """Set by the company's administrator for chats that start after; echo, files, count."""
    settings = httpx.patch(
        f"{server.url}/api/admin/companies/{server.company_id}",
        json={
            "mask_card_numbers": False,
            "masking_patterns": [{"name": "National ID", "pattern": r"\b[A-Z]{2}\d{6}[A-D]\b"}],
        },
        headers={"Authorization": f"Bearer {server.token('ada')}"},
    )
    assert settings.status_code == 200, settings.text
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        chat["id"] = chat_id
        await customer.ok({"type": "message", "text": f"ID AB123456C, card {CARD}"})
        for client in (customer, alice):
            said = await client.event(chat_id, lambda e: e.get("text", "").startswith("ID"))
            assert said["text"] == f"ID *********, card {CARD}"
        await alice.ok({"type": "message", "chat_id": chat_id, "text": "Is AB123456C right?"})
        await customer.event(chat_id, lambda e: e.get("text") == "Is ********* right?")
        await customer.ok({"type": "end"})
        await alice.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    files = recorded(server, chat["id"])
    assert files
    for file in files:
        assert b"AB123456C" not in file.content, file.path
    sidecars = [json.loads(f.content) for f in files if f.path.endswith(".meta.json")]
    assert all(CARD.encode() in f.content for f in files if f.is_transcript)
    flags = [
        (s["flags"]["masked_card_numbers"], s["flags"]["masked_other_values"]) for s in sidecars
    ]
    assert flags == [(0, 2)] * len(sidecars)


def test_R12a_transfer_to_an_agent_without_permit_produces_nothing(
    server: ServerProcess,
) -> None:
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        chat["id"] = chat_id
        bob = await available(server, "bob")
        await alice.ok({"type": "transfer", "chat_id": chat_id, "to_agent": server.id("demo-bob")})
        await bob.state(
            chat_id, lambda c: any(p["user_id"] == server.id("demo-bob") for p in c["participants"])
        )
        await bob.ok({"type": "message", "chat_id": chat_id, "text": "Bob here."})
        await bob.ok({"type": "end", "chat_id": chat_id})
        await customer.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    assert recorded(server, chat["id"]) == []
    body = explanation(server, chat["id"])
    recordings = body["recordings"]
    assert isinstance(recordings, list)
    assert recordings
    assert all(r["outcome"] == "suppressed" and r["rule"] == "R12a" for r in recordings)


def test_R9_R12b_customer_asks_agent_deletes_then_R13_abusive_overrides(
    server: ServerProcess,
) -> None:
    chats: list[str] = []

    async def scenario(flag: bool) -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        chats.append(chat_id)
        await customer.ok({"type": "request_deletion"})
        await alice.state(chat_id, lambda c: c["deletion_requested"])  # R9: the agent sees it
        await alice.ok({"type": "delete_recording", "chat_id": chat_id})
        await customer.state(chat_id, lambda c: c["recording"] == "not_recorded")
        if flag:
            await alice.ok({"type": "flag_abusive", "chat_id": chat_id})
            again = await alice.send({"type": "flag_abusive", "chat_id": chat_id})
            assert again["code"] == "conflict"  # R11: set once, never removed
        await alice.ok({"type": "end", "chat_id": chat_id})
        await customer.state(chat_id, lambda c: c["status"] == "ended")

    run(lambda: scenario(flag=False))
    run(lambda: scenario(flag=True))
    deleted, abusive = chats
    assert recorded(server, deleted) == []
    assert {r["rule"] for r in explanation(server, deleted)["recordings"]} == {"R12b"}  # type: ignore[union-attr]
    assert len(recorded(server, abusive)) == 2 * 7
    assert {r["rule"] for r in explanation(server, abusive)["recordings"]} == {"R13"}  # type: ignore[union-attr]


def test_R10_R12c_consent_no_discards_but_the_customer_still_reaches_an_agent(
    server: ServerProcess,
) -> None:
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, chat_id, _ = await Client.customer(server, server.id(SALES))
        chat["id"] = chat_id
        await customer.state(chat_id, lambda c: c["choices"] == ["Yes", "No"])
        await customer.ok({"type": "message", "text": "No"})
        await customer.state(chat_id, lambda c: c["status"] == "queued")
        alice = await available(server, "alice")
        await alice.state(chat_id, lambda c: c["status"] == "active")
        await alice.ok({"type": "message", "chat_id": chat_id, "text": "Hi, Alice here."})
        await customer.event(chat_id, lambda e: e.get("text") == "Hi, Alice here.")
        await customer.ok({"type": "end"})
        await alice.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    assert recorded(server, chat["id"]) == []
    rules = {r["rule"] for r in explanation(server, chat["id"])["recordings"]}  # type: ignore[union-attr]
    assert rules == {"R12c"}


def test_R12a_supervisor_join_is_involvement(server: ServerProcess) -> None:
    """Sam permits recordings: joining keeps the recordings and makes him a participant."""
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        chat["id"] = chat_id
        sam = await Client.staff(server, "sam")
        await sam.state(chat_id, lambda c: c["status"] == "active")  # supervisors see all
        refused = await alice.send({"type": "join", "chat_id": chat_id})
        assert refused["code"] == "forbidden"
        await sam.ok({"type": "join", "chat_id": chat_id})
        await sam.ok({"type": "message", "chat_id": chat_id, "text": "Supervisor here."})
        await customer.event(chat_id, lambda e: e.get("text") == "Supervisor here.")
        await customer.ok({"type": "end"})
        await sam.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    files = recorded(server, chat["id"])
    assert files
    assert any(b"Sam Okafor" in f.content for f in files)


def chain_check(server: ServerProcess, chat_id: str) -> Result:
    return CliRunner().invoke(
        app, ["check", "--chat", chat_id, "--database-url", server.database_url]
    )


def test_R21_R17_the_journal_is_chained_as_committed_and_check_names_what_changed(
    server: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATREC_DATA_DIR", str(tmp_path))
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        chat["id"] = chat_id
        await alice.ok({"type": "message", "chat_id": chat_id, "text": "Hello, Alice here."})
        await alice.ok({"type": "pause", "chat_id": chat_id})
        await alice.ok({"type": "resume", "chat_id": chat_id})
        await customer.ok({"type": "message", "text": "Thanks!"})
        await customer.ok({"type": "end"})
        await alice.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    chat_id = chat["id"]
    checked = chain_check(server, chat_id)
    assert checked.exit_code == 0, checked.output
    assert checked.stdout == "1 chats checked: every chain verifies\n"

    store = Store(server.database_url, secrets=SECRETS)
    try:
        events = store.journal_chain(chat_id)
        assert all(e.digest and e.link for e in events)  # every event chained at commit
        store.purge_message_bodies(chat_id)  # R17: the text goes, the chain stays
        assert chain_check(server, chat_id).exit_code == 0
        paused = next(e.seq for e in events if type(e.event).__name__ == "RecordingPaused")
        rows = ChatEventRow.__table__
        key = (rows.c.chat_id == chat_id) & (rows.c.seq == paused)
        with writing(store.engine).begin() as connection:
            payload = connection.execute(select(rows.c.payload).where(key)).scalar_one()
            payload["actor"]["name"] = "Someone Else"
            connection.execute(update(rows).where(key).values(payload=payload))
        edited = chain_check(server, chat_id)
        assert edited.exit_code == 1, edited.output
        assert f"chat {chat_id}: event {paused} differs from what was committed" in edited.stdout
        with writing(store.engine).begin() as connection:
            connection.execute(delete(rows).where(key))
        removed = chain_check(server, chat_id)
        assert removed.exit_code == 1
        assert f"event {paused} is missing" in removed.stdout
        assert f"event {paused + 1} does not follow from the event before it" in removed.stdout
    finally:
        store.close()


def test_R23_R17_internal_notes_reach_staff_only_go_with_a_transfer_and_are_recorded_marked(
    server: Tenant,
) -> None:
    note, handover = "Customer upset about the delay", "For Carol: renewal, not a claim"
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        chat["id"] = chat_id
        carol = await available(server, "carol")
        await alice.ok({"type": "note", "chat_id": chat_id, "text": note})
        seen = await alice.event(chat_id, lambda e: e["type"] == "note")
        assert (seen["text"], seen["with_transfer"]) == (note, False)
        carol_id = server.id("demo-carol")
        transfer = {"type": "transfer", "chat_id": chat_id, "to_agent": carol_id, "note": handover}
        seq = await alice.ok(transfer)
        given = await carol.event(chat_id, lambda e: e["type"] == "note" and e["with_transfer"])
        assert given["text"] == handover
        moved = await carol.event(chat_id, lambda e: e["type"] == "transferred")
        assert moved  # the ack names the transfer, the note comes just before it
        assert [f["seq"] for f in carol.frames if f.get("event") is moved] == [seq]
        await carol.ok({"type": "message", "chat_id": chat_id, "text": "Carol here."})
        await customer.event(chat_id, lambda e: e.get("text") == "Carol here.")
        await customer.ok({"type": "end"})
        await carol.state(chat_id, lambda c: c["status"] == "ended")
        # Never to the customer: no event, no text, whatever else arrived after it.
        assert not [e for e in customer.events(chat_id) if e["type"] == "note"]
        assert all(note not in json.dumps(f) for f in customer.frames)
        assert all(handover not in json.dumps(f) for f in customer.frames)

    run(scenario)
    files = recorded(server, chat["id"])
    transcripts = [f for f in files if f.path.endswith(".txt")]
    assert len(transcripts) >= 2  # the flow's and the agents' recordings
    for file in transcripts:
        text = file.content.decode()
        assert f"[INTERNAL NOTE] Alice Martin (agent): {note}" in text, file.path
        assert f"[INTERNAL NOTE FOR THE TRANSFER] Alice Martin (agent): {handover}" in text
    store = Store(server.database_url, secrets=SECRETS)
    try:
        store.purge_message_bodies(chat["id"])  # R17: notes go with the messages
        kept = [e for _, e in store.load_journal(chat["id"]) if isinstance(e, NoteAdded)]
    finally:
        store.close()
    assert [n.text for n in kept] == ["", ""]


def test_R23_a_required_wrap_up_code_is_chosen_before_the_end_and_kept_in_the_metadata(
    server: Tenant,
) -> None:
    admin = {"Authorization": f"Bearer {server.token('ada')}"}
    refused = httpx.patch(
        f"{server.url}/api/admin/companies/{server.company_id}",
        json={"wrap_up_codes": [], "wrap_up_required": True},
        headers=admin,
    )
    assert refused.status_code == 422, refused.text
    assert "add codes first" in refused.json()["error"]["message"]
    server.set_company(wrap_up_codes=["Claim", " Billing  question"], wrap_up_required=True)
    listed = httpx.get(
        f"{server.url}/api/wrap-up-codes",
        headers={"Authorization": f"Bearer {server.token('alice')}"},
    )
    assert listed.json() == {"codes": ["Claim", "Billing question"], "required": True}
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        chat["id"] = chat_id
        early = await alice.send({"type": "end", "chat_id": chat_id})
        assert (early["code"], "wrap-up code" in early["message"]) == ("conflict", True)
        unknown = await alice.send({"type": "wrap_up", "chat_id": chat_id, "code": "Refund"})
        assert unknown["code"] == "invalid"
        assert "'Claim', 'Billing question'" in unknown["message"]
        await alice.ok({"type": "wrap_up", "chat_id": chat_id, "code": "billing question"})
        summary = await alice.state(chat_id, lambda c: c["wrap_up"] is not None)
        assert (summary["wrap_up"], summary["wrap_up_required"]) == ("Billing question", True)
        await alice.ok({"type": "end", "chat_id": chat_id})
        await customer.state(chat_id, lambda c: c["status"] == "ended")
        assert not [e for e in customer.events(chat_id) if e["type"] == "wrap_up"]

    run(scenario)
    files = recorded(server, chat["id"])
    bodies = [json.loads(f.content) for f in files if f.path.endswith(".json")]
    documents = [
        b for b in bodies if b.get("schema") == "https://chatrec.example/schemas/recording/1"
    ]
    assert documents
    for body in documents:
        assert body["wrap_up"]["code"] == "Billing question", body["recording_id"]
        assert body["wrap_up"]["by"]["name"] == "Alice Martin"
    sidecars = [json.loads(f.content) for f in files if f.path.endswith(".meta.json")]
    assert sidecars
    assert all(s["wrap_up"]["code"] == "Billing question" for s in sidecars)
