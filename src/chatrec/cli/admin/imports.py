"""``chatrec admin import``: a whole set-up from one document, checked whole first (R3, R19)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chatrec.cli.admin.administration import administration, company_of, principal
from chatrec.cli.admin.catalog import queue_view, service_view
from chatrec.cli.admin.flows import flow_summary
from chatrec.cli.admin.options import AsJson, Company, DatabaseUrl, DataDir, file_label, read_text
from chatrec.cli.admin.output import print_result
from chatrec.cli.admin.users import user_view


def import_setup(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE",
            help="The YAML or JSON document of queues, flows, services and users (see the "
            "import file format in docs/administration.md), or - for standard input.",
        ),
    ],
    company: Company = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create queues, flows, services and logins from one document, checked whole first.

    Any problem (a recording key on a queue (R3), a flow's, a taken name) refuses the
    document and nothing of it is applied.  Flow files are read beside the document.
    Generated passwords are printed once.
    """
    text, label = read_text(file), file_label(file)
    base = Path.cwd() if file == "-" else Path(file).parent

    def read_flow(name: str) -> str:
        return (base / name).read_text(encoding="utf-8")

    with administration(data_dir, database_url) as admin:
        acting = principal()
        company_id = company_of(admin, acting, company)
        done = admin.imports.run(
            acting, text, company_id=company_id, label=label, read_file=read_flow
        )
    users = []
    for user in done.users:
        password = done.passwords.get(user.login)
        shown = "" if password is None else f"  password (shown once): {password}"
        users.append(f"  user     {user.user_id:16}  {user.login} ({user.role}){shown}")
    print_result(
        as_json,
        {
            "queues": [queue_view(queue) for queue in done.queues],
            "flows": [flow_summary(flow) for flow in done.flows],
            "services": [service_view(service) for service in done.services],
            "users": [user_view(user) for user in done.users],
            "passwords": done.passwords,
        },
        f"imported into company {company_id}: {done.summary()}",
        *(f"  queue    {queue.queue_id:16}  {queue.name}" for queue in done.queues),
        *(f"  flow     {flow.flow_id:16}  {flow.name}" for flow in done.flows),
        *(f"  service  {service.service_id:16}  {service.name}" for service in done.services),
        *users,
    )
