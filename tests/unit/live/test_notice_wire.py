"""A notice as it travels between nodes on Redis (R20)."""

from __future__ import annotations

import pytest

from chatrec.live.redis_fanout import decode, encode, sender


def test_R20_a_notice_comes_back_as_it_was_sent_with_its_sender_and_topics() -> None:
    notice = {"chat_id": "c1", "seq": 7, "events": [[7, {"type": "message", "text": "héllo ✓"}]]}
    data = encode("node-1", ("chat:c1", "company:acme"), notice)
    assert decode(data) == ("node-1", ["chat:c1", "company:acme"], notice)


def test_R20_the_sender_is_read_without_parsing_the_notice() -> None:
    """What lets a node drop its own notices cheaply: every node hears them back."""
    data = encode("node-1", ("chat:c1",), {"seq": 1})
    assert sender(data) == b"node-1"
    assert sender(b"node-2 not json at all") == b"node-2"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"node-1",
        b"node-1 not json",
        b'node-1 {"notice": {}}',
        b'node-1 {"topics": "chat:c1", "notice": {}}',
        b'node-1 {"topics": [1], "notice": {}}',
        b'node-1 {"topics": ["chat:c1"], "notice": 3}',
        b'node-1 ["chat:c1"]',
        b"\xff\xfe {}",
    ],
)
def test_R20_anything_else_on_the_channels_is_refused_as_not_a_notice(data: bytes) -> None:
    with pytest.raises(ValueError, match="not a chatrec notice"):
        decode(data)
