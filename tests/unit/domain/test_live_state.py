"""The recording state shown live to agents and customers (R11a, R8)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatrec.domain.journal import CUSTOMER, FLOW, Actor, Journal, MessagePosted
from chatrec.domain.live_state import RecordingState, awaits_consent, is_paused, recording_state
from chatrec.domain.settings import Product
from tests.unit.domain.builders import ChatBuilder, agent, company, supervisor
from tests.unit.domain.strategies import journals

ALICE, BOB, SAM = agent("alice"), agent("bob"), supervisor("sam")
Story = Callable[[ChatBuilder], ChatBuilder]


@pytest.mark.parametrize(
    ("story", "state"),
    [
        (lambda c: c, RecordingState.RECORDING),
        (lambda c: c.assign(ALICE), RecordingState.RECORDING),
        (lambda c: c.assign(ALICE).pause(ALICE), RecordingState.PAUSED),
        (lambda c: c.assign(ALICE).pause(ALICE).resume(ALICE), RecordingState.RECORDING),
        (lambda c: c.assign(ALICE).pause(ALICE).transfer(ALICE, BOB), RecordingState.PAUSED),
        (lambda c: c.assign(ALICE).press_delete(ALICE), RecordingState.NOT_RECORDED),
        (lambda c: c.assign(ALICE, permit=False), RecordingState.NOT_RECORDED),
        (lambda c: c.assign(ALICE, percentage=0), RecordingState.NOT_RECORDED),
        (
            lambda c: c.assign(ALICE).press_delete(ALICE).flag_abusive(ALICE),
            RecordingState.RECORDING,
        ),
        (lambda c: c.ask_consent(), RecordingState.AWAITING_CONSENT),
        (lambda c: c.consent(True), RecordingState.RECORDING),
        (lambda c: c.consent(False), RecordingState.RECORDING),
        (lambda c: c.consent(False).discard(), RecordingState.NOT_RECORDED),
        (lambda c: c.consent(False).discard().assign(ALICE), RecordingState.NOT_RECORDED),
        (lambda c: c.consent(True).flow_records("s", "consented"), RecordingState.RECORDING),
        (lambda c: c.supervisor_joins(SAM, permit=False), RecordingState.NOT_RECORDED),
        (lambda c: c.supervisor_joins(SAM).press_delete(SAM), RecordingState.NOT_RECORDED),
    ],
    ids=[
        "R11a new chat",
        "R11a agent recording",
        "R8 paused",
        "R8 resumed",
        "R8 pause survives a transfer",
        "R12b delete pressed",
        "R12a permit off",
        "R7 sampled out",
        "R13 abusive overrides",
        "R10 consent question open waits for the answer",
        "R10 consent given",
        "R10 declining changes nothing by itself",
        "R12c declined and discarded before any agent",
        "R12c discarded then an agent joins",
        "R10 R5b flow records after consent",
        "R12a supervisor without permit joins before any agent",
        "R12b supervisor deletes before any agent",
    ],
)
def test_R11a_recording_state(story: Story, state: RecordingState) -> None:
    journal = story(ChatBuilder()).journal()
    assert recording_state(company(), journal) is state


def test_R11a_R1_company_not_provisioned_shows_not_recorded() -> None:
    journal = ChatBuilder().assign(ALICE).journal()
    settings = company(products=frozenset({Product.WEBCHAT}))
    assert recording_state(settings, journal) is RecordingState.NOT_RECORDED


def test_R8_a_second_pause_and_a_stray_resume() -> None:
    assert is_paused(ChatBuilder().pause(ALICE).pause(BOB).journal())
    assert not is_paused(ChatBuilder().resume(ALICE).journal())


def test_R10_R11a_a_chat_not_recorded_at_all_is_not_awaiting_consent() -> None:
    journal = ChatBuilder().ask_consent().journal()
    settings = company(products=frozenset({Product.WEBCHAT}))
    assert recording_state(settings, journal) is RecordingState.NOT_RECORDED


def test_R10_only_the_last_consent_question_counts() -> None:
    assert awaits_consent(ChatBuilder().consent(True).ask_consent().journal())
    assert not awaits_consent(ChatBuilder().ask_consent().consent(False).journal())
    assert not awaits_consent(ChatBuilder().journal())


@given(journals(ended=False), st.sampled_from([CUSTOMER, FLOW, ALICE, SAM]))
def test_R11a_a_message_never_changes_the_recording_state(journal: Journal, who: Actor) -> None:
    """What lets a live chat decide its recording state again only when an event other
    than a message arrives (``LiveChat.recording_state``)."""
    later = journal.events[-1].at
    said = Journal((*journal.events, MessagePosted(at=later, actor=who, text="4111 hello")))
    for settings in (company(), company(products=frozenset({Product.WEBCHAT}))):
        assert recording_state(settings, said) is recording_state(settings, journal)
