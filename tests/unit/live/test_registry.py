"""A live chat's cached views follow its events and its company's settings (R11a)."""

from __future__ import annotations

from dataclasses import replace

from chatrec.domain.live_state import RecordingState
from chatrec.domain.settings import Product
from chatrec.live.registry import LiveChat
from tests.integration.store.factories import chat_of
from tests.unit.domain.builders import SAMPLING_KEY, ChatBuilder, agent, company

ALICE = agent("u-alice")


def test_R11a_the_recording_state_follows_each_event_and_a_settings_change() -> None:
    builder = ChatBuilder().customer_says("Hello").assign(ALICE)
    chat = LiveChat(
        chat_of(builder), list(enumerate(builder.events, start=1)), company(), SAMPLING_KEY
    )
    assert chat.recording_state is RecordingState.RECORDING
    assert chat.recording_state is RecordingState.RECORDING  # asked again: the same answer

    builder.pause(ALICE)
    chat.events.append((len(builder.events), builder.events[-1]))
    assert chat.recording_state is RecordingState.PAUSED

    builder.resume(ALICE)
    chat.events.append((len(builder.events), builder.events[-1]))
    assert chat.recording_state is RecordingState.RECORDING

    # The company loses a product (R1): the next summary says so without a new event.
    chat.company = replace(chat.company, products=frozenset({Product.WEBCHAT}))
    assert chat.recording_state is RecordingState.NOT_RECORDED
