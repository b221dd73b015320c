"""Each chat's journal chained by hash, checked event by event (R21, R17)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

from hypothesis import example, given
from hypothesis import strategies as st

from chatrec.domain.chain import (
    GENESIS,
    ChainedEvent,
    canonical_json,
    chain_events,
    check_chain,
    event_digest,
    head_of,
    link,
)
from chatrec.domain.journal import Journal, MessagePosted
from tests.unit.domain.builders import ChatBuilder, agent
from tests.unit.domain.strategies import journals


def stored(journal: Journal, chat_id: str = "C1") -> list[ChainedEvent]:
    """The journal as the store keeps it: numbered from 1, each with digest and link."""
    numbered = list(enumerate(journal.events, start=1))
    chain = chain_events(chat_id, GENESIS, numbered)
    return [
        ChainedEvent(seq, event, digest, linked)
        for (seq, event), (digest, linked) in zip(numbered, chain, strict=True)
    ]


ALICE = agent("alice")
JOURNAL = ChatBuilder().customer_says("hi").assign(ALICE).says(ALICE, "Hello").end().journal()


def test_R21_the_canonical_form_is_sorted_compact_utf8_json() -> None:
    assert canonical_json({"b": [1, True, None], "a": "Zoë"}) == (
        '{"a":"Zoë","b":[1,true,null]}'.encode()
    )
    message = MessagePosted(at=JOURNAL.start.at, actor=ALICE, text="Hello")
    form = (
        '{"chat_id":"C1","event":{"actor":{"name":"Alice","role":"agent","user_id":"alice"},'
        '"at":"2026-11-27T10:00:00+00:00","text":"Hello","type":"message_posted"},"seq":3}'
    )
    assert event_digest("C1", 3, message) == hashlib.sha256(form.encode()).digest()
    assert link(GENESIS, b"\x01" * 32) == hashlib.sha256(bytes(32) + b"\x01" * 32).digest()
    assert head_of([]) == GENESIS
    assert head_of([b"\x01" * 32, b"\x02" * 32]) == link(link(GENESIS, b"\x01" * 32), b"\x02" * 32)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(JSON_VALUES)
@example({"n": 2**70, "m": [-(2**64)]})
def test_R21_the_canonical_form_is_the_standard_librarys_for_every_value_it_may_hold(
    value: object,
) -> None:
    """Written by orjson for speed: for chatrec's values (no floats; text, integers of any
    size, lists, objects) byte for byte what the documented algorithm writes, so
    digests committed before and after verify alike."""
    expected = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
    assert canonical_json(value) == expected


def test_R21_a_journal_as_committed_verifies_and_its_head_stands_for_it() -> None:
    chain = stored(JOURNAL)
    checked = check_chain("C1", chain)
    assert checked.verifies
    assert (checked.events, checked.head, checked.unchained) == (len(chain), chain[-1].link, 0)
    # The same events in another chat are another chain: events cannot be moved between.
    assert check_chain("C2", chain).problems[0] == "event 1 differs from what was committed"


def test_R21_an_edited_removed_inserted_or_moved_event_is_named() -> None:
    chain = stored(JOURNAL)
    said = chain[1]
    assert isinstance(said.event, MessagePosted)
    edited = [*chain[:1], replace(said, event=replace(said.event, text="hi!")), *chain[2:]]
    assert check_chain("C1", edited).problems == ("event 2 differs from what was committed",)
    assert check_chain("C1", [chain[0], *chain[2:]]).problems == (
        "event 2 is missing (the next stored is 3)",
        "event 3 does not follow from the event before it",
    )
    # An event slipped in with a digest and link of its own making breaks the next link.
    slipped = replace(said.event, text="I agree to everything")
    digest = event_digest("C1", 2, slipped)
    forged = ChainedEvent(2, slipped, digest, link(chain[0].link, digest))
    shifted = [replace(e, seq=e.seq + 1) for e in chain[1:]]
    problems = check_chain("C1", [chain[0], forged, *shifted]).problems
    assert "event 3 does not follow from the event before it" in problems
    swapped = [chain[0], chain[2], chain[1], *chain[3:]]
    assert "event 2 is missing (the next stored is 3)" in check_chain("C1", swapped).problems


def test_R21_R17_a_purged_message_is_checked_by_its_digest_and_older_events_are_chained() -> None:
    chain = stored(JOURNAL)
    purged = [replace(e, event=None) if isinstance(e.event, MessagePosted) else e for e in chain]
    assert check_chain("C1", purged).verifies
    before_chains = [replace(e, digest=None, link=None) for e in chain[:2]] + chain[2:]
    checked = check_chain("C1", before_chains)
    assert (checked.verifies, checked.unchained) == (True, 2)
    gone = [replace(chain[0], digest=None, link=None), replace(chain[1], event=None, digest=None)]
    assert check_chain("C1", gone).problems[0] == "event 2 has neither its text nor its digest"


@given(journals(), st.data())
def test_R21_every_journal_verifies_and_any_change_of_one_event_is_caught(
    journal: Journal, data: st.DataObject
) -> None:
    chain = stored(journal)
    assert check_chain("C1", chain).verifies
    victim = data.draw(st.sampled_from(chain))
    assert victim.event is not None
    changed = replace(victim.event, at=victim.event.at.replace(microsecond=1))
    tampered = [replace(e, event=changed) if e is victim else e for e in chain]
    assert check_chain("C1", tampered).problems == (
        f"event {victim.seq} differs from what was committed",
    )
