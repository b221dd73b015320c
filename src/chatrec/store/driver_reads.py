"""Reads of one statement sent to the database driver, their values typed as SQLAlchemy
would (issue 13).

Through SQLAlchemy's statement layer a point read cost 60-95 µs on SQLite, several times
the driver's own work, and in a busy server that work holds the GIL the event loop waits
for: the read every staff frame makes cost about 230 µs of a frame's CPU under relay's
load.  Here a statement is compiled once per database, run on a connection the pool
lends (checked first on PostgreSQL if it rested or its server ended it,
``database.PING_AFTER_IDLE_SECONDS``), and each value goes through the result processor of
its column's own type (times as UTC, booleans, JSON), so a row reads as it does through
SQLAlchemy.  A single statement needs no transaction: on SQLite it reads one snapshot,
and PostgreSQL's implicit one is rolled back when the connection goes back to the pool.
Reads of several statements, which must see one snapshot, stay on SQLAlchemy.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import CompoundSelect, Engine, Select, TextualSelect
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.exc import DBAPIError

Processor = Callable[[Any], Any] | None
AnySelect = Select[*tuple[Any, ...]] | CompoundSelect[*tuple[Any, ...]] | TextualSelect
"""A select of any columns (a union too), or SQL text with its columns typed."""


@dataclass
class DriverStatement:
    """A statement as one database's driver takes it, and how its rows are read back."""

    statement: AnySelect
    """Kept: its ``id`` names the compiled form in the store's cache."""
    sql: str
    order: tuple[str, ...] | None
    """The parameters' order when the driver takes them by position."""
    fixed: dict[str, Any]
    """The values of the statement's own parameters: its literals."""
    required: frozenset[str]
    """The parameters the caller must give."""
    binders: dict[str, Processor]
    """What each parameter's type makes of a value on its way in (a time to UTC)."""
    row: Any = None
    processors: tuple[Processor, ...] = field(default=())

    @classmethod
    def compile(cls, statement: AnySelect, engine: Engine) -> DriverStatement:
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        given: dict[str, Any] = {}
        for bind in compiled.binds.values():
            if bind.value is not None or bind.callable is not None:
                continue  # a value of the statement's own
            if bind.expanding:
                raise ValueError(f"a read at the driver takes no list parameter ({bind.key})")
            given[bind.key] = None
        # The statement's own lists (``status IN (…)``) written out once, a parameter each.
        expanded = compiled.construct_expanded_state(given)
        order = tuple(expanded.positiontup or ()) if compiled.positional else None
        binders: dict[str, Processor] = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for bind, name in compiled.bind_names.items()
            if name in expanded.parameters
        }
        fixed = {k: v for k, v in expanded.parameters.items() if k not in given}
        return cls(statement, expanded.statement, order, fixed, frozenset(given), binders)

    def bind(self, params: dict[str, Any]) -> dict[str, Any] | tuple[Any, ...]:
        if missing := self.required - params.keys():
            # As SQLAlchemy refuses it: never read with NULL in place of a value forgotten.
            raise ValueError(f"a value is required for {', '.join(sorted(missing))}")
        values = self.fixed | params
        for name, binder in self.binders.items():
            if binder is not None:
                values[name] = binder(values[name])
        return values if self.order is None else tuple(values[name] for name in self.order)

    def _learn(self, engine: Engine, cursor: DBAPICursor) -> None:
        """The row type and processors, from the first answer's description (the type
        codes a driver gives may choose a processor)."""
        dialect = engine.dialect
        description = cursor.description or ()
        columns = list(self.statement.selected_columns)
        if len(columns) != len(description):
            raise ValueError("the driver's columns are not the statement's")
        self.processors = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, described[1])
            for column, described in zip(columns, description, strict=True)
        )
        self.row = namedtuple("Row", [d[0] for d in description], rename=True)  # type: ignore[misc]

    def read(self, engine: Engine, cursor: DBAPICursor, raw: Sequence[Any]) -> list[Any]:
        if not raw:
            return []
        if self.row is None:
            self._learn(engine, cursor)
        make, processors = self.row, self.processors
        return [
            make(
                *(value if p is None else p(value) for p, value in zip(processors, r, strict=True))
            )
            for r in raw
        ]


def driver_rows(
    engine: Engine, prepared: DriverStatement, params: dict[str, Any], *, first: bool = False
) -> list[Any]:
    """The rows of ``prepared`` (only the first when ``first``).  The database out of
    reach or failing the statement raises SQLAlchemy's ``DBAPIError``, as a read through
    SQLAlchemy would (parameters hidden, the statement kept for the log's description)."""
    failure = engine.dialect.loaded_dbapi.Error
    try:
        connection = engine.raw_connection()
    except failure as error:  # the database unreachable
        raise _wrapped(engine, None, error) from error
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(prepared.sql, prepared.bind(params))
            raw: Sequence[Any]
            if first:
                one = cursor.fetchone()
                raw = [] if one is None else [one]
            else:
                raw = cursor.fetchall()
            return prepared.read(engine, cursor, raw)
        finally:
            cursor.close()
    except failure as error:
        connection.invalidate()  # whatever state it is in, it is not lent again
        raise _wrapped(engine, prepared.sql, error) from error
    finally:
        connection.close()  # back to the pool, which rolls back what the driver began


def _wrapped(engine: Engine, sql: str | None, error: Exception) -> DBAPIError:
    failure = engine.dialect.loaded_dbapi.Error
    wrapped = DBAPIError.instance(
        sql, None, error, failure, hide_parameters=True, dialect=engine.dialect, ismulti=False
    )
    assert isinstance(wrapped, DBAPIError)  # a driver's error is always wrapped as one
    return wrapped
