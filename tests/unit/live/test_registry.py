"""A live chat's cached views follow its events and its company's settings (R11a)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from chatrec.domain.journal import (
    DeletionRequested,
    FlaggedAbusive,
    Journal,
    MessagePosted,
    NoteAdded,
)
from chatrec.domain.live_state import RecordingState, is_paused, recording_state
from chatrec.domain.participants import stints
from chatrec.domain.settings import Product
from chatrec.live.registry import LiveChat
from tests.integration.store.factories import chat_of
from tests.unit.domain.builders import SAMPLING_KEY, ChatBuilder, agent, company
from tests.unit.domain.strategies import journals

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


@settings(max_examples=60)
@given(journals(), st.data())
def test_R11a_R19_what_a_live_chat_keeps_between_events_is_what_its_journal_says(
    journal: Journal, data: st.DataObject
) -> None:
    """Grown an event at a time, asked after some of them (as followers ask), a live chat
    answers as its whole journal computed afresh would: the cache never goes stale."""
    events = list(enumerate(journal.events, start=1))
    chat = LiveChat(chat_of(ChatBuilder()), events[:1], company(), SAMPLING_KEY)
    for numbered in events[1:]:
        chat.events.append(numbered)
        if not data.draw(st.booleans()):
            continue
        so_far = Journal(tuple(event for _, event in chat.events))
        assert chat.journal == so_far
        assert chat.stints() == stints(so_far)
        staff_in = {
            s.actor.user_id: s.actor
            for s in stints(so_far)
            if s.left_at is None and s.actor.user_id is not None and s.actor.is_staff
        }
        assert chat.present() == staff_in  # asked by every staff socket per notice
        assert chat.paused == is_paused(so_far)
        assert chat.recording_state is recording_state(chat.company, so_far)
        assert chat.deletion_requested == bool(so_far.of_type(DeletionRequested))
        assert chat.abusive == bool(so_far.of_type(FlaggedAbusive))
        # What people wrote, internal notes too (R23): the chat's room counts them all.
        texts = [e.text for e in so_far.events if isinstance(e, MessagePosted | NoteAdded)]
        assert chat.text_bytes == sum(len(text.encode()) for text in texts)
        seq = data.draw(st.integers(0, len(chat.events)))
        assert chat.events_after(seq) == [(n, e) for n, e in chat.events if n > seq]
