"""The dashboard's figures, each defined once (domain/dashboard.py; issue 15)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chatrec.domain.dashboard import AgentFigures, ChatStart, QueueFigures, service_level

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("online", "available", "open_chats", "state"),
    [
        (False, True, 0, "offline"),
        (True, False, 0, "away"),
        (True, True, 3, "busy"),
        (True, True, 2, "available"),
    ],
)
def test_an_agents_state(online: bool, available: bool, open_chats: int, state: str) -> None:
    agent = AgentFigures("u", "Ann", available, None, ago(5), online, open_chats, 3)
    assert agent.state == state


def test_a_queues_longest_wait_is_its_oldest_chats() -> None:
    assert QueueFigures("q", "General", 2, ago(90)).longest_wait(NOW) == 90
    assert QueueFigures("q", "General", 0, None).longest_wait(NOW) is None


def test_the_share_answered_in_time_counts_taken_chats_and_those_waiting_too_long() -> None:
    chats = [
        ChatStart(ago(300), ago(250), waiting=False),  # taken after 50 s: in time
        ChatStart(ago(300), ago(200), waiting=False),  # taken after 100 s: late
        ChatStart(ago(100), None, waiting=True),  # waiting 100 s: late already
        ChatStart(ago(30), None, waiting=True),  # waiting 30 s: not counted yet
        ChatStart(ago(300), None, waiting=False),  # the flow ended it: never queued
    ]
    level = service_level(chats, 60, NOW)
    assert (level.answered_in_time, level.counted, level.share) == (1, 3, 1 / 3)
    assert service_level([], 60, NOW).share is None
