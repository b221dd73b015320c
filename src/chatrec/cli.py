"""The ``chatrec`` command line (Typer): serve, demo, migrate, explain, deliveries, admin."""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
from datetime import datetime
from enum import StrEnum
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chatrec.cli_admin import admin_app
from chatrec.cli_admin.options import AsJson, DatabaseUrl, DataDir
from chatrec.cli_admin.tables import Column, Table, print_table
from chatrec.cli_help import App
from chatrec.config import Config, load_config

if TYPE_CHECKING:
    from chatrec.store.records import DeliveryRecord
    from chatrec.store.store import Store

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
            # No permessage-deflate: a customer's text compressed in one stream with
            # what else the connection carries leaks by length (CRIME/BREACH), and for
            # frames this small compression costs more CPU than it saves bandwidth.
            ws_per_message_deflate=False,
            log_level="info",
        )
    )
    asyncio.run(server.serve())


def _require_schema(config: Config) -> None:
    """End the command, saying what to run, on a database not migrated to this version
    (or unreachable): not with a traceback about a missing table."""
    from chatrec.errors import SchemaError
    from chatrec.store.database import require_schema

    try:
        require_schema(config.effective_database_url)
    except SchemaError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from None


def _store(config: Config, *, migrated: bool = True) -> Store:
    """The store as every command opens it: the same database and secrets key, checked
    for this version's schema unless the command is the one that migrates; the passwords
    it is given hashed at the configured cost (the demo's seed, ``chatrec admin``)."""
    from chatrec.services import passwords
    from chatrec.store.store import Store

    passwords.configure_from(config)
    if migrated:
        _require_schema(config)
    return Store(config.effective_database_url, secrets=config.load_secret_box())


def _migrate(config: Config, *, forget_unreadable_secrets: bool = False) -> list[str]:
    from sqlalchemy.exc import OperationalError

    from chatrec.errors import SecretKeyError
    from chatrec.files import secure_data_dir
    from chatrec.store.database import unreachable

    secure_data_dir(config.data_dir)
    store = _store(config, migrated=False)
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


@app.callback()
def main() -> None:
    """Commands for running and inspecting chatrec."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # Libraries that log every migration step or SSH connection at INFO drown our own lines.
    for noisy in ("alembic", "asyncssh"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


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
    config = _config(data_dir=data_dir, database_url=database_url)
    forgotten = _migrate(config, forget_unreadable_secrets=forget_unreadable_secrets)
    for company_id in forgotten:
        typer.echo(
            f"forgot the SFTP secrets of company {company_id}: enter its platform's password "
            "or private key again"
        )
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
    host: Host = None,
    port: Port = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
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

    config = _config(host, port, data_dir, database_url)
    # The demo's /metrics asks for a token as production's does: a new one at each start,
    # unless CHATREC_METRICS_TOKEN sets one.
    metrics_token = config.metrics_token or SecretStr(secrets.token_urlsafe(32))
    config = config.model_copy(update={"metrics_token": metrics_token})
    _migrate(config)
    running = None
    store = _store(config)
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
    typer.echo("  logins (also in {}):".format(config.data_dir / "demo-logins.json"))
    for login in logins:
        typer.echo(f"    {login.login:6} {login.password:14} {login.role:13} {login.note}")
    typer.echo("")
    # uvicorn re-raises SIGTERM/SIGINT once it has shut down; with the default handlers
    # the process would die there and leave the platform's sshd behind.
    previous = {sig: signal.signal(sig, _exit_on_signal) for sig in STOP_SIGNALS}
    try:
        _serve(config)
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

    store = _store(_config(data_dir=data_dir, database_url=database_url))
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
    from chatrec.simulate import (
        Options,
        SetupError,
        find_passwords,
        simulate,
        summary_json,
        summary_text,
    )

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


# -- deliveries (R16) ----------------------------------------------------------------------

deliveries_app = App(help="See and retry deliveries of recording files to recording platforms.")
app.add_typer(deliveries_app, name="deliveries")
app.add_typer(admin_app, name="admin")


class State(StrEnum):
    """The states of ``chatrec.store.records.DeliveryState``, named here so the command
    line starts without importing the store (and SQLAlchemy)."""

    PENDING = "pending"
    DELIVERING = "delivering"
    BLOCKED = "blocked"
    DELIVERED = "delivered"


StateOption = Annotated[
    State | None,
    typer.Option(
        "--state",
        metavar="STATE",
        case_sensitive=False,
        help="Only deliveries in this state: pending, delivering, blocked or delivered. "
        "Left out: every state.",
    ),
]
CompanyOption = Annotated[
    str | None,
    typer.Option(
        "--company",
        metavar="COMPANY_ID",
        help="Only this company's deliveries, by its id. Left out: every company's.",
    ),
]


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


def _open_store(data_dir: Path | None, database_url: str | None) -> Store:
    return _store(_config(data_dir=data_dir, database_url=database_url))


@deliveries_app.command("list")
def deliveries_list(
    state: StateOption = None,
    company: CompanyOption = None,
    limit: Annotated[
        int,
        typer.Option(metavar="COUNT", min=1, help="How many deliveries to list at most."),
    ] = 50,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List deliveries, newest first, with their attempts and last error."""
    from chatrec.store.records import DeliveryState

    store = _open_store(data_dir, database_url)
    try:
        chosen = None if state is None else DeliveryState(state.value)
        found = store.list_deliveries(chosen, company, limit)
    finally:
        store.close()
    print_table(found, as_json, _DELIVERIES)


