"""Chats, their journals and recordings; open chats change only through one method.

That method is :meth:`ChatStore.apply`, which the
:class:`~chatrec.store.writer.GroupCommitter` calls with many changes at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    Select,
    and_,
    bindparam,
    collate,
    or_,
    select,
    union_all,
)
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError, StatementError
from sqlalchemy.orm import undefer

from chatrec.domain.chain import ChainedEvent
from chatrec.domain.codec import (
    decode_event,
    emptied_by_purge,
    encode_event,
    type_name,
)
from chatrec.domain.filenames import CONTINUES, name_key
from chatrec.domain.journal import AgentAssigned, Event, SupervisorJoined
from chatrec.errors import ChatrecError, NotFoundError
from chatrec.store.changes import (
    BatchMismatchError,
    explain_conflict,
    write_batch,
    write_change,
)
from chatrec.store.mapping import (
    chat_record,
    event_of,
    recording_record,
)
from chatrec.store.models import (
    CHAT_IS_OPEN,
    ChatEventRow,
    ChatRow,
    RecordingFileRow,
    RecordingRow,
)
from chatrec.store.records import (
    ChatChange,
    ChatRecord,
    ChatStatus,
    RecordingRecord,
)
from chatrec.store.routing import lock_agents
from chatrec.store.tables import CHATS, RECORDINGS
from chatrec.store.transactions import (
    StorePart,
    refused_value,
)

JOINS = (type_name(AgentAssigned), type_name(SupervisorJoined))
"""The events by which staff take part in a chat: its actor is who joined."""

# Candidates per query in taken_base_names: a SELECT per candidate, and SQLite allows
# 500 in one compound statement.
_NAMES_PER_QUERY = 100


class ChatStore(StorePart):
    """Chats and what they produced; one group commit writes their changes."""

    def get_chat(self, chat_id: str) -> ChatRecord | None:
        with self._read() as session:
            row = session.get(ChatRow, chat_id)
            return None if row is None else chat_record(row)

    def find_chat_by_token(self, token_hash: str) -> ChatRecord | None:
        row = self._plain_row(_CHAT_BY_TOKEN, {"token_hash": token_hash})
        return None if row is None else chat_record(row)

    def open_chats(self, company_id: str | None = None) -> list[ChatRecord]:
        """Every chat not ended, of one company or of all: what a starting node takes
        over, or what a company's staff see on any node (R20)."""
        with self._read() as session:
            query = select(ChatRow).where(CHAT_IS_OPEN)
            if company_id is not None:
                query = query.where(ChatRow.company_id == company_id)
            rows = session.scalars(query.order_by(ChatRow.started_at, ChatRow.chat_id))
            return [chat_record(row) for row in rows]

    def list_chats(
        self,
        company_id: str,
        statuses: Sequence[ChatStatus] | None = None,
        limit: int = 100,
        *,
        after: tuple[datetime, str] | None = None,
    ) -> list[ChatRecord]:
        """The company's newest chats first, optionally only those in ``statuses``.

        ``after`` is the (``started_at``, ``chat_id``) of the last chat of a page: the
        next page starts after it.
        """
        query = select(ChatRow).where(ChatRow.company_id == company_id)
        if statuses is not None:
            query = query.where(ChatRow.status.in_([status.value for status in statuses]))
        return self._newest_first(query, limit, after)

    def _newest_first(
        self, query: Select[Any], limit: int, after: tuple[datetime, str] | None
    ) -> list[ChatRecord]:
        """A page of ``query``'s chats, newest first, after the (``started_at``,
        ``chat_id``) of the previous page's last."""
        if after is not None:
            started, chat_id = after
            query = query.where(
                or_(
                    ChatRow.started_at < started,
                    and_(ChatRow.started_at == started, ChatRow.chat_id > chat_id),
                )
            )
        with self._read() as session:
            rows = session.scalars(
                query.order_by(ChatRow.started_at.desc(), ChatRow.chat_id).limit(limit)
            )
            return [chat_record(row) for row in rows]

    def chats_taken_part_in(
        self, company_id: str, user_id: str, limit: int = 50, *, after: tuple[datetime, str] | None
    ) -> list[ChatRecord]:
        """The company's ended chats the login took part in (assigned to, transferred to
        or joined), newest first: an agent's history (R23).  Read from the journal, which
        is what says who took part, whoever is in the chat's row now."""
        joined = (
            select(ChatEventRow.chat_id)
            .where(
                ChatEventRow.chat_id == ChatRow.chat_id,
                ChatEventRow.type.in_(JOINS),
                ChatEventRow.payload["actor"]["user_id"].as_string() == user_id,
            )
            .exists()
        )
        query = select(ChatRow).where(
            ChatRow.company_id == company_id, ChatRow.status == ChatStatus.ENDED.value, joined
        )
        return self._newest_first(query, limit, after)

    def chats_of_customer(
        self, company_id: str, email: str, limit: int = 20, *, but: str
    ) -> list[ChatRecord]:
        """The company's ended chats, but ``but``, whose customer gave ``email`` in the
        pre-chat form, newest first (R23).  A purge empties the e-mail with the texts
        (R17): a purged chat is no longer found, as far as retention keeps them."""
        query = select(ChatRow).where(
            ChatRow.company_id == company_id,
            ChatRow.customer_email == email,
            ChatRow.status == ChatStatus.ENDED.value,
            ChatRow.chat_id != but,
        )
        return self._newest_first(query, limit, None)

    def load_journal(self, chat_id: str, after_seq: int = 0) -> list[tuple[int, Event]]:
        """The chat's events numbered above ``after_seq``, in order (a reconnect's resync)."""
        with self._read() as session:
            rows = session.scalars(
                select(ChatEventRow)
                .where(ChatEventRow.chat_id == chat_id, ChatEventRow.seq > after_seq)
                .order_by(ChatEventRow.seq)
            )
            return [event_of(row) for row in rows]

    def journal_chain(self, chat_id: str) -> list[ChainedEvent]:
        """The chat's events with their place in its hash chain, for a check (R21).

        A message or pre-chat details a purge emptied (R17) come without their event: the
        stored digest stands in.
        """
        with self._read() as session:
            chat = session.get(ChatRow, chat_id)
            if chat is None:
                raise NotFoundError(f"no chat {chat_id!r}")
            purged = chat.purged_at is not None
            rows = session.scalars(
                select(ChatEventRow)
                .where(ChatEventRow.chat_id == chat_id)
                .order_by(ChatEventRow.seq)
            )
            return [
                ChainedEvent(
                    row.seq,
                    None
                    if purged and emptied_by_purge(row.type, row.payload)
                    else decode_event(row.payload),
                    row.digest,
                    row.link,
                )
                for row in rows
            ]

    def chat_ids(self, after: str = "", limit: int = 500) -> list[str]:
        """Chat ids in order, a page at a time: every chat, for a check of them all."""
        with self._read() as session:
            return list(
                session.scalars(
                    select(ChatRow.chat_id)
                    .where(ChatRow.chat_id > after)
                    .order_by(ChatRow.chat_id)
                    .limit(limit)
                )
            )

    def get_recordings(self, chat_id: str, *, with_bytes: bool = False) -> list[RecordingRecord]:
        """The chat's recordings with their verdicts, and files for those produced.

        The files' bytes are read only ``with_bytes`` (for a check of what an end
        committed); otherwise ``content`` is ``None``: an explanation needs names, not
        recordings.
        """
        with self._read() as session:
            rows = session.scalars(
                select(RecordingRow)
                .where(RecordingRow.chat_id == chat_id)
                .order_by(RecordingRow.recording_id)
            ).all()
            files: dict[str, list[RecordingFileRow]] = {row.recording_id: [] for row in rows}
            query = (
                select(RecordingFileRow)
                .where(RecordingFileRow.recording_id.in_(files))
                .order_by(RecordingFileRow.file_id)
            )
            if with_bytes:
                query = query.options(undefer(RecordingFileRow.content))
            for file in session.scalars(query):
                files[file.recording_id].append(file)
            return [
                recording_record(row, files[row.recording_id], with_bytes=with_bytes)
                for row in rows
            ]

    def taken_base_names(self, company_id: str, candidates: Sequence[str]) -> set[str]:
        """Stored base names equal to a candidate or continuing it with ``-`` (R6).

        Compared by :func:`~chatrec.domain.filenames.name_key`, as names are chosen;
        returned as stored.
        """
        keys = sorted({name_key(candidate) for candidate in candidates})
        after = chr(ord(CONTINUES) + 1)
        taken: set[str] = set()
        dialect = self.engine.dialect.name
        for start in range(0, len(keys), _NAMES_PER_QUERY):
            chunk = keys[start : start + _NAMES_PER_QUERY]
            values: dict[str, str] = {"company_id": company_id}
            for index, key in enumerate(chunk):
                bounds = {f"lo{index}": key + CONTINUES, f"hi{index}": key + after}
                values |= {f"k{index}": key, **bounds}
            # Each chunk a read at the driver: a name another end commits meanwhile is
            # refused at the commit all the same (R6), so no snapshot is shared.
            rows = self._plain_rows(_taken_names_query(dialect, len(chunk)), values)
            taken.update(name for (name,) in rows if name is not None)
        return taken

    # -- live changes -----------------------------------------------------------------

    def committed(self, changes: Sequence[ChatChange]) -> list[bool]:
        """For a batch whose commit's answer was lost: which of its changes are stored,
        each judged by its first event being stored as written.  A change without an
        event is not judged stored (this cannot tell)."""
        with self._read() as session:
            found = []
            for change in changes:
                if not change.events:
                    found.append(False)
                    continue
                seq, event = change.events[0]
                row = session.get(ChatEventRow, (change.chat.chat_id, seq))
                found.append(row is not None and row.payload == encode_event(event))
            return found

    def apply(self, changes: Sequence[ChatChange]) -> list[BaseException | None]:
        """Commit many chat changes in one transaction, each in its own SAVEPOINT.

        A change that is refused (a clash, an unknown chat, a value the database will
        not take) is rolled back alone and its error returned in its slot; the others
        commit together.  A failure of the database itself (unreachable, locked)
        raises, and then nothing of the batch is committed.
        """
        attempt = 1
        while True:
            try:
                return self._apply(changes)
            except OperationalError as error:
                if not _deadlocked(error) or attempt >= DEADLOCK_ATTEMPTS:
                    raise
                attempt += 1

    def _apply(self, changes: Sequence[ChatChange]) -> list[BaseException | None]:
        now = self._clock()
        # A batch of one too: the statements built once and no SAVEPOINT are what a
        # change costs least; a refused one is written again alone to say why (rare: a
        # clash between nodes, a full agent).
        try:
            # A Connection, not a Session: the batch is Core statements only, and the
            # Session's bookkeeping cost more than they did (issue 13, relay).
            with self._writer.begin() as connection:
                write_batch(connection, changes, now)
            return [None] * len(changes)
        except (IntegrityError, DataError, BatchMismatchError):
            pass  # some change is refused: find which, each in its own savepoint
        except DBAPIError:
            raise  # the database itself failed: the whole batch with it
        except (StatementError, ChatrecError, ValueError):
            pass
        results: list[BaseException | None] = []
        with self._writer.begin() as connection:
            # Every agent the batch moves, locked first and in one order, as the batch
            # way does: change by change, two nodes would lock them in a circle.
            lock_agents(connection, changes, now)
            for change in changes:
                results.append(_apply_one(connection, change, now))
        return results


