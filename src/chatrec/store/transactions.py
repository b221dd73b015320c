"""One transaction per call: the base of every part of the store.

Each method opens its own session, so a part is shared by every thread.  A failure of
the database itself, on a read or a write, is a :class:`~chatrec.errors.StoreError`,
so every caller can answer "try again" (R19).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from chatrec.errors import ActionError, DuplicateError, NotFoundError, StoreError
from chatrec.store.database import make_engine, writing
from chatrec.store.driver_reads import AnySelect, DriverStatement, driver_rows
from chatrec.store.failures import store_failure
from chatrec.store.mapping import values_of
from chatrec.store.models import AuditRow
from chatrec.store.records import AuditRecord
from chatrec.store.secrets import SecretBox

Clock = Callable[[], datetime]
Audit = Sequence[AuditRecord]


def utc_now() -> datetime:
    return datetime.now(UTC)


class StorePart:
    """Part of chatrec's database at ``database`` (a URL, or an engine made by
    :func:`make_engine`); :class:`chatrec.store.store.Store` composes every part.

    ``secrets`` encrypts the SFTP secrets the store keeps (R18).  It has no default, so
    no caller can store them under a key nobody else holds: every process sharing the
    database gets the same box from its configuration (``bootstrap``, ``cli``).  The
    store owns its engine: :meth:`close` disposes of it.
    """

    def __init__(
        self, database: str | Engine, *, secrets: SecretBox, clock: Clock = utc_now
    ) -> None:
        self.engine = make_engine(database) if isinstance(database, str) else database
        self._secrets = secrets
        self._clock = clock
        self._reading = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = writing(self.engine)
        self._writing = sessionmaker(self._writer, expire_on_commit=False)
        self._driver_sql: dict[int, DriverStatement] = {}
        """Keyed by the statement's ``id``; each keeps its statement, so no other takes it."""

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """One transaction, committed when the block ends; a late clash is a conflict."""
        try:
            with self._writing.begin() as session:
                yield session
        except IntegrityError as error:
            raise DuplicateError(f"the write clashes with stored data: {error.orig}") from error
        except DataError as error:
            raise refused_value(error) from error
        except DBAPIError as error:
            raise _failed("write", error) from error

    @contextmanager
    def _read(self) -> Iterator[Session]:
        """One read; a failure of the database itself is a :class:`StoreError`, as a
        failed write's is, so every caller can answer "try again" (R19)."""
        try:
            with self._reading() as session:
                yield session
        except (IntegrityError, DataError):
            raise
        except DBAPIError as error:
            raise _failed("read", error) from error

    def _plain_rows(self, statement: AnySelect, params: dict[str, Any]) -> list[Any]:
        """The rows of a read of one statement, at the driver (``store.driver_reads``):
        for the reads of every frame and every chat's start, routing and end."""
        return self._at_driver(statement, params, first=False)

    def _plain_row(self, statement: AnySelect, params: dict[str, Any]) -> Any | None:
        """The first row of a read of one statement, at the driver; ``None`` if none."""
        rows = self._at_driver(statement, params, first=True)
        return rows[0] if rows else None

    def _at_driver(self, statement: AnySelect, params: dict[str, Any], *, first: bool) -> list[Any]:
        prepared = self._driver_sql.get(id(statement))
        if prepared is None:
            prepared = self._driver_sql[id(statement)] = DriverStatement.compile(
                statement, self.engine
            )
        try:
            return driver_rows(self.engine, prepared, params, first=first)
        except DBAPIError as error:
            raise _failed("read", error) from error


def _failed(what: str, error: DBAPIError) -> StoreError:
    # The cause goes to the operator's log alone, described without the data (R18).
    return store_failure(f"the database failed a {what}; nothing changed; try again", error)


def refused_value(error: DataError) -> ActionError:
    # A value SQLite keeps but PostgreSQL cannot (a NUL character in text): bad input (R19).
    return ActionError(f"the database cannot keep a value: {error.orig}")


def add_audit_rows(session: Session, entries: Sequence[AuditRecord]) -> None:
    """Audit lines go in the transaction of the change they describe, or not at all."""
    for entry in entries:
        session.add(AuditRow(**values_of(entry)))


def require(
    session: Session, model: type[Any], key: str, what: str, *, for_update: bool = False
) -> Any:
    row = session.get(model, key, with_for_update=for_update)
    if row is None:
        raise NotFoundError(f"no {what} {key!r}")
    return row
