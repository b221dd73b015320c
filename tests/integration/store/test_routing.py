"""Routing's shared state in the store (R20), on SQLite and PostgreSQL: who can take a
chat, which chats wait, and a join refused when it would fill an agent over capacity."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import OperationalError

from chatrec.errors import AgentFullError
from chatrec.store.models import NodeRow
from chatrec.store.records import (
    AgentClaim,
    ChatChange,
    ChatStatus,
    PresenceCause,
    PresenceRecord,
)
from chatrec.store.store import Store
from tests.integration.store.factories import BOB, new_chat, next_message, seed
from tests.unit.domain.builders import T0

LEASE = timedelta(seconds=20)


def ready(store: Store, *, capacity: int = 1, node: str = "n1") -> None:
    """Bob, with room for ``capacity`` chats, Available with a portal on live ``node``."""
    seed(store)
    store.update_users([replace(BOB, capacity=capacity)])
    store.join_node(node, "host", 1, "1.0", lease=LEASE)
    store.set_presence(PresenceRecord(BOB.user_id, True, PresenceCause.AGENT, T0))
    store.count_sockets(BOB.user_id, "acme", node, 1, T0)


def given(change: ChatChange, *, capacity: int = 1) -> ChatChange:
    """``change`` as routing's join of Bob to the chat."""
    follow = next_message(change)
    chat = replace(follow.chat, status=ChatStatus.ACTIVE)
    return replace(follow, chat=chat, agents=(BOB.user_id,), claim=AgentClaim("bob", capacity))


def free(store: Store, node: str = "n1") -> list[str]:
    return [agent.user_id for agent in store.free_agents("acme", node, LEASE)]


def test_R20_an_agent_is_free_while_available_online_enabled_and_not_full(store: Store) -> None:
    ready(store)
    assert free(store) == ["bob"]
    [agent] = store.free_agents("acme", "n1", LEASE)
    assert agent.login == store.get_user("bob")  # routing gives the chat without reading her again
    store.set_presence(PresenceRecord("bob", False, PresenceCause.AGENT, T0))
    assert free(store) == []
    store.set_presence(PresenceRecord("bob", True, PresenceCause.AGENT, T0))
    store.count_sockets("bob", "acme", "n1", -1, T0)
    assert free(store) == []
    assert not store.agent_load("bob", "n1", LEASE).online
    store.count_sockets("bob", "acme", "n1", 1, T0)
    store.update_users([replace(BOB, capacity=1, disabled=True)])
    assert free(store) == []
    store.update_users([replace(BOB, capacity=1)])
    chat = new_chat("C1")
    store.apply([chat, given(chat)])
    assert free(store) == []
    assert store.agent_load("bob", "n1", LEASE).open_chats == 1


def test_R20_free_agents_come_in_routings_order_and_only_as_many_as_asked(
    store: Store,
) -> None:
    """The least loaded first, then the one idle longest: routing asks for as many as it
    has chats to give, not for the company's whole staff at every chat (issue 13)."""
    ready(store, capacity=2)
    chat = new_chat("C1")
    store.apply([chat, given(chat, capacity=2)])  # Bob has one chat
    for user_id, idle_minutes in (("carol", 10), ("dave", 5)):
        store.create_user(replace(BOB, user_id=user_id, login=user_id.capitalize()))
        store.set_presence(PresenceRecord(user_id, True, PresenceCause.AGENT, T0))
        store.count_sockets(user_id, "acme", "n1", 1, T0)
        store.agent_active(user_id, "acme", T0 - timedelta(minutes=idle_minutes), idle=True)
    assert free(store) == ["carol", "dave", "bob"]
    first_two = store.free_agents("acme", "n1", LEASE, limit=2)
    assert [(agent.user_id, agent.open_chats) for agent in first_two] == [
        ("carol", 0),
        ("dave", 0),
    ]


def test_R20_a_join_over_capacity_is_refused_alone_and_the_end_frees_the_slot(
    store: Store,
) -> None:
    ready(store)
    first, second = new_chat("C1"), new_chat("C2")
    store.apply([first, second])
    outcome = store.apply([given(first), given(second)])
    assert outcome[0] is None
    assert isinstance(outcome[1], AgentFullError), outcome
    assert [seq for seq, _ in store.load_journal("C2")] == [1, 2]  # nothing of it stored
    assert store.waiting_chats("acme", 10) == []  # neither was queued in this test
    ended = replace(next_message(given(first)), agents=())
    store.apply([ended])
    assert store.agent_load("bob", "n1", LEASE).open_chats == 0
    assert store.apply([given(second)]) == [None]


