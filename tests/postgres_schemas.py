"""Migrated PostgreSQL schemas for the tests, emptied and handed out again.

Migrating a schema runs every Alembic revision: 0.25 to 0.65 s on this machine, for
each of the few hundred tests that take ``database_url`` on PostgreSQL (issue 11: the
suite's time). Emptying one takes milliseconds. A test still gets a schema as a fresh
migration leaves it: every table emptied but for the rows the migrations put there
(copied back from a migrated schema kept untouched), every sequence restarted. A schema
whose shape a test changed (a downgrade, a dropped index) is dropped, never reused: what
decides is its catalogue (tables, columns, indexes, constraints, sequences) compared with
the untouched one's, and its Alembic revision.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from chatrec.store.migrations import migrate

_NAMESPACE = "CAST(CAST(:schema AS text) AS regnamespace)"
_SHAPE = text(
    f"""
    SELECT 'column', c.relname || '.' || a.attname,
           c.relkind::text || ' ' || format_type(a.atttypid, a.atttypmod) || ' '
           || a.attnotnull::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = {_NAMESPACE} AND a.attnum > 0
      AND NOT a.attisdropped AND c.relkind IN ('r', 'i', 'S')
    UNION ALL
    SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = CAST(:schema AS text)
    UNION ALL
    SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = {_NAMESPACE}
    ORDER BY 1, 2
    """
)
_RELATIONS = f"SELECT relname FROM pg_class WHERE relnamespace = {_NAMESPACE} AND relkind = "
_TABLES = text(_RELATIONS + "'r' ORDER BY 1")
_SEQUENCES = text(_RELATIONS + "'S' ORDER BY 1")
# Which table refers to which: a referring table is emptied before the one it refers to.
_REFERENCES = text(
    "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
    f"WHERE contype = 'f' AND connamespace = {_NAMESPACE}"
)
_VERSION_TABLE = "alembic_version"


def _quoted(schema: str, name: str) -> str:
    return f'"{schema}"."{name}"'


@dataclass
class SchemaPool:
    """Schemas of one test process on the server at ``server``: ``take`` one, ``give_back``
    it after the test, ``close`` at the end of the run."""

    server: URL
    admin: Engine = field(init=False)
    template: str | None = None
    """Migrated and never handed out: the shape and the rows a fresh schema has."""
    free: list[str] = field(default_factory=list)
    shape: list[tuple[str, str, str]] = field(default_factory=list)
    emptied_in_order: list[str] = field(default_factory=list)
    seeded: list[str] = field(default_factory=list)
    sequences: list[str] = field(default_factory=list)
    version: str = ""
    made: list[str] = field(default_factory=list)
    """Every schema made, dropped at the end whether given back or not."""

    def __post_init__(self) -> None:
        self.admin = create_engine(
            self.server, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
        )

    def url(self, schema: str) -> str:
        url = self.server.update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    def take(self) -> str:
        """A schema as a fresh migration leaves it."""
        if self.free:
            return self.free.pop()
        if self.template is None:
            self.template = self._migrated()
            self._learn(self.template)
        return self._migrated()

    def give_back(self, schema: str) -> None:
        """Empty the schema for the next test, or drop it if its shape changed or it
        could not be emptied (a lock still held)."""
        with self.admin.connect() as connection:
            if self._same_shape(connection, schema):
                try:
                    connection.exec_driver_sql(self._emptying(schema))
                except DBAPIError:
                    connection.exec_driver_sql("ROLLBACK")
                else:
                    self.free.append(schema)
                    return
        self._drop(schema)

    def close(self) -> None:
        for schema in self.made:
            self._drop(schema)
        self.free.clear()
        self.admin.dispose()

    def created(self) -> str:
        """An empty schema, not migrated (for a caller that migrates it its own way), dropped
        at ``close`` as every other."""
        schema = f"t_{uuid.uuid4().hex}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        self.made.append(schema)
        return schema

    def _migrated(self) -> str:
        schema = self.created()
        migrate(self.url(schema))
        return schema

    def _drop(self, schema: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))

    def _learn(self, template: str) -> None:
        with self.admin.connect() as connection:
            self.shape = self._shape(connection, template)
            tables = list(connection.scalars(_TABLES, {"schema": template}))
            refers: dict[str, set[str]] = {table: set() for table in tables}
            for referring, referred in connection.execute(_REFERENCES, {"schema": template}):
                name, other = referring.split(".")[-1], referred.split(".")[-1]
                if name != other:
                    refers[name].add(other)
            self.emptied_in_order = _referring_first(refers, skip=_VERSION_TABLE)
            self.seeded = [
                table
                for table in self.emptied_in_order
                if connection.scalar(
                    text(f"SELECT EXISTS (SELECT FROM {_quoted(template, table)})")
                )
            ]
            self.sequences = list(connection.scalars(_SEQUENCES, {"schema": template}))
            self.version = self._version(connection, template)

    def _shape(self, connection: Connection, schema: str) -> list[tuple[str, str, str]]:
        rows = connection.execute(_SHAPE, {"schema": schema})
        return [
            (kind, name.replace(schema, "<schema>"), what.replace(schema, "<schema>"))
            for kind, name, what in rows
        ]

    def _version(self, connection: Connection, schema: str) -> str:
        return str(
            connection.scalar(text(f"SELECT version_num FROM {_quoted(schema, _VERSION_TABLE)}"))
        )

    def _same_shape(self, connection: Connection, schema: str) -> bool:
        try:
            return (
                self._version(connection, schema) == self.version
                and self._shape(connection, schema) == self.shape
            )
        except DBAPIError:  # no version table left (downgraded to base): not reusable
            return False

    def _emptying(self, schema: str) -> str:
        """One script, one round trip and one commit: the schema as the template."""
        assert self.template is not None
        statements = ["BEGIN", "SET LOCAL lock_timeout = '5s'"]
        statements += [f"DELETE FROM {_quoted(schema, table)}" for table in self.emptied_in_order]
        statements += [
            f"INSERT INTO {_quoted(schema, table)} SELECT * FROM {_quoted(self.template, table)}"
            for table in reversed(self.emptied_in_order)
            if table in self.seeded
        ]
        statements += [f"ALTER SEQUENCE {_quoted(schema, name)} RESTART" for name in self.sequences]
        return "; ".join([*statements, "COMMIT"])


def _referring_first(refers: dict[str, set[str]], *, skip: str) -> list[str]:
    """The tables, each before every table it refers to."""
    order: list[str] = []
    placed: set[str] = set()

    def place(table: str, path: frozenset[str]) -> None:
        if table in placed or table in path:
            return
        # Every table referring to this one goes first.
        for other, targets in sorted(refers.items()):
            if table in targets:
                place(other, path | {table})
        placed.add(table)
        order.append(table)

    for table in sorted(refers):
        if table != skip:
            place(table, frozenset())
    return order
