"""Writing chat changes inside the caller's transaction, and naming a change's clash.

Nothing here commits.  :meth:`chatrec.store.store.Store.apply` first writes a whole
batch with :func:`write_batch` (a few multi-row statements: the common case, where no
change clashes); if that fails it rolls back and writes each change alone with
:func:`write_change` in its own SAVEPOINT, so one refused change fails alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from chatrec.errors import (
    BaseNameTakenError,
    DuplicateError,
    NotFoundError,
    SequenceClashError,
    StoreConflictError,
)
from chatrec.store.bulk import insert_rows, update_rows
from chatrec.store.mapping import (
    base_name_key,
    change_events,
    changed_values,
    chat_values,
    recording_values,
    values_of,
)
from chatrec.store.models import (
    AuditRow,
    ChatEventRow,
    ChatRow,
    DestinationRow,
    RecordingRow,
)
from chatrec.store.records import ChatChange, DeliveryState
from chatrec.store.routing import claim_agent, lock_agents, sync_chat_agents
from chatrec.store.tables import CHATS


def write_change(connection: Connection, change: ChatChange, now: datetime) -> None:
    """Insert or update the chat and add its events, recordings, files and audit lines."""
    _refuse_clashes_within(change)
    chat = change.chat
    lock_agents(connection, [change], now)
    if change.claim is not None:
        claim_agent(connection, change.claim, chat.chat_id, now)
    if change.new_chat:
        connection.execute(insert(ChatRow).values(chat_values(chat)))
    else:
        values = changed_values(change)
        del values["chat_id"]
        statement = update(ChatRow).where(ChatRow.chat_id == chat.chat_id)
        result = connection.execute(statement.values(values))
        if result.rowcount == 0:
            raise NotFoundError(f"no chat {chat.chat_id!r} to change")
    if change.events:
        connection.execute(insert(ChatEventRow), change_events(change))
    if change.agents is not None:
        sync_chat_agents(connection, chat.chat_id, change.agents, now)
    if change.recordings:
        _write_recordings(connection, [change], now)
    if change.audit:
        connection.execute(insert(AuditRow), [values_of(entry) for entry in change.audit])


class BatchMismatchError(Exception):
    """A batch did not write what it should (a chat to update is missing): write alone."""


def write_batch(connection: Connection, changes: Sequence[ChatChange], now: datetime) -> None:
    """Write every change with one statement per table; raise on any clash.

    The caller rolls back on any error and falls back to :func:`write_change` per change.
    """
    for change in changes:
        _refuse_clashes_within(change)
    # Agents' rows are locked first and in one order, chats' rows in one order after:
    # two nodes' batches then never wait on each other in a circle.
    lock_agents(connection, changes, now)
    new = [chat_values(c.chat) for c in changes if c.new_chat]
    updated = sorted(
        (changed_values(c) for c in changes if not c.new_chat),
        key=lambda values: str(values["chat_id"]),
    )
    if new:
        connection.execute(insert(CHATS), new)
    if updated and update_rows(connection, "chats", "chat_id", updated) != len(updated):
        raise BatchMismatchError("a chat to update is missing")
    events = [row for change in changes for row in change_events(change)]
    if events:
        insert_rows(connection, "chat_events", events)
    for change in changes:  # in order: a claim counts the batch's earlier changes
        if change.claim is not None:
            claim_agent(connection, change.claim, change.chat.chat_id, now)
        if change.agents is not None:
            sync_chat_agents(connection, change.chat.chat_id, change.agents, now)
    if any(c.recordings for c in changes):
        _write_recordings(connection, [c for c in changes if c.recordings], now)
    audit = [values_of(entry) for c in changes for entry in c.audit]
    if audit:
        insert_rows(connection, "audit", audit)


def _write_recordings(connection: Connection, changes: Sequence[ChatChange], now: datetime) -> None:
    recordings = [recording_values(r) for c in changes for r in c.recordings]
    insert_rows(connection, "recordings", recordings)
    blocked = {
        company: _blocked_reason(connection, company)
        for company in {c.chat.company_id for c in changes}
    }
    files = [
        _file_values(file, recording.recording_id, now, blocked[c.chat.company_id])
        for c in changes
        for recording in c.recordings
        for file in recording.files
    ]
    if files:
        insert_rows(connection, "recording_files", files)


def _file_values(
    file: object, recording_id: str, now: datetime, blocked: str | None
) -> dict[str, Any]:
    return values_of(
        file,
        recording_id=recording_id,
        created_at=now,
        next_attempt_at=now,
        state=(DeliveryState.PENDING if blocked is None else DeliveryState.BLOCKED).value,
        last_error=blocked,
    )


def _blocked_reason(connection: Connection, company_id: str) -> str | None:
    """Why the company's destination is blocked: its new files are blocked at once (R16)."""
    return connection.scalar(_BLOCKED_REASON, {"company_id": company_id})


_BLOCKED_REASON = select(DestinationRow.blocked_reason).where(
    DestinationRow.company_id == bindparam("company_id")
)


def _refuse_clashes_within(change: ChatChange) -> None:
    seqs = Counter(seq for seq, _ in change.events)
    repeated = sorted(seq for seq, count in seqs.items() if count > 1)
    if repeated:
        raise SequenceClashError(change.chat.chat_id, repeated)
    names = Counter(base_name_key(r.base_name) for r in change.recordings if r.base_name)
    clashing = {
        r.base_name
        for r in change.recordings
        if r.base_name and names[base_name_key(r.base_name)] > 1
    }
    if clashing:
        raise BaseNameTakenError(change.chat.company_id, sorted(clashing))


def explain_conflict(
    connection: Connection, change: ChatChange, error: IntegrityError
) -> StoreConflictError:
    """Which stored data the rolled-back change clashed with, read back from the tables.

    Read rather than parsed from the driver's message, which differs between databases.
    """
    chat = change.chat
    if change.new_chat:
        if connection.scalar(select(ChatRow.chat_id).where(ChatRow.chat_id == chat.chat_id)):
            return DuplicateError(f"chat {chat.chat_id!r} already exists")
        if connection.scalar(select(ChatRow.chat_id).where(ChatRow.token_hash == chat.token_hash)):
            return DuplicateError(f"another chat has the token of chat {chat.chat_id!r}")
    seqs = [seq for seq, _ in change.events]
    stored = connection.scalars(
        select(ChatEventRow.seq).where(
            ChatEventRow.chat_id == chat.chat_id, ChatEventRow.seq.in_(seqs)
        )
    ).all()
    if stored:
        return SequenceClashError(chat.chat_id, sorted(stored))
    for recording in change.recordings:
        if recording.base_name is None:
            continue
        taken = connection.scalar(
            select(RecordingRow.recording_id).where(
                RecordingRow.company_id == recording.company_id,
                RecordingRow.base_name_key == base_name_key(recording.base_name),
            )
        )
        if taken:
            return BaseNameTakenError(recording.company_id, [recording.base_name])
    ids = [recording.recording_id for recording in change.recordings]
    known = connection.scalars(
        select(RecordingRow.recording_id).where(RecordingRow.recording_id.in_(ids))
    ).all()
    if known:
        return DuplicateError(f"recordings {sorted(known)} already exist")
    return StoreConflictError(f"the change to chat {chat.chat_id!r} was refused: {error.orig}")
