"""Typing indicators (R23): what one connection's throttle lets through, and what each
audience's frame holds."""

from __future__ import annotations

import pytest

from chatrec.services.typing import TypingThrottle, typing_frame

EVERY = 0.5


@pytest.mark.parametrize(
    ("sent", "relayed"),
    [
        # (seconds, active) in order -> which were passed on
        ([(0.0, True), (0.1, True), (0.2, True)], [True, False, False]),
        ([(0.0, True), (0.5, True), (0.9, True), (1.0, True)], [True, True, False, True]),
        ([(0.0, False)], [False]),  # a stop with no start says nothing
        ([(0.0, True), (0.1, False), (0.2, False)], [True, True, False]),  # one stop
        ([(0.0, True), (0.1, False), (0.2, True)], [True, True, True]),  # starts again
    ],
)
def test_R23_the_throttle_passes_a_start_at_most_every_interval_and_one_stop(
    sent: list[tuple[float, bool]], relayed: list[bool]
) -> None:
    throttle = TypingThrottle(every=EVERY)
    assert [throttle.admits("c1", active, at) for at, active in sent] == relayed


def test_R23_each_chat_is_throttled_on_its_own() -> None:
    throttle = TypingThrottle(every=EVERY)
    assert throttle.admits("c1", True, 0.0)
    assert throttle.admits("c2", True, 0.1)
    assert not throttle.admits("c1", True, 0.2)


NOTICE = {
    "chat_id": "c1",
    "typing": {
        "by": "customer",
        "name": None,
        "user_id": None,
        "active": True,
        "draft": "card **** 1111",
    },
}


def test_R23_staff_get_the_draft_and_ids_customers_never_do() -> None:
    assert typing_frame(NOTICE, staff=True) == {
        "type": "typing",
        "chat_id": "c1",
        "by": "customer",
        "name": None,
        "active": True,
        "user_id": None,
        "draft": "card **** 1111",
    }
    agent = {"chat_id": "c1", "typing": {"by": "agent", "name": "Alice", "user_id": "u1"}}
    agent["typing"]["active"] = False
    assert typing_frame(agent, staff=False) == {
        "type": "typing",
        "chat_id": "c1",
        "by": "agent",
        "name": "Alice",
        "active": False,
    }
