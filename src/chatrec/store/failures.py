"""What a failed statement may tell the operator's log, and nothing it carried (R18).

A failed group commit's error holds the statement and parameters of the whole batch,
which mixes companies' data: customers' messages, names, tokens' hashes.  Engines hide
parameters (``hide_parameters``), but a driver's message can quote values too
(PostgreSQL's ``DETAIL: Failing row contains (...)``).  So a failure is described by
types, codes and the statement's text alone; the driver's own words are kept only for
errors of the database's operation (unreachable, locked, a missing table), which are
about the server, never about a value.
"""

from __future__ import annotations

from sqlalchemy.exc import InterfaceError, OperationalError, StatementError

from chatrec.errors import StoreError

MAX_STATEMENT_CHARS = 300
MAX_REASON_CHARS = 200


def _name(kind: type) -> str:
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def failure_cause(error: BaseException) -> str:
    """The error's type, its driver's type and code, and the statement, without data."""
    parts = [_name(type(error))]
    if isinstance(error, StatementError):
        orig = error.orig
        if orig is not None:
            parts.append(f"from {_name(type(orig))}")
            code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
            if code:
                parts.append(f"code {code}")
            if isinstance(error, OperationalError | InterfaceError):
                lines = str(orig).strip().splitlines()
                if lines:
                    parts.append(f"({lines[0][:MAX_REASON_CHARS]})")
        if error.statement:
            statement = " ".join(error.statement.split())
            if len(statement) > MAX_STATEMENT_CHARS:
                statement = statement[:MAX_STATEMENT_CHARS] + " …"
            parts.append(f"in: {statement}")
    return " ".join(parts)


def store_failure(message: str, error: BaseException) -> StoreError:
    """A :class:`StoreError` saying ``message``, its cause described for the log alone."""
    return StoreError(message, cause=failure_cause(error))
