"""Each chat's journal chained by hash, so the QA side can prove what was committed (R21).

Every event gets a *digest*, the SHA-256 of its canonical form, and a *link*, the SHA-256
of the link before it and its own digest.  The last link, the chain's *head*, stands for
the whole journal: change, drop, add or reorder any event and every link after it
changes.  Purging a chat's message text (R17) keeps digests and links, so the chain
still verifies from the digests after the text is gone.

The canonical form is RFC 8785 (JCS) JSON: keys sorted, no whitespace, UTF-8, characters
beyond ASCII as themselves.  For chatrec's values (strings, integers, booleans, null,
lists and objects with ASCII keys) Python's ``json.dumps`` with the options below
writes exactly that.  ``docs/verification.md`` spells the whole algorithm out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from chatrec.domain.codec import encode_event
from chatrec.domain.journal import Event

GENESIS = bytes(32)
"""The link before a chat's first event."""


def canonical_json(value: Any) -> bytes:
    """``value`` as RFC 8785 canonical JSON bytes (for chatrec's values: see the module).

    Written by orjson, which for these values gives the standard library's bytes in a
    fifteenth of the time (every event of every chat is hashed as it is committed,
    issue 13); what orjson refuses (an integer beyond 64 bits, a key not a string)
    goes through the standard library as before."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")


def event_digest(chat_id: str, seq: int, event: Event) -> bytes:
    """The SHA-256 of the event's canonical form, which names its chat and place in it."""
    form = {"chat_id": chat_id, "seq": seq, "event": encode_event(event)}
    return hashlib.sha256(canonical_json(form)).digest()


def link(previous: bytes, digest: bytes) -> bytes:
    """The link of an event: the SHA-256 of the link before it and its digest."""
    return hashlib.sha256(previous + digest).digest()


def head_of(digests: Iterable[bytes], start: bytes = GENESIS) -> bytes:
    """The last link of a chain of ``digests`` from ``start`` (``start`` if none)."""
    current = start
    for digest in digests:
        current = link(current, digest)
    return current


def chain_events(
    chat_id: str, previous: bytes, numbered: Iterable[tuple[int, Event]]
) -> tuple[tuple[bytes, bytes], ...]:
    """The digest and link of each of ``numbered``, the events that follow ``previous``."""
    chained = []
    for seq, event in numbered:
        digest = event_digest(chat_id, seq, event)
        previous = link(previous, digest)
        chained.append((digest, previous))
    return tuple(chained)


@dataclass(frozen=True, slots=True)
class ChainedEvent:
    """One event of a journal as stored: its number, its hashes, and the event itself.

    ``event`` is None for a message whose text a purge emptied (R17): its stored digest
    stands in for it.  ``digest`` and ``link`` are None for an event committed before
    chains existed: it is chained here from its content, and counted as unchained.
    """

    seq: int
    event: Event | None
    digest: bytes | None
    link: bytes | None


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """What a chat's stored chain says: its head, what breaks it, what predates it."""

    head: bytes
    events: int
    problems: tuple[str, ...]
    unchained: int = 0

    @property
    def verifies(self) -> bool:
        return not self.problems


def check_chain(chat_id: str, events: Iterable[ChainedEvent]) -> ChainCheck:
    """Every event's digest recomputed from its content and every link from the one
    before; what differs, in words."""
    problems: list[str] = []
    previous = GENESIS
    expected_seq = 1
    unchained = 0
    count = 0
    for stored in events:
        count += 1
        if stored.seq != expected_seq:
            problems.append(f"event {expected_seq} is missing (the next stored is {stored.seq})")
        expected_seq = stored.seq + 1
        computed = None if stored.event is None else event_digest(chat_id, stored.seq, stored.event)
        if stored.digest is None:
            unchained += 1
            if computed is None:
                problems.append(f"event {stored.seq} has neither its text nor its digest")
                continue
            previous = link(previous, computed)
            continue
        if computed is not None and computed != stored.digest:
            problems.append(f"event {stored.seq} differs from what was committed")
        if stored.link is None or link(previous, stored.digest) != stored.link:
            problems.append(f"event {stored.seq} does not follow from the event before it")
        previous = stored.link or link(previous, stored.digest)
    return ChainCheck(previous, count, tuple(problems), unchained)
