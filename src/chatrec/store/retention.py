"""Purging message bodies once a chat's recordings are delivered (R17).

A chat is due once it has ended, every file of its produced recordings is delivered
(a chat with none produced, suppressed or not recorded, is due at once), and its
company's retention period has passed since the end.  A purge empties the text of
every message and internal note in the journal (``TEXT_BODIES``) and the customer's
pre-chat details (R23), keeping each event decodable, empties the bytes of every file
sent in it (R23) and any bytes of its recording files still held (delivery empties them
already), and stamps the chat's ``purged_at``; everything else (who said something when,
the decision, the audit trail, which never holds message text or customer details)
stays for R14.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from chatrec.domain.codec import CHAT_STARTED, TEXT_BODIES, purged_payload
from chatrec.errors import ConflictError, NotFoundError
from chatrec.store.models import (
    AttachmentRow,
    AuditRow,
    ChatEventRow,
    ChatRow,
    CompanyRow,
    RecordingFileRow,
    RecordingRow,
)
from chatrec.store.records import ChatStatus, DeliveryState


def chats_due_for_purge(session: Session, now: datetime, limit: int) -> list[str]:
    """Ended chats whose bodies may go now (R17), oldest end first for each retention.

    A statement per distinct retention period, not per company: a worker looks after
    every delivery round, and a host of a thousand companies made that a thousand reads.
    """
    undelivered = (
        select(RecordingFileRow.file_id)
        .join(RecordingRow, RecordingRow.recording_id == RecordingFileRow.recording_id)
        .where(
            RecordingRow.chat_id == ChatRow.chat_id,
            RecordingFileRow.state != DeliveryState.DELIVERED.value,
        )
        .exists()
    )
    due: list[str] = []
    retentions = session.scalars(
        select(CompanyRow.retention_seconds).distinct().order_by(CompanyRow.retention_seconds)
    )
    for retention_seconds in retentions.all():
        if len(due) >= limit:
            break
        cutoff = now - timedelta(seconds=retention_seconds)
        companies = select(CompanyRow.company_id).where(
            CompanyRow.retention_seconds == retention_seconds
        )
        due += session.scalars(
            select(ChatRow.chat_id)
            .where(
                ChatRow.status == ChatStatus.ENDED.value,
                ChatRow.purged_at.is_(None),
                ChatRow.ended_at <= cutoff,
                ChatRow.company_id.in_(companies),
                ~undelivered,
            )
            .order_by(ChatRow.ended_at, ChatRow.chat_id)
            .limit(limit - len(due))
        ).all()
    return due


def purge_message_bodies(session: Session, chat_id: str, now: datetime) -> int:
    """Empty the chat's message texts and its recordings' bytes still held, and stamp it
    purged; how many messages had text (see :func:`purge_chats`)."""
    return purge_chats(session, [chat_id], now)[chat_id]


def purge_chats(session: Session, chat_ids: Sequence[str], now: datetime) -> dict[str, int]:
    """Empty the chats' message texts and their recordings' bytes still held, and stamp
    each purged; per chat, how many messages had text.

    A statement per step for all the chats, not a round of ORM loads per chat: a busy
    delivery worker purges a round's worth of chats at once (issue 13).  Refused as a
    whole for an unknown chat or one still open: its journal is still being written and
    read.
    """
    ids = list(dict.fromkeys(chat_ids))
    found = {
        row.chat_id: row
        for row in session.execute(
            select(ChatRow.chat_id, ChatRow.company_id, ChatRow.status, ChatRow.purged_at).where(
                ChatRow.chat_id.in_(ids)
            )
        )
    }
    for chat_id in ids:
        chat = found.get(chat_id)
        if chat is None:
            raise NotFoundError(f"no chat {chat_id!r}")
        if chat.status != ChatStatus.ENDED.value:
            raise ConflictError(f"chat {chat_id!r} is still open; its messages are kept")
    emptied = dict.fromkeys(ids, 0)
    changed = []
    for chat_id, seq, kind, payload in session.execute(
        select(
            ChatEventRow.chat_id, ChatEventRow.seq, ChatEventRow.type, ChatEventRow.payload
        ).where(ChatEventRow.chat_id.in_(ids), ChatEventRow.type.in_((*TEXT_BODIES, CHAT_STARTED)))
    ):
        kept = purged_payload(kind, payload)
        if kept is not None:
            changed.append({"chat_id": chat_id, "seq": seq, "payload": kept})
            emptied[chat_id] += kind in TEXT_BODIES
    if changed:
        session.execute(update(ChatEventRow), changed)  # by primary key, one executemany
    # Due only once every file is delivered, which empties its bytes; a purge asked for
    # by hand leaves none either: a recording's text goes with the messages' (R17).
    session.execute(
        update(RecordingFileRow)
        .where(
            RecordingFileRow.recording_id.in_(
                select(RecordingRow.recording_id).where(RecordingRow.chat_id.in_(ids))
            ),
            RecordingFileRow.content.is_not(None),
        )
        .values(content=None)
        .execution_options(synchronize_session=False)
    )
    # The bytes of every file sent in the chats, recorded or paused, go with them (R23).
    session.execute(
        update(AttachmentRow)
        .where(AttachmentRow.chat_id.in_(ids), AttachmentRow.content.is_not(None))
        .values(content=None)
        .execution_options(synchronize_session=False)
    )
    fresh = [chat_id for chat_id in ids if found[chat_id].purged_at is None]
    if fresh:
        session.execute(
            update(ChatRow)
            .where(ChatRow.chat_id.in_(fresh))
            .values(purged_at=now, customer_email=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            insert(AuditRow),
            [
                {
                    "company_id": found[chat_id].company_id,
                    "at": now,
                    "actor": "system",
                    "action": "message_bodies_purged",
                    "chat_id": chat_id,
                    "detail": {"messages": emptied[chat_id]},
                }
                for chat_id in fresh
            ],
        )
    return emptied
