"""The ``chatrec`` command line (Typer): serve, demo, migrate, explain, deliveries, admin."""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated

import typer

from chatrec.cli.admin import admin_app
from chatrec.cli.admin.options import DatabaseUrl, DataDir, RedisUrl
from chatrec.cli.database import command_config, migrate_database, store_of
from chatrec.cli.deliveries import deliveries_app
from chatrec.cli.help import App
from chatrec.cli.integrity import check, verify
from chatrec.cli.serving import run_server
from chatrec.cli.worker import worker
from chatrec.config import Config

app = App(
    help="Run chatrec, webchat for contact centres whose chats are recorded by rule and "
    "delivered over SFTP."
)

Host = Annotated[
    str | None,
    typer.Option(
        metavar="ADDRESS",
        help="The address to listen on. Left out: CHATREC_HOST, else 127.0.0.1.",
    ),
]
Port = Annotated[
    int | None,
    typer.Option(metavar="PORT", help="The port to listen on. Left out: CHATREC_PORT, else 8400."),
]


def _refuse_a_second_server(config: Config) -> None:
    """End here, saying what to do, when another server serves this SQLite database (R20),
    before seeding or serving touches anything; the server checks again as it joins.

    The check joins and leaves at once with a store it closes: with a second engine kept
    open on the SQLite file beside the server's own, another process opening the file
    was seen to delete its write-ahead log from under the server."""
    from chatrec.bootstrap import build_node
    from chatrec.errors import NodeConflictError

    store = store_of(config)
    try:
        node = build_node(config, store)
        node.join()
        node.leave()
    except NodeConflictError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        store.close()


@app.callback()
def main() -> None:
    """Commands for running and inspecting chatrec."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # Libraries that log every migration step or SSH connection at INFO drown our own lines.
    for noisy in ("alembic", "asyncssh"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.command()
def nodes(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List the servers serving this database now, with their connections (R20)."""
    from datetime import timedelta

    config = command_config(data_dir=data_dir, database_url=database_url)
    store = store_of(config)
    try:
        live = store.live_nodes(timedelta(seconds=config.node_lease_seconds))
    finally:
        store.close()
    if not live:
        typer.echo("no server is serving this database now")
        return
    typer.echo(f"{'node':16}  {'host':20} {'pid':>7}  {'connections':>11}  {'since':20}  heartbeat")
    for node in live:
        typer.echo(
            f"{node.node_id:16}  {node.host[:20]:20} {node.pid:>7}  {node.connections:>11}  "
            f"{node.started_at:%Y-%m-%d %H:%M:%S}Z  {node.heartbeat_at:%H:%M:%S}Z"
        )


@app.command()
def version() -> None:
    """Print the installed chatrec version."""
    typer.echo(package_version("chatrec"))


@app.command()
def migrate(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    forget_unreadable_secrets: Annotated[
        bool,
        typer.Option(
            "--forget-unreadable-secrets",
            help="Drop the SFTP secrets the key cannot open, when their key is lost, and block "
            "their platforms until an administrator enters them again.",
        ),
    ] = False,
) -> None:
    """Create or upgrade the database schema, and encrypt SFTP secrets still in the clear."""
    config = command_config(data_dir=data_dir, database_url=database_url)
    forgotten = migrate_database(config, forget_unreadable_secrets=forget_unreadable_secrets)
    for company_id in forgotten:
        typer.echo(
            f"forgot the SFTP secrets of company {company_id}: enter its platform's password "
            "or private key again"
        )
    typer.echo("database is up to date")


@app.command()
def serve(
    host: Host = None,
    port: Port = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    redis_url: RedisUrl = None,
) -> None:
    """Run the server (migrate first)."""
    config = command_config(host, port, data_dir, database_url, redis_url)
    migrate_database(config)
    _refuse_a_second_server(config)
    run_server(config)


