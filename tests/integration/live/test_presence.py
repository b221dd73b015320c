"""An agent's presence is their choice: it survives reloads, reconnects and restarts, and
only they, their logout or the idle timeout change it; transfers say who can take a chat.

Real WebSocket and HTTP clients against a real server, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.clients import Client, Frame, run
from tests.integration.live.test_live_recording import available
from tests.integration.server import SeededDemo, ServerProcess
from tests.integration.tenant import Tenant


@pytest.fixture
def server(tenant: Tenant) -> Tenant:
    """A company of the test's own on the module's server (one per database)."""
    return tenant


def presence(frame: Frame) -> tuple[Any, ...]:
    """What a welcome or a presence frame says about the agent's presence."""
    if frame["type"] == "welcome":
        return frame["available"], frame["presence_changed_by"]
    return frame["available"], frame["changed_by"]


async def waiting(server: ServerProcess) -> tuple[Client, str]:
    """A customer through the flow, whose chat then waits in the queue."""
    customer, chat_id, _ = await Client.customer(server, server.id("demo-support"))
    await customer.state(chat_id, lambda c: c["choices"] is not None)
    await customer.ok({"type": "message", "text": "Billing"})
    await customer.state(chat_id, lambda c: c["status"] == "queued")
    return customer, chat_id


async def offline(server: ServerProcess, name: str) -> None:
    """Wait until the supervisors' dashboard shows ``name`` offline: a socket's close
    reaches the server a moment after the client sends it, and a chat queued before
    that may rightly go to the agent."""
    token = await asyncio.to_thread(server.token, "sam")
    async with httpx.AsyncClient(base_url=server.url) as http:
        for _ in range(100):
            answer = await http.get("/api/dashboard", headers={"Authorization": f"Bearer {token}"})
            agents = {agent["name"]: agent["state"] for agent in answer.json()["agents"]}
            if agents[name] == "offline":
                return
            await asyncio.sleep(0.05)
    raise AssertionError(f"{name} is still {agents[name]} on the dashboard")


def test_presence_survives_a_reconnect_until_logout(server: ServerProcess) -> None:
    """(A server restart keeps it too: tests/e2e/test_chat_pages.py restarts one.)"""

    async def scenario() -> None:
        alice = await Client.staff(server, "alice")
        assert presence(alice.frames[0]) == (False, None)  # never chose: Away
        await alice.ok({"type": "presence", "available": True})
        told = await alice.wait_for(lambda f: f["type"] == "presence")
        assert presence(told) == (True, "agent")
        await alice.close()  # a reload: the portal's socket closes and opens again
        await offline(server, "Alice Martin")  # the server has seen the close

        # Offline meanwhile: Available, yet no chat is offered to a closed portal.
        customer, chat_id = await waiting(server)
        await asyncio.sleep(0.5)
        summaries = [f["chat"] for f in customer.frames if f["type"] == "chat"]
        assert summaries[-1]["status"] == "queued"

        alice = await Client.staff(server, "alice")
        assert presence(alice.frames[0]) == (True, "agent")
        await alice.state(chat_id, lambda c: c["status"] == "active")  # hers once back

        token = await asyncio.to_thread(server.token, "alice")
        async with httpx.AsyncClient(base_url=server.url) as http:
            out = await http.post("/api/logout", headers={"Authorization": f"Bearer {token}"})
        assert out.status_code == 204
        told = await alice.wait_for(lambda f: f["type"] == "presence" and not f["available"])
        assert presence(told) == (False, "logout")  # her other windows are told why
        again = await Client.staff(server, "alice")
        assert presence(again.frames[0]) == (False, "logout")

    run(scenario)


def test_the_idle_timeout_sets_an_agent_away_and_tells_the_portal(
    tmp_path: Path, seeded_demo: SeededDemo
) -> None:
    """On SQLite only: what is kept is the same as for any presence, tested on both."""
    server = ServerProcess(
        tmp_path / "data",
        seeded_demo.copy_to(tmp_path / "data", tmp_path / "chatrec.db"),
        env={
            "CHATREC_PRESENCE_IDLE_TIMEOUT_SECONDS": "1.5",
            "CHATREC_SWEEP_INTERVAL_SECONDS": "0.2",
        },
    )
    server.start()

    async def scenario() -> None:
        alice = await available(server, "alice")
        carol = await available(server, "carol")
        bob = await available(server, "bob")
        assert carol.frames[0]["idle_timeout_seconds"] == 1.5
        await bob.close()  # Available, then gone without logging out
        for _ in range(10):  # 3 s: carol uses the portal, alice's portal only pings
            await carol.ok({"type": "active"})
            await alice.ok({"type": "ping"})
            await asyncio.sleep(0.3)
        told = await alice.wait_for(lambda f: f["type"] == "presence" and not f["available"])
        assert presence(told) == (False, "idle_timeout")
        assert [presence(f) for f in carol.frames if f["type"] == "presence"] == [(True, "agent")]
        bob = await Client.staff(server, "bob")  # the idle time ran on while he was away
        assert presence(bob.frames[0]) == (False, "idle_timeout")

    try:
        run(scenario)
    finally:
        server.stop()


