"""R3: a queue holds no recording settings; keys that try are found and the reason quoted."""

from __future__ import annotations

import pytest

from chatrec.domain.queues import R3_REASON, is_recording_key, recording_keys


@pytest.mark.parametrize(
    ("key", "refused"),
    [
        ("record", True),
        ("recording", True),
        ("Record_Chats", True),
        ("recording_enabled", True),
        ("name", False),
        ("queue_id", False),
        (3, False),
    ],
)
def test_R3_recording_keys_are_told_apart_from_queue_fields(key: object, refused: bool) -> None:
    assert is_recording_key(key) is refused


def test_R3_recording_keys_keeps_the_request_order_and_only_refused_keys() -> None:
    assert recording_keys(["name", "recording", 7, "record_percentage"]) == [
        "recording",
        "record_percentage",
    ]


def test_R3_reason_says_why_and_where_recording_is_set_instead() -> None:
    assert "(R3)" in R3_REASON
    assert "record chats" in R3_REASON
    assert "record steps" in R3_REASON
