"""``chatrec admin``: the administration use cases from the command line, for scripting.

Every command acts as the command line's operator (``cli:<os user>`` in the audit
trail) through ``services.admin``, which checks and audits each change, so the CLI,
the API and the console refuse the same things.  Output is for people by default and
JSON with ``--json``.  A refusal prints ``error: ...`` and exits 2, an unknown id exits
1, and a refused command changed nothing (R19).  Like the rest of the command line it
starts without the store: each command imports what it uses.

One module a command group; ``administration``, ``options``, ``output`` and ``tables``
hold what they share.
"""

from __future__ import annotations

from chatrec.cli.admin.audit import audit
from chatrec.cli.admin.canned import canned_app
from chatrec.cli.admin.catalog import queue_app, service_app
from chatrec.cli.admin.companies import company_app, mask_preview, template_preview
from chatrec.cli.admin.destinations import destination_app
from chatrec.cli.admin.flows import flow_app
from chatrec.cli.admin.imports import import_setup
from chatrec.cli.admin.users import operator_app, user_app
from chatrec.cli.help import App

__all__ = ["admin_app"]

admin_app = App(
    help="Administer companies, logins, queues, services, flows and recording platforms."
)
admin_app.command("template-preview")(template_preview)
admin_app.command("mask-preview")(mask_preview)
admin_app.command("import")(import_setup)
admin_app.command("audit")(audit)
admin_app.add_typer(company_app, name="company")
admin_app.add_typer(user_app, name="user")
admin_app.add_typer(operator_app, name="operator")
admin_app.add_typer(queue_app, name="queue")
admin_app.add_typer(service_app, name="service")
admin_app.add_typer(flow_app, name="flow")
admin_app.add_typer(canned_app, name="canned")
admin_app.add_typer(destination_app, name="destination")
