"""R8 over random chats: nothing said while paused reaches any file, everything else does.

Each message carries a unique token; the test keeps its own account of the pause state
as SPEC.md states it (a pause while paused and a resume while not paused change
nothing), so the oracle is the rule, not the renderer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from chatrec.domain.journal import CUSTOMER, FLOW, Actor
from chatrec.domain.render.json_format import dump_json
from tests.unit.domain.builders import ChatBuilder
from tests.unit.domain.test_render import ALICE, BOB, SAM, render

SPEAKERS = [CUSTOMER, FLOW, ALICE, BOB]
STAFF = [ALICE, BOB, SAM]
# Filler never contains an upper-case letter or a digit, so it cannot spell a token, but
# it does contain what escaping and cleaning act on.
FILLER = st.text(alphabet="abc xyz<>&\"'\n\t\r\x1b—é😀", max_size=12)


@dataclass
class Told:
    """What the test expects: the tokens said while paused, and while recording."""

    paused: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


@st.composite
def chats(draw: st.DrawFn) -> tuple[ChatBuilder, Told]:
    builder, told, paused = ChatBuilder(), Told(), False
    builder.assign(ALICE)
    steps = draw(
        st.lists(st.sampled_from(["say", "say", "say", "pause", "resume", "join"]), max_size=30)
    )
    for number, step in enumerate(steps):
        if step == "say":
            speaker: Actor = draw(st.sampled_from(SPEAKERS))
            token = f"TOKEN{number:03d}{'P' if paused else 'K'}"
            text = draw(FILLER) + token + draw(FILLER)
            builder.says(speaker, text)
            (told.paused if paused else told.kept).append(token)
            if not paused:
                told.texts.append(text)
        elif step == "pause":
            builder.pause(draw(st.sampled_from(STAFF)))
            paused = True
        elif step == "resume":
            builder.resume(draw(st.sampled_from(STAFF)))
            paused = False
        else:
            builder.supervisor_joins(SAM)
    return builder.end(), told


@given(chats())
def test_R8_nothing_said_while_paused_reaches_any_file(chat: tuple[ChatBuilder, Told]) -> None:
    builder, told = chat
    files = render(builder.journal())
    for file in files.all_files:
        for token in told.paused:
            assert token.encode() not in file.content, (file.path, token)


@given(chats())
def test_R8_everything_said_while_recording_is_in_the_json(chat: tuple[ChatBuilder, Told]) -> None:
    builder, told = chat
    files = render(builder.journal())
    events = json.loads(files.files[0].content)["events"]
    assert [e["text"] for e in events if e["type"] == "message"] == told.texts
    for file in files.files:
        assert all(token.encode() in file.content for token in told.kept), file.path


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.text(st.characters(exclude_categories=("Cs",))),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_R15_files_are_the_bytes_the_standard_librarys_indented_json_gives(value: object) -> None:
    # Rendering moved to orjson for speed (issue 13); a file must not change for it.
    expected = (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    assert dump_json(value) == expected


def test_R19_what_orjson_refuses_is_still_written() -> None:
    assert dump_json({"text": "a\ud800b", "big": 2**70}) == (
        b'{\n  "text": "a?b",\n  "big": 1180591620717411303424\n}\n'
    )
