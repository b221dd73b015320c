"""In-memory fakes of the chat service's ports: a store that holds what was committed,
and a committer that commits at once and records each change it was given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chatrec.domain.filenames import clashing
from chatrec.domain.journal import Event
from chatrec.store.records import (
    ChatChange,
    ChatRecord,
    ChatStatus,
    CompanyRecord,
    FlowVersionRecord,
    PresenceRecord,
    QueueRecord,
    RecordingRecord,
    ServiceRecord,
    UserRecord,
)


@dataclass
class FakeClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class FakeStore:
    """What the chat service reads (``services.ports.LiveChatStore``), from dicts."""

    companies: dict[str, CompanyRecord] = field(default_factory=dict)
    users: dict[str, UserRecord] = field(default_factory=dict)
    services: dict[str, ServiceRecord] = field(default_factory=dict)
    queues: dict[str, QueueRecord] = field(default_factory=dict)
    flows: dict[str, list[FlowVersionRecord]] = field(default_factory=dict)
    chats: dict[str, ChatRecord] = field(default_factory=dict)
    journals: dict[str, list[tuple[int, Event]]] = field(default_factory=dict)
    recordings: list[RecordingRecord] = field(default_factory=list)

    def get_company(self, company_id: str) -> CompanyRecord | None:
        return self.companies.get(company_id)

    def get_user(self, user_id: str) -> UserRecord | None:
        return self.users.get(user_id)

    def get_service(self, service_id: str) -> ServiceRecord | None:
        return self.services.get(service_id)

    def get_flow(self, flow_id: str, version: int | None = None) -> FlowVersionRecord | None:
        versions = self.flows.get(flow_id, [])
        found = [v for v in versions if version is None or v.version == version]
        return max(found, key=lambda v: v.version) if found else None

    def get_queue(self, queue_id: str) -> QueueRecord | None:
        return self.queues.get(queue_id)

    def list_queues(self, company_id: str) -> list[QueueRecord]:
        mine = [q for q in self.queues.values() if q.company_id == company_id]
        return sorted(mine, key=lambda q: q.name)

    def open_chats(self, company_id: str | None = None) -> list[ChatRecord]:
        return [
            c
            for c in self.chats.values()
            if c.status is not ChatStatus.ENDED and company_id in (None, c.company_id)
        ]

    def get_chat(self, chat_id: str) -> ChatRecord | None:
        return self.chats.get(chat_id)

    def find_chat_by_token(self, token_hash: str) -> ChatRecord | None:
        return next((c for c in self.chats.values() if c.token_hash == token_hash), None)

    def load_journal(self, chat_id: str, after_seq: int = 0) -> list[tuple[int, Event]]:
        return [(seq, e) for seq, e in self.journals.get(chat_id, []) if seq > after_seq]

    def taken_base_names(self, company_id: str, candidates: Sequence[str]) -> set[str]:
        names = [r.base_name for r in self.recordings if r.company_id == company_id and r.base_name]
        return clashing(names, candidates)


@dataclass
class FakeCommitter:
    """Commits each change into the fake store at once; ``changes`` in commit order."""

    store: FakeStore
    changes: list[ChatChange] = field(default_factory=list)

    async def commit(self, change: ChatChange) -> None:
        self.changes.append(change)
        self.store.chats[change.chat.chat_id] = change.chat
        self.store.journals.setdefault(change.chat.chat_id, []).extend(change.events)
        self.store.recordings.extend(change.recordings)


@dataclass
class FakePresences:
    """Agents' chosen presences (``services.presence.PresenceStore``)."""

    chosen: dict[str, PresenceRecord] = field(default_factory=dict)

    def get_presence(self, user_id: str) -> PresenceRecord | None:
        return self.chosen.get(user_id)

    def set_presence(self, presence: PresenceRecord) -> None:
        self.chosen[presence.user_id] = presence

    def available_agents(self) -> list[PresenceRecord]:
        return [p for p in self.chosen.values() if p.available]
