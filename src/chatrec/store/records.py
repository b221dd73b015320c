"""Plain records that cross the store's boundary (no SQLAlchemy outside ``store``).

Every read returns these frozen dataclasses and every write takes them, so services and
the web layer never hold an ORM object or a session.  Its length is the number of
aggregates: one record each, side by side with the tables of ``models``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from chatrec.domain.attachments import DEFAULT_MAX_BYTES, KNOWN_TYPES
from chatrec.domain.customer import FormField, check_form
from chatrec.domain.hours import parse_hours
from chatrec.domain.journal import Actor, AttachmentSent, Event
from chatrec.domain.masking import MaskPattern
from chatrec.domain.presence import AwayReason
from chatrec.domain.roles import LoginRole


class ChatStatus(StrEnum):
    """Where a chat is in its life: the flow runs, it waits in a queue, staff have it."""

    FLOW = "flow"
    QUEUED = "queued"
    ACTIVE = "active"
    ENDED = "ended"


# The company system operators belong to: made by migration 0003, never lists or records.
SYSTEM_COMPANY_ID = "system"


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
    vcon_draft: str = "core"
    require_totp: bool = False
    # R22: card numbers are masked unless an administrator turns it off; the company's
    # own patterns, each checked on save (domain.masking).
    mask_card_numbers: bool = True
    masking_patterns: tuple[MaskPattern, ...] = ()
    # R23: agents see the customer's draft as it is typed; off unless turned on.
    typing_preview: bool = False
    # R23: staff's internal notes are in recordings, marked internal, unless left out.
    record_internal_notes: bool = True
    # R23: the company's wrap-up codes, and whether an agent must choose one to end.
    wrap_up_codes: tuple[str, ...] = ()
    wrap_up_required: bool = False
    # The dashboard's target: a chat an agent takes within it counts as answered in time.
    answer_target_seconds: int = 60
    # R23: files in chats: on or off, the largest taken, the sniffed types taken.
    attachments_enabled: bool = True
    attachment_max_bytes: int = DEFAULT_MAX_BYTES
    attachment_types: frozenset[str] = frozenset(KNOWN_TYPES)


@dataclass(frozen=True, slots=True)
class AttachmentRecord:
    """A file sent in a chat (R23); ``content`` ``None`` once purged (R17) or not read."""

    attachment_id: str
    chat_id: str
    uploader: Actor
    name: str
    media_type: str
    size: int
    sha256: str
    paused: bool
    created_at: datetime
    content: bytes | None = None

    @classmethod
    def sent(cls, chat_id: str, event: AttachmentSent, content: bytes) -> AttachmentRecord:
        """The file its event describes, with its bytes."""
        return cls(
            attachment_id=event.attachment_id,
            chat_id=chat_id,
            uploader=event.actor,
            name=event.name,
            media_type=event.media_type,
            size=event.size,
            sha256=event.sha256,
            paused=event.paused,
            created_at=event.at,
            content=content,
        )


@dataclass(frozen=True, slots=True)
class UserRecord:
    user_id: str
    company_id: str
    login: str
    name: str
    role: LoginRole
    password_hash: str
    permit_recordings: bool = True
    record_chats: bool = True
    record_percentage: int = 100
    capacity: int = 3
    disabled: bool = False
    locked_until: datetime | None = None
    must_change_password: bool = False
    totp_enabled: bool = False


class PresenceCause(StrEnum):
    """Who last set an agent's presence: the portal says so when it was not the agent."""

    AGENT = "agent"
    IDLE_TIMEOUT = "idle_timeout"
    LOGOUT = "logout"


@dataclass(frozen=True, slots=True)
class PresenceRecord:
    """An agent's chosen presence: it outlives their connections (and the server)."""

    user_id: str
    available: bool
    changed_by: PresenceCause
    changed_at: datetime
    away_reason: AwayReason | None = None


@dataclass(frozen=True, slots=True)
class QueueRecord:
    queue_id: str
    company_id: str
    name: str


@dataclass(frozen=True, slots=True)
class CannedResponseRecord:
    """A canned response: the company's when ``owner_id`` is ``None``, else that login's."""

    response_id: str
    company_id: str
    owner_id: str | None
    name: str
    text: str
    created_at: datetime
    updated_at: datetime


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
    # Business hours (domain.hours; "" always open), their zone, the closed message.
    hours: str = ""
    timezone: str = "UTC"
    closed_message: str = ""
    # The pre-chat form's fields as stored (domain.customer; none: no form), R23.
    pre_chat_form: list[dict[str, Any]] = field(default_factory=list)

    @property
    def form(self) -> tuple[FormField, ...]:
        """The pre-chat form, checked when it was saved (issue 15)."""
        return check_form(self.pre_chat_form)

    def open_at(self, at: datetime) -> bool:
        """Whether customers may start a chat at ``at`` (issue 15)."""
        hours = parse_hours(self.hours, self.timezone)
        return hours is None or hours.is_open(at)


@dataclass(frozen=True, slots=True)
class ChatStart:
    """What a chat's start reads at once (``store.starts``)."""

    service: ServiceRecord
    flow_version: int | None
    """The newest version of the service's flow; ``None`` without a flow."""
    company: CompanyRecord | None
    open_chats: int
    """The company's chats not ended, on every node."""


class Pending(StrEnum):
    """What a session must do before anything else works (``SessionRecord.pending``)."""

    PASSWORD_CHANGE = "password_change"  # noqa: S105 - a step's name, not a password
    TOTP_ENROLMENT = "totp_enrolment"


@dataclass(frozen=True, slots=True)
class SessionRecord:
    token_hash: str
    user_id: str
    expires_at: datetime
    created_at: datetime
    last_seen_at: datetime
    pending: Pending | None = None


