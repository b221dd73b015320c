"""Plain records that cross the store's boundary (no SQLAlchemy outside ``store``).

Every read returns these frozen dataclasses and every write takes them, so services and
the web layer never hold an ORM object or a session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from chatrec.domain.journal import Event


class ChatStatus(StrEnum):
    """Where a chat is in its life: the flow runs, it waits in a queue, staff have it."""

    FLOW = "flow"
    QUEUED = "queued"
    ACTIVE = "active"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class CompanyRecord:
    company_id: str
    name: str
    products: frozenset[str]
    default_template: str
    formats: frozenset[str]
    done_marker: bool = False
    sampling_key: bytes = b""
    retention_seconds: int = 0


@dataclass(frozen=True, slots=True)
class UserRecord:
    user_id: str
    company_id: str
    login: str
    name: str
    role: str
    password_hash: str
    permit_recordings: bool = True
    record_chats: bool = True
    record_percentage: int = 100
    capacity: int = 3
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class QueueRecord:
    queue_id: str
    company_id: str
    name: str


@dataclass(frozen=True, slots=True)
class FlowVersionRecord:
    flow_id: str
    company_id: str
    name: str
    version: int
    source: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    service_id: str
    company_id: str
    name: str
    flow_id: str | None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    token_hash: str
    user_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ChatRecord:
    """The chat row: what the journal alone does not answer quickly."""

    chat_id: str
    company_id: str
    service_id: str
    token_hash: str
    status: ChatStatus
    started_at: datetime
    last_activity_at: datetime
    last_seq: int = 0
    queue_id: str | None = None
    flow_id: str | None = None
    flow_version: int | None = None
    flow_state: dict[str, Any] | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RecordingFileRecord:
    """One file of a produced recording, written to the spool before the chat's end commits."""

    path: str
    format: str
    media_type: str
    size: int
    sha256: str
    spool_path: str


@dataclass(frozen=True, slots=True)
class RecordingRecord:
    """One recording of a chat with its verdict (R14); files only when produced."""

    recording_id: str
    chat_id: str
    company_id: str
    origin: str
    reason: str
    outcome: str
    rule: str
    explanation: str
    base_name: str | None = None
    files: tuple[RecordingFileRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class AuditRecord:
    company_id: str
    at: datetime
    actor: str
    action: str
    chat_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChatChange:
    """Everything one action changes in one chat, committed atomically.

    ``events`` carry the sequence numbers the caller assigned (``chat.last_seq`` is the
    last of them); a clash with a stored number means two writers raced and is refused.
    """

    chat: ChatRecord
    events: tuple[tuple[int, Event], ...] = ()
    recordings: tuple[RecordingRecord, ...] = ()
    audit: tuple[AuditRecord, ...] = ()
    new_chat: bool = False