def test_the_directory_says_who_can_take_a_transfer_and_transfers_agree(
    server: ServerProcess,
) -> None:
    async def directory(token: str) -> dict[str, dict[str, Any]]:
        async with httpx.AsyncClient(base_url=server.url) as http:
            response = await http.get(
                "/api/directory", headers={"Authorization": f"Bearer {token}"}
            )
        response.raise_for_status()
        body = response.json()
        assert body["queues"] == [{"queue_id": server.id("demo-general"), "name": "General"}]
        return {agent["user_id"]: agent for agent in body["agents"]}

    def target(agent: dict[str, Any]) -> tuple[Any, ...]:
        keys = ("available", "online", "capacity", "open_chats", "free_slots", "reason")
        return tuple(agent[key] for key in keys)

    async def scenario() -> None:
        carol = await available(server, "carol")
        for _ in range(3):  # carol alone is available: she takes three chats, all she can
            _, chat_id = await waiting(server)
            await carol.state(chat_id, lambda c: c["status"] == "active")
        alice = await available(server, "alice")
        _, chat_id = await waiting(server)
        await alice.state(chat_id, lambda c: c["status"] == "active")
        bob = await Client.staff(server, "bob")  # connected, never chose Available

        token = await asyncio.to_thread(server.token, "alice")
        agents = await directory(token)
        assert target(agents[server.id("demo-alice")]) == (True, True, 3, 1, 2, None)
        assert target(agents[server.id("demo-bob")]) == (False, True, 3, 0, 3, "away")
        assert target(agents[server.id("demo-carol")]) == (True, True, 3, 3, 0, "full")

        async def refused(to_agent: str) -> str:
            answer = await alice.send(
                {"type": "transfer", "chat_id": chat_id, "to_agent": to_agent}
            )
            assert answer["type"] == "error", answer
            assert answer["code"] == "conflict", answer
            message: str = answer["message"]
            return message

        assert await refused(server.id("demo-bob")) == (
            "Bob Chen is away; transfer to a queue or to another agent instead"
        )
        assert await refused(server.id("demo-carol")) == (
            "Carol Diaz has no free chat slot (3 of 3 chats); "
            "transfer to a queue or to another agent instead"
        )
        await bob.ok({"type": "presence", "available": True})
        await bob.close()
        assert target((await directory(token))[server.id("demo-bob")]) == (
            True,
            False,
            3,
            0,
            3,
            "offline",
        )
        assert await refused(server.id("demo-bob")) == (
            "Bob Chen is not connected; transfer to a queue or to another agent instead"
        )
        bob = await Client.staff(server, "bob")
        assert target((await directory(token))[server.id("demo-bob")]) == (
            True,
            True,
            3,
            0,
            3,
            None,
        )
        await alice.ok({"type": "transfer", "chat_id": chat_id, "to_agent": server.id("demo-bob")})
        await bob.state(chat_id, lambda c: c["status"] == "active")

    run(scenario)


def test_an_agent_says_why_they_are_away_and_it_outlives_a_reconnect(server: Tenant) -> None:
    """One of chatrec's reasons (a report can count them); refused with Available, and an
    unknown one is a bad frame (R19)."""

    async def scenario() -> None:
        alice = await Client.staff(server, "alice")
        await alice.ok({"type": "presence", "available": False, "reason": "meal"})
        told = await alice.wait_for(lambda f: f["type"] == "presence")
        assert (told["available"], told["away_reason"]) == (False, "meal")
        await alice.close()
        again = await Client.staff(server, "alice")
        assert again.frames[0]["away_reason"] == "meal"
        wrong = await again.send({"type": "presence", "available": True, "reason": "break"})
        assert (wrong["code"], "goes with Away" in wrong["message"]) == ("invalid", True)
        unknown = await again.send({"type": "presence", "available": False, "reason": "nap"})
        assert unknown["code"] == "bad_frame"
        seen = len(again.frames)
        await again.ok({"type": "presence", "available": True})
        back = await again.wait_for(lambda f: f["type"] == "presence", after=seen)
        assert (back["available"], back["away_reason"]) == (True, None)

    run(scenario)
