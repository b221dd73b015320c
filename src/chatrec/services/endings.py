"""A chat's end: its recordings decided, named, rendered and committed with it (R6, R12-R15).

Names are chosen under the company's lock with the names of chats ending beside it on
this node reserved, so those never clash (R6); another node may still commit a name
this one chose meanwhile: the store refuses the clash, and the end is settled again
with the names now taken, a few times before the error is given up to the caller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace

from chatrec.blocking import run_blocking
from chatrec.domain.decision import Decision
from chatrec.domain.filenames import clashing
from chatrec.domain.journal import AttachmentSent, ChatEnded, Journal
from chatrec.domain.render import RecordingFiles
from chatrec.errors import BaseNameTakenError
from chatrec.live.registry import LiveChat
from chatrec.services.ports import Committer, EndingStore
from chatrec.services.recordings import (
    NameReservations,
    name_recordings,
    recording_records,
    render_recordings,
    sign_recordings,
)
from chatrec.store.records import (
    AuditRecord,
    ChatChange,
    ChatRecord,
    ChatStatus,
    RecordingRecord,
)

log = logging.getLogger(__name__)

# Times a chat's end chooses its names before a clash with another node's is given up.
NAMING_ATTEMPTS = 3


class ChatEndings:
    """Settles the ends of one node's chats; the caller updates its memory afterwards."""

    def __init__(self, store: EndingStore, committer: Committer) -> None:
        self.store = store
        self.committer = committer
        self._locks: dict[str, asyncio.Lock] = {}
        self._names = NameReservations()

    async def settle(
        self, chat: LiveChat, ended: ChatEnded
    ) -> tuple[ChatRecord, list[RecordingRecord]]:
        """Commit the end and its recordings; the chat's row as committed, and those."""
        attempt = 1
        while True:
            try:
                return await self._settle_once(chat, ended)
            except BaseNameTakenError as clash:
                if attempt >= NAMING_ATTEMPTS:
                    raise
                attempt += 1
                log.warning("chat %s: %s; choosing its names again", chat.chat_id, clash)

    async def _settle_once(
        self, chat: LiveChat, ended: ChatEnded
    ) -> tuple[ChatRecord, list[RecordingRecord]]:
        """Choose names and commit the end once, files and all; the chat's row as committed."""
        final = Journal((*chat.journal.events, ended))
        company_id = chat.record.company_id
        lock = self._locks.setdefault(company_id, asyncio.Lock())
        async with lock:  # names of chats ending together must not clash (R6)
            reserved = self._names.held(company_id)

            def taken(candidates: Sequence[str]) -> set[str]:
                stored = self.store.taken_base_names(company_id, candidates)
                return stored | clashing(reserved, candidates)

            decision, bases = await run_blocking(name_recordings, chat.company, final, taken)
            names = list(bases.values())
            self._names.reserve(company_id, names)
        # The names are this end's until committed: render, sign and commit without the
        # lock, so that chats ending together wait only for each other's names.
        try:
            first = chat.record.last_seq + 1
            chain = chat.chain(((first, ended),))
            produced = await run_blocking(self._produce, chat, final, decision, bases, chain[-1][1])
            recordings = recording_records(chat.company, final, decision, produced)
            audit = AuditRecord(
                company_id=company_id,
                at=ended.at,
                actor="system",
                action="recording_decision",
                chat_id=chat.chat_id,
                detail={"explanation": decision.sentences()}
                | ({"journal_problems": list(chat.chain_problems)} if chat.chain_problems else {}),
            )
            record = replace(
                chat.record,
                last_seq=first,
                last_activity_at=ended.at,
                status=ChatStatus.ENDED,
                ended_at=ended.at,
            )
            change = ChatChange(
                chat=record,
                events=((first, ended),),
                chain=chain,
                recordings=tuple(recordings),
                audit=(audit,),
                agents=(),  # an ended chat holds no agent's slot (R20)
                before=chat.record,
            )
            # Refused under names now another's, or for an end another node committed
            # first: nothing of this attempt was written anywhere.
            await self.committer.commit(change)
        finally:
            self._names.release(company_id, names)
        return record, recordings

    def _produce(
        self,
        chat: LiveChat,
        final: Journal,
        decision: Decision,
        bases: dict[str, str],
        head: bytes,
    ) -> list[RecordingFiles]:
        """The produced recordings rendered, with the files sent while recorded beside
        them (R23), each signed with the journal's head as this end leaves it (R21); in
        a worker thread, off the event loop."""
        contents: dict[str, bytes] = {}
        sent = [e.attachment_id for e in final.of_type(AttachmentSent) if not e.paused]
        if decision.produced and sent:  # a suppressed chat delivers none of them (R12, R23)
            contents = self.store.attachment_contents(chat.chat_id, sent)
        produced = render_recordings(chat.company, final, decision, bases, contents)
        if not produced:
            return produced
        return sign_recordings(self.store, final, decision, produced, head, chat.chain_problems)
