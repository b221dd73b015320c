"""The in-memory view of one open chat, rebuilt from the store on start.

A :class:`LiveChat` caches what the store already holds (the chat row and its journal)
so that a message does not re-read the journal; it is only changed after the store has
committed the change, so memory never runs ahead of what survives a crash.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from chatrec.domain.chain import GENESIS, ChainCheck, chain_events, event_digest, head_of
from chatrec.domain.journal import Actor, ChatRole, Event, Journal, MessagePosted
from chatrec.domain.live_state import RecordingState, is_paused, recording_state
from chatrec.domain.participants import Stint, stints
from chatrec.domain.settings import CompanySettings
from chatrec.flows import Flow, FlowState
from chatrec.store.records import ChatRecord


@dataclass
class LiveChat:
    record: ChatRecord
    events: list[tuple[int, Event]]
    company: CompanySettings
    sampling_key: bytes
    flow: Flow | None = None
    flow_state: FlowState | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The journal and its stints, kept until an event is added: every notice to every
    # follower asks who is present, and rebuilding them per ask was the relay's hot spot.
    _cached_at: tuple[int, int] = field(default=(-1, -1), init=False, repr=False, compare=False)
    _journal: Journal | None = field(default=None, init=False, repr=False, compare=False)
    _stints: list[Stint] = field(default_factory=list, init=False, repr=False, compare=False)
    _text_bytes: int = field(default=0, init=False, repr=False, compare=False)
    # The recording state for the journal and the company settings it was decided with:
    # every follower's summary shows it, and deciding it runs the whole decision.
    _state: tuple[CompanySettings, RecordingState] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    # The link of the journal's last event in its hash chain (R21) and how many events
    # it covers: events are only ever appended, so it is extended, never recomputed.
    _head: tuple[int, bytes] = field(default=(0, GENESIS), init=False, repr=False, compare=False)
    # What broke the journal's chain when it was read from the store (R21): its
    # recordings carry it, so a changed journal is never rendered silently.
    chain_problems: tuple[str, ...] = field(default=(), compare=False)

    @property
    def chat_id(self) -> str:
        return self.record.chat_id

    def _refresh(self) -> Journal:
        # Events are only ever appended, so their count and last number say what changed.
        now = (len(self.events), self.events[-1][0] if self.events else 0)
        if self._journal is None or now != self._cached_at:
            self._journal = Journal(tuple(event for _, event in self.events))
            self._stints = stints(self._journal)
            self._text_bytes = sum(
                len(event.text.encode())
                for event in self._journal.events
                if isinstance(event, MessagePosted)
            )
            self._state = None
            self._cached_at = now
        return self._journal

    @property
    def journal(self) -> Journal:
        return self._refresh()

    @property
    def text_bytes(self) -> int:
        """Bytes (UTF-8) of the message text the chat holds, its limit's measure (R19)."""
        self._refresh()
        return self._text_bytes

    def stints(self) -> list[Stint]:
        self._refresh()
        return self._stints

    def present(self) -> dict[str, Actor]:
        """Staff in the chat now, by user id (open stints)."""
        return {
            s.actor.user_id: s.actor
            for s in self.stints()
            if s.left_at is None and s.actor.user_id is not None and s.actor.is_staff
        }

    def present_agents(self) -> dict[str, Actor]:
        return {uid: a for uid, a in self.present().items() if a.role is ChatRole.AGENT}

    def involved(self, user_id: str) -> bool:
        """Whether the user ever took part: agents see the chats they are or were in (R18)."""
        return any(s.actor.user_id == user_id for s in self.stints())

    @property
    def recording_state(self) -> RecordingState:
        journal = self._refresh()
        if self._state is None or self._state[0] is not self.company:
            self._state = (self.company, recording_state(self.company, journal))
        return self._state[1]

    @property
    def paused(self) -> bool:
        return is_paused(self.journal)

    def took_chain(self, checked: ChainCheck) -> None:
        """The stored chain as checked on load: new events link to its head."""
        self._head = (len(self.events), checked.head)
        self.chain_problems = checked.problems

    def head(self) -> bytes:
        """The link of the journal's last event (R21)."""
        count, current = self._head
        if count < len(self.events):
            newer = self.events[count:]
            current = head_of(
                (event_digest(self.chat_id, seq, event) for seq, event in newer), current
            )
            self._head = (len(self.events), current)
        return current

    def chain(self, numbered: Sequence[tuple[int, Event]]) -> tuple[tuple[bytes, bytes], ...]:
        """The digest and link of each of ``numbered``, the events to follow the journal."""
        return chain_events(self.chat_id, self.head(), numbered)

    def extend(
        self, numbered: Sequence[tuple[int, Event]], chain: Sequence[tuple[bytes, bytes]]
    ) -> None:
        """Take events as committed, with their chain (so the head is not hashed again)."""
        self.head()  # the head up to here, before the count moves on
        self.events.extend(numbered)
        if chain:
            self._head = (len(self.events), chain[-1][1])

    def events_after(self, seq: int) -> list[tuple[int, Event]]:
        return [(n, event) for n, event in self.events if n > seq]
