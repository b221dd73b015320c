"""``chatrec admin destination``: the company's recording platform (SFTP) and its Test
connection; its password or key is never shown again (R18)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chatrec.cli.admin.administration import NOT_FOUND, administration, company_of, fail, principal
from chatrec.cli.admin.options import (
    AsJson,
    Company,
    DatabaseUrl,
    DataDir,
    read_password,
    read_text,
)
from chatrec.cli.admin.output import format_fields, print_result, when, yes
from chatrec.cli.help import App

if TYPE_CHECKING:
    from chatrec.delivery.sftp import ProbeStep
    from chatrec.services.access import Principal
    from chatrec.services.admin import Administration
    from chatrec.store.records import DestinationRecord

destination_app = App(
    help="Set and test the company's recording platform (SFTP); its secrets are never shown."
)


def _destination_view(record: DestinationRecord) -> dict[str, object]:
    """What is shown of a platform: whether a secret is set, never the secret (R18)."""
    return {
        "company_id": record.company_id,
        "host": record.host,
        "port": record.port,
        "username": record.username,
        "folder": record.folder,
        "host_key": record.host_key,
        "has_password": bool(record.password),
        "has_private_key": bool(record.private_key),
        "done_marker": record.done_marker,
        "verify_after_rename": record.verify_after_rename,
        "blocked_reason": record.blocked_reason,
        "blocked_at": None if record.blocked_at is None else record.blocked_at.isoformat(),
    }


def _format_destination(record: DestinationRecord) -> str:
    login = "password" if record.password else "private key" if record.private_key else "none"
    blocked = (
        "no"
        if record.blocked_reason is None
        else f"since {when(record.blocked_at)}: {record.blocked_reason}"
    )
    return format_fields(
        f"recording platform of company {record.company_id}",
        [
            ("address", f"sftp://{record.username}@{record.host}:{record.port}"),
            ("folder", record.folder),
            ("host key", record.host_key or "none pinned (Test connection shows the server's)"),
            ("logs in with", f"{login} (set, never shown)" if login != "none" else login),
            ("done marker", yes(record.done_marker)),
            ("blocked", blocked),
        ],
    )


@destination_app.command("show")
def destination_show(
    company: Company = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show the recording platform, without its password or key."""
    with administration(data_dir, database_url) as admin:
        acting = principal()
        company_id = company_of(admin, acting, company)
        record = admin.destinations.get(acting, company_id)
    if record is None:
        print_result(as_json, None, f"company {company_id} has no recording platform yet")
    else:
        print_result(as_json, _destination_view(record), _format_destination(record))


@destination_app.command("set")
def destination_set(
    host: Annotated[
        str,
        typer.Option("--host", metavar="HOST", help="The SFTP server's name or address."),
    ],
    user: Annotated[
        str, typer.Option("--user", metavar="NAME", help="The user name to log in as.")
    ],
    folder: Annotated[
        str,
        typer.Option(
            "--folder", metavar="FOLDER", help="The folder on the server where recordings go."
        ),
    ],
    port: Annotated[
        int | None,
        typer.Option(
            "--port", metavar="PORT", help="The SFTP server's port. Left out: as saved, else 22."
        ),
    ] = None,
    host_key_file: Annotated[
        Path | None,
        typer.Option(
            "--host-key-file",
            metavar="FILE",
            help="A file with the server's public key, in known_hosts form, to pin (R16). "
            "Left out: the pinned key stays.",
        ),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from the first line of standard input. Left out: the "
            "saved password or key stays, unless the host, port or user change.",
        ),
    ] = False,
    private_key_file: Annotated[
        Path | None,
        typer.Option(
            "--private-key-file",
            metavar="FILE",
            help="A file with an unencrypted private key to log in with. Left out: the saved "
            "password or key stays, unless the host, port or user change.",
        ),
    ] = None,
    done_marker: Annotated[
        bool | None,
        typer.Option(
            "--done-marker/--no-done-marker",
            help="Whether an empty .done file follows each upload, for platforms that wait for "
            "one. Left out: as saved, else no.",
        ),
    ] = None,
    company: Company = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Save the recording platform; blocked deliveries go again (R16).

    Left out: the secret, pinned host key, port and done marker stay as saved; but a
    changed host, port or user needs the secret again, which is only ever sent to the
    server it was given for.  The secret is encrypted at rest and never printed (R18).
    """
    from chatrec.services.admin.destinations import DestinationSettings

    if password_stdin and private_key_file is not None:
        fail("give --password-stdin or --private-key-file, not both")
    password = read_password(password_stdin)
    private_key = None if private_key_file is None else read_text(str(private_key_file))
    host_key = None if host_key_file is None else read_text(str(host_key_file))
    with administration(data_dir, database_url) as admin:
        acting = principal()
        company_id = company_of(admin, acting, company)
        current = admin.destinations.get(acting, company_id)
        settings = DestinationSettings(
            host=host,
            port=port if port is not None else current.port if current else 22,
            username=user,
            folder=folder,
            host_key=host_key if host_key is not None else current.host_key if current else "",
            password=password,
            private_key=private_key,
            done_marker=(
                done_marker if done_marker is not None else bool(current and current.done_marker)
            ),
            verify_after_rename=current.verify_after_rename if current else True,
        )
        saved = admin.destinations.set(acting, settings, company_id)
    print_result(as_json, _destination_view(saved), _format_destination(saved))


async def _probe(admin: Administration, acting: Principal, company: str) -> list[ProbeStep]:
    from chatrec.bootstrap import build_prober
    from chatrec.config import load_config

    # The operator's egress policy holds here too: what it refuses, deliveries would.
    prober = build_prober(load_config())
    try:
        return await admin.destinations.test(acting, prober, None, company)
    finally:
        await prober.close()


def _step_lines(step: ProbeStep) -> list[str]:
    lines = [f"{'ok' if step.ok else 'FAILED':6}  {step.name}: {step.detail}"]
    if step.host_key:
        lines.append(f"{'':8}the server's key, to pin once checked: {step.host_key}")
    return lines


@destination_app.command("test")
def destination_test(
    company: Company = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Test connection: connect, check the host key, log in, write, rename, delete a probe.

    Only to an address CHATREC_EGRESS_ALLOW and CHATREC_EGRESS_DENY allow, as deliveries.
    Exits 0 when every step worked, 1 when one failed.
    """
    import asyncio

    with administration(data_dir, database_url) as admin:
        acting = principal()
        steps = asyncio.run(_probe(admin, acting, company_of(admin, acting, company)))
    ok = all(step.ok for step in steps)
    print_result(
        as_json,
        {
            "ok": ok,
            "steps": [
                {"name": s.name, "ok": s.ok, "detail": s.detail, "host_key": s.host_key}
                for s in steps
            ],
        },
        *(line for step in steps for line in _step_lines(step)),
    )
    if not ok:
        raise typer.Exit(NOT_FOUND)
