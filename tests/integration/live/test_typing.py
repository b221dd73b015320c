"""Typing indicators (R23) over real WebSockets on SQLite and PostgreSQL: both ways, the
draft only where the company shows it and masked (R22), refused where the sender may not
type, and never in the journal or a recording.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.clients import Client, Frame, run
from tests.integration.live.test_live_recording import CARD, queued_to, recorded
from tests.integration.tenant import Tenant

DRAFT = "Draft-Quokka-512"
"""Typed, shown to the agent, never sent: in no file and no event."""


@pytest.fixture
def server(tenant: Tenant) -> Tenant:
    """A company of the test's own on the module's server (one per database)."""
    return tenant


async def typing(client: Client, frame: Frame) -> None:
    """Send an indicator as it is meant: no ref, no answer awaited (none comes)."""
    await client.ws.send(json.dumps({"type": "typing", **frame}))


def typing_frames(client: Client) -> list[Frame]:
    return [f for f in client.frames if f["type"] == "typing"]


def test_R23_R22_typing_goes_both_ways_with_a_masked_draft_and_is_never_recorded(
    server: Tenant,
) -> None:
    assert server.set_company(typing_preview=True)["typing_preview"] is True
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        chat["id"] = chat_id
        summary = await customer.state(chat_id, lambda c: c["status"] == "active")
        assert summary["typing_preview"] is True  # the widget tells the customer

        await typing(customer, {"active": True, "draft": f"{DRAFT}, card {CARD}"})
        shown = await alice.wait_for(lambda f: f["type"] == "typing" and f["active"])
        assert shown == {
            "type": "typing",
            "chat_id": chat_id,
            "by": "customer",
            "name": None,
            "user_id": None,
            "active": True,
            "draft": f"{DRAFT}, card **** **** **** 1111",  # masked before shown (R22)
        }
        await typing(customer, {"active": False})
        await alice.wait_for(lambda f: f["type"] == "typing" and not f["active"])

        await typing(alice, {"chat_id": chat_id, "active": True})
        told = await customer.wait_for(lambda f: f["type"] == "typing")
        assert told == {
            "type": "typing",
            "chat_id": chat_id,
            "by": "agent",
            "name": told["name"],
            "active": True,
        }  # no staff id, as customers see no ids (R15a)
        assert told["name"]
        # Neither side hears its own indicator back, and none is acknowledged.
        assert all(f["by"] != "customer" for f in typing_frames(customer))
        assert all(f["by"] == "customer" for f in typing_frames(alice))

        await customer.ok({"type": "message", "text": "Thanks, that was all."})
        await customer.ok({"type": "end"})
        await alice.state(chat_id, lambda c: c["status"] == "ended")
        unasked = [f for f in customer.frames + alice.frames if f["type"] == "ack" and not f["ref"]]
        assert not unasked

    run(scenario)
    files = recorded(server, chat["id"])
    assert files
    for file in files:
        assert DRAFT.encode() not in file.content, file.path
        assert b"typing" not in file.content, file.path
    journal = httpx.get(
        f"{server.url}/api/chats/{chat['id']}/journal",
        headers={"Authorization": f"Bearer {server.token('ada')}"},
    )
    assert journal.status_code == 200, journal.text
    assert DRAFT not in journal.text
    assert "typing" not in {event["type"] for event in journal.json()["events"]}


def test_R23_without_the_preview_no_draft_travels_and_refusals_are_clear(
    server: Tenant,
) -> None:
    """Off by default; a draft sent anyway is dropped.  Typing is refused, with an error a
    client can act on, where the sender may not write: not in the chat, a chat ended, a
    draft over the message limit."""

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        summary = await customer.state(chat_id, lambda c: c["status"] == "active")
        assert summary["typing_preview"] is False
        await typing(customer, {"active": True, "draft": DRAFT})
        shown = await alice.wait_for(lambda f: f["type"] == "typing")
        assert "draft" not in shown
        assert shown["active"] is True

        refused = await customer.send({"type": "typing", "active": True, "draft": "x" * 4001})
        assert (refused["type"], refused["code"]) == ("error", "too_large"), refused
        bob = await Client.staff(server, "bob")  # an agent who is not in the chat
        answer = await bob.send({"type": "typing", "chat_id": chat_id, "active": True})
        assert (answer["type"], answer["code"]) == ("error", "not_found"), answer
        wrong = await alice.send({"type": "typing", "chat_id": chat_id, "active": "yes"})
        assert (wrong["type"], wrong["code"]) == ("error", "bad_frame"), wrong

        await alice.ok({"type": "end", "chat_id": chat_id})
        await customer.state(chat_id, lambda c: c["status"] == "ended")
        late = await customer.send({"type": "typing", "active": True})
        assert (late["type"], late["code"]) == ("error", "conflict"), late

    run(scenario)
