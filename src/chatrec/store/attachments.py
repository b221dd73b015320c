"""Files sent in chats (R23): kept apart from the journal, which describes each with
``AttachmentSent``, and emptied with the chat's message bodies (R17, ``retention``).

A file is kept before its event is committed: an event never names bytes that are not
there, and a file whose event failed stays unnamed until its chat is purged.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import undefer

from chatrec.domain.journal import Actor, ChatRole
from chatrec.errors import NotFoundError
from chatrec.store.models import AttachmentRow, ChatRow
from chatrec.store.records import AttachmentRecord
from chatrec.store.transactions import StorePart, require


def _record(row: AttachmentRow) -> AttachmentRecord:
    by = row.uploader
    return AttachmentRecord(
        attachment_id=row.attachment_id,
        chat_id=row.chat_id,
        uploader=Actor(ChatRole(by["role"]), str(by["name"]), by.get("user_id")),
        name=row.name,
        media_type=row.media_type,
        size=row.size,
        sha256=row.sha256,
        paused=row.paused,
        created_at=row.created_at,
        content=row.content,
    )


class AttachmentStore(StorePart):
    """The bytes of files sent in chats, and what they are."""

    def add_attachment(self, attachment: AttachmentRecord) -> None:
        """Keep a file of a chat that exists; its event follows in the journal."""
        with self._write() as session:
            require(session, ChatRow, attachment.chat_id, "chat")
            uploader = attachment.uploader
            session.add(
                AttachmentRow(
                    attachment_id=attachment.attachment_id,
                    chat_id=attachment.chat_id,
                    uploader={
                        "role": uploader.role.value,
                        "name": uploader.name,
                        "user_id": uploader.user_id,
                    },
                    name=attachment.name,
                    media_type=attachment.media_type,
                    size=attachment.size,
                    sha256=attachment.sha256,
                    content=attachment.content,
                    paused=attachment.paused,
                    created_at=attachment.created_at,
                )
            )

    def get_attachment(self, chat_id: str, attachment_id: str) -> AttachmentRecord:
        """The file with its bytes (``None`` once purged); unknown in this chat: not found."""
        with self._read() as session:
            row = session.scalar(
                select(AttachmentRow)
                .options(undefer(AttachmentRow.content))
                .where(
                    AttachmentRow.attachment_id == attachment_id,
                    AttachmentRow.chat_id == chat_id,
                )
            )
            if row is None:
                raise NotFoundError(f"no attachment {attachment_id!r} in chat {chat_id!r}")
            return _record(row)

    def attachment_contents(self, chat_id: str, ids: Collection[str]) -> dict[str, bytes]:
        """The bytes still held of the chat's files named, by id: what a recording's end
        delivers beside it (R23)."""
        if not ids:
            return {}
        with self._read() as session:
            rows = session.execute(
                select(AttachmentRow.attachment_id, AttachmentRow.content).where(
                    AttachmentRow.chat_id == chat_id,
                    AttachmentRow.attachment_id.in_(list(ids)),
                )
            )
            return {key: content for key, content in rows if content is not None}
