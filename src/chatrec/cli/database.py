"""How every command reads its configuration and opens the database: the same database and
secrets key, checked for this version's schema, through the composition root.

Like the rest of the command line it starts without the store: what loads SQLAlchemy is
imported inside the function that needs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from chatrec.config import Config, load_config

if TYPE_CHECKING:
    from chatrec.store.store import Store


def command_config(
    host: str | None = None,
    port: int | None = None,
    data_dir: Path | None = None,
    database_url: str | None = None,
    redis_url: str | None = None,
) -> Config:
    """The configuration, with what the command line gave over what the environment says;
    a setting that cannot be used ends the command naming it, not with a traceback."""
    from pydantic import ValidationError

    try:
        return load_config(
            host=host, port=port, data_dir=data_dir, database_url=database_url, redis_url=redis_url
        )
    except ValidationError as error:
        for problem in error.errors(include_url=False):
            where = ".".join(str(part) for part in problem["loc"])
            setting = f"CHATREC_{where.upper()}: " if where else ""
            message = str(problem["msg"]).removeprefix("Value error, ")
            typer.echo(f"error: {setting}{message}", err=True)
        raise typer.Exit(code=2) from None


def require_schema(config: Config) -> None:
    """End the command, saying what to run, on a database not migrated to this version
    (or unreachable): not with a traceback about a missing table."""
    from chatrec.errors import SchemaError
    from chatrec.store.database import require_schema as check_schema

    try:
        check_schema(config.effective_database_url)
    except SchemaError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from None


def store_of(config: Config, *, migrated: bool = True) -> Store:
    """The store as every command opens it, checked for this version's schema unless the
    command is the one that migrates."""
    from chatrec.bootstrap import build_store

    if migrated:
        require_schema(config)
    return build_store(config)


def open_store(data_dir: Path | None, database_url: str | None) -> Store:
    """The store of a command's ``--data-dir`` and ``--database-url``."""
    return store_of(command_config(data_dir=data_dir, database_url=database_url))


def migrate_database(config: Config, *, forget_unreadable_secrets: bool = False) -> list[str]:
    """Bring the schema to this version; the companies whose unreadable secrets it forgot."""
    from sqlalchemy.exc import OperationalError

    from chatrec.errors import SecretKeyError
    from chatrec.files import secure_data_dir
    from chatrec.store.database import unreachable

    secure_data_dir(config.data_dir)
    store = store_of(config, migrated=False)
    try:
        return store.migrate(forget_unreadable_secrets=forget_unreadable_secrets)
    except SecretKeyError as error:
        # Started with the wrong key: say what to set, not a traceback.
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from None
    except OperationalError as error:
        typer.echo(f"error: {unreachable(config.effective_database_url, error)}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        store.close()
