"""Properties of whole produced chats: names (R6) and paused text (R8) over random journals."""

from __future__ import annotations

import json
from pathlib import PurePosixPath

from hypothesis import given
from hypothesis import strategies as st

from chatrec.domain.decision import decide_recordings
from chatrec.domain.journal import (
    Journal,
    MessagePosted,
    NoteAdded,
    RecordingPaused,
    RecordingResumed,
)
from chatrec.domain.production import produce_files, recording_bases
from tests.unit.domain.builders import ALL_FORMATS, ChatBuilder, company
from tests.unit.domain.strategies import STAFF, journals

COMPANY = company(formats=ALL_FORMATS)
TEMPLATES = st.sampled_from(
    ["{date}/{time}", "{reason}", "{datetime:%Y%m%d%H%M%S}", "a.vcon", "a.meta", "A.VCON", "a"]
)


def _paths(company_journals: list[Journal]) -> list[str]:
    """Every file path of every produced recording of the chats, in delivery order."""
    taken: list[str] = []
    paths: list[str] = []
    for journal in company_journals:
        decision = decide_recordings(COMPANY, journal)
        for files in produce_files(COMPANY, journal, decision, taken):
            paths += [f.path for f in files.files] + [files.sidecar.path]
        taken += recording_bases(COMPANY, journal, decision, taken).values()
    return paths


@given(st.lists(journals(max_steps=12), min_size=1, max_size=3))
def test_R6_file_names_never_escape_the_root_and_never_collide(chats: list[Journal]) -> None:
    chats = [
        ChatBuilder(f"C{n}").add_all(chat.events[1:]).journal() for n, chat in enumerate(chats)
    ]
    paths = _paths(chats)
    assert len({p.casefold() for p in paths}) == len(paths)
    for path in paths:
        pure = PurePosixPath(path)
        assert not pure.is_absolute()
        assert ".." not in pure.parts
        assert "." not in pure.parts


@given(
    st.lists(TEMPLATES, min_size=1, max_size=6),
    st.lists(TEMPLATES, min_size=1, max_size=6),
)
def test_R6_same_template_in_chats_of_the_same_second_never_overwrite(
    first: list[str], second: list[str]
) -> None:
    def chat(chat_id: str, templates: list[str]) -> Journal:
        builder = ChatBuilder(chat_id)
        for n, template in enumerate(templates):
            builder.flow_records(f"s{n}", "qa", template)
        return builder.end().journal()

    paths = _paths([chat("C1", first), chat("C2", second)])
    assert len(paths) == 5 * (len(first) + len(second))  # 4 formats + sidecar each
    assert len({p.casefold() for p in paths}) == len(paths)


@given(journals(), st.integers(0, 10**6))
def test_R8_text_said_while_paused_is_in_no_rendered_file(journal: Journal, salt: int) -> None:
    """Insert a unique secret while paused anywhere; no byte of any file may carry it."""
    secret = f"4111-1111-1111-{salt:06d}"
    who = STAFF[salt % len(STAFF)]
    events = list(journal.events[:-1])
    builder = ChatBuilder().add_all(events[1:]).pause(who).says(who, secret)
    builder.customer_says(f"card {secret}").resume(who).customer_says("thanks")
    ended = builder.end().journal()
    decision = decide_recordings(COMPANY, ended)
    for recording in produce_files(COMPANY, ended, decision):
        for file in (*recording.files, recording.sidecar):
            assert secret.encode() not in file.content, file.path
        json_file = next(f for f in recording.files if f.format == "json")
        assert b"thanks" in json_file.content


@given(journals())
def test_R8_R23_every_message_and_note_said_while_recording_is_in_the_json(
    journal: Journal,
) -> None:
    decision = decide_recordings(COMPANY, journal)
    paused = False
    said: list[str] = []
    for event in journal.events:
        if isinstance(event, RecordingPaused):
            paused = True
        elif isinstance(event, RecordingResumed):
            paused = False
        elif isinstance(event, MessagePosted | NoteAdded) and not paused:
            said.append(event.text)  # notes too, where the company keeps them (R23)
    for recording in produce_files(COMPANY, journal, decision):
        json_file = next(f for f in recording.files if f.format == "json")
        texts = [e["text"] for e in json.loads(json_file.content)["events"] if "text" in e]
        assert texts == said