@app.command()
def demo(
    host: Host = None,
    port: Port = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    redis_url: RedisUrl = None,
    platform: Annotated[
        bool,
        typer.Option(
            "--platform/--no-platform",
            help="Whether to start the local demo recording platform (SFTP) and deliver there.",
        ),
    ] = True,
) -> None:
    """Migrate, seed the demo company, start its recording platform, print logins, serve."""
    from pydantic import SecretStr

    from chatrec.delivery.worker import stored_destination
    from chatrec.demo.company import seed_demo

    config = command_config(host, port, data_dir, database_url, redis_url)
    # The demo's /metrics asks for a token as production's does: a new one at each start,
    # unless CHATREC_METRICS_TOKEN sets one.
    metrics_token = config.metrics_token or SecretStr(secrets.token_urlsafe(32))
    config = config.model_copy(update={"metrics_token": metrics_token})
    migrate_database(config)
    _refuse_a_second_server(config)
    running = None
    store = store_of(config)
    try:
        logins = seed_demo(store, config.data_dir)
        if platform:
            from chatrec.demo.platform import start_demo_platform

            running = start_demo_platform(config.data_dir)
            store.set_destination(stored_destination(running.destination))
            # Loopback is refused by default (issue 16.3): allow exactly the demo platform.
            target = running.destination
            config = config.allow_egress(f"{target.host}:{target.port}")
    finally:
        store.close()
    base = f"http://{config.host}:{config.port}"
    typer.echo(f"\nchatrec demo on {base}")
    typer.echo(f"  customer widget:   {base}/widget/demo")
    typer.echo(f"  agent portal:      {base}/portal")
    typer.echo(f"  console (admins):  {base}/console")
    typer.echo(f"  API (OpenAPI):     {base}/docs")
    bearer = f"Authorization: Bearer {metrics_token.get_secret_value()}"
    typer.echo(f"  metrics:           curl -H '{bearer}' {base}/metrics")
    if running is not None:
        where = f"sftp://127.0.0.1:{running.destination.port} ({running.backend})"
        typer.echo(f"  recordings land in {running.folder} via {where}")
    if all(login.password for login in logins):
        typer.echo("  logins (also in {}):".format(config.data_dir / "demo-logins.json"))
    else:
        typer.echo(
            "  logins (another node seeded the demo company: their passwords are in its "
            "demo-logins.json):"
        )
    for login in logins:
        password = login.password or "(see there)"
        typer.echo(f"    {login.login:6} {password:14} {login.role:13} {login.note}")
    typer.echo("")
    # uvicorn re-raises SIGTERM/SIGINT once it has shut down; with the default handlers
    # the process would die there and leave the platform's sshd behind.
    previous = {sig: signal.signal(sig, _exit_on_signal) for sig in STOP_SIGNALS}
    try:
        run_server(config)
    finally:
        if running is not None:
            running.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # the status a signal's death would give


