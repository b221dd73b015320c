"""The tables, as SQLAlchemy models; nothing outside ``store`` sees these classes.

Every change to this module goes with a migration in ``migrations/versions``; a test
compares the two on SQLite and PostgreSQL.  Unique rules that must hold on both
databases use plain columns (``login_key``, ``base_name_key`` hold casefolded names)
rather than expression indexes, which the two spell differently.

It is long because every table is here: one place to read the schema whole, beside the
migrations that build it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chatrec.domain.attachments import DEFAULT_MAX_BYTES, KNOWN_TYPES
from chatrec.store.columns import UTCDateTime
from chatrec.store.records import ChatStatus

# Named constraints, so migrations can name what they alter on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - read by SQLAlchemy, never changed
        str: String(),
        datetime: UTCDateTime(),
        bytes: LargeBinary(),
        list[str]: JSON(),
        dict[str, Any]: JSON(none_as_null=True),
    }


def _company() -> Mapped[str]:
    return mapped_column(ForeignKey("companies.company_id"), index=True)


class CompanyRow(Base):
    __tablename__ = "companies"

    company_id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    products: Mapped[list[str]]
    default_template: Mapped[str] = mapped_column(Text)
    formats: Mapped[list[str]]
    done_marker: Mapped[bool]
    sampling_key: Mapped[bytes]
    retention_seconds: Mapped[int]
    vcon_draft: Mapped[str]
    # Every login of the company must sign in with a second factor (TOTP).
    require_totp: Mapped[bool] = mapped_column(default=False, server_default=false())
    # R22: masking of card numbers (on unless turned off) and the company's own patterns,
    # a list of {"name", "pattern"}.
    mask_card_numbers: Mapped[bool] = mapped_column(default=True, server_default=true())
    masking_patterns: Mapped[list[dict[str, str]]] = mapped_column(
        JSON(), default=list, server_default="[]"
    )
    # R23: agents see the customer's draft as it is typed (off unless turned on).
    typing_preview: Mapped[bool] = mapped_column(default=False, server_default=false())
    # R23: staff's internal notes are in recordings, marked internal, unless left out.
    record_internal_notes: Mapped[bool] = mapped_column(default=True, server_default=true())
    # R23: the company's wrap-up codes, and whether an agent must choose one to end.
    wrap_up_codes: Mapped[list[str]] = mapped_column(JSON(), default=list, server_default="[]")
    wrap_up_required: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The dashboard's target: a chat an agent takes within it counts as answered in time.
    answer_target_seconds: Mapped[int] = mapped_column(default=60, server_default="60")
    # R23: files in chats: on or off, the largest taken, the sniffed types taken.
    attachments_enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    attachment_max_bytes: Mapped[int] = mapped_column(
        default=DEFAULT_MAX_BYTES, server_default=str(DEFAULT_MAX_BYTES)
    )
    attachment_types: Mapped[list[str]] = mapped_column(
        JSON(), default=lambda: list(KNOWN_TYPES), server_default=json.dumps(list(KNOWN_TYPES))
    )


class UserRow(Base):
    """A staff login; ``login_key`` (the casefolded login) is unique within its company.

    Two companies may have the same login: sign-in tells them apart (``services.auth``).
    """

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("company_id", "login_key"),)

    user_id: Mapped[str] = mapped_column(primary_key=True)
    company_id: Mapped[str] = _company()
    login: Mapped[str]
    login_key: Mapped[str] = mapped_column(index=True)
    name: Mapped[str]
    role: Mapped[str]
    password_hash: Mapped[str]
    permit_recordings: Mapped[bool]
    record_chats: Mapped[bool]
    record_percentage: Mapped[int]
    capacity: Mapped[int]
    disabled: Mapped[bool]
    # The latest end of a sign-in lock of this login from some address, for
    # administrators to see; sign-in reads the lock of the caller's own address
    # (``login_failures``).
    locked_until: Mapped[datetime | None]
    # Set by an administrator's password reset: nothing works until the user sets one.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The TOTP secret as ``fernet:v1:`` ciphertext (R18), from enrolment on; it signs in
    # only once ``totp_enabled`` (a code confirmed it).  ``totp_last_step`` is the time
    # step of the last code accepted, so a code is never accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(Text)
    totp_enabled: Mapped[bool] = mapped_column(default=False, server_default=false())
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)


class LoginFailureRow(Base):
    """Wrong sign-ins in a row for one login from one client address (R18).

    ``lock_key`` is the user id of the login signed in to, or the login as typed when it
    names no one, so unknown logins lock the same way as known ones.  From the
    ``login_max_failures``-th failure on, the address waits until ``locked_until``,
    longer after each further failure.
    """

    __tablename__ = "login_failures"
    __table_args__ = (PrimaryKeyConstraint("lock_key", "address"),)

    lock_key: Mapped[str]
    address: Mapped[str]
    failures: Mapped[int]
    locked_until: Mapped[datetime | None]
    last_failure_at: Mapped[datetime] = mapped_column(index=True)


class RecoveryCodeRow(Base):
    """A one-time code that signs in instead of a TOTP code; only its hash is kept."""

    __tablename__ = "recovery_codes"

    code_hash: Mapped[str] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    used_at: Mapped[datetime | None]


class PresenceRow(Base):
    """An agent's chosen presence; a row only once they first chose (Away until then)."""

    __tablename__ = "agent_presence"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), primary_key=True)
    available: Mapped[bool]
    changed_by: Mapped[str]
    changed_at: Mapped[datetime]
    # Why Away, when the agent said (domain.presence.AwayReason); none while Available.
    away_reason: Mapped[str | None]


