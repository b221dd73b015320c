"""Engines for SQLite (one file, WAL) and PostgreSQL (``postgresql+psycopg://``).

SQLite needs two repairs to behave like a database with real transactions: the
``sqlite3`` driver's own BEGIN handling is switched off and SQLAlchemy emits BEGIN
itself (SQLAlchemy's documented recipe), so SAVEPOINTs nest inside the transaction
and :meth:`~chatrec.store.store.Store.apply` can roll back one change alone; and
writers start with ``BEGIN IMMEDIATE``, so a write never fails half-way on a lock
that a reader upgraded first (readers stay ``BEGIN`` and never wait, thanks to WAL).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import ConnectionPoolEntry

DEFAULT_URL = "sqlite:///./var/chatrec.db"

# Execution option that marks an engine whose transactions write.
WRITE_OPTION = "chatrec_write"

SQLITE_BUSY_TIMEOUT_MS = 10_000


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for ``url``; ``options`` go to :func:`sqlalchemy.create_engine`."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, **options)
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    connect_args = {"check_same_thread": False, **options.pop("connect_args", {})}
    engine = create_engine(parsed, connect_args=connect_args, **options)
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


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
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
