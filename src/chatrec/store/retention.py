"""Purging message bodies once a chat's recordings are delivered (R17).

A chat is due once it has ended, every file of its produced recordings is delivered
(a chat with none produced, suppressed or not recorded, is due at once), and its
company's retention period has passed since the end.  A purge empties the text of
every ``MessagePosted`` in the journal, keeping each event decodable, empties any bytes
of its recording files still held (delivery empties them already), and stamps the
chat's ``purged_at``; everything else (who said something when, the decision, the
audit trail, which never holds message text) stays for R14.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from chatrec.domain.codec import type_name
from chatrec.domain.journal import MessagePosted
from chatrec.errors import ConflictError, NotFoundError
from chatrec.store.models import (
    AuditRow,
    ChatEventRow,
    ChatRow,
    CompanyRow,
    RecordingFileRow,
    RecordingRow,
)
from chatrec.store.records import ChatStatus, DeliveryState

MESSAGE = type_name(MessagePosted)


def chats_due_for_purge(session: Session, now: datetime, limit: int) -> list[str]:
    """Ended chats whose bodies may go now (R17), oldest end first."""
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
    companies = session.execute(select(CompanyRow.company_id, CompanyRow.retention_seconds))
    for company_id, retention_seconds in companies.all():
        if len(due) >= limit:
            break
        cutoff = now - timedelta(seconds=retention_seconds)
        due += session.scalars(
            select(ChatRow.chat_id)
            .where(
                ChatRow.company_id == company_id,
                ChatRow.status == ChatStatus.ENDED.value,
                ChatRow.purged_at.is_(None),
                ChatRow.ended_at <= cutoff,
                ~undelivered,
            )
            .order_by(ChatRow.ended_at, ChatRow.chat_id)
            .limit(limit - len(due))
        ).all()
    return due


def purge_message_bodies(session: Session, chat_id: str, now: datetime) -> int:
    """Empty the chat's message texts and its recordings' bytes still held, and stamp it
    purged; how many messages had text.

    Refused for a chat still open: its journal is still being written and read.
    """
    chat = session.get(ChatRow, chat_id)
    if chat is None:
        raise NotFoundError(f"no chat {chat_id!r}")
    if chat.status != ChatStatus.ENDED.value:
        raise ConflictError(f"chat {chat_id!r} is still open; its messages are kept")
    emptied = 0
    for row in session.scalars(
        select(ChatEventRow).where(ChatEventRow.chat_id == chat_id, ChatEventRow.type == MESSAGE)
    ):
        if row.payload.get("text"):
            row.payload = {**row.payload, "text": ""}
            emptied += 1
    # Due only once every file is delivered, which empties its bytes; a purge asked for
    # by hand leaves none either: a recording's text goes with the messages' (R17).
    session.execute(
        update(RecordingFileRow)
        .where(
            RecordingFileRow.recording_id.in_(
                select(RecordingRow.recording_id).where(RecordingRow.chat_id == chat_id)
            ),
            RecordingFileRow.content.is_not(None),
        )
        .values(content=None)
        .execution_options(synchronize_session=False)
    )
    if chat.purged_at is None:
        chat.purged_at = now
        session.add(
            AuditRow(
                company_id=chat.company_id,
                at=now,
                actor="system",
                action="message_bodies_purged",
                chat_id=chat_id,
                detail={"messages": emptied},
            )
        )
    return emptied
