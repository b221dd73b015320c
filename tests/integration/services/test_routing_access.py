"""Routing offers no chat to a login that may no longer take one, in-process on the real
store, SQLite and PostgreSQL (R18, issue 16.1).

Routing reads agents from the store every node shares; a login disabled or given
another role where no bus reaches this node (``chatrec admin``, another node) may still
have a portal counted there.  The store has the last word when a chat is assigned.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from chatrec.store.records import ChatStatus, UserRecord
from chatrec.web.container import Container
from tests.integration.services.demo_node import demo_node, run_on


def login(node: Container, name: str) -> UserRecord:
    user = node.store.find_user_by_login(name)
    assert user is not None
    return user


@pytest.mark.parametrize("change", [{"disabled": True}, {"role": "supervisor"}])
def test_R18_routing_never_offers_a_chat_to_a_disabled_agent(
    database_url: str, tmp_path: Path, change: dict[str, object]
) -> None:
    with demo_node(database_url, tmp_path) as node:
        alice, carol = login(node, "alice"), login(node, "carol")
        chats = node.chats

        async def scenario() -> None:
            await chats.staff_connected(alice)
            await chats.set_presence(alice, True)
            node.store.update_users([replace(alice, **change)])  # type: ignore[arg-type]
            started = await chats.start_chat("demo-support")
            chat = chats.find(started.chat.chat_id)
            assert chat is not None
            await chats.customer_says(chat, "Billing")
            assert chat.record.status is ChatStatus.QUEUED
            assert not chat.involved(alice.user_id)
            free = node.store.free_agents(alice.company_id, chats.node_id, chats.node_lease)
            assert alice.user_id not in {agent.user_id for agent in free}

            await chats.staff_connected(carol)
            await chats.set_presence(carol, True)
            assert chat.record.status is ChatStatus.ACTIVE
            assert list(chat.present()) == [carol.user_id]

        run_on(node, scenario)
