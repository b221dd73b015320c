"""``chatrec admin audit``: the audit trail, oldest first, as text, CSV or JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from chatrec.cli.admin.administration import administration, company_of, fail, principal
from chatrec.cli.admin.options import Company, DatabaseUrl, DataDir
from chatrec.cli.admin.output import when
from chatrec.cli.admin.tables import Column, Table, print_table

if TYPE_CHECKING:
    from chatrec.store.records import AuditRecord


class AuditFormat(StrEnum):
    TEXT = "text"
    CSV = "csv"
    JSON = "json"


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--since {value!r} is not an ISO 8601 time, such as 2026-11-27T09:00:00Z")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _compact(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def _change(entry: AuditRecord) -> str:
    """What changed, before → after; the detail's other keys after it."""
    detail = {key: value for key, value in entry.detail.items() if key != "target"}
    before, after = detail.pop("before", None), detail.pop("after", None)
    if before is not None and after is not None:
        change = f"{_compact(before)} → {_compact(after)}"
    else:
        change = _compact(after if after is not None else before) if (after or before) else ""
    return " ".join(part for part in (change, _compact(detail) if detail else "") if part)


def _view(entry: AuditRecord) -> dict[str, object]:
    from chatrec.services.admin.audit import audit_view

    return audit_view(entry)


_AUDIT: Table[AuditRecord] = Table(
    view=_view,
    columns=(
        Column("WHEN (UTC)", lambda entry: when(entry.at)),
        Column("ACTOR", lambda entry: entry.actor),
        Column("ACTION", lambda entry: entry.action),
        Column("TARGET", lambda entry: entry.detail.get("target")),
        Column("CHAT", lambda entry: entry.chat_id),
        Column("CHANGE", _change),
    ),
    empty="no audit lines",
)


def audit(
    company: Company = None,
    chat: Annotated[
        str | None,
        typer.Option(
            "--chat", metavar="CHAT_ID", help="Only this chat's lines. Left out: every line."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="TIME",
            help="Only lines from this time on, in ISO 8601 such as 2026-11-27T09:00:00Z (UTC "
            "when it names no zone). Left out: from the first line.",
        ),
    ] = None,
    output: Annotated[
        AuditFormat,
        typer.Option(
            "--format",
            metavar="FORMAT",
            case_sensitive=False,
            help="How to print the lines: text for people, csv or json for other programs.",
        ),
    ] = AuditFormat.TEXT,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list for scripts, as --format json does.")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print the audit trail, oldest first: who changed what, before → after, when."""
    from chatrec.services.admin.audit import csv_chunks, json_chunks

    if as_json and output is AuditFormat.CSV:
        fail("give --json or --format csv, not both")
    start = _since(since)
    as_json = as_json or output is AuditFormat.JSON
    with administration(data_dir, database_url) as admin:
        acting = principal()
        company_id = company_of(admin, acting, company)
        if as_json or output is AuditFormat.CSV:
            # Streamed a page at a time, as the HTTP export is: a trail of any length.
            pages = admin.audit.export(acting, company_id, chat_id=chat, since=start)
            for chunk in csv_chunks(pages) if output is AuditFormat.CSV else json_chunks(pages):
                typer.echo(chunk, nl=False)
            if as_json:
                typer.echo("")
            return
        entries = admin.audit.read(acting, company_id, chat_id=chat, since=start)
    print_table(entries, False, _AUDIT)
