"""Lists of records: printed as a table or as JSON, and the ``list`` command of a company's
queues, services, flows or logins."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

import typer

from chatrec.cli_admin.administration import actor, administration, company_of
from chatrec.cli_admin.options import AsJson, Company, DatabaseUrl, DataDir
from chatrec.cli_admin.output import print_json

if TYPE_CHECKING:
    from chatrec.services.access import Actor
    from chatrec.services.admin import Administration

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Table(Generic[R]):
    """How a list of records prints: a row each under ``header``, or ``empty`` for none."""

    view: Callable[[R], object]
    row: Callable[[R], str]
    header: str | None = None
    empty: str | None = None


def print_table(records: Sequence[R], as_json: bool, table: Table[R]) -> None:
    """The records as rows, or with ``--json`` as a list of their views."""
    if as_json:
        print_json([table.view(record) for record in records])
    elif not records:
        if table.empty is not None:
            typer.echo(table.empty)
    else:
        if table.header is not None:
            typer.echo(table.header)
        for record in records:
            typer.echo(table.row(record))


def add_list_command(
    app: typer.Typer,
    fetch: Callable[[Administration], Callable[[Actor, str], Sequence[R]]],
    table: Table[R],
    help: str,
) -> None:
    """Add ``list --company ID`` to ``app``: what ``fetch``'s query finds, as ``table``."""

    @app.command("list", help=help)
    def list_records(
        company: Company = None,
        as_json: AsJson = False,
        data_dir: DataDir = None,
        database_url: DatabaseUrl = None,
    ) -> None:
        with administration(data_dir, database_url) as admin:
            acting = actor()
            records = fetch(admin)(acting, company_of(admin, acting, company))
        print_table(records, as_json, table)
