"""Lists of records, printed as an aligned table or with ``--json`` as a JSON list of
objects; and the ``list`` command of a company's queues, services, flows or logins."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

import typer
from rich.table import Table as RichTable
from rich.text import Text

from chatrec.cli.admin.administration import administration, company_of, principal
from chatrec.cli.admin.options import AsJson, Company, DatabaseUrl, DataDir
from chatrec.cli.admin.output import STATE_COLOURS, print_json, print_rich

if TYPE_CHECKING:
    from chatrec.services.access import Principal
    from chatrec.services.admin import Administration

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Column(Generic[R]):
    """One column: its header, each record's value (``-`` when empty), and whether the
    value is a number (right-aligned) or a state (in its colour)."""

    header: str
    value: Callable[[R], object]
    number: bool = False
    state: bool = False

    def cell(self, record: R) -> Text:
        value = self.value(record)
        text = "-" if value is None or value == "" else str(value)
        return Text(text, style=STATE_COLOURS.get(text, "") if self.state else "")


@dataclass(frozen=True, slots=True)
class Table(Generic[R]):
    """How a list of records prints: a row each, or ``empty`` for none; ``view`` is a
    record's JSON object."""

    view: Callable[[R], object]
    columns: tuple[Column[R], ...]
    empty: str | None = None


def print_table(records: Sequence[R], as_json: bool, table: Table[R]) -> None:
    """The records as an aligned table, or with ``--json`` as a list of their views."""
    if as_json:
        print_json([table.view(record) for record in records])
        return
    if not records:
        if table.empty is not None:
            typer.echo(table.empty)
        return
    shown = RichTable(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for column in table.columns:
        shown.add_column(column.header, justify="right" if column.number else "left")
    for record in records:
        shown.add_row(*(column.cell(record) for column in table.columns))
    print_rich(shown)


def add_list_command(
    app: typer.Typer,
    fetch: Callable[[Administration], Callable[[Principal, str], Sequence[R]]],
    table: Table[R],
    help: str,
) -> None:
    """Add ``list [--company ID]`` to ``app``: what ``fetch``'s query finds, as ``table``."""

    @app.command("list", help=help)
    def list_records(
        company: Company = None,
        as_json: AsJson = False,
        data_dir: DataDir = None,
        database_url: DatabaseUrl = None,
    ) -> None:
        with administration(data_dir, database_url) as admin:
            acting = principal()
            records = fetch(admin)(acting, company_of(admin, acting, company))
        print_table(records, as_json, table)