@dataclass(frozen=True, slots=True)
class ApiTokenRecord:
    """A token for automation, acting as its login; only its hash is ever stored (R18).

    ``expires_at`` ``None``: it works until revoked (tokens made before lifetimes were
    capped).  ``last_used_at`` is kept to the minute, not to every request.  ``scope``
    is a ``services.access.Scope`` value; ``parent_id`` the token it was made with, whose
    revocation revokes it too.
    """

    token_hash: str = field(repr=False)
    token_id: str
    user_id: str
    name: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    scope: str = "full"
    parent_id: str | None = None


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
    purged_at: datetime | None = None
    queued_at: datetime | None = None
    customer_email: str | None = None
    """The e-mail of the pre-chat form (R23), to find a customer's earlier chats by an
    index; written when the chat starts, emptied by the purge (R17)."""


@dataclass(frozen=True, slots=True)
class RecordingFileRecord:
    """One file of a produced recording, its bytes committed with the chat's end.

    ``content`` is ``None`` once the file is delivered or its chat purged (R16, R17):
    the database keeps a recording's bytes only while they are on their way.  Read back
    (``get_recordings``) it is ``None`` too unless the bytes were asked for.
    """

    path: str
    format: str
    media_type: str
    size: int
    sha256: str
    content: bytes | None = field(default=None, repr=False)


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


class DeliveryState(StrEnum):
    """Where a recording file stands on its way to the recording platform (R16).

    ``pending`` waits for its next attempt; ``delivering`` is leased to a worker until
    its lease expires; ``blocked`` waits for a person to fix the destination;
    ``delivered`` is on the platform, confirmed.  No state drops a delivery.
    """

    PENDING = "pending"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    BLOCKED = "blocked"


class DeliveryKind(StrEnum):
    """A recording's data files go first; its sidecar only once they are all delivered."""

    DATA = "data"
    SIDECAR = "sidecar"


# The ``format`` the renderer gives a recording's metadata sidecar (R15).
SIDECAR_FORMAT = "sidecar"


@dataclass(frozen=True, slots=True)
class DestinationRecord:
    """A company's recording platform (R16), as an administrator configured it.

    ``blocked_reason`` is set while a permanent error (credentials, host key, permission,
    folder) stops its deliveries; changing the destination clears it.  The secrets are
    kept out of ``repr`` so they never reach a log line.
    """

    company_id: str
    host: str
    port: int
    username: str
    folder: str
    host_key: str
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    done_marker: bool = False
    max_connections: int = 2
    concurrency: int = 16
    timeout_seconds: float = 30.0
    verify_after_rename: bool = True
    blocked_reason: str | None = None
    blocked_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One recording file's delivery: what to put where, and how it has gone so far.

    ``delivery_id`` is the file's id; ``remote_path`` is relative to the destination's
    folder; ``attempts`` counts claims, so a worker that died mid-upload is counted too.
    Its bytes are not here: only the worker that claimed it reads them
    (``DeliveryStore.delivery_contents``), so listing deliveries never loads recordings.
    """

    delivery_id: int
    recording_id: str
    chat_id: str
    company_id: str
    kind: DeliveryKind
    format: str
    base_name: str
    remote_path: str
    size: int
    sha256: str
    state: DeliveryState
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RecordingDelivery:
    """A recording's files on their way to the platform, as one (R16).

    ``state`` is the most pressing of its files' states: ``blocked``, then
    ``delivering``, then ``pending``; ``delivered`` once every file is.  ``files`` are
    in the order they were rendered; ``newest_file_id`` orders recordings, newest first.
    """

    recording_id: str
    chat_id: str
    state: DeliveryState
    newest_file_id: int
    files: tuple[DeliveryRecord, ...]


@dataclass(frozen=True, slots=True)
class DeliveryStats:
    """How many deliveries are in each state, and since when the oldest one waits.

    ``oldest_waiting_at`` is the creation time of the oldest delivery not yet delivered
    (pending, delivering or blocked), ``None`` when every one is delivered.
    """

    counts: dict[DeliveryState, int]
    oldest_waiting_at: datetime | None = None


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
    ``chain`` is each event's digest and link (R21, ``domain.chain``), one per event.
    ``before`` is the chat's row as the writer last knew it: only the columns that
    differ from it are written (all of them without it).
    """

    chat: ChatRecord
    events: tuple[tuple[int, Event], ...] = ()
    chain: tuple[tuple[bytes, bytes], ...] = ()
    recordings: tuple[RecordingRecord, ...] = ()
    audit: tuple[AuditRecord, ...] = ()
    new_chat: bool = False
    # The agents in the chat after the change, when it changed who is (None: unchanged);
    # ``claim`` an agent given the chat now, refused if that fills them over capacity.
    agents: tuple[str, ...] | None = None
    claim: AgentClaim | None = None
    before: ChatRecord | None = None


@dataclass(frozen=True, slots=True)
class AgentClaim:
    """An agent given a chat by routing or a transfer, and the capacity they may hold."""

    user_id: str
    capacity: int


@dataclass(frozen=True, slots=True)
class FreeAgent:
    """An agent who can take a chat now: Available, online on a live node, not full;
    ``login`` as read with it, so that giving them a chat needs no second read."""

    user_id: str
    capacity: int
    open_chats: int
    idle_since: datetime
    login: UserRecord | None = None


@dataclass(frozen=True, slots=True)
class AgentLoad:
    """What routing shares of one agent: whether a portal of theirs is on a live node,
    how many chats they are in, and when they last used a portal."""

    online: bool
    open_chats: int
    active_at: datetime | None


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """A chatrec server as the database knows it: alive while ``heartbeat_at`` is fresh."""

    node_id: str
    host: str
    pid: int
    version: str
    started_at: datetime
    heartbeat_at: datetime
    connections: int = 0
