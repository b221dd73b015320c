"""The in-memory view of one open chat, rebuilt from the store on start.

A :class:`LiveChat` caches what the store already holds (the chat row and its journal)
so that a message does not re-read the journal; it is only changed after the store has
committed the change, so memory never runs ahead of what survives a crash.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from chatrec.domain.journal import Actor, Event, Journal, Role
from chatrec.domain.live_state import RecordingState, is_paused, recording_state
from chatrec.domain.participants import stints
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

    @property
    def chat_id(self) -> str:
        return self.record.chat_id

    @property
    def journal(self) -> Journal:
        return Journal(tuple(event for _, event in self.events))

    def present(self) -> dict[str, Actor]:
        """Staff in the chat now, by user id (open stints)."""
        return {
            s.actor.user_id: s.actor
            for s in stints(self.journal)
            if s.left_at is None and s.actor.user_id is not None and s.actor.is_staff
        }

    def present_agents(self) -> dict[str, Actor]:
        return {uid: a for uid, a in self.present().items() if a.role is Role.AGENT}

    def involved(self, user_id: str) -> bool:
        """Whether the user ever took part: agents see the chats they are or were in (R18)."""
        return any(s.actor.user_id == user_id for s in stints(self.journal))

    @property
    def recording_state(self) -> RecordingState:
        return recording_state(self.company, self.journal)

    @property
    def paused(self) -> bool:
        return is_paused(self.journal)

    def events_after(self, seq: int) -> list[tuple[int, Event]]:
        return [(n, event) for n, event in self.events if n > seq]
