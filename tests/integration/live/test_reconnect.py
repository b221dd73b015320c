"""A staff connection that reconnects is sent what it missed, not every open chat again:
its hello names the last event it holds of each chat (docs/protocol.md, ``seen``).

Real WebSocket clients against a real server, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from tests.integration.clients import Client, Frame, run
from tests.integration.live.test_live_recording import queued_to
from tests.integration.tenant import Tenant


@pytest.fixture
def server(tenant: Tenant) -> Tenant:
    """A company of the test's own on the module's server (one per database)."""
    return tenant


def event_seqs(client: Client, chat_id: str) -> list[int]:
    return [f["seq"] for f in client.frames if f["type"] == "event" and f["chat_id"] == chat_id]


async def summary_of(client: Client, chat_id: str) -> Frame:
    return await client.state(chat_id, lambda c: True)


def test_a_supervisor_reconnecting_with_seen_gets_only_what_it_missed(server: Tenant) -> None:
    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        await alice.ok({"type": "message", "chat_id": chat_id, "text": "Hello, Alice here."})
        await customer.ok({"type": "message", "text": "Hello Alice."})

        first = await Client.staff(server, "sam")  # a first hello: the chat from seq 1
        held = (await summary_of(first, chat_id))["last_seq"]
        assert event_seqs(first, chat_id) == list(range(1, held + 1))
        await first.close()

        missed = await customer.ok({"type": "message", "text": "Said while Sam was away."})
        again = await Client.staff(server, "sam", seen={chat_id: held, "not-a-chat": 3})
        summary = await again.state(chat_id, lambda c: c["last_seq"] == missed)
        assert event_seqs(again, chat_id) == [missed]  # nothing of seq 1..held again
        assert again.texts(chat_id) == ["Said while Sam was away."]
        assert summary["status"] == "active"
        # Then the chats it follows, after their replays: "not-a-chat" is not one.
        following = await again.wait_for(lambda f: f["type"] == "following")
        assert following == {"type": "following", "chat_ids": [chat_id]}
        assert again.frames.index(following) > again.frames.index({"type": "chat", "chat": summary})
        # A chat it does not know takes nothing from the hello: nothing is said of it.
        await again.send({"type": "ping"})  # answered after whatever the welcome replays
        assert not [f for f in again.frames if f.get("chat_id") == "not-a-chat"]

        # A number beyond the chat's is taken as the chat's own: what comes next arrives.
        ahead = await Client.staff(server, "sam", seen={chat_id: missed + 1000})
        await ahead.state(chat_id, lambda c: c["last_seq"] == missed)
        assert event_seqs(ahead, chat_id) == []
        after = await alice.ok({"type": "message", "chat_id": chat_id, "text": "Still here."})
        await ahead.event(chat_id, lambda e: e.get("text") == "Still here.")
        assert event_seqs(ahead, chat_id) == [after]

    run(scenario)


def test_an_agent_s_seen_replays_their_own_chat_after_it_and_no_one_else_s(
    server: Tenant,
) -> None:
    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        held = await customer.ok({"type": "message", "text": "One."})
        await alice.state(chat_id, lambda c: c["last_seq"] == held)
        await alice.close()
        missed = await customer.ok({"type": "message", "text": "Two."})

        back = await Client.staff(server, "alice", seen={chat_id: held})
        await back.state(chat_id, lambda c: c["last_seq"] == missed)
        assert event_seqs(back, chat_id) == [missed]
        assert (await back.wait_for(lambda f: f["type"] == "following"))["chat_ids"] == [chat_id]
        # Bob is in no chat: naming Alice's chat in his hello shows him nothing of it.
        bob = await Client.staff(server, "bob", seen={chat_id: 1})
        await bob.send({"type": "ping"})  # answered after whatever the welcome replays
        assert not [f for f in bob.frames if f.get("chat_id") == chat_id]
        assert (await bob.wait_for(lambda f: f["type"] == "following"))["chat_ids"] == []

        # The customer ends it while Alice is away: her next hello names it, unfollowed.
        await back.close()
        await customer.ok({"type": "end"})
        later = await Client.staff(server, "alice", seen={chat_id: missed})
        assert (await later.wait_for(lambda f: f["type"] == "following"))["chat_ids"] == []
        assert not [f for f in later.frames if f.get("chat_id") == chat_id]

    run(scenario)