def _delivery_view(delivery: DeliveryRecord) -> dict[str, object]:
    return {
        "delivery_id": delivery.delivery_id,
        "state": delivery.state.value,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "company_id": delivery.company_id,
        "chat_id": delivery.chat_id,
        "recording_id": delivery.recording_id,
        "kind": delivery.kind.value,
        "format": delivery.format,
        "remote_path": delivery.remote_path,
        "size": delivery.size,
        "sha256": delivery.sha256,
        "created_at": delivery.created_at.isoformat(),
        "next_attempt_at": delivery.next_attempt_at.isoformat(),
        "delivered_at": None
        if delivery.delivered_at is None
        else delivery.delivered_at.isoformat(),
    }


def _delivery_when(delivery: DeliveryRecord) -> str:
    """When it was delivered, or when it is tried next."""
    return _when(delivery.delivered_at or delivery.next_attempt_at)


_DELIVERIES: Table[DeliveryRecord] = Table(
    view=_delivery_view,
    columns=(
        Column("ID", lambda delivery: delivery.delivery_id, number=True),
        Column("STATE", lambda delivery: delivery.state.value, state=True),
        Column("TRIES", lambda delivery: delivery.attempts, number=True),
        Column("COMPANY", lambda delivery: delivery.company_id),
        Column("WHEN (UTC)", _delivery_when),
        Column("PATH", lambda delivery: delivery.remote_path),
        Column("LAST ERROR", lambda delivery: delivery.last_error),
    ),
    empty="no deliveries",
)


@deliveries_app.command("show")
def deliveries_show(
    delivery_id: Annotated[
        int,
        typer.Argument(metavar="DELIVERY_ID", help="The delivery's id, as `list` shows it."),
    ],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show one delivery: attempts, last error, destination, checksum, paths."""
    store = _open_store(data_dir, database_url)
    try:
        delivery = store.get_delivery(delivery_id)
        destination = None if delivery is None else store.get_destination(delivery.company_id)
    finally:
        store.close()
    if delivery is None:
        typer.echo(f"error: no delivery {delivery_id}", err=True)
        raise typer.Exit(code=1)
    if destination is None:
        platform = "none configured"
    else:
        platform = (
            f"sftp://{destination.username}@{destination.host}:{destination.port}"
            f"/{destination.folder.lstrip('/')}"
        )
        if destination.blocked_reason:
            platform += (
                f" (blocked since {_when(destination.blocked_at)}: {destination.blocked_reason})"
            )
    lines = [
        ("state", delivery.state.value),
        ("attempts", str(delivery.attempts)),
        ("last error", delivery.last_error or "-"),
        ("next attempt", _when(delivery.next_attempt_at)),
        ("created", _when(delivery.created_at)),
        ("delivered", _when(delivery.delivered_at)),
        ("destination", platform),
        ("remote path", delivery.remote_path),
        ("size", f"{delivery.size} bytes"),
        ("sha256", delivery.sha256),
        ("spool file", delivery.spool_path),
    ]
    typer.echo(
        f"delivery {delivery.delivery_id} ({delivery.kind.value}, {delivery.format}) of "
        f"recording {delivery.recording_id}, chat {delivery.chat_id}, "
        f"company {delivery.company_id}"
    )
    for label, value in lines:
        typer.echo(f"  {label + ':':14}{value}")


@deliveries_app.command("retry")
def deliveries_retry(
    delivery_ids: Annotated[
        list[int] | None,
        typer.Argument(
            metavar="DELIVERY_ID",
            help="The deliveries to try again now, by their ids.",
            show_default=False,
        ),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Try every delivery not yet delivered again.")
    ] = False,
    company: CompanyOption = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Try deliveries again now, and unblock their recording platforms.

    Run it once a blocked platform is fixed; a running server picks them up within
    its poll interval.
    """
    from chatrec.errors import NotFoundError

    if bool(delivery_ids) == every:
        typer.echo("error: give delivery ids, or --all", err=True)
        raise typer.Exit(code=2)
    store = _open_store(data_dir, database_url)
    try:
        retried = store.retry_deliveries(delivery_ids or None, company_id=company)
    except NotFoundError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        store.close()
    typer.echo(f"{retried} deliveries due now")


# -- the delivery worker alone (R16) -------------------------------------------------------


def _work(config: Config, *, once: bool) -> None:
    import signal

    from chatrec.bootstrap import build
    from chatrec.delivery.readiness import destination_warnings
    from chatrec.delivery.worker import stop_worker

    log = logging.getLogger("chatrec.worker")
    _require_schema(config)  # a worker never migrates (see `worker`): refuse an old schema
    container = build(config)
    worker = container.worker

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            for warning in await asyncio.to_thread(destination_warnings, container.store):
                log.warning("%s", warning)
            log.info("delivery worker %s started", worker.worker_id)
            if once:
                await worker.sweep_spool()  # run_forever does it too, as it starts
                claimed = await worker.run_once()
                log.info("delivery worker %s claimed %d deliveries", worker.worker_id, claimed)
                return
            task = asyncio.create_task(worker.run_forever(stop), name="chatrec-delivery")
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            await stop_worker(worker, stop, task)
            log.info("delivery worker %s stopped", worker.worker_id)
        finally:
            await worker.close()

    try:
        asyncio.run(run())
    finally:
        container.store.close()


@app.command()
def worker(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    once: Annotated[
        bool, typer.Option("--once", help="Run one round of deliveries, then exit.")
    ] = False,
) -> None:
    """Run only the delivery worker until SIGTERM or SIGINT (run `migrate` first).

    Any number of workers and servers may share a database: each claims deliveries with
    a lease, and a killed worker's leases expire for another to take over.  It never
    changes the schema, so it starts fast and never races a migration.
    """
    _work(_config(data_dir=data_dir, database_url=database_url), once=once)
