"""Engines for SQLite (one file, WAL) and PostgreSQL (``postgresql+psycopg://``).

SQLite needs two repairs to behave like a database with real transactions: the
``sqlite3`` driver's own BEGIN handling is switched off and SQLAlchemy emits BEGIN
itself (SQLAlchemy's documented recipe), so SAVEPOINTs nest inside the transaction
and :meth:`~chatrec.store.store.Store.apply` can roll back one change alone; and
writers start with ``BEGIN IMMEDIATE``, so a write never fails half-way on a lock
that a reader upgraded first (readers stay ``BEGIN`` and never wait, thanks to WAL).
"""

from __future__ import annotations

import select
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, InvalidatePoolError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from chatrec.errors import SchemaError
from chatrec.files import create_private

DEFAULT_URL = "sqlite:///./var/chatrec.db"

# Execution option that marks an engine whose transactions write.
WRITE_OPTION = "chatrec_write"

SQLITE_BUSY_TIMEOUT_MS = 10_000

# The newest migration (``store/migrations/versions``); a test keeps the two in step.
SCHEMA_REVISION = "0022"


POOL_SIZE = 10
"""Connections a process keeps open to its database: more than its threads that use them
at once (the group commit's, the event loop's thread pool of ``min(32, cores + 4)``, a
worker's), so that none is opened and closed per transaction.  On PostgreSQL that cost
the several nodes benchmark about a hundred new backends in twenty seconds; on SQLite
SQLAlchemy's default of five made ``chat_lifecycle`` open 57 connections for 250 chats,
each setting its pragmas and reading the schema again.  SQLAlchemy's overflow (10 more)
is kept for bursts."""


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for ``url``; ``options`` go to :func:`sqlalchemy.create_engine`.

    Its errors never carry the statement's parameters: a group commit's batch mixes
    companies' data, and an error's text reaches logs (R18, ``store.failures``).
    """
    options["hide_parameters"] = True
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        options.setdefault("pool_size", POOL_SIZE)
        engine = create_engine(parsed, **options)
        _check_after_rest(engine)
        return engine
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        create_private(Path(database))  # its -wal and -shm take its mode (R18)
    connect_args = {"check_same_thread": False, **options.pop("connect_args", {})}
    if database and database != ":memory:":
        options.setdefault("pool_size", POOL_SIZE)
    engine = create_engine(parsed, connect_args=connect_args, **options)
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def schema_revision(url: str) -> str | None:
    """The migration the database at ``url`` is at, ``None`` if it was never migrated.

    Read without Alembic, whose import every command but ``migrate`` spares itself, and
    without creating anything: a SQLite file that does not exist stays so.
    """
    parsed = make_url(url)
    database = parsed.database
    if (
        parsed.get_backend_name() == "sqlite"
        and database
        and database != ":memory:"
        and not database.startswith("file:")
        and not Path(database).is_file()
    ):
        return None
    engine = create_engine(parsed, hide_parameters=True)
    try:
        return revision_of(engine)
    except OperationalError as error:
        raise SchemaError(unreachable(url, error)) from error
    finally:
        engine.dispose()


def revision_of(engine: Engine) -> str | None:
    """The migration the database of ``engine`` is at, ``None`` if it was never migrated."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if found is None else str(found)


def unreachable(url: str, error: OperationalError) -> str:
    """What to tell a person whose database cannot be opened: which one, and why."""
    where = make_url(url).render_as_string(hide_password=True)
    reason = " ".join(line.strip() for line in str(error.orig or error).splitlines())
    return f"cannot open the database {where}: {reason}; check --database-url and that it runs"


def require_schema(url: str) -> None:
    """Refuse, saying what to run, a database ``chatrec migrate`` has not brought to this
    version: a command on it would otherwise fail on a missing table or column."""
    found = schema_revision(url)
    where = make_url(url).render_as_string(hide_password=True)
    if found is None:
        raise SchemaError(
            f"the database {where} has no chatrec tables yet: run `chatrec migrate` with "
            "the same --data-dir or --database-url first"
        )
    if found != SCHEMA_REVISION:
        raise SchemaError(
            f"the database {where} is at schema {found}, this chatrec needs "
            f"{SCHEMA_REVISION}: run `chatrec migrate` with this version of chatrec (or use "
            "the chatrec version that migrated it)"
        )


PING_AFTER_IDLE_SECONDS = 1.0
"""A pooled PostgreSQL connection that rested longer than this, or whose socket has
something to say, is checked (one round trip) before it is lent again.

SQLAlchemy's ``pool_pre_ping`` checks every checkout: under load that was two round
trips per message, for connections used milliseconds before.  A server that ends a
connection (a restart, ``pg_terminate_backend``, a crash) says so on its socket, which a
zero-timeout ``poll`` sees without a round trip; a connection cut silently on the way
(a firewall's idle timeout) shows nothing, and is checked once it rested.  Either way
the first dead one found replaces every connection the pool held, as SQLAlchemy's own
check does; one that dies while in use fails that one use ("try again", R19)."""

_RESTING_SINCE = "chatrec_resting_since"


def _check_after_rest(engine: Engine) -> None:
    """Ping a connection on checkout when it rested past :data:`PING_AFTER_IDLE_SECONDS`
    or the server wrote to it meanwhile."""
    dialect = engine.dialect

    def rest(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_RESTING_SINCE] = time.monotonic()

    def check(
        dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        since = record.info.get(_RESTING_SINCE)  # none yet: a new connection
        if since is None:
            return
        try:
            rested = time.monotonic() - since > PING_AFTER_IDLE_SECONDS
            if not rested and not _has_news(dbapi_connection):
                return
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if not dialect.is_disconnect(error, dbapi_connection, None):
                raise
            # The pool opens a new connection in its place, and replaces the others too.
            raise InvalidatePoolError(f"a pooled connection was found closed: {error}") from error

    event.listen(engine, "checkin", rest)
    event.listen(engine, "checkout", check)


def _has_news(dbapi_connection: Any) -> bool:
    """Whether an idle connection's socket can be read: between two transactions the
    server writes to it only to say it ends it (or a rare notice), so anything there is
    worth a ping.  ``poll``, not ``select``: a node's sockets number past 1,024."""
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    return bool(poller.poll(0))


def writing(engine: Engine) -> Engine:
    """The same engine (pool, connections) whose transactions are marked as writers."""
    return engine.execution_options(**{WRITE_OPTION: True})


def _configure_sqlite(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # The driver must not BEGIN on its own: _begin_sqlite does, so SAVEPOINTs nest.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL survives a crash of the process (not of the machine)
        # and lets many commits share one fsync at checkpoint.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(WRITE_OPTION, False)
    sql = "BEGIN IMMEDIATE" if immediate else "BEGIN"
    # Straight to the driver: through SQLAlchemy's statement layer a BEGIN cost about as
    # much as the group commit's batch of one message (issue 13). Its failure (the
    # database locked past the busy timeout) is wrapped as SQLAlchemy would, so callers
    # see a DBAPIError as from any statement.
    try:
        connection.connection.driver_connection.execute(sql)  # type: ignore[union-attr]
    except sqlite3.Error as error:
        raise DBAPIError.instance(
            sql, None, error, sqlite3.Error, hide_parameters=True, dialect=connection.dialect
        ) from error
