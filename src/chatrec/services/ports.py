"""What each service needs of the store, declared by the service as a narrow port.

Each port names a few methods of one part of the store (``chatrec.store``: companies,
catalog, chats, access, audit, deliveries); :class:`chatrec.store.store.Store` fills
them all, and a test's fake fills only what the service under test declares.  A
service's constructor is annotated with its port, never with the whole store, so what
it may touch is read off its signature.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from chatrec.domain.chain import ChainedEvent
from chatrec.domain.journal import Event
from chatrec.domain.manifest import PublicKey, SigningKey
from chatrec.services.passwords import PasswordHashes
from chatrec.store.logins import LockAfter
from chatrec.store.records import (
    AgentLoad,
    ApiTokenRecord,
    AttachmentRecord,
    AuditRecord,
    ChatChange,
    ChatRecord,
    ChatStart,
    CompanyRecord,
    FlowVersionRecord,
    FreeAgent,
    NodeRecord,
    Pending,
    QueueRecord,
    SessionRecord,
    UserRecord,
)

Audit = Sequence[AuditRecord]


class CompanyReads(Protocol):
    """A company and a login by id (``store.companies``)."""

    def get_company(self, company_id: str) -> CompanyRecord | None: ...

    def get_user(self, user_id: str) -> UserRecord | None: ...


class CatalogReads(Protocol):
    """What starts and routes a chat: its service, flow and queues (``store.catalog``)."""

    def chat_start(self, service_id: str) -> ChatStart | None:
        """The service, its flow's newest version, its company and open chats, at once."""
        ...

    def get_flow(self, flow_id: str, version: int | None = None) -> FlowVersionRecord | None: ...

    def get_queue(self, queue_id: str) -> QueueRecord | None: ...

    def list_queues(self, company_id: str) -> list[QueueRecord]: ...


class TakenNames(Protocol):
    """Recordings' base names already committed that clash with candidates (R6)."""

    def taken_base_names(self, company_id: str, candidates: Sequence[str]) -> set[str]: ...


class SigningKeys(Protocol):
    """A company's keys that sign its recordings' manifests (R21, ``store.signing_keys``)."""

    def signing_at(
        self, company_id: str, at: datetime
    ) -> tuple[SigningKey | None, list[PublicKey]]: ...


class AttachmentFiles(Protocol):
    """The bytes of files sent in chats (``store.attachments``, R23)."""

    def add_attachment(self, attachment: AttachmentRecord) -> None: ...

    def get_attachment(self, chat_id: str, attachment_id: str) -> AttachmentRecord: ...

    def attachment_contents(self, chat_id: str, ids: Collection[str]) -> dict[str, bytes]: ...


class EndingStore(TakenNames, SigningKeys, AttachmentFiles, Protocol):
    """What a chat's end reads: names taken (R6), the key to sign with (R21) and the
    files to deliver beside the recordings (R23)."""


class ChatReads(TakenNames, SigningKeys, Protocol):
    """Chats as committed: a node's recovery, a customer's link, a resync (``store.chats``)."""

    def open_chats(self, company_id: str | None = None) -> list[ChatRecord]: ...

    def get_chat(self, chat_id: str) -> ChatRecord | None: ...

    def find_chat_by_token(self, token_hash: str) -> ChatRecord | None: ...

    def load_journal(self, chat_id: str, after_seq: int = 0) -> list[tuple[int, Event]]: ...

    def journal_chain(self, chat_id: str) -> list[ChainedEvent]: ...


class SharedRouting(Protocol):
    """Routing as every node shares it: agents' portals per node, their load and
    activity, waiting and idle chats (``store.routing``, R20)."""

    def count_sockets(
        self, user_id: str, company_id: str, node_id: str, delta: int, now: datetime
    ) -> None: ...

    def agent_active(
        self, user_id: str, company_id: str, now: datetime, idle: bool = False
    ) -> None: ...

    def agent_load(self, user_id: str, node_id: str, lease: timedelta) -> AgentLoad: ...

    def free_agents(
        self, company_id: str, node_id: str, lease: timedelta, limit: int | None = None
    ) -> list[FreeAgent]: ...

    def waiting_chats(self, company_id: str, limit: int) -> list[tuple[str, str]]: ...

    def companies_waiting(self) -> list[str]: ...

    def idle_chats(self, before: datetime, limit: int) -> list[str]: ...

    def count_open_chats(self, company_id: str | None = None) -> int: ...

    def idle_available_agents(self, before: datetime) -> list[str]: ...


