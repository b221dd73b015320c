"""What the store's reads ask of the database's planner: the statements a read runs, and
whether each finds its rows through an index on a given column (issue 13: a read on the
hot path must not walk a company's whole history)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

from sqlalchemy import Connection, Engine, event

from chatrec.store import transactions
from chatrec.store.driver_reads import DriverStatement, driver_rows
from chatrec.store.store import Store


def statements_of(store: Store, read: Callable[[], object], marker: str) -> list[tuple[str, Any]]:
    """The SELECT statements ``read`` ran that contain ``marker``, with their parameters."""
    ran: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and marker in statement:
            ran.append((statement, parameters))

    def at_driver(
        engine: Engine, prepared: DriverStatement, params: dict[str, Any], **options: Any
    ) -> list[Any]:
        keep(None, None, prepared.sql, prepared.bind(params))
        return driver_rows(engine, prepared, params, **options)

    # Reads at the driver pass no SQLAlchemy event: they are watched where they are run.
    event.listen(store.engine, "before_cursor_execute", keep)
    try:
        with mock.patch.object(transactions, "driver_rows", at_driver):
            read()
    finally:
        event.remove(store.engine, "before_cursor_execute", keep)
    return ran


def index_looks_up(
    connection: Connection, statement: str, parameters: Any, column: str, table: str = ""
) -> bool:
    """Whether the plan of ``statement`` seeks ``column`` in an index wherever it reads a
    table (of ``table`` only, when given), rather than filtering the rows it walked:
    SQLite seeks it and neither scans a table nor seeks the company alone; PostgreSQL's
    ``Index Cond`` names it and no ``Filter`` does."""
    if connection.dialect.name == "sqlite":
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        steps = [str(step[-1]) for step in plan if str(step[-1]).startswith(("SEARCH", "SCAN"))]
        steps = [step for step in steps if f" {table} " in step] if table else steps
        walks = [step for step in steps if step.startswith("SCAN") or "(company_id=?)" in step]
        sought = any(f"{column}=" in step or f"{column}>" in step for step in steps)
        return sought and not walks
    lines = [row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)]
    sought = any("Index Cond" in line and column in line for line in lines)
    return sought and not any("Filter" in line and column in line for line in lines)


def gather_statistics(connection: Connection) -> None:
    """As PostgreSQL's autovacuum would; chatrec never runs SQLite's ``ANALYZE``, so its
    planner must find the index without statistics."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ANALYZE")
