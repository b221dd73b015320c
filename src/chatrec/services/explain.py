"""R14: why each recording of a chat was produced or suppressed, for any chat."""

from __future__ import annotations

from dataclasses import dataclass

from chatrec.domain.decision import decide_recordings
from chatrec.domain.journal import Journal
from chatrec.errors import NotFoundError
from chatrec.services.directory import company_settings
from chatrec.store.records import RecordingRecord
from chatrec.store.store import Store

STILL_OPEN = "The chat is still open; if it ended now:"


@dataclass(frozen=True, slots=True)
class Explanation:
    chat_id: str
    status: str
    sentences: list[str]
    recordings: list[RecordingRecord]


def explain_chat(store: Store, chat_id: str, company_id: str | None = None) -> Explanation:
    """The decision stored when the chat ended, or, while open, the one it would get.

    ``company_id`` scopes the look-up: another company's chat is "not found" (R18).
    """
    chat = store.get_chat(chat_id)
    if chat is None or (company_id is not None and chat.company_id != company_id):
        raise NotFoundError(f"no chat {chat_id!r}")
    decisions = [
        entry
        for entry in store.list_audit(chat.company_id, chat_id)
        if entry.action == "recording_decision"
    ]
    if decisions:
        sentences = [str(line) for line in decisions[-1].detail.get("explanation", [])]
    else:
        company = store.get_company(chat.company_id)
        if company is None:
            raise NotFoundError(f"no company {chat.company_id!r}")
        journal = Journal(tuple(event for _, event in store.load_journal(chat_id, 0)))
        decision = decide_recordings(company_settings(company), journal)
        sentences = [STILL_OPEN, *decision.sentences()]
    return Explanation(chat_id, chat.status.value, sentences, store.get_recordings(chat_id))