def test_R20_two_nodes_claiming_an_agents_last_slot_at_once_give_it_once(
    store: Store,
) -> None:
    ready(store)
    chats = [new_chat(f"C{n}") for n in range(4)]
    store.apply(chats)
    start = threading.Barrier(len(chats))
    outcomes: list[BaseException | None] = []

    def claim(change: ChatChange) -> None:
        start.wait()
        outcomes.extend(store.apply([given(change)]))

    threads = [threading.Thread(target=claim, args=(chat,)) for chat in chats]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(outcome is None for outcome in outcomes) == 1, outcomes
    assert all(isinstance(o, AgentFullError) for o in outcomes if o is not None)
    assert store.agent_load("bob", "n1", LEASE).open_chats == 1


def test_R20_an_agent_on_a_node_past_its_lease_is_offline_and_a_clean_leave_too(
    store: Store,
) -> None:
    ready(store)
    [node] = store.live_nodes(LEASE)
    with store.engine.begin() as connection:
        connection.execute(
            update(NodeRow)
            .where(NodeRow.node_id == "n1")
            .values(heartbeat_at=node.heartbeat_at - LEASE - timedelta(seconds=1))
        )
    assert free(store, node="another") == []
    assert free(store, node="n1") == ["bob"]  # the asking node is alive: it asks
    store.leave_node("n1")
    assert free(store, node="n1") == []


def test_R20_waiting_chats_come_oldest_first_and_idle_ones_are_found(store: Store) -> None:
    seed(store)
    later, earlier = new_chat("C1"), new_chat("C2")
    store.apply([later, earlier])
    queued = [
        replace(
            next_message(change),
            chat=replace(
                next_message(change).chat,
                status=ChatStatus.QUEUED,
                queue_id="q-general",
                queued_at=T0 + timedelta(minutes=minutes),
            ),
        )
        for change, minutes in ((later, 5), (earlier, 1))
    ]
    store.apply(queued)
    assert store.waiting_chats("acme", 10) == [("C2", "q-general"), ("C1", "q-general")]
    assert store.companies_waiting() == ["acme"]
    assert store.count_open_chats("acme") == 2
    assert sorted(store.idle_chats(T0 + timedelta(hours=1), 10)) == ["C1", "C2"]
    assert store.idle_chats(T0, 10) == []


@pytest.mark.parametrize("idle_minutes", [0, 30])
def test_R20_available_agents_idle_on_every_node_are_found(store: Store, idle_minutes: int) -> None:
    ready(store)
    store.agent_active("bob", "acme", T0 + timedelta(minutes=idle_minutes))
    found = store.idle_available_agents(T0 + timedelta(minutes=10))
    assert found == (["bob"] if idle_minutes == 0 else [])


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_R20_a_batch_ended_to_break_a_deadlock_is_written_again(store: Store) -> None:
    """Another transaction holds one of two agents the batch locks and then asks for the
    other: PostgreSQL ends one of the two; the batch, if it is the one, is written again."""
    ready(store, capacity=5)
    store.create_user(replace(BOB, user_id="amy", login="Amy.Agent", capacity=5))
    store.count_sockets("amy", "acme", "n1", 1, T0)
    first, second = new_chat("C1"), new_chat("C2")
    store.apply([first, second])
    joins = [given(first, capacity=5), replace(given(second, capacity=5), agents=("amy",))]
    joins[1] = replace(joins[1], claim=AgentClaim("amy", 5))
    other = store.engine.connect()
    transaction = other.begin()
    other.execute(text("SELECT 1 FROM routing_agents WHERE user_id = 'bob' FOR UPDATE"))
    outcome: list[BaseException | None] = []
    batch = threading.Thread(target=lambda: outcome.extend(store.apply(joins)))
    batch.start()  # locks amy, then waits for bob
    time.sleep(0.3)
    with contextlib.suppress(OperationalError):  # if PostgreSQL chose this one to end
        other.execute(text("SELECT 1 FROM routing_agents WHERE user_id = 'amy' FOR UPDATE"))
    transaction.rollback()
    other.close()
    batch.join(timeout=30)
    assert outcome == [None, None]
    assert store.agent_load("bob", "n1", LEASE).open_chats == 1
    assert store.agent_load("amy", "n1", LEASE).open_chats == 1
