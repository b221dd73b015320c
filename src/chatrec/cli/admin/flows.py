"""``chatrec admin flow``: chat flows, checked on save with every problem at its line
(R19), versioned, and previewed without a chat."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chatrec.cli.admin.administration import (
    administration,
    company_of,
    company_scope,
    principal,
    refuse_json,
)
from chatrec.cli.admin.options import AsJson, Company, DatabaseUrl, DataDir, file_label, read_text
from chatrec.cli.admin.output import print_result, when
from chatrec.cli.admin.tables import Column, Table, add_list_command, print_table
from chatrec.cli.help import App
from chatrec.errors import FlowError, NotFoundError

if TYPE_CHECKING:
    from chatrec.services.admin import Administration
    from chatrec.store.records import FlowVersionRecord

flow_app = App(help="Check, save, version and preview chat flows, with every problem at its line.")

FlowFile = Annotated[
    str,
    typer.Argument(metavar="FILE", help="The flow's YAML or JSON file, or - for standard input."),
]
FlowId = Annotated[
    str, typer.Argument(metavar="FLOW_ID", help="The flow's id, as `flow list` shows it.")
]


@contextmanager
def _flow_file(
    file: str, data_dir: Path | None, database_url: str | None
) -> Iterator[tuple[Administration, str]]:
    """The administration and the flow's source; its problems name the file."""
    source = read_text(file)
    with administration(data_dir, database_url, file=file_label(file)) as admin:
        yield admin, source


def flow_view(flow: FlowVersionRecord, *, source: bool = True) -> dict[str, object]:
    view: dict[str, object] = {
        "flow_id": flow.flow_id,
        "company_id": flow.company_id,
        "name": flow.name,
        "version": flow.version,
        "created_at": flow.created_at.isoformat(),
    }
    if source:
        view["source"] = flow.source
    return view


def flow_summary(flow: FlowVersionRecord) -> dict[str, object]:
    """A flow's view without its source, for lists."""
    return flow_view(flow, source=False)


add_list_command(
    flow_app,
    lambda admin: admin.catalog.list_flows,
    Table(
        view=flow_summary,
        columns=(
            Column("ID", lambda flow: flow.flow_id),
            Column("VERSION", lambda flow: flow.version, number=True),
            Column("SAVED (UTC)", lambda flow: when(flow.created_at)),
            Column("NAME", lambda flow: flow.name),
        ),
        empty="no flows",
    ),
    help="List the company's flows at their newest version.",
)


@flow_app.command("show")
def flow_show(
    flow_id: FlowId,
    version: Annotated[
        int | None,
        typer.Option(
            "--version",
            metavar="VERSION",
            min=1,
            help="The version to show. Left out: the newest.",
        ),
    ] = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print a flow's source, after a YAML comment naming it (so it saves back as is)."""
    with administration(data_dir, database_url) as admin:
        flow = admin.catalog.get_flow(principal(), flow_id, version)
    print_result(
        as_json,
        flow_view(flow),
        f"# flow {flow.flow_id} {flow.name!r}, version {flow.version}, "
        f"saved {when(flow.created_at)}, company {flow.company_id}",
        flow.source.rstrip("\n"),
    )


_VERSIONS: Table[FlowVersionRecord] = Table(
    view=flow_summary,
    columns=(
        Column("VERSION", lambda flow: flow.version, number=True),
        Column("SAVED (UTC)", lambda flow: when(flow.created_at)),
        Column("NAME", lambda flow: flow.name),
    ),
)


@flow_app.command("versions")
def flow_versions(
    flow_id: FlowId,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List a flow's versions, newest first; each chat records the version it ran."""
    with administration(data_dir, database_url) as admin:
        versions = admin.catalog.flow_versions(principal(), flow_id)
    print_table(versions, as_json, _VERSIONS)


@flow_app.command("check")
def flow_check(
    file: FlowFile,
    company: Company = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Check a flow as a save would, without saving: every problem with its line."""
    with _flow_file(file, data_dir, database_url) as (admin, source):
        acting = principal()
        company_id = company_of(admin, acting, company)
        try:
            flow = admin.catalog.check_flow(acting, source, company_id)
        except FlowError as error:
            if not as_json:
                raise
            problems = [
                {"message": p.message, "line": p.line, "column": p.column, "location": p.location}
                for p in error.problems
            ]
            refuse_json({"valid": False, "problems": problems})
    print_result(
        as_json,
        {"valid": True, "name": flow.name, "problems": []},
        f"{file_label(file)}: flow {flow.name!r} is valid ({len(flow.steps)} steps)",
    )


@flow_app.command("save")
def flow_save(
    file: FlowFile,
    company: Company = None,
    flow_id: Annotated[
        str | None,
        typer.Option(
            "--flow-id",
            metavar="FLOW_ID",
            help="Save as the next version of this flow. Left out: a new flow.",
        ),
    ] = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Check a flow and keep it as a new flow, or as the next version of --flow-id."""
    with _flow_file(file, data_dir, database_url) as (admin, source):
        acting = principal()
        if flow_id is None:
            company_id = company_of(admin, acting, company)
        else:
            scope = company_scope(admin, acting, company)
            company_id = admin.catalog.get_flow(acting, flow_id).company_id
            if scope not in (None, company_id):
                raise NotFoundError(f"no flow {flow_id!r} in company {scope!r}")
        saved = admin.catalog.save_flow(acting, source, flow_id=flow_id, company_id=company_id)
    print_result(
        as_json,
        flow_summary(saved),
        f"saved flow {saved.name!r} ({saved.flow_id}) version {saved.version}",
    )


@flow_app.command("preview")
def flow_preview(
    file: FlowFile,
    company: Company = None,
    answer: Annotated[
        list[str] | None,
        typer.Option(
            "--answer",
            metavar="TEXT",
            help="The customer's next answer; repeat the option for several, in order. "
            "Left out: none, and the preview stops at the first question.",
        ),
    ] = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run a flow on the given answers without a chat: nothing is stored."""
    with _flow_file(file, data_dir, database_url) as (admin, source):
        acting = principal()
        preview = admin.catalog.preview(
            acting, source, answer or [], company_of(admin, acting, company)
        )
    waiting = (
        []
        if preview.waiting_for is None
        else [f"(waiting for the customer's answer: {preview.waiting_for})"]
    )
    print_result(
        as_json,
        {
            "lines": preview.lines,
            "waiting_for": preview.waiting_for,
            "routed_to": preview.routed_to,
            "ended": preview.ended,
            "recordings": preview.recordings,
        },
        *preview.lines,
        *waiting,
    )
