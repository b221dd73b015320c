"""Journal write rate: messages committed per second by the store, against plain inserts.

Every writer is one chat posting one message after another, each waiting for its
commit as a sender waits for its acknowledgement; the messages go the live server's
way, through :class:`~chatrec.store.writer.GroupCommitter` into
:meth:`~chatrec.store.store.Store.apply`.

The baseline (issue 13) writes the same rows (``chat_events`` with its JSON payload, and
the chat's ``last_seq`` and last activity per message) with plain inserts, each message
committed on its own as a program without group commit would: on SQLite with ``sqlite3``
on one connection (SQLite writes one transaction at a time whatever the connections),
same schema and pragmas (WAL, ``synchronous=NORMAL``); on PostgreSQL (``bench.journal_pg``)
with ``psycopg``, every writer on its own connection in its own thread.  Beside it, the
*limit*: the same rows in batches of exactly the sizes the committer formed, with
``executemany`` (pipelined on PostgreSQL), which nothing on top of the database could beat.

``CHATREC_BENCH_PROFILE=1`` also writes a pyinstrument profile of ``Store.apply``
replaying the committer's batches, under ``bench/results/``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

from bench.common import QUICK, RESULTS, Result, pyplot, report, save_plot
from chatrec.domain.journal import CUSTOMER, ChatStarted, MessagePosted
from chatrec.store.database import SQLITE_BUSY_TIMEOUT_MS
from chatrec.store.migrations import migrate
from chatrec.store.records import (
    ChatChange,
    ChatRecord,
    ChatStatus,
    CompanyRecord,
    ServiceRecord,
)
from chatrec.store.secrets import SecretBox, generate_key
from chatrec.store.store import Store
from chatrec.store.writer import GroupCommitter

NAME = "journal"
GOAL = "chatrec >= 0.5x plain SQLite inserts, a commit per message"
POSTGRES_URL = os.environ.get(
    "CHATREC_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PROFILE = os.environ.get("CHATREC_BENCH_PROFILE") == "1"

HEADLINE_WRITERS = 50
RAW_RUNS = 3
WRITER_STEPS = (1, 10, 50) if QUICK else (1, 10, 50, 200)
MESSAGES = 1_500 if QUICK else 3_000
"""Messages per measurement, shared among its writers; a tenth for a single writer, whose
one-change commits are slow, and half on PostgreSQL: the run stays within its 90 s."""
TEXT = "Hello, my parcel 4711 has not arrived yet, can you tell me where it is?"

COMPANY = CompanyRecord(
    company_id="bench",
    name="Bench",
    products=frozenset({"webchat"}),
    default_template="{date}/{company}_{chat_id}_{origin}_{recording_id}",
    formats=frozenset({"json"}),
)
SERVICE = ServiceRecord(service_id="s-bench", company_id="bench", name="Support", flow_id=None)
SECRETS = SecretBox([generate_key()], origin="the bench's own key")


# -- the workload -------------------------------------------------------------------


def started_chats(writers: int, start: datetime) -> list[ChatChange]:
    """One new chat per writer, as the live server commits a chat's start."""
    changes = []
    for n in range(writers):
        chat_id = f"chat-{n:05}"
        event = ChatStarted(
            at=start, actor=CUSTOMER, chat_id=chat_id, company_id="bench", service="Support"
        )
        chat = ChatRecord(
            chat_id=chat_id,
            company_id="bench",
            service_id=SERVICE.service_id,
            token_hash=f"token-{chat_id}",
            status=ChatStatus.ACTIVE,
            started_at=start,
            last_activity_at=start,
            last_seq=1,
        )
        changes.append(ChatChange(chat=chat, events=((1, event),), new_chat=True))
    return changes


def next_message(chat: ChatRecord) -> ChatChange:
    """The chat's next customer message, numbered and timed as the live server would."""
    seq = chat.last_seq + 1
    at = chat.last_activity_at + timedelta(milliseconds=10)
    record = replace(chat, last_seq=seq, last_activity_at=at)
    event = MessagePosted(at=at, actor=CUSTOMER, text=TEXT)
    return ChatChange(chat=record, events=((seq, event),), before=chat)


@dataclass(frozen=True)
class Message:
    chat_id: str
    seq: int
    at: datetime


def planned_messages(starts: Sequence[ChatChange], per_writer: int) -> list[Message]:
    """The baseline's messages: the writers' messages, taken round-robin."""
    return [
        Message(s.chat.chat_id, 1 + k, s.chat.started_at + timedelta(milliseconds=10 * k))
        for k in range(1, per_writer + 1)
        for s in starts
    ]


