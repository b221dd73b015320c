"""What each service needs of the store, declared by the service as a narrow port.

Each port names a few methods of one part of the store (``chatrec.store``: companies,
catalog, chats, access, audit, deliveries); :class:`chatrec.store.store.Store` fills
them all, and a test's fake fills only what the service under test declares.  A
service's constructor is annotated with its port, never with the whole store, so what
it may touch is read off its signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from chatrec.domain.journal import Event
from chatrec.store.records import (
    ChatChange,
    ChatRecord,
    CompanyRecord,
    FlowVersionRecord,
    QueueRecord,
    ServiceRecord,
    UserRecord,
)


class CompanyReads(Protocol):
    """A company and a login by id (``store.companies``)."""

    def get_company(self, company_id: str) -> CompanyRecord | None: ...

    def get_user(self, user_id: str) -> UserRecord | None: ...


class CatalogReads(Protocol):
    """What starts and routes a chat: its service, flow and queues (``store.catalog``)."""

    def get_service(self, service_id: str) -> ServiceRecord | None: ...

    def get_flow(self, flow_id: str, version: int | None = None) -> FlowVersionRecord | None: ...

    def get_queue(self, queue_id: str) -> QueueRecord | None: ...

    def list_queues(self, company_id: str) -> list[QueueRecord]: ...


class TakenNames(Protocol):
    """Recordings' base names already committed that clash with candidates (R6)."""

    def taken_base_names(self, company_id: str, candidates: Sequence[str]) -> set[str]: ...


class ChatReads(TakenNames, Protocol):
    """Chats as committed: a node's recovery, a customer's link, a resync (``store.chats``)."""

    def open_chats(self) -> list[ChatRecord]: ...

    def find_chat_by_token(self, token_hash: str) -> ChatRecord | None: ...

    def load_journal(self, chat_id: str, after_seq: int = 0) -> list[tuple[int, Event]]: ...


class LiveChatStore(CompanyReads, CatalogReads, ChatReads, Protocol):
    """Everything the live chat service reads; its writes go through a :class:`Committer`."""


class Committer(Protocol):
    """Commits one chat's change, with other chats' changes (``store.writer``)."""

    async def commit(self, change: ChatChange) -> None: ...
