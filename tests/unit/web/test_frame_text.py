"""Frames as the text a socket sends (R19: a malformed character never breaks a socket)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from chatrec.web.protocol import frame_text

ANY_TEXT = st.text(st.characters(exclude_categories=[]), max_size=20)
"""Lone surrogates included: a client's JSON may escape one into a field's name."""


@given(st.dictionaries(ANY_TEXT, ANY_TEXT | st.integers(-(2**63), 2**63 - 1) | st.none()))
def test_R19_every_frame_is_sent_as_json_that_reads_back_as_it_was(
    frame: dict[str, object],
) -> None:
    text = frame_text(frame)
    assert json.loads(text) == frame


def test_R19_a_lone_surrogate_is_sent_escaped_as_the_standard_library_writes_it() -> None:
    frame = {"type": "error", "message": "\ud800: extra inputs are not permitted"}
    text = frame_text(frame)
    assert text == json.dumps(frame)
    assert json.loads(text) == frame
