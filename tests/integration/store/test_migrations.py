"""The migrations build exactly the models' schema, on SQLite and PostgreSQL, and
commands refuse a database they have not migrated, saying what to run."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, update
from typer.testing import CliRunner

from chatrec.cli import app
from chatrec.domain.journal import CustomerDetails
from chatrec.errors import SchemaError, StoreError
from chatrec.store import database
from chatrec.store.database import SCHEMA_REVISION, make_engine, require_schema, writing
from chatrec.store.migrations import alembic_config, migrate
from chatrec.store.models import Base, ChatRow, compared
from chatrec.store.records import ChatChange
from chatrec.store.store import Store
from tests.integration.store.factories import T0, chat_of, numbered, seed
from tests.keys import SECRETS
from tests.unit.domain.builders import ChatBuilder


def test_migrations_and_models_agree(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_object": compared})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_migrating_a_migrated_database_changes_nothing(database_url: str) -> None:
    migrate(database_url)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == head
    finally:
        engine.dispose()


def downgrade(database_url: str, revision: str) -> None:
    engine = make_engine(database_url)
    config = alembic_config()
    try:
        with writing(engine).begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    finally:
        engine.dispose()


def test_downgrade_removes_every_table_and_upgrade_restores_them(database_url: str) -> None:
    downgrade(database_url, "base")
    engine = make_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        migrate(database_url)
        assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)
    finally:
        engine.dispose()


def test_R3_queues_have_no_recording_columns(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        columns = {column["name"] for column in inspect(engine).get_columns("queues")}
    finally:
        engine.dispose()
    assert columns == {"queue_id", "company_id", "name"}


def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'chatrec.db'}")
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL
        "foreign_keys": 1,
        "busy_timeout": 10_000,
    }


def test_sqlite_locked_past_the_busy_timeout_is_a_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R19: a write that cannot begin (another process holds the writer's lock past the
    busy timeout) is "try again", as SQLAlchemy's own BEGIN made it."""
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 50)
    path = tmp_path / "chatrec.db"
    migrate(f"sqlite:///{path}")
    store = Store(f"sqlite:///{path}", secrets=SECRETS)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError, match="try again") as refused:
            seed(store)
        assert "database is locked" in str(refused.value.cause)
        holder.execute("ROLLBACK")
        seed(store)  # the lock gone, the same write goes
    finally:
        holder.close()
        store.close()


def test_the_migration_scripts_live_in_the_package() -> None:
    location = Path(alembic_config().get_main_option("script_location") or "")
    assert (location / "env.py").is_file()
    assert (location / "script.py.mako").is_file()
    assert list((location / "versions").glob("rev_*.py"))


def test_the_schema_revision_commands_require_is_the_newest_migration() -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head == SCHEMA_REVISION


def test_a_database_behind_this_version_is_refused_with_what_to_run(database_url: str) -> None:
    require_schema(database_url)  # migrated: nothing to say
    downgrade(database_url, "0002")
    with pytest.raises(SchemaError, match=f"at schema 0002, this chatrec needs {SCHEMA_REVISION}"):
        require_schema(database_url)


def test_commands_on_a_database_never_migrated_say_so_and_create_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'absent' / 'chatrec.db'}"
    data_dir = tmp_path / "data"
    for command_line in (
        ["deliveries", "list"],
        ["explain", "C1"],
        ["admin", "company", "list"],
        ["worker", "--once"],
    ):
        result = CliRunner().invoke(
            app, [*command_line, "--database-url", url, "--data-dir", str(data_dir)]
        )
        assert result.exit_code == 1, (command_line, result.output)
        assert "has no chatrec tables yet: run `chatrec migrate`" in result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "absent").exists()
    assert not data_dir.exists()  # no key file either


def test_an_unreachable_database_is_named_with_the_reason_not_a_traceback() -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    for command_line in (["deliveries", "list"], ["migrate"]):
        result = CliRunner().invoke(app, [*command_line, "--database-url", url])
        assert result.exit_code == 1, result.output
        assert "cannot open the database postgresql+psycopg://nobody@127.0.0.1:1/none" in (
            result.stderr
        )
        assert "Connection refused" in result.stderr


def test_R23_R17_upgrading_to_0020_fills_the_customer_email_of_chats_not_purged(
    database_url: str, store: Store
) -> None:
    """Chats started under 0019 keep their details in the journal alone: the upgrade
    copies each e-mail to its row, but for a purged chat, whose details are gone."""
    seed(store)
    kim = CustomerDetails(name="Kim", email="kim@example.com")
    for chat_id in ("kept", "purged"):
        builder = ChatBuilder(chat_id, start=T0, customer=kim).customer_says("Hello")
        chat = replace(chat_of(builder), customer_email=kim.email)
        store.apply([ChatChange(chat=chat, events=numbered(builder.events), new_chat=True)])
    engine = make_engine(database_url)
    try:
        with writing(engine).begin() as connection:  # as a purge under 0019 left it
            connection.execute(
                update(ChatRow).where(ChatRow.chat_id == "purged").values(purged_at=T0)
            )
        downgrade(database_url, "0019")
        migrate(database_url)
        with engine.connect() as connection:
            rows = connection.execute(select(ChatRow.chat_id, ChatRow.customer_email))
            assert dict(rows.all()) == {"kept": "kim@example.com", "purged": None}
    finally:
        engine.dispose()