class LiveChatStore(
    CompanyReads, CatalogReads, ChatReads, SharedRouting, AttachmentFiles, Protocol
):
    """Everything the live chat service reads; its writes go through a :class:`Committer`."""


class Committer(Protocol):
    """Commits one chat's change, with other chats' changes (``store.writer``)."""

    async def commit(self, change: ChatChange) -> None: ...


class LoginLookup(Protocol):
    """A login by what its holder types (``store.companies``)."""

    def find_user_by_login(
        self, login: str, company_id: str | None = None
    ) -> UserRecord | None: ...


class Sessions(Protocol):
    """Login sessions, by their token's hash (``store.access``)."""

    def create_session(self, login_session: SessionRecord) -> None: ...

    def get_session(self, token_hash: str) -> SessionRecord | None: ...

    def session_and_user(
        self, token_hash: str
    ) -> tuple[SessionRecord, UserRecord | None] | None: ...

    def set_session_pending(self, token_hash: str, pending: Pending | None) -> None: ...

    def touch_session(self, token_hash: str, now: datetime, every: timedelta) -> None: ...

    def delete_session(self, token_hash: str) -> None: ...

    def end_sessions(self, user_id: str, *, keep: str | None = None, audit: Audit = ()) -> int: ...

    def delete_expired_sessions(self, now: datetime, idle_since: datetime | None = None) -> int: ...


class SignInLocks(Protocol):
    """Wrong sign-ins counted per login and address, and the locks they earn."""

    def login_lock(self, lock_key: str, address: str) -> datetime | None: ...

    def count_login_failure(
        self,
        lock_key: str,
        address: str,
        now: datetime,
        lock_after: LockAfter,
        *,
        audit: Callable[[datetime], Audit] = ...,
    ) -> datetime | None: ...

    def clear_login_failures(self, lock_key: str, address: str | None = None) -> None: ...

    def forget_login_failures(self, now: datetime, before: datetime) -> int: ...


class SecondFactor(Protocol):
    """A login's TOTP secret, its last step, and its recovery codes."""

    def totp_secret(self, user_id: str) -> str | None: ...

    def accept_totp_step(self, user_id: str, step: int) -> bool: ...

    def use_recovery_code(self, user_id: str, code_hash: str, now: datetime) -> bool: ...

    def set_totp(
        self, user_id: str, secret: str | None, *, enabled: bool, audit: Audit = ()
    ) -> None: ...

    def enable_totp(
        self, user_id: str, step: int, code_hashes: list[str], *, audit: Audit = ()
    ) -> None: ...


class PasswordChanges(Protocol):
    """A login's own new password, its other sessions ended with it."""

    def change_password(
        self,
        user: UserRecord,
        keep: str | None,
        pending: Pending | None = None,
        *,
        audit: Audit = (),
    ) -> int: ...


class ApiTokenRows(Protocol):
    """API tokens, by id or by their hash (``store.access``)."""

    def create_api_token(
        self, token: ApiTokenRecord, *, live_limit: int | None = None, audit: Audit = ()
    ) -> None: ...

    def find_api_token(self, token_hash: str) -> ApiTokenRecord | None: ...

    def get_api_token(self, token_id: str) -> ApiTokenRecord | None: ...

    def list_api_tokens(self, user_id: str) -> list[ApiTokenRecord]: ...

    def revoke_api_token(
        self, token_id: str, now: datetime, *, audit: Audit = ()
    ) -> list[ApiTokenRecord]: ...

    def touch_api_token(self, token_hash: str, now: datetime, every: timedelta) -> None: ...


class SignInStore(
    CompanyReads, LoginLookup, Sessions, SignInLocks, SecondFactor, PasswordHashes, Protocol
):
    """What sign-in reads and writes (``services.auth``)."""


class AccountStore(CompanyReads, Sessions, SignInLocks, SecondFactor, PasswordChanges, Protocol):
    """What a login's own account changes need (``services.account``)."""


class ApiTokenStore(CompanyReads, ApiTokenRows, Protocol):
    """What API tokens need (``services.tokens``)."""


class NodeRegistry(Protocol):
    """The nodes serving the database (``store.nodes``), on the database's clock (R20)."""

    def join_node(
        self,
        node_id: str,
        host: str,
        pid: int,
        version: str,
        *,
        lease: timedelta,
        gone: Callable[[str, int], bool] = ...,
    ) -> NodeRecord: ...

    def beat(self, node_id: str, connections: int) -> datetime: ...

    def live_nodes(self, lease: timedelta) -> list[NodeRecord]: ...

    def leave_node(self, node_id: str) -> None: ...
