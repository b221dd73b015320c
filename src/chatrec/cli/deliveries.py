"""``chatrec deliveries``: see and retry deliveries of recording files (R16)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from chatrec.cli.admin.options import AsJson, DatabaseUrl, DataDir
from chatrec.cli.admin.tables import Column, Table, print_table
from chatrec.cli.database import open_store
from chatrec.cli.help import App

if TYPE_CHECKING:
    from chatrec.store.records import DeliveryRecord

deliveries_app = App(help="See and retry deliveries of recording files to recording platforms.")


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

    store = open_store(data_dir, database_url)
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
    store = open_store(data_dir, database_url)
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
    store = open_store(data_dir, database_url)
    try:
        retried = store.retry_deliveries(delivery_ids or None, company_id=company)
    except NotFoundError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        store.close()
    typer.echo(f"{retried} deliveries due now")
