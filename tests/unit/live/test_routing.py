"""Routing: oldest waiting chat to the longest-idle available, online agent with room."""

from __future__ import annotations

import pytest

from chatrec.live.routing import Availability, Match, Router


def router_with(*agents: tuple[str, int, float]) -> Router:
    router = Router()
    for user_id, capacity, idle_since in agents:
        slot = router.agent(user_id, "acme", capacity)
        router.set_available(slot, True, idle_since)
        router.set_online(slot, True)
    return router


def test_longest_idle_agent_gets_the_oldest_chat() -> None:
    router = router_with(("alice", 3, 20.0), ("bob", 3, 10.0))
    router.enqueue("acme", "general", "c1")
    router.enqueue("acme", "general", "c2")
    assert router.match("acme", 30.0) == [
        Match("c1", "general", "bob"),
        Match("c2", "general", "alice"),
    ]


def test_capacity_bounds_concurrent_chats_and_the_rest_wait() -> None:
    router = router_with(("alice", 2, 0.0))
    for chat in ("c1", "c2", "c3"):
        router.enqueue("acme", "general", chat)
    assert [m.chat_id for m in router.match("acme", 1.0)] == ["c1", "c2"]
    assert router.waiting("acme") == [("general", "c3")]
    router.release("alice", "c1", 2.0)
    assert [m.chat_id for m in router.match("acme", 3.0)] == ["c3"]


def test_away_offline_agents_and_other_companies_get_nothing() -> None:
    router = router_with(("alice", 3, 0.0), ("bob", 3, 0.0))
    router.set_available(router.agent("alice", "acme", 3), False, 1.0)
    router.set_online(router.agent("bob", "acme", 3), False)  # Available, portal closed
    zed = router.agent("zed", "other", 3)
    router.set_available(zed, True, 0.0)
    router.set_online(zed, True)
    router.enqueue("acme", "general", "c1")
    assert router.match("acme", 2.0) == []
    assert router.availability("alice", 3) == Availability(False, True, 3, 0)
    assert router.availability("bob", 3).reason == "offline"
    assert router.available_agents() == ["bob", "zed"]
    router.set_online(router.agent("bob", "acme", 3), True)
    assert router.match("acme", 3.0) == [Match("c1", "general", "bob")]


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


def test_an_agent_this_node_never_met_is_away_offline_and_free() -> None:
    assert Router().availability("nobody", 4) == Availability(False, False, 4, 0)


def test_a_chat_is_queued_once_and_can_be_withdrawn() -> None:
    router = Router()
    router.enqueue("acme", "general", "c1")
    router.enqueue("acme", "sales", "c1")
    assert router.waiting("acme") == [("general", "c1")]
    router.withdraw("c1")
    assert router.waiting("acme") == []


def test_held_chats_count_against_capacity_after_a_restart() -> None:
    router = router_with(("alice", 1, 0.0))
    router.holds("alice", "c0")
    router.enqueue("acme", "general", "c1")
    assert router.match("acme", 1.0) == []
    router.release("alice", "c0", 2.0)
    router.release("nobody", "c0", 2.0)
    assert router.match("acme", 3.0) == [Match("c1", "general", "alice")]
