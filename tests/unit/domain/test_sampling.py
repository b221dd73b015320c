"""Sampling of agent recordings (R7)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatrec.domain.sampling import SCALE, SamplingDraw, draw_sample

CHATS = 20_000
KEYS = [b"production-like-key", b"another key", b"\x00\x01\x02"]


def recorded_share(key: bytes, percentage: int) -> float:
    drawn = [draw_sample(key, f"chat-{n}", f"agent-{n % 37}", percentage) for n in range(CHATS)]
    return sum(draw.sampled_in for draw in drawn) / CHATS


@pytest.mark.parametrize("key", KEYS)
def test_R7_zero_percent_records_none_and_hundred_records_all(key: bytes) -> None:
    assert recorded_share(key, 0) == 0.0
    assert recorded_share(key, 100) == 1.0


@pytest.mark.parametrize("key", KEYS)
def test_R7_thirty_percent_converges_within_a_99_9_percent_binomial_bound(key: bytes) -> None:
    p = 0.30
    z = 3.2905  # two-sided 99.9 % normal quantile
    bound = z * math.sqrt(p * (1 - p) / CHATS)
    assert abs(recorded_share(key, 30) - p) <= bound


@given(
    chat_id=st.text(min_size=1, max_size=40),
    agent_id=st.text(min_size=1, max_size=40),
    percentage=st.integers(0, 100),
)
def test_R7_draw_is_reproducible_from_stored_data(
    chat_id: str, agent_id: str, percentage: int
) -> None:
    first = draw_sample(b"k", chat_id, agent_id, percentage)
    assert first == draw_sample(b"k", chat_id, agent_id, percentage)
    assert SamplingDraw(first.value, first.percentage).sampled_in == first.sampled_in


def test_R7_draw_depends_on_chat_agent_and_key() -> None:
    base = draw_sample(b"k", "chat-1", "alice", 50).value
    assert base != draw_sample(b"k", "chat-2", "alice", 50).value
    assert base != draw_sample(b"k", "chat-1", "bob", 50).value
    assert base != draw_sample(b"other", "chat-1", "alice", 50).value
    # The length prefix keeps ("ab", "c") and ("a", "bc") apart.
    assert draw_sample(b"k", "ab", "c", 50) != draw_sample(b"k", "a", "bc", 50)


@pytest.mark.parametrize(
    ("value", "percentage", "sampled_in"),
    [
        (0, 0, False),
        (0, 1, True),
        (SCALE // 100 - 1, 1, True),
        (SCALE // 100 + 1, 1, False),
        (SCALE - 1, 99, False),
        (SCALE - 1, 100, True),
    ],
)
def test_R7_threshold_is_exact_at_the_edges(value: int, percentage: int, sampled_in: bool) -> None:
    assert SamplingDraw(value, percentage).sampled_in is sampled_in


@pytest.mark.parametrize(("value", "percentage"), [(-1, 50), (SCALE, 50), (0, -1), (0, 101)])
def test_R7_out_of_range_draws_are_refused(value: int, percentage: int) -> None:
    with pytest.raises(ValueError, match=r"must be|outside"):
        SamplingDraw(value, percentage)


def test_R7_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="sampling key"):
        draw_sample(b"", "chat", "agent", 50)


def test_R7_fraction_is_in_unit_interval() -> None:
    assert SamplingDraw(SCALE // 2, 50).fraction == 0.5
