"""From a decision to named files (R6, R15)."""

from __future__ import annotations

from chatrec.domain.decision import decide_recordings
from chatrec.domain.filenames import EMPTY_VALUE
from chatrec.domain.production import produce_files, recording_bases
from tests.unit.domain.builders import ALL_FORMATS, ChatBuilder, agent, company

ALICE = agent("alice")
BOB = agent("bob")
CAROL = agent("carol")
WHO = "{origin}/{agent}_{agent_id}"


def _alice_then_bob_longest_then_carol(*, record_chats: bool = True) -> ChatBuilder:
    """Alice for a second, Bob for four, Carol for two: the primary agent is Bob, who is
    neither the first nor the last agent."""
    return (
        ChatBuilder()
        .assign(ALICE, record_chats=record_chats)
        .transfer(ALICE, BOB, record_chats=record_chats)
        .says(BOB, "one")
        .says(BOB, "two")
        .says(BOB, "three")
        .transfer(BOB, CAROL, record_chats=record_chats)
        .customer_says("thanks")
    )


def test_R6_flow_recording_uses_its_step_template_and_agent_the_company_default() -> None:
    journal = ChatBuilder().flow_records("s1", "sales", "flows/{reason}").assign(ALICE).end()
    decision = decide_recordings(company(), journal.journal())
    bases = recording_bases(company(), journal.journal(), decision)
    assert bases == {"C1-r1": "flows/sales", "C1-r2": "2026-11-27/Acme_C1_agent_C1-r2"}


def test_R19_a_flow_template_that_no_longer_parses_falls_back_to_the_default() -> None:
    """A template refused today must not lose a recording of a chat that ran it (R19)."""
    journal = ChatBuilder().flow_records("s1", "sales", "{nope}").end().journal()
    decision = decide_recordings(company(), journal)
    assert recording_bases(company(), journal, decision) == {
        "C1-r1": "2026-11-27/Acme_C1_flow_C1-r1"
    }


def test_R6_bases_ending_like_a_format_extension_cannot_shadow_another_file() -> None:
    journal = ChatBuilder().flow_records("s1", "a", "x.vcon").flow_records("s2", "b", "x").end()
    decision = decide_recordings(company(), journal.journal())
    bases = recording_bases(company(), journal.journal(), decision)
    assert bases == {"C1-r1": "x_vcon", "C1-r2": "x"}


def test_R15_every_format_and_a_sidecar_per_produced_recording() -> None:
    journal = ChatBuilder().assign(ALICE).customer_says("hello").end().journal()
    settings = company(formats=ALL_FORMATS)
    (files,) = produce_files(settings, journal, decide_recordings(settings, journal))
    assert [f.format for f in files.files] == ["json", "vcon", "text", "html"]
    assert files.sidecar.path == "2026-11-27/Acme_C1_agent_C1-r1.meta.json"


def test_R5b_a_flow_recordings_agent_token_names_the_primary_agent() -> None:
    """``{agent}`` of a flow recording is the agent who handled the chat longest; each
    agent recording names its own agent (R5a)."""
    chat = ChatBuilder().flow_records("s1", "quality", WHO)
    chat.add_all(_alice_then_bob_longest_then_carol().events[1:])
    journal = chat.end().journal()
    settings = company(template=WHO)
    bases = recording_bases(settings, journal, decide_recordings(settings, journal))
    assert bases == {
        "C1-r1": "flow/Bob_bob",
        "C1-r2": "agent/Alice_alice",
        "C1-r3": "agent/Bob_bob",
        "C1-r4": "agent/Carol_carol",
    }


def test_R13_the_abusive_recordings_agent_token_names_the_primary_agent() -> None:
    """Nobody's recording was on, so R13 adds one under the company default template:
    its ``{agent}`` is the agent who handled the chat longest."""
    chat = _alice_then_bob_longest_then_carol(record_chats=False).flag_abusive(CAROL)
    journal = chat.end().journal()
    settings = company(template=WHO)
    decision = decide_recordings(settings, journal)
    assert recording_bases(settings, journal, decision) == {"C1-r1": "abusive/Bob_bob"}


def test_R5b_a_flow_recording_of_a_chat_no_agent_handled_names_no_agent() -> None:
    journal = ChatBuilder().flow_records("s1", "quality", WHO).end().journal()
    decision = decide_recordings(company(), journal)
    assert recording_bases(company(), journal, decision) == {
        "C1-r1": f"flow/{EMPTY_VALUE}_{EMPTY_VALUE}"
    }
