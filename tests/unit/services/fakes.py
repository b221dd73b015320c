"""In-memory fakes of the chat service's ports: a store that holds what was committed,
and a committer that commits at once and records each change it was given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from chatrec.domain.chain import ChainedEvent
from chatrec.domain.filenames import clashing
from chatrec.domain.journal import Event
from chatrec.domain.manifest import PublicKey, SigningKey
from chatrec.errors import AgentFullError
from chatrec.store.records import (
    AgentLoad,
    ChatChange,
    ChatRecord,
    ChatStart,
    ChatStatus,
    CompanyRecord,
    FlowVersionRecord,
    FreeAgent,
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
    presences: FakePresences = field(default_factory=lambda: FakePresences())
    routing: dict[str, dict[str, datetime]] = field(default_factory=dict)
    sockets: dict[tuple[str, str], int] = field(default_factory=dict)
    chat_agents: dict[str, set[str]] = field(default_factory=dict)
    # One signing key for every company, valid since the epoch (R21).
    signing_key: SigningKey = field(
        default_factory=lambda: SigningKey.of(
            "acme", bytes(range(32)), datetime.min.replace(tzinfo=UTC)
        )
    )

    def signing_at(
        self, company_id: str, at: datetime
    ) -> tuple[SigningKey | None, list[PublicKey]]:
        key = replace(
            self.signing_key, public=replace(self.signing_key.public, company_id=company_id)
        )
        return key, [key.public]

    def get_company(self, company_id: str) -> CompanyRecord | None:
        return self.companies.get(company_id)

    def get_user(self, user_id: str) -> UserRecord | None:
        return self.users.get(user_id)

    def chat_start(self, service_id: str) -> ChatStart | None:
        service = self.services.get(service_id)
        if service is None:
            return None
        versions = [v.version for v in self.flows.get(service.flow_id or "", [])]
        company = self.companies.get(service.company_id)
        return ChatStart(
            service, max(versions, default=None), company, len(self.open_chats(service.company_id))
        )

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

    def journal_chain(self, chat_id: str) -> list[ChainedEvent]:
        """The journal as chained: these fakes store no hashes (chained from content)."""
        return [ChainedEvent(seq, e, None, None) for seq, e in self.journals.get(chat_id, [])]

    def taken_base_names(self, company_id: str, candidates: Sequence[str]) -> set[str]:
        names = [r.base_name for r in self.recordings if r.company_id == company_id and r.base_name]
        return clashing(names, candidates)

    # -- shared routing (``services.ports.SharedRouting``): every node alive --------------

    def _agent(self, user_id: str, company_id: str, now: datetime) -> dict[str, datetime]:
        return self.routing.setdefault(user_id, {"idle_since": now, "active_at": now})

    def _load(self, user_id: str) -> int:
        return sum(user_id in agents for agents in self.chat_agents.values())

    def count_sockets(
        self, user_id: str, company_id: str, node_id: str, delta: int, now: datetime
    ) -> None:
        self._agent(user_id, company_id, now)
        key = (user_id, node_id)
        self.sockets[key] = self.sockets.get(key, 0) + delta
        if self.sockets[key] <= 0:
            del self.sockets[key]

    def agent_active(
        self, user_id: str, company_id: str, now: datetime, idle: bool = False
    ) -> None:
        agent = self._agent(user_id, company_id, now)
        agent["active_at"] = now
        if idle:
            agent["idle_since"] = now

    def _online(self, user_id: str) -> bool:
        return any(user == user_id for user, _ in self.sockets)

    def agent_load(self, user_id: str, node_id: str, lease: timedelta) -> AgentLoad:
        agent = self.routing.get(user_id)
        return AgentLoad(
            self._online(user_id), self._load(user_id), agent["active_at"] if agent else None
        )

    def free_agents(
        self, company_id: str, node_id: str, lease: timedelta, limit: int | None = None
    ) -> list[FreeAgent]:
        free = []
        for user_id, agent in self.routing.items():
            user = self.users[user_id]
            presence = self.presences.get_presence(user_id)
            load = self._load(user_id)
            if (
                user.company_id == company_id
                and presence is not None
                and presence.available
                and not user.disabled
                and self._online(user_id)
                and load < user.capacity
            ):
                free.append(FreeAgent(user_id, user.capacity, load, agent["idle_since"], user))
        free.sort(key=lambda a: (a.open_chats, a.idle_since, a.user_id))
        return free if limit is None else free[:limit]

    def waiting_chats(self, company_id: str, limit: int) -> list[tuple[str, str]]:
        queued = [
            c
            for c in self.chats.values()
            if c.company_id == company_id and c.status is ChatStatus.QUEUED and c.queue_id
        ]
        queued.sort(key=lambda c: (c.queued_at or c.started_at, c.chat_id))
        return [(c.chat_id, c.queue_id) for c in queued if c.queue_id][:limit]

    def companies_waiting(self) -> list[str]:
        return sorted({c.company_id for c in self.chats.values() if c.status is ChatStatus.QUEUED})

    def idle_chats(self, before: datetime, limit: int) -> list[str]:
        idle = [
            c
            for c in self.chats.values()
            if c.status is not ChatStatus.ENDED and c.last_activity_at < before
        ]
        return [c.chat_id for c in sorted(idle, key=lambda c: c.last_activity_at)][:limit]

    def count_open_chats(self, company_id: str | None = None) -> int:
        return len(self.open_chats(company_id))

    def idle_available_agents(self, before: datetime) -> list[str]:
        return sorted(
            p.user_id
            for p in self.presences.available_agents()
            if (self.routing.get(p.user_id, {}).get("active_at") or p.changed_at) < before
        )


@dataclass
class FakeCommitter:
    """Commits each change into the fake store at once; ``changes`` in commit order."""

    store: FakeStore
    changes: list[ChatChange] = field(default_factory=list)

    async def commit(self, change: ChatChange) -> None:
        store = self.store
        if change.claim is not None:
            held = store._load(change.claim.user_id) - (
                change.claim.user_id in store.chat_agents.get(change.chat.chat_id, set())
            )
            if held >= change.claim.capacity:
                raise AgentFullError(change.claim.user_id, change.claim.capacity)
            store._agent(change.claim.user_id, change.chat.company_id, change.chat.last_activity_at)
            store.routing[change.claim.user_id]["idle_since"] = change.chat.last_activity_at
        if change.agents is not None:
            store.chat_agents[change.chat.chat_id] = set(change.agents)
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
