"""The in-memory view of one open chat, rebuilt from the store on start.

A :class:`LiveChat` caches what the store already holds (the chat row and its journal)
so that a message does not re-read the journal; it is only changed after the store has
committed the change, so memory never runs ahead of what survives a crash.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

from chatrec.domain.chain import GENESIS, ChainCheck, chain_events, event_digest, head_of
from chatrec.domain.journal import (
    Actor,
    ChatRole,
    ChatStarted,
    DeletionRequested,
    Event,
    FlaggedAbusive,
    Journal,
    MessagePosted,
    NoteAdded,
    WrapUpChosen,
)
from chatrec.domain.live_state import RecordingState, is_paused, recording_state
from chatrec.domain.participants import Stint, present_staff, stints
from chatrec.domain.settings import CompanySettings
from chatrec.flows import Flow, FlowState
from chatrec.store.records import ChatRecord


@dataclass(frozen=True, slots=True)
class _Derived:
    """What a chat's events other than messages say, for one shape of the chat."""

    shape: int
    stints: list[Stint]
    present: Mapping[str, Actor]
    """Staff in the chat now: asked by every staff socket of the company per notice."""
    paused: bool
    deletion_requested: bool
    abusive: bool
    wrap_up: str | None


@dataclass
class LiveChat:
    record: ChatRecord
    events: list[tuple[int, Event]]
    company: CompanySettings
    sampling_key: bytes
    flow: Flow | None = None
    flow_state: FlowState | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # What every follower's summary reads, kept between events: each notice to each
    # follower asks who is present and how the chat is recorded, and recomputing it per
    # ask, or per message over the whole journal, made a message cost more the longer
    # its chat.  Events are only ever appended.  Messages change nothing of it but the
    # text's size, so what is derived from the other events is recomputed only when one
    # of those arrives (its "shape", their count, changes).
    _journal: Journal | None = field(default=None, init=False, repr=False, compare=False)
    _journal_at: tuple[int, int] = field(default=(0, 0), init=False, repr=False, compare=False)
    _scanned: int = field(default=0, init=False, repr=False, compare=False)
    _shape: int = field(default=0, init=False, repr=False, compare=False)
    _text_bytes: int = field(default=0, init=False, repr=False, compare=False)
    _derived: _Derived | None = field(default=None, init=False, repr=False, compare=False)
    # The recording state for the chat's shape and the company settings it was decided
    # with: deciding it runs the whole decision.
    _state: tuple[int, CompanySettings, RecordingState] | None = field(
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

    def _scan(self) -> int:
        """Take in the events appended since the last look; the chat's shape."""
        if self._scanned > len(self.events):  # not appended to: start again
            self._scanned = self._shape = self._text_bytes = 0
        for _, event in self.events[self._scanned :]:
            if isinstance(event, MessagePosted | NoteAdded):
                self._text_bytes += len(event.text.encode())
            else:
                self._shape += 1
        self._scanned = len(self.events)
        return self._shape

    @property
    def journal(self) -> Journal:
        now = (len(self.events), self.events[-1][0] if self.events else 0)
        if self._journal is not None and now == self._journal_at:
            return self._journal
        count, last = self._journal_at
        if self._journal is not None and 0 < count < now[0] and self.events[count - 1][0] == last:
            journal = self._journal.extended([event for _, event in self.events[count:]])
        else:  # the first time, or not the events it was built from: checked whole
            journal = Journal(tuple(event for _, event in self.events))
        self._journal, self._journal_at = journal, now
        return journal

    def _derive(self) -> _Derived:
        shape = self._scan()
        if self._derived is None or self._derived.shape != shape:
            journal = self.journal
            chat_stints = stints(journal)
            self._derived = _Derived(
                shape=shape,
                stints=chat_stints,
                present=present_staff(chat_stints),
                paused=is_paused(journal),
                deletion_requested=bool(journal.of_type(DeletionRequested)),
                abusive=bool(journal.of_type(FlaggedAbusive)),
                wrap_up=next((w.code for w in reversed(journal.of_type(WrapUpChosen))), None),
            )
        return self._derived

    @property
    def wrap_up(self) -> str | None:
        """The wrap-up code chosen last (R23), or ``None``."""
        return self._derive().wrap_up

    @property
    def text_bytes(self) -> int:
        """Bytes (UTF-8) of the message text the chat holds, its limit's measure (R19)."""
        self._scan()
        return self._text_bytes

    def stints(self) -> list[Stint]:
        return self._derive().stints

    def present(self) -> Mapping[str, Actor]:
        """Staff in the chat now, by user id (open stints)."""
        return self._derive().present

    def present_agents(self) -> dict[str, Actor]:
        return {uid: a for uid, a in self.present().items() if a.role is ChatRole.AGENT}

    def involved(self, user_id: str) -> bool:
        """Whether the user ever took part: agents see the chats they are or were in (R18)."""
        return any(s.actor.user_id == user_id for s in self.stints())

    @property
    def recording_state(self) -> RecordingState:
        """As the chat's end would decide it now (R11a); a message never changes it
        (``tests/unit/domain/test_live_state.py`` holds that to every journal)."""
        shape = self._scan()
        state = self._state
        if state is None or state[0] != shape or state[1] is not self.company:
            state = (shape, self.company, recording_state(self.company, self.journal))
            self._state = state
        return state[2]

    @property
    def paused(self) -> bool:
        return self._derive().paused

    @property
    def deletion_requested(self) -> bool:
        """The customer asked for the recording's deletion (R9)."""
        return self._derive().deletion_requested

    @property
    def abusive(self) -> bool:
        """A participant flagged the chat abusive (R13)."""
        return self._derive().abusive

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
        """Events numbered above ``seq``: found by bisection, numbers only ever grow."""
        return self.events[bisect_right(self.events, seq, key=itemgetter(0)) :]

    @property
    def start(self) -> ChatStarted:
        first = self.events[0][1]
        assert isinstance(first, ChatStarted)
        return first
