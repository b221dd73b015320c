"""Alembic's entry point: run the migrations on the connection we are handed.

:func:`chatrec.store.migrations.upgrade` passes its connection in
``config.attributes``; the ``alembic`` command line passes a URL instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from chatrec.store.database import DEFAULT_URL, make_engine
from chatrec.store.models import Base, compared

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=compared,
        # SQLite alters a table by copying it; batch mode writes that for us.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_with_url() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or DEFAULT_URL)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or DEFAULT_URL,
        target_metadata=Base.metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
elif "connection" in config.attributes:
    _run(config.attributes["connection"])
else:
    _run_with_url()
