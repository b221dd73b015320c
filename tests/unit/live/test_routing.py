"""Routing's pairing: oldest waiting chat to the least loaded, longest-idle agent.

What may be paired (Available, online on a live node, not full) is the store's answer
(tests/integration/store/test_routing.py); here, only who gets which chat of it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatrec.live.routing import Availability, Match, pair
from chatrec.store.records import FreeAgent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def agent(user_id: str, capacity: int, idle_minutes_ago: float, load: int = 0) -> FreeAgent:
    return FreeAgent(user_id, capacity, load, T0 - timedelta(minutes=idle_minutes_ago))


def test_longest_idle_agent_gets_the_oldest_chat_then_the_next_agent() -> None:
    waiting = [("c1", "general"), ("c2", "general")]
    assert pair(waiting, [agent("alice", 3, 10), agent("bob", 3, 20)]) == [
        Match("c1", "general", "bob"),
        Match("c2", "general", "alice"),
    ]


def test_capacity_bounds_the_chats_given_and_the_rest_wait() -> None:
    waiting = [("c1", "general"), ("c2", "general"), ("c3", "general")]
    assert [m.chat_id for m in pair(waiting, [agent("alice", 2, 0)])] == ["c1", "c2"]
    assert pair(waiting, [agent("alice", 2, 0, load=2)]) == []


def test_the_least_loaded_agent_goes_before_the_longest_idle() -> None:
    waiting = [("c1", "general")]
    busy_long_idle = agent("alice", 3, 60, load=1)
    free_just_now = agent("bob", 3, 1)
    assert pair(waiting, [busy_long_idle, free_just_now]) == [Match("c1", "general", "bob")]


def test_ties_go_by_login_so_every_node_pairs_alike() -> None:
    waiting = [("c1", "general")]
    assert pair(waiting, [agent("bob", 1, 5), agent("alice", 1, 5)]) == [
        Match("c1", "general", "alice")
    ]


def test_no_free_agent_or_no_chat_pairs_nothing() -> None:
    assert pair([("c1", "general")], []) == []
    assert pair([], [agent("alice", 1, 0)]) == []


@given(
    st.lists(
        st.tuples(st.integers(1, 3), st.integers(0, 3), st.integers(0, 5)),
        max_size=8,
    ),
    st.integers(0, 6),
)
def test_n_chats_go_only_to_the_first_n_free_agents_in_routings_order(
    agents: list[tuple[int, int, int]], chats: int
) -> None:
    """Why the store reads only as many free agents as there are chats to give: pairing
    those gives every chat to the same agent as pairing all of them (issue 13)."""
    free = [
        agent(f"a{n}", capacity, idle, load=min(load, capacity - 1))
        for n, (capacity, load, idle) in enumerate(agents)
    ]
    waiting = [(f"c{n}", "general") for n in range(chats)]
    ordered = sorted(free, key=lambda a: (a.open_chats, a.idle_since, a.user_id))
    assert pair(waiting, ordered[:chats]) == pair(waiting, free)


@pytest.mark.parametrize(
    ("availability", "reason", "free"),
    [
        (Availability(False, True, 3, 0), "away", 3),
        (Availability(False, False, 3, 3), "away", 0),
        (Availability(True, False, 3, 0), "offline", 3),
        (Availability(True, True, 2, 2), "full", 0),
        (Availability(True, True, 2, 3), "full", 0),  # capacity lowered while busy
        (Availability(True, True, 3, 1), None, 2),
    ],
)
def test_a_transfer_target_is_refused_for_one_reason(
    availability: Availability, reason: str | None, free: int
) -> None:
    assert (availability.reason, availability.free_slots) == (reason, free)