class QueueRow(Base):
    """A queue: a name and nothing about recording, which cannot be set on a queue (R3)."""

    __tablename__ = "queues"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    queue_id: Mapped[str] = mapped_column(primary_key=True)
    company_id: Mapped[str] = _company()
    name: Mapped[str]


class FlowRow(Base):
    __tablename__ = "flows"

    flow_id: Mapped[str] = mapped_column(primary_key=True)
    company_id: Mapped[str] = _company()
    name: Mapped[str]


class FlowVersionRow(Base):
    """Every saved version is kept: a chat runs, and is explained by, the one it started on."""

    __tablename__ = "flow_versions"

    flow_id: Mapped[str] = mapped_column(ForeignKey("flows.flow_id"), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class ServiceRow(Base):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    service_id: Mapped[str] = mapped_column(primary_key=True)
    company_id: Mapped[str] = _company()
    name: Mapped[str]
    flow_id: Mapped[str | None] = mapped_column(ForeignKey("flows.flow_id"))
    # Business hours (domain.hours; "" always open), their zone, and what a customer
    # reads outside them (issue 15).
    hours: Mapped[str] = mapped_column(Text, default="", server_default="")
    timezone: Mapped[str] = mapped_column(default="UTC", server_default="UTC")
    closed_message: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The pre-chat form's fields (domain.customer; [] no form), R23 and issue 15.
    pre_chat_form: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON(), default=list, server_default="[]"
    )


class CannedResponseRow(Base):
    """A canned response (issue 15): the company's (``owner_id`` empty) or one login's.

    ``scope_key`` is the owner's id, or ``""`` for the company's, and ``name_key`` the
    casefolded name: a unique rule on plain columns holds on both databases, where one
    over a nullable owner would let two company-wide responses share a name.
    """

    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("company_id", "scope_key", "name_key"),)

    response_id: Mapped[str] = mapped_column(primary_key=True)
    company_id: Mapped[str] = _company()
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.user_id"), index=True)
    scope_key: Mapped[str]
    name: Mapped[str]
    name_key: Mapped[str]
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SessionRow(Base):
    """A signed-in browser or script; ends at ``expires_at``, or when idle too long since
    ``last_seen_at``.  ``pending`` names what must be done before anything else works."""

    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    pending: Mapped[str | None]


