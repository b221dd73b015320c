"""Routing shared by several nodes on one PostgreSQL database, in process (R20).

Each node is a whole container (its own store engine, group committer and node id) over
the same database, as two ``chatrec serve`` would be; what one node's memory holds the
other does not.  The processes, Redis and the load balancer are tested in
tests/integration/nodes/; here, that routing reads and commits only what they share.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import update

from chatrec.bootstrap import build
from chatrec.config import Config
from chatrec.demo.company import seed_demo
from chatrec.domain.journal import AgentAssigned, ChatEnded
from chatrec.live.registry import LiveChat
from chatrec.store.models import NodeRow
from chatrec.store.records import ChatStatus, UserRecord
from chatrec.web.container import Container

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

T = TypeVar("T")


def login(node: Container, name: str) -> UserRecord:
    user = node.store.find_user_by_login(name)
    assert user is not None
    return user


@asynccontextmanager
async def nodes(
    database_url: str, tmp_path: Path, count: int = 2
) -> AsyncIterator[list[Container]]:
    """``count`` nodes joined on the database; the demo company seeded once."""
    started: list[Container] = []
    try:
        for index in range(count):
            node = build(Config(data_dir=tmp_path / f"node{index}", database_url=database_url))
            if index == 0:
                seed_demo(node.store, tmp_path / "node0")
            node.committer.start()
            node.node.join()
            started.append(node)
        yield started
    finally:
        for node in started:
            await node.committer.stop()
            node.node.leave()
            node.store.close()


async def available(node: Container, agent: UserRecord) -> None:
    """The agent's portal open on ``node``, and their choice Available."""
    await node.chats.staff_connected(agent)
    await node.chats.set_presence(agent, True)


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await scenario()

    return asyncio.run(main())


async def queued_chat(node: Container) -> LiveChat:
    """A customer's chat on ``node``, routed by the demo flow to its queue."""
    started = await node.chats.start_chat("demo-support")
    chat = node.chats.find(started.chat.chat_id)
    assert chat is not None
    await node.chats.customer_says(chat, "Billing")
    return chat


def assignments(node: Container, chat_id: str) -> list[str]:
    return [
        event.actor.user_id or ""
        for _, event in node.store.load_journal(chat_id)
        if isinstance(event, AgentAssigned)
    ]


def test_R20_a_chat_queued_on_one_node_goes_to_an_agent_connected_to_another(
    database_url: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with nodes(database_url, tmp_path) as (one, two):
            alice = login(two, "alice")
            await available(two, alice)
            chat = await queued_chat(one)
            assert chat.record.status is ChatStatus.ACTIVE  # node one gave it at once
            assert assignments(one, chat.chat_id) == [alice.user_id]
            availability = await one.chats.availability(alice)
            assert (availability.online, availability.open_chats) == (True, 1)

            # She ends it on node two, where it was never opened: her slot is free again.
            there = await two.chats.ensure(chat.chat_id)
            assert there is not None
            await two.chats.staff_ends(alice, there)
            assert (await one.chats.availability(alice)).open_chats == 0

    run(scenario)


def test_R20_two_nodes_routing_at_once_never_fill_an_agent_over_capacity(
    database_url: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with nodes(database_url, tmp_path) as (one, two):
            alice = replace(login(one, "alice"), capacity=2)
            one.store.update_users([alice])
            for node in (one, two):  # two tabs, one per node: she counts once
                await node.chats.staff_connected(alice)
            await one.chats.set_presence(alice, True)
            chats = await asyncio.gather(*(queued_chat(node) for node in (one, two) * 3))
            await asyncio.gather(one.chats.dispatch_waiting(), two.chats.dispatch_waiting())
            given = {chat.chat_id: assignments(one, chat.chat_id) for chat in chats}
            assert all(len(agents) <= 1 for agents in given.values()), given
            assert sum(len(agents) for agents in given.values()) == 2
            assert (await two.chats.availability(alice)).open_chats == 2
            waiting = one.store.waiting_chats(alice.company_id, 10)
            assert len(waiting) == 4

    run(scenario)


def test_R20_an_agent_whose_node_died_is_offline_once_its_lease_passed(
    database_url: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with nodes(database_url, tmp_path) as (one, two):
            alice = login(two, "alice")
            await available(two, alice)
            assert (await one.chats.availability(alice)).online
            # Node two falls silent (killed: it never leaves, its portal is never closed).
            lease = two.node.lease
            [heard] = [n for n in one.store.live_nodes(lease) if n.node_id == two.node.node_id]
            with one.store.engine.begin() as connection:
                connection.execute(
                    update(NodeRow)
                    .where(NodeRow.node_id == two.node.node_id)
                    .values(heartbeat_at=heard.heartbeat_at - lease - timedelta(seconds=1))
                )
            assert not (await one.chats.availability(alice)).online
            chat = await queued_chat(one)
            assert chat.record.status is ChatStatus.QUEUED  # nobody online takes it

            # She reconnects through the balancer to node one and gets it at once.
            await one.chats.staff_connected(alice)
            assert one.chats.find(chat.chat_id) is not None
            assert assignments(one, chat.chat_id) == [alice.user_id]

    run(scenario)


def test_R20_an_idle_chat_is_ended_once_when_every_node_sweeps_it(
    database_url: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with nodes(database_url, tmp_path) as (one, two):
            chat = await queued_chat(one)
            await two.chats.ensure(chat.chat_id)
            for node in (one, two):
                node.chats.inactivity_timeout = timedelta(0)
            ended = await asyncio.gather(one.chats.sweep(), two.chats.sweep())
            assert sum(ended) == 1
            journal = one.store.load_journal(chat.chat_id)
            assert [seq for seq, _ in journal] == list(range(1, len(journal) + 1))
            assert sum(isinstance(event, ChatEnded) for _, event in journal) == 1

    run(scenario)


def test_R20_the_agent_idle_longest_gets_the_chat_whichever_node_they_are_on(
    database_url: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with nodes(database_url, tmp_path) as (one, two):
            alice, carol = login(two, "alice"), login(one, "carol")
            await available(two, alice)  # waiting first, on node two
            await asyncio.sleep(0.01)
            await available(one, carol)  # then carol, on node one
            first = await queued_chat(one)
            assert assignments(one, first.chat_id) == [alice.user_id]
            second = await queued_chat(one)
            assert assignments(one, second.chat_id) == [carol.user_id]
            third = await queued_chat(two)  # both hold one: alice was given hers first
            assert assignments(one, third.chat_id) == [alice.user_id]

    run(scenario)


def test_R20_chats_queued_on_two_nodes_at_once_are_all_given_without_waiting_for_a_sweep(
    database_url: str, tmp_path: Path
) -> None:
    """Both nodes offer the oldest waiting chat to the agent idle longest at the same
    moment; the one refused at the commit reads the queue again and gives the next,
    rather than leave a chat waiting for the periodic sweep while agents are free."""

    async def scenario() -> None:
        async with nodes(database_url, tmp_path) as (one, two):
            for name in ("alice", "carol"):  # three slots each, portals on both nodes
                await one.chats.staff_connected(login(one, name))
                await available(two, login(two, name))
            chats = await asyncio.gather(*(queued_chat(node) for node in (one, two) * 3))
            waiting = one.store.waiting_chats(chats[0].record.company_id, 10)
            assert waiting == []
            given = [assignments(one, chat.chat_id) for chat in chats]
            assert all(len(agents) == 1 for agents in given), given

    run(scenario)