class BatchLog:
    """The store, noting the size of every batch the committer gives it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.sizes: list[int] = []
        self.batches: list[Sequence[ChatChange]] = []

    def apply(self, changes: Sequence[ChatChange]) -> list[BaseException | None]:
        self.sizes.append(len(changes))
        self.batches.append(changes)
        return self.store.apply(changes)


# -- chatrec ------------------------------------------------------------------------


async def drive_writers(
    committer: GroupCommitter, starts: Sequence[ChatChange], per_writer: int
) -> float:
    """Seconds for every writer to have ``per_writer`` messages committed."""

    async def write(chat: ChatRecord) -> None:
        for _ in range(per_writer):
            change = next_message(chat)
            await committer.commit(change)
            chat = change.chat

    began = time.perf_counter()
    await asyncio.gather(*(write(start.chat) for start in starts))
    return time.perf_counter() - began


def measure_chatrec(
    url: str, starts: Sequence[ChatChange], per_writer: int
) -> tuple[float, BatchLog]:
    store = Store(url, secrets=SECRETS)
    try:
        store.apply(starts)
        log = BatchLog(store)
        committer = GroupCommitter(log)

        async def run() -> float:
            committer.start()
            try:
                return await drive_writers(committer, starts, per_writer)
            finally:
                await committer.stop()

        return asyncio.run(run()), log
    finally:
        store.close()


def prepare(url: str, starts: Sequence[ChatChange]) -> None:
    """The chats' first events, stored by chatrec as for its own run (not timed)."""
    store = Store(url, secrets=SECRETS)
    try:
        store.apply(starts)
    finally:
        store.close()


def chunks(messages: Sequence[Message], sizes: Sequence[int]) -> Iterator[Sequence[Message]]:
    start = 0
    for size in sizes:
        yield messages[start : start + size]
        start += size


def payload_of(message: Message) -> dict[str, Any]:
    """What ``encode_event`` makes of the message: the baseline serialises it itself."""
    return {
        "type": "message_posted",
        "at": message.at.isoformat(),
        "actor": {"role": "customer", "name": "Customer", "user_id": None},
        "text": TEXT,
    }


# -- plain SQLite -------------------------------------------------------------------

SQLITE_INSERT = "INSERT INTO chat_events (chat_id, seq, type, at, payload) VALUES (?, ?, ?, ?, ?)"
SQLITE_UPDATE = "UPDATE chats SET last_seq = ?, last_activity_at = ? WHERE chat_id = ?"


def sqlite_time(at: datetime) -> str:
    """How SQLAlchemy keeps a UTC datetime in SQLite: naive text with microseconds."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def measure_raw_sqlite(path: Path, messages: Sequence[Message], sizes: Sequence[int]) -> float:
    """Seconds to write ``messages`` in transactions of ``sizes``, with chatrec's pragmas."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        began = time.perf_counter()
        for batch in chunks(messages, sizes):
            connection.execute("BEGIN IMMEDIATE")
            if len(batch) == 1:  # plain: a statement each, as a program without batches
                (m,) = batch
                connection.execute(SQLITE_UPDATE, (m.seq, sqlite_time(m.at), m.chat_id))
                connection.execute(SQLITE_INSERT, sqlite_event(m))
            else:
                connection.executemany(
                    SQLITE_UPDATE, [(m.seq, sqlite_time(m.at), m.chat_id) for m in batch]
                )
                connection.executemany(SQLITE_INSERT, [sqlite_event(m) for m in batch])
            connection.execute("COMMIT")
        return time.perf_counter() - began
    finally:
        connection.close()


def sqlite_event(m: Message) -> tuple[Any, ...]:
    return (m.chat_id, m.seq, "message_posted", sqlite_time(m.at), json.dumps(payload_of(m)))


# -- plain PostgreSQL ---------------------------------------------------------------

PG_INSERT = "INSERT INTO chat_events (chat_id, seq, type, at, payload) VALUES (%s, %s, %s, %s, %s)"
PG_UPDATE = "UPDATE chats SET last_seq = %s, last_activity_at = %s WHERE chat_id = %s"


def measure_raw_postgres(conninfo: str, messages: Sequence[Message], sizes: Sequence[int]) -> float:
    """Seconds to write ``messages`` in batches of ``sizes`` with pipelined executemany."""
    import psycopg
    from psycopg.types.json import Json

    with psycopg.connect(conninfo) as connection:
        began = time.perf_counter()
        for batch in chunks(messages, sizes):
            with connection.transaction(), connection.cursor() as cursor:
                cursor.executemany(PG_UPDATE, [(m.seq, m.at, m.chat_id) for m in batch])
                cursor.executemany(
                    PG_INSERT,
                    [
                        (m.chat_id, m.seq, "message_posted", m.at, Json(payload_of(m)))
                        for m in batch
                    ],
                )
        return time.perf_counter() - began