class ApiTokenRow(Base):
    """A token for automation: stored only as its hash, revocable, tied to one login (R18)."""

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(primary_key=True)
    token_id: Mapped[str] = mapped_column(unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    name: Mapped[str]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    scope: Mapped[str]
    parent_id: Mapped[str | None] = mapped_column(index=True)


class ChatRow(Base):
    __tablename__ = "chats"
    __table_args__ = (
        ForeignKeyConstraint(
            ["flow_id", "flow_version"], ["flow_versions.flow_id", "flow_versions.version"]
        ),
        Index(None, "company_id", "status"),
        # Finds the ended chats not yet purged (R17) without reading every ended chat.
        Index(None, "status", "purged_at", "ended_at"),
        # A customer's earlier chats with the company, by their pre-chat e-mail (R23).
        Index(None, "company_id", "customer_email"),
        # The chats started in a period: the dashboard's day and the report's range,
        # without walking every chat the company ever had (migration 0022).
        Index(None, "company_id", "started_at"),
    )

    chat_id: Mapped[str] = mapped_column(primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.company_id"))
    service_id: Mapped[str] = mapped_column(ForeignKey("services.service_id"))
    token_hash: Mapped[str] = mapped_column(unique=True)
    status: Mapped[str]
    started_at: Mapped[datetime]
    last_activity_at: Mapped[datetime]
    last_seq: Mapped[int]
    queue_id: Mapped[str | None] = mapped_column(ForeignKey("queues.queue_id"))
    flow_id: Mapped[str | None]
    flow_version: Mapped[int | None]
    flow_state: Mapped[dict[str, Any] | None]
    ended_at: Mapped[datetime | None]
    # When the message bodies were purged after delivery and retention (R17).
    purged_at: Mapped[datetime | None]
    # When the chat last joined its queue: the oldest waiting is offered first, on any
    # node (R20); none while it is not queued.
    queued_at: Mapped[datetime | None]
    # The pre-chat form's e-mail (R23), lower case; emptied by the purge (R17).
    customer_email: Mapped[str | None]


CHAT_IS_OPEN = ChatRow.status.in_([s.value for s in ChatStatus if s is not ChatStatus.ENDED])
"""A chat not ended, as the open statuses themselves: an index on the status then finds
the open chats alone.  ``status != 'ended'`` walked every chat a company ever had, for
every chat started (4.4 ms at 100,000 chats in SQLite, against 5 µs)."""


class ChatEventRow(Base):
    """One journal event; ``payload`` is :func:`chatrec.domain.codec.encode_event`'s output."""

    __tablename__ = "chat_events"

    chat_id: Mapped[str] = mapped_column(ForeignKey("chats.chat_id"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    type: Mapped[str]
    at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]
    # The event's place in the chat's hash chain (R21): the SHA-256 of its canonical form
    # and the link to the event before it.  Kept when a purge empties the text (R17);
    # empty for events committed before chains existed.
    digest: Mapped[bytes | None]
    link: Mapped[bytes | None]


DATABASE_ONLY_INDEXES = frozenset({"ix_recordings_company_id_base_name_key_c"})
"""Indexes the migrations make that these models do not declare, as autogenerate cannot
compare them: PostgreSQL's recordings' name keys byte by byte (``COLLATE "C"``), whose
range the names an end takes are read from (``store.chats``, R6; migration 0021)."""


def compared(obj: object, name: str | None, type_: str, *_: object) -> bool:
    """Whether autogenerate compares a schema object: all but :data:`DATABASE_ONLY_INDEXES`."""
    return not (type_ == "index" and name in DATABASE_ONLY_INDEXES)


class RecordingRow(Base):
    """A recording and its verdict (R14); ``base_name`` only when it was produced."""

    __tablename__ = "recordings"
    __table_args__ = (UniqueConstraint("company_id", "base_name_key"),)

    recording_id: Mapped[str] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(ForeignKey("chats.chat_id"), index=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.company_id"))
    origin: Mapped[str]
    reason: Mapped[str]
    outcome: Mapped[str]
    rule: Mapped[str]
    explanation: Mapped[str] = mapped_column(Text)
    base_name: Mapped[str | None]
    base_name_key: Mapped[str | None]


class AttachmentRow(Base):
    """A file sent in a chat (R23), described in its journal by ``AttachmentSent``.

    ``content`` holds the bytes until the chat's message bodies are purged (R17), then
    ``NULL``; ``uploader`` is the journal's actor of the sender.  Deferred: a listing
    never reads the bytes.
    """

    __tablename__ = "attachments"

    attachment_id: Mapped[str] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(ForeignKey("chats.chat_id"), index=True)
    uploader: Mapped[dict[str, Any]]
    name: Mapped[str]
    media_type: Mapped[str]
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str]
    content: Mapped[bytes | None] = mapped_column(deferred=True)
    paused: Mapped[bool]
    created_at: Mapped[datetime]


class RecordingFileRow(Base):
    """A file of a produced recording and its delivery: the outbox (R16).

    ``content`` holds the rendered bytes, committed with the chat's end, so any worker on
    any machine can deliver them; it is emptied (``NULL``) once the file is delivered or
    the chat purged (R17).  Deferred: only a worker that claimed the file reads it, never
    a listing.  ``state`` is a :class:`~chatrec.store.records.DeliveryState`; a worker
    holds a ``delivering`` row until ``lease_expires_at``, after which another may claim
    it.
    """

    __tablename__ = "recording_files"
    __table_args__ = (
        UniqueConstraint("recording_id", "path"),
        Index(None, "state", "next_attempt_at"),
    )

    file_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.recording_id"))
    path: Mapped[str]
    format: Mapped[str]
    media_type: Mapped[str]
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str]
    content: Mapped[bytes | None] = mapped_column(deferred=True)
    state: Mapped[str] = mapped_column(default="pending", server_default=text("'pending'"))
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None]
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]