DEADLOCK_ATTEMPTS = 3
"""Times a batch is written when PostgreSQL ends it to break a deadlock (nothing of it
was stored), before the failure goes to its waiters as "try again"."""


def _deadlocked(error: OperationalError) -> bool:
    return getattr(error.orig, "sqlstate", None) == "40P01"


def _apply_one(connection: Connection, change: ChatChange, now: datetime) -> BaseException | None:
    try:
        with connection.begin_nested():
            write_change(connection, change, now)
    except IntegrityError as error:
        return explain_conflict(connection, change, error)
    except DataError as error:
        return refused_value(error)
    except DBAPIError:
        raise  # the database itself failed: the whole batch with it
    except (StatementError, ChatrecError, ValueError) as error:
        return error
    return None


def _bytewise(column: ColumnElement[str | None], dialect: str) -> ColumnElement[Any]:
    """The column compared byte by byte: SQLite's default; PostgreSQL's ``"C"`` collation,
    which an index of migration 0021 holds, whatever the database's own collation."""
    return collate(column, "C") if dialect == "postgresql" else column


_CHAT_BY_TOKEN = select(CHATS).where(CHATS.c.token_hash == bindparam("token_hash"))
"""Read at every customer's hello: built once, read as a plain row (chat_lifecycle)."""


@cache
def _taken_names_query(dialect: str, count: int) -> CompoundSelect[Any]:
    """The stored base names equal to one of ``count`` keys (``k0``…) or continuing one
    with ``-`` (R6): each continuation a range of the index, from ``lo<i>`` (``key-``) up
    to, not including, ``hi<i>`` (``key.``, the next character); a ``LIKE`` prefix
    walked every recording the company ever had, at every chat's end.  One seek of the
    index per condition: ORed in one WHERE, SQLite's planner (without ANALYZE's
    statistics) walked the company's names.  Built once per size, not per chat's end."""
    column = _bytewise(RECORDINGS.c.base_name_key, dialect)
    conditions = [column.in_([bindparam(f"k{index}") for index in range(count)])] + [
        and_(column >= bindparam(f"lo{index}"), column < bindparam(f"hi{index}"))
        for index in range(count)
    ]
    return union_all(
        *(
            select(RECORDINGS.c.base_name).where(
                RECORDINGS.c.company_id == bindparam("company_id"), condition
            )
            for condition in conditions
        )
    )