def measure_plain_postgres(conninfo: str, messages: Sequence[Message], writers: int) -> float:
    """Seconds for ``writers`` threads, each on its own connection, to write their chats'
    messages one transaction each, concurrently (PostgreSQL flushes concurrent commits
    together: the group commit a plain program gets for free)."""
    import psycopg
    from psycopg.types.json import Json

    by_chat: dict[str, list[Message]] = {}
    for message in messages:
        by_chat.setdefault(message.chat_id, []).append(message)
    connections = [psycopg.connect(conninfo) for _ in range(writers)]
    ready = threading.Barrier(writers + 1)

    def write(connection: Any, own: Sequence[Message]) -> None:
        ready.wait()
        for m in own:
            with connection.transaction():
                connection.execute(PG_UPDATE, (m.seq, m.at, m.chat_id))
                connection.execute(
                    PG_INSERT, (m.chat_id, m.seq, "message_posted", m.at, Json(payload_of(m)))
                )

    try:
        threads = [
            threading.Thread(target=write, args=(connection, own))
            for connection, own in zip(connections, by_chat.values(), strict=True)
        ]
        for thread in threads:
            thread.start()
        ready.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        return time.perf_counter() - began
    finally:
        for connection in connections:
            connection.close()


@contextmanager
def postgres_schema() -> Iterator[tuple[str, str]]:
    """A fresh schema, migrated and seeded: its SQLAlchemy URL and psycopg conninfo."""
    server = make_url(POSTGRES_URL)
    schema = f"bench_{uuid.uuid4().hex}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = server.update_query_dict({"options": f"-csearch_path={schema}"})
        rendered = url.render_as_string(hide_password=False)
        migrate(rendered)
        seed(rendered)
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            yield rendered, conninfo
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