class SigningKeyRow(Base):
    """A company's key that signs its recordings' manifests (R21).

    ``private_key`` holds ``fernet:v1:`` ciphertext of the raw key, as the SFTP secrets
    do (R18).  The key whose ``valid_until`` is empty is the company's current one; an
    older key is kept, so a recording is signed by the key valid when its chat ended.
    """

    __tablename__ = "signing_keys"

    key_id: Mapped[str] = mapped_column(primary_key=True)
    company_id: Mapped[str] = _company()
    public_key: Mapped[bytes]
    private_key: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None]


class DestinationRow(Base):
    """A company's recording platform (R16).

    ``password`` and ``private_key`` hold ``fernet:v1:`` ciphertext, never the secret
    (R18): ``store.mapping`` encrypts and decrypts them with the store's
    :class:`~chatrec.store.secrets.SecretBox`.  A value without the prefix was saved
    before encryption; ``Store.migrate`` encrypts it.
    """

    __tablename__ = "destinations"

    company_id: Mapped[str] = mapped_column(ForeignKey("companies.company_id"), primary_key=True)
    host: Mapped[str]
    port: Mapped[int]
    username: Mapped[str]
    folder: Mapped[str]
    host_key: Mapped[str] = mapped_column(Text)
    password: Mapped[str | None] = mapped_column(Text)
    private_key: Mapped[str | None] = mapped_column(Text)
    done_marker: Mapped[bool]
    max_connections: Mapped[int]
    concurrency: Mapped[int]
    timeout_seconds: Mapped[float]
    verify_after_rename: Mapped[bool]
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    blocked_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class AuditRow(Base):
    """One line of the audit trail (R7, R9, R11, R14); never message text (R17)."""

    __tablename__ = "audit"
    __table_args__ = (Index(None, "company_id", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.company_id"))
    at: Mapped[datetime]
    actor: Mapped[str]
    action: Mapped[str]
    chat_id: Mapped[str | None] = mapped_column(ForeignKey("chats.chat_id"))
    detail: Mapped[dict[str, Any]]


class NodeRow(Base):
    """A chatrec server serving this database, alive while its heartbeat is fresh (R20).

    Times are the database's clock, so nodes whose clocks differ still agree on who is
    alive; a node that stops cleanly deletes its row.
    """

    __tablename__ = "nodes"

    node_id: Mapped[str] = mapped_column(primary_key=True)
    host: Mapped[str]
    pid: Mapped[int]
    version: Mapped[str]
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime] = mapped_column(index=True)
    connections: Mapped[int]


class RoutingAgentRow(Base):
    """An agent as every node's routing shares them (R20).

    Locked to give the agent a chat, so two nodes never both fill their last free slot;
    ``idle_since`` orders who waited longest, ``active_at`` is their last use of a portal
    on any node (the idle timeout of presence).
    """

    __tablename__ = "routing_agents"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.company_id"), index=True)
    idle_since: Mapped[datetime]
    active_at: Mapped[datetime]


class AgentSocketRow(Base):
    """How many portals of an agent take chats on a node: online while one is on a live
    node, so an agent with two tabs on two nodes counts once (R20)."""

    __tablename__ = "agent_sockets"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), primary_key=True)
    node_id: Mapped[str] = mapped_column(primary_key=True)
    connections: Mapped[int]


class ChatAgentRow(Base):
    """An agent in an open chat: what their capacity counts, written with the journal
    events that put them there or took them out (R20)."""

    __tablename__ = "chat_agents"

    chat_id: Mapped[str] = mapped_column(ForeignKey("chats.chat_id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), primary_key=True, index=True)
