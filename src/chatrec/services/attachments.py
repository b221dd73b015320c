"""Who may read a file sent in a chat (R18, R23): only the chat's participants.

The customer by the chat's token (for as long as it opens the chat); staff of the
chat's company who took part in it (assigned, transferred to, joined), and the
company's supervisors and administrators, who read its chats anyway (R14).  Anyone
else, and any other company's staff, is told the file does not exist (R18).
"""

from __future__ import annotations

from typing import Protocol

from chatrec.domain.journal import AgentAssigned, Event, SupervisorJoined
from chatrec.errors import NotFoundError
from chatrec.services.access import OVERSEERS
from chatrec.services.ports import AttachmentFiles
from chatrec.store.records import AttachmentRecord, ChatRecord, UserRecord


class AttachmentReads(AttachmentFiles, Protocol):
    def get_chat(self, chat_id: str) -> ChatRecord | None: ...

    def load_journal(self, chat_id: str, after_seq: int = 0) -> list[tuple[int, Event]]: ...


def took_part(journal: list[tuple[int, Event]], user_id: str) -> bool:
    """Whether the login was assigned, transferred to or joined the chat at some time."""
    return any(
        isinstance(event, AgentAssigned | SupervisorJoined) and event.actor.user_id == user_id
        for _, event in journal
    )


def attachment_for_staff(
    store: AttachmentReads, user: UserRecord, chat_id: str, attachment_id: str
) -> AttachmentRecord:
    """The file with its bytes, if the login may read the chat; else not found."""
    chat = store.get_chat(chat_id)
    unknown = NotFoundError(f"no attachment {attachment_id!r} in a chat of yours")
    if chat is None or chat.company_id != user.company_id:
        raise unknown
    if user.role not in OVERSEERS and not took_part(store.load_journal(chat_id), user.user_id):
        raise unknown
    return store.get_attachment(chat_id, attachment_id)