def postgres_setting(name: str) -> str:
    engine = create_engine(make_url(POSTGRES_URL), connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            return str(connection.execute(text(f"SHOW {name}")).scalar())
    finally:
        engine.dispose()


# -- a measurement ------------------------------------------------------------------


def seed(url: str) -> None:
    store = Store(url, secrets=SECRETS)
    try:
        store.create_company(COMPANY)
        store.create_service(SERVICE)
    finally:
        store.close()


def rate(messages: int, seconds: float) -> float:
    return messages / seconds if seconds > 0 else float("nan")


@dataclass
class Pair:
    """One measurement: chatrec, its baseline (plain inserts) and the limit (the same
    rows in the committer's batches)."""

    writers: int
    messages: int
    chatrec: float
    plain: float
    limit: float
    batch_sizes: list[int]

    def summary(self) -> dict[str, Any]:
        sizes = self.batch_sizes
        return {
            "writers": self.writers,
            "messages": self.messages,
            "chatrec_msgs_per_s": round(self.chatrec, 1),
            "plain_msgs_per_s": round(self.plain, 1),
            "ratio": round(self.chatrec / self.plain, 3) if self.plain else None,
            "limit_msgs_per_s": round(self.limit, 1),
            "share_of_limit": round(self.chatrec / self.limit, 3) if self.limit else None,
            "commits": len(sizes),
            "mean_batch": round(sum(sizes) / len(sizes), 2) if sizes else None,
            "max_batch": max(sizes, default=0),
        }


def per_writer_for(writers: int, share: float = 1.0) -> int:
    messages = MESSAGES * share if writers > 1 else MESSAGES / 10
    return max(1, int(messages) // writers)


def measure_sqlite(template: Path, folder: Path, writers: int) -> Pair:
    per_writer = per_writer_for(writers)
    total = per_writer * writers
    starts = started_chats(writers, datetime.now(UTC))
    ours = folder / f"chatrec-{writers}.db"
    shutil.copy(template, ours)
    seconds, log = measure_chatrec(f"sqlite:///{ours}", starts, per_writer)
    assert sum(log.sizes) == total, "the committer lost messages"
    messages = planned_messages(starts, per_writer)

    def raw_rate(tag: str, sizes: Sequence[int]) -> float:
        """The median of a few runs: each takes a fraction of a second, so one is noise."""
        rates = []
        for attempt in range(RAW_RUNS):
            path = folder / f"raw-{tag}-{writers}-{attempt}.db"
            shutil.copy(template, path)
            prepare(f"sqlite:///{path}", starts)
            rates.append(rate(total, measure_raw_sqlite(path, messages, sizes)))
        return statistics.median(rates)

    plain = raw_rate("plain", [1] * total)
    limit = raw_rate("limit", log.sizes)
    return Pair(writers, total, rate(total, seconds), plain, limit, log.sizes)


def measure_postgres(writers: int) -> Pair:
    per_writer = per_writer_for(writers, share=0.5)
    total = per_writer * writers
    starts = started_chats(writers, datetime.now(UTC))
    with postgres_schema() as (url, _):
        seconds, log = measure_chatrec(url, starts, per_writer)
    messages = planned_messages(starts, per_writer)
    with postgres_schema() as (url, conninfo):
        prepare(url, starts)
        plain_seconds = measure_plain_postgres(conninfo, messages, writers)
    with postgres_schema() as (url, conninfo):
        prepare(url, starts)
        limit_seconds = measure_raw_postgres(conninfo, messages, log.sizes)
    return Pair(
        writers,
        total,
        rate(total, seconds),
        rate(total, plain_seconds),
        rate(total, limit_seconds),
        log.sizes,
    )


def profile_apply(template: Path, folder: Path, stamp: str) -> list[str]:
    """Profile ``Store.apply`` on the headline's batches, on this thread (pyinstrument
    samples only the thread it started on, and the committer's is another)."""
    from pyinstrument import Profiler

    writers = HEADLINE_WRITERS
    per_writer = per_writer_for(writers)
    starts = started_chats(writers, datetime.now(UTC))
    path = folder / "profile.db"
    shutil.copy(template, path)
    store = Store(f"sqlite:///{path}", secrets=SECRETS)
    try:
        store.apply(starts)
        chats = [start.chat for start in starts]
        batches: list[list[ChatChange]] = []
        for _ in range(per_writer):
            batch = []
            for index, chat in enumerate(chats):
                change = next_message(chat)
                chats[index] = change.chat
                batch.append(change)
            batches.append(batch)
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for batch in batches:
            store.apply(batch)
        profiler.stop()
    finally:
        store.close()
    RESULTS.mkdir(parents=True, exist_ok=True)
    html = RESULTS / f"{stamp}-journal-profile.html"
    txt = RESULTS / f"{stamp}-journal-profile.txt"
    html.write_text(profiler.output_html())
    txt.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    print(f"profile of Store.apply written to {txt} and {html}", flush=True)
    return [
        str(txt.relative_to(RESULTS.parent.parent)),
        str(html.relative_to(RESULTS.parent.parent)),
    ]


def plot(steps: Sequence[Pair]) -> str:
    plt = pyplot()

    figure, (rates, batches) = plt.subplots(1, 2, figsize=(10, 4))
    writers = [p.writers for p in steps]
    rates.plot(writers, [p.limit for p in steps], "o:", label="limit: sqlite3, same batches")
    rates.plot(writers, [p.plain for p in steps], "o--", label="plain sqlite3, a commit each")
    rates.plot(writers, [p.chatrec for p in steps], "o-", label="chatrec store")
    rates.set_xscale("log")
    rates.set_yscale("log")
    rates.set_xticks(writers, [str(w) for w in writers])
    rates.set_xlabel("concurrent writers (chats)")
    rates.set_ylabel("messages committed per second")
    rates.set_title("Journal write rate, SQLite")
    rates.legend(fontsize="small")
    rates.grid(True, alpha=0.3)
    batches.plot(writers, [sum(p.batch_sizes) / len(p.batch_sizes) for p in steps], "o-")
    batches.set_xscale("log")
    batches.set_xticks(writers, [str(w) for w in writers])
    batches.set_xlabel("concurrent writers (chats)")
    batches.set_ylabel("mean changes per commit")
    batches.set_title("Group commit batch size (SQLite)")
    batches.grid(True, alpha=0.3)
    return save_plot(figure, "journal.png", dpi=100)


def measure(on_step: Callable[[str], None] = print) -> Result:
    details: dict[str, Any] = {
        "messages_per_measurement": MESSAGES,
        "sqlite": {"journal_mode": "wal", "synchronous": "NORMAL"},
    }
    with tempfile.TemporaryDirectory(prefix="chatrec-bench-journal-") as directory:
        folder = Path(directory)
        template = folder / "template.db"
        migrate(f"sqlite:///{template}")
        seed(f"sqlite:///{template}")
        steps = []
        for writers in WRITER_STEPS:
            pair = measure_sqlite(template, folder, writers)
            steps.append(pair)
            on_step(f"sqlite {json.dumps(pair.summary())}")
        details["sqlite"]["steps"] = [p.summary() for p in steps]
        plots = [plot(steps)]
        if PROFILE:
            details["profile"] = profile_apply(template, folder, f"{datetime.now(UTC):%Y-%m-%d}")
    headline = next(p for p in steps if p.writers == HEADLINE_WRITERS)
    return Result(
        name=NAME,
        figure=round(headline.chatrec, 1),
        unit="msgs/s",
        baseline=round(headline.plain, 1),
        goal=GOAL,
        details=details,
        plots=plots,
    )


def main() -> None:
    began = time.perf_counter()
    result = measure()
    result.details["seconds"] = round(time.perf_counter() - began, 1)
    report(result)


if __name__ == "__main__":
    main()
