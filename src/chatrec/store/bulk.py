"""The hot path's rows, sent to the database driver as they are (issue 13).

Every acknowledged message is a chat row updated and an event row inserted.  Through
SQLAlchemy's statement layer those cost several times the database's own work, almost
all of it binding values one by one (profiled: ``bench/journal.py``), so the group
commit's common case sends its two ``executemany`` straight to the driver, inside the
same transaction, with values prepared here as SQLAlchemy would have stored them:
UTC datetimes as naive text on SQLite and ``timestamptz`` on PostgreSQL, JSON as text.
Errors still come wrapped by SQLAlchemy (``exec_driver_sql``), so the caller's fallback
to one change at a time works as before.  A chat's end writes its recordings, their
files and its audit the same way: they were most of what recording added to an end's
commit, which the messages queued behind it wait for (``bench/recording_overhead.py``).
Everything rarer (new chats, routing) stays on SQLAlchemy's statements.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection

from chatrec.store.columns import stored_utc

DATETIME_COLUMNS = frozenset(
    {
        "started_at",
        "last_activity_at",
        "ended_at",
        "queued_at",
        "at",
        "created_at",
        "next_attempt_at",
    }
)
JSON_COLUMNS = frozenset({"flow_state", "payload", "detail"})


def sqlite_time(value: datetime) -> str:
    """What SQLAlchemy's ``UTCDateTime`` keeps in SQLite: naive UTC text, microseconds."""
    return stored_utc(value).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _converters(dialect: str) -> dict[str, Callable[[Any], Any]]:
    time: Callable[[Any], Any] = sqlite_time if dialect == "sqlite" else stored_utc
    converters = dict.fromkeys(DATETIME_COLUMNS, lambda v: None if v is None else time(v))
    converters |= dict.fromkeys(JSON_COLUMNS, _json)
    return converters


_CONVERTERS = {dialect: _converters(dialect) for dialect in ("sqlite", "postgresql")}


def driver_values(dialect: str, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (a row's columns as the records hold them) as the driver takes them."""
    converters = _CONVERTERS[dialect]
    return {
        name: converters[name](value) if name in converters else value
        for name, value in values.items()
    }


@cache
def _placeholder(dialect: str, name: str) -> str:
    if dialect == "sqlite":
        return f":{name}"
    cast = "::json" if name in JSON_COLUMNS else ""
    return f"%({name})s{cast}"


@cache
def insert_sql(dialect: str, table: str, columns: tuple[str, ...]) -> str:
    names = ", ".join(columns)
    places = ", ".join(_placeholder(dialect, name) for name in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({places})"  # noqa: S608 - our own names


@cache
def update_sql(dialect: str, table: str, key: str, columns: tuple[str, ...]) -> str:
    sets = ", ".join(f"{name} = {_placeholder(dialect, name)}" for name in columns)
    return f"UPDATE {table} SET {sets} WHERE {key} = {_placeholder(dialect, key)}"  # noqa: S608


def insert_rows(connection: Connection, table: str, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same columns) with one ``executemany``."""
    dialect = connection.dialect.name
    sql = insert_sql(dialect, table, tuple(rows[0]))
    connection.exec_driver_sql(sql, [driver_values(dialect, row) for row in rows])


def update_rows(
    connection: Connection, table: str, key: str, rows: Iterable[dict[str, Any]]
) -> int:
    """Update each row (its ``key`` column and the columns it sets), one ``executemany``
    per set of columns; how many rows were updated."""
    dialect = connection.dialect.name
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_columns.setdefault(tuple(name for name in row if name != key), []).append(row)
    updated = 0
    for columns, group in by_columns.items():
        sql = update_sql(dialect, table, key, columns)
        result = connection.exec_driver_sql(sql, [driver_values(dialect, row) for row in group])
        updated += result.rowcount
    return updated
