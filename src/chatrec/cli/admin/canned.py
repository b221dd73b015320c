"""``chatrec admin canned``: the company's canned responses, which every agent is offered
in the composer by typing ``/`` (R23; issue 15).  Logins' own responses are theirs
alone: the command line neither lists nor changes them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from chatrec.cli.admin.administration import administration, company_of, fail, principal
from chatrec.cli.admin.options import AsJson, Company, DatabaseUrl, DataDir
from chatrec.cli.admin.output import print_result
from chatrec.cli.admin.tables import Column, Table, add_list_command
from chatrec.cli.help import App

if TYPE_CHECKING:
    from chatrec.store.records import CannedResponseRecord

canned_app = App(
    help="The company's canned responses, offered to agents in the composer by typing `/`."
)

ResponseId = Annotated[
    str,
    typer.Argument(metavar="RESPONSE_ID", help="The response's id, as `canned list` shows it."),
]
TEXT_HELP = (
    "What is inserted; {customer_name}, {agent_name} and {company_name} are filled in then "
    "({customer_name} reads 'there' while the customer's name is unknown)."
)


def canned_view(response: CannedResponseRecord) -> dict[str, object]:
    return {
        "response_id": response.response_id,
        "company_id": response.company_id,
        "name": response.name,
        "text": response.text,
        "created_at": response.created_at.isoformat(),
        "updated_at": response.updated_at.isoformat(),
    }


def _line(response: CannedResponseRecord) -> str:
    return f"{response.response_id}  /{response.name}: {response.text}"


add_list_command(
    canned_app,
    lambda admin: admin.canned.list_company,
    Table(
        view=canned_view,
        columns=(
            Column("ID", lambda response: response.response_id),
            Column("NAME", lambda response: response.name),
            Column("TEXT", lambda response: " ".join(response.text.split())),
        ),
        empty="no canned responses",
    ),
    help="List the company's canned responses.",
)


@canned_app.command("add")
def canned_add(
    name: Annotated[
        str,
        typer.Argument(metavar="NAME", help="The shortcut agents type after `/`, e.g. greet."),
    ],
    text: Annotated[str, typer.Argument(metavar="TEXT", help=TEXT_HELP)],
    company: Company = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a canned response of the company (audited)."""
    with administration(data_dir, database_url) as admin:
        acting = principal()
        response = admin.canned.create(
            acting, name, text, personal=False, company_id=company_of(admin, acting, company)
        )
    print_result(as_json, canned_view(response), _line(response))


@canned_app.command("set")
def canned_set(
    response_id: ResponseId,
    name: Annotated[
        str | None,
        typer.Option("--name", metavar="NAME", help="The new shortcut. Left out: unchanged."),
    ] = None,
    text: Annotated[
        str | None,
        typer.Option("--text", metavar="TEXT", help=f"{TEXT_HELP} Left out: unchanged."),
    ] = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Rename a canned response of a company or change its text (audited)."""
    if name is None and text is None:
        fail("nothing to change: give --name or --text")
    with administration(data_dir, database_url) as admin:
        response = admin.canned.update(
            principal(), response_id, personal=False, name=name, text=text
        )
    print_result(as_json, canned_view(response), _line(response))


@canned_app.command("remove")
def canned_remove(
    response_id: ResponseId,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Remove a canned response of a company (audited)."""
    with administration(data_dir, database_url) as admin:
        response = admin.canned.delete(principal(), response_id, personal=False)
    done = f"removed canned response /{response.name} ({response.response_id})"
    print_result(as_json, canned_view(response), done)