@app.command()
def explain(
    chat_id: Annotated[str, typer.Argument(metavar="CHAT_ID", help="The chat to explain.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print why each recording of a chat was produced or suppressed (R14)."""
    from chatrec.errors import NotFoundError
    from chatrec.services.explain import explain_chat

    store = store_of(command_config(data_dir=data_dir, database_url=database_url))
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


@app.command()
def simulate(
    chats: Annotated[
        int, typer.Option(metavar="COUNT", min=1, help="How many chats to run in all.")
    ] = 10,
    concurrency: Annotated[
        int, typer.Option(metavar="COUNT", min=1, help="How many chats may be open at once.")
    ] = 5,
    url: Annotated[
        str, typer.Option(metavar="URL", help="The base URL of the server to drive.")
    ] = "http://127.0.0.1:8400",
    service: Annotated[
        str,
        typer.Option(
            metavar="SERVICE_IDS",
            help="The services to start chats on, comma-separated ids, dealt in turn.",
        ),
    ] = "demo-support",
    agents: Annotated[
        str,
        typer.Option(
            metavar="LOGINS",
            help="The agents who go Available and answer, comma-separated logins.",
        ),
    ] = "alice,carol",
    data_dir: Annotated[
        Path,
        typer.Option(metavar="FOLDER", help="The folder where `chatrec demo` wrote its logins."),
    ] = Path("var"),
    password_file: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="A JSON file of the agents' passwords: demo-logins.json's list, or {login: "
            "password}. Left out: CHATREC_SIMULATE_PASSWORD_<LOGIN>, then the data folder's "
            "demo-logins.json.",
        ),
    ] = None,
    messages: Annotated[
        int,
        typer.Option(
            metavar="COUNT",
            min=0,
            help="How many messages the customer sends; the agent answers each.",
        ),
    ] = 6,
    pause_share: Annotated[
        float,
        typer.Option(
            metavar="SHARE", min=0, max=1, help="The share of chats the agent pauses and resumes."
        ),
    ] = 0.3,
    transfer_share: Annotated[
        float,
        typer.Option(
            metavar="SHARE", min=0, max=1, help="The share of chats transferred to another agent."
        ),
    ] = 0.1,
    delete_share: Annotated[
        float,
        typer.Option(
            metavar="SHARE",
            min=0,
            max=1,
            help="The share of chats whose customer asks for deletion and whose agent deletes.",
        ),
    ] = 0.1,
    consent_no_share: Annotated[
        float,
        typer.Option(
            metavar="SHARE", min=0, max=1, help="The share of consent questions answered No."
        ),
    ] = 0.2,
    agent_end_share: Annotated[
        float,
        typer.Option(
            metavar="SHARE",
            min=0,
            max=1,
            help="The share of chats the agent ends; the customer ends the others.",
        ),
    ] = 0.5,
    seed: Annotated[
        int, typer.Option(metavar="NUMBER", help="The seed of the chats' plans, to repeat a run.")
    ] = 1,
    frames_per_second: Annotated[
        float,
        typer.Option(
            metavar="RATE",
            min=0.1,
            help="The pace of each connection in frames a second (the server allows 20).",
        ),
    ] = 15.0,
    timeout: Annotated[
        float,
        typer.Option(metavar="SECONDS", min=0.1, help="How long to wait for each answer."),
    ] = 30.0,
    chat_timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            min=0.1,
            help="How long one chat may take before it counts as failed.",
        ),
    ] = 120.0,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON, for scripts.")
    ] = False,
) -> None:
    """Drive scripted chats against a server and print latency and throughput.

    Exits 0 when every chat ended without an error, 1 otherwise, 2 when it cannot start.
    """
    from chatrec.simulate.passwords import find_passwords
    from chatrec.simulate.plan import Options, SetupError
    from chatrec.simulate.run import simulate
    from chatrec.simulate.summary import summary_json, summary_text

    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        options = Options(
            url=url,
            chats=chats,
            concurrency=concurrency,
            services=tuple(s.strip() for s in service.split(",") if s.strip()),
            agents=tuple(a.strip() for a in agents.split(",") if a.strip()),
            messages=messages,
            pause_share=pause_share,
            transfer_share=transfer_share,
            delete_share=delete_share,
            consent_no_share=consent_no_share,
            agent_end_share=agent_end_share,
            seed=seed,
            frames_per_second=frames_per_second,
            timeout=timeout,
            chat_timeout=chat_timeout,
        )
        passwords = find_passwords(options.agents, data_dir=data_dir, password_file=password_file)
        summary = asyncio.run(simulate(options, passwords))
    except SetupError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(summary_json(summary) if json_output else summary_text(summary))
    raise typer.Exit(code=0 if summary.clean else 1)


app.command()(worker)
app.command()(check)
app.command()(verify)
app.add_typer(deliveries_app, name="deliveries")
app.add_typer(admin_app, name="admin")
