"""The ``chatrec`` command line (Typer): serve, demo, migrate, explain."""

from __future__ import annotations

import asyncio
import logging
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated

import typer

from chatrec.config import Config, load_config

app = typer.Typer(
    help="chatrec: webchat for contact centres, recorded by rule and delivered over SFTP.",
    no_args_is_help=True,
)

Host = Annotated[str | None, typer.Option(help="Address to listen on.")]
Port = Annotated[int | None, typer.Option(help="Port to listen on.")]
DataDir = Annotated[
    Path | None, typer.Option(help="Folder for the SQLite file, spool and demo platform.")
]
DatabaseUrl = Annotated[
    str | None, typer.Option(help="SQLAlchemy URL; default: SQLite in the data dir.")
]


def _config(
    host: str | None = None,
    port: int | None = None,
    data_dir: Path | None = None,
    database_url: str | None = None,
) -> Config:
    return load_config(host=host, port=port, data_dir=data_dir, database_url=database_url)


def _serve(config: Config) -> None:
    import uvicorn

    from chatrec.bootstrap import build
    from chatrec.web.app import create_app

    container = build(config)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(container),
            host=config.host,
            port=config.port,
            ws_max_size=max(65536, config.max_frame_bytes * 2),
            log_level="info",
        )
    )
    asyncio.run(server.serve())


def _migrate(config: Config) -> None:
    from chatrec.store.store import Store

    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(config.effective_database_url)
    try:
        store.migrate()
    finally:
        store.close()


@app.callback()
def main() -> None:
    """Commands for running and inspecting chatrec."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


@app.command()
def version() -> None:
    """Print the installed chatrec version."""
    typer.echo(package_version("chatrec"))


@app.command()
def migrate(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the database schema."""
    _migrate(_config(data_dir=data_dir, database_url=database_url))
    typer.echo("database is up to date")


@app.command()
def serve(
    host: Host = None, port: Port = None, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Run the server (migrate first)."""
    config = _config(host, port, data_dir, database_url)
    _migrate(config)
    _serve(config)


@app.command()
def demo(
    host: Host = None, port: Port = None, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Migrate, seed the demo company, print its URLs and logins, and serve."""
    from chatrec.services.demo import seed_demo
    from chatrec.store.store import Store

    config = _config(host, port, data_dir, database_url)
    _migrate(config)
    store = Store(config.effective_database_url)
    try:
        logins = seed_demo(store, config.data_dir)
    finally:
        store.close()
    base = f"http://{config.host}:{config.port}"
    typer.echo(f"\nchatrec demo on {base}")
    typer.echo(f"  customer widget:   {base}/widget/demo")
    typer.echo(f"  agent portal:      {base}/portal")
    typer.echo(f"  API (OpenAPI):     {base}/docs")
    typer.echo("  logins (also in {}):".format(config.data_dir / "demo-logins.json"))
    for login in logins:
        typer.echo(f"    {login.login:6} {login.password:14} {login.role:13} {login.note}")
    typer.echo("")
    _serve(config)


@app.command()
def explain(chat_id: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Print why each recording of a chat was produced or suppressed (R14)."""
    from chatrec.errors import NotFoundError
    from chatrec.services.explain import explain_chat
    from chatrec.store.store import Store

    store = Store(_config(data_dir=data_dir, database_url=database_url).effective_database_url)
    try:
        found = explain_chat(store, chat_id)
    except NotFoundError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        store.close()
    typer.echo(f"chat {found.chat_id} ({found.status})")
    for sentence in found.sentences:
        typer.echo(f"  {sentence}")
    for recording in found.recordings:
        for file in recording.files:
            typer.echo(f"  file {file.path} ({file.size} bytes, sha256 {file.sha256[:12]}…)")
