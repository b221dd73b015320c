"""``chatrec admin queue`` and ``service``: queues, which never hold recording settings
(R3), and services, the webchat entry points each running one flow."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chatrec.cli.admin.administration import administration, company_of, fail, principal, refusals
from chatrec.cli.admin.options import AsJson, Company, DatabaseUrl, DataDir
from chatrec.cli.admin.output import print_result
from chatrec.cli.admin.tables import Column, Table, add_list_command
from chatrec.cli.help import App

if TYPE_CHECKING:
    from chatrec.store.records import QueueRecord, ServiceRecord

queue_app = App(help="Create and rename queues, which never hold recording settings (R3).")
service_app = App(help="Create and change services, the webchat entry points, each running a flow.")

# Accepted, never shown, and always refused quoting R3: a script that tries them learns why.
_RECORDING_FLAGS: dict[str, Any] = {
    "record": Annotated[bool | None, typer.Option("--record/--no-record", hidden=True)],
    "recording": Annotated[bool | None, typer.Option("--recording/--no-recording", hidden=True)],
    "record_chats": Annotated[
        bool | None, typer.Option("--record-chats/--no-record-chats", hidden=True)
    ],
    "record_percentage": Annotated[str | None, typer.Option("--record-percentage", hidden=True)],
    "permit_recordings": Annotated[
        bool | None, typer.Option("--permit-recordings/--no-permit-recordings", hidden=True)
    ],
}


def _refusing_recording_flags(command: Callable[..., None]) -> Callable[..., None]:
    """Give a queue command the hidden recording flags, refused before anything is opened."""

    @functools.wraps(command)
    def refusing(**options: Any) -> None:
        from chatrec.services.admin.catalog import refuse_recording_on_queue

        given = {name: options.pop(name) for name in _RECORDING_FLAGS}
        flags = [
            f"--{name.replace('_', '-')}" for name, value in given.items() if value is not None
        ]
        with refusals():
            refuse_recording_on_queue(flags)
        command(**options)

    # Typer reads a command's options from its signature: the command's own, then the flags.
    signature = inspect.signature(command, eval_str=True)
    flags = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=flag)
        for name, flag in _RECORDING_FLAGS.items()
    ]
    refusing.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), *flags]
    )
    return refusing


def queue_view(queue: QueueRecord) -> dict[str, object]:
    return {"queue_id": queue.queue_id, "company_id": queue.company_id, "name": queue.name}


add_list_command(
    queue_app,
    lambda admin: admin.catalog.list_queues,
    Table(
        view=queue_view,
        columns=(
            Column("ID", lambda queue: queue.queue_id),
            Column("NAME", lambda queue: queue.name),
        ),
        empty="no queues",
    ),
    help="List the company's queues.",
)


@queue_app.command("create")
@_refusing_recording_flags
def queue_create(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The queue's name; flows route to it by name.")
    ],
    company: Company = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a queue.  Recording is never a queue's (R3): such flags are refused."""
    with administration(data_dir, database_url) as admin:
        acting = principal()
        queue = admin.catalog.create_queue(
            acting, name, company_id=company_of(admin, acting, company)
        )
    done = f"created queue {queue.name!r} ({queue.queue_id}) of company {queue.company_id}"
    print_result(as_json, queue_view(queue), done)


@queue_app.command("rename")
@_refusing_recording_flags
def queue_rename(
    queue_id: Annotated[
        str, typer.Argument(metavar="QUEUE_ID", help="The queue's id, as `queue list` shows it.")
    ],
    name: Annotated[
        str,
        typer.Argument(metavar="NAME", help="The new name; flows that route to the queue follow."),
    ],
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Rename a queue.  Recording is never a queue's (R3): such flags are refused."""
    with administration(data_dir, database_url) as admin:
        queue = admin.catalog.rename_queue(principal(), queue_id, name)
    print_result(as_json, queue_view(queue), f"renamed queue {queue.queue_id} to {queue.name!r}")


def service_view(service: ServiceRecord) -> dict[str, object]:
    return {
        "service_id": service.service_id,
        "company_id": service.company_id,
        "name": service.name,
        "flow_id": service.flow_id,
        "widget": f"/widget?service={service.service_id}",
        "hours": service.hours,
        "timezone": service.timezone,
        "closed_message": service.closed_message,
        "pre_chat_form": service.pre_chat_form,
    }


def _service_row(service: ServiceRecord) -> str:
    return f"{service.service_id:16}  {service.flow_id or '-':16}  {service.name}"


add_list_command(
    service_app,
    lambda admin: admin.catalog.list_services,
    Table(
        view=service_view,
        columns=(
            Column("ID", lambda service: service.service_id),
            Column("FLOW", lambda service: service.flow_id),
            Column("NAME", lambda service: service.name),
        ),
        empty="no services",
    ),
    help="List the company's services and the flow each runs.",
)


@service_app.command("create")
def service_create(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The service's name, as customers see it.")
    ],
    company: Company = None,
    flow: Annotated[
        str | None,
        typer.Option(
            "--flow",
            metavar="FLOW_ID",
            help="The id of the flow the service runs. Left out: none, and chats wait in the "
            "company's first queue.",
        ),
    ] = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a service, optionally running a flow of the company."""
    with administration(data_dir, database_url) as admin:
        acting = principal()
        service = admin.catalog.create_service(
            acting, name, flow, company_id=company_of(admin, acting, company)
        )
    print_result(as_json, service_view(service), _service_row(service))


@service_app.command("set")
def service_set(
    service_id: Annotated[
        str,
        typer.Argument(metavar="SERVICE_ID", help="The service's id, as `service list` shows it."),
    ],
    name: Annotated[
        str | None,
        typer.Option("--name", metavar="NAME", help="The service's new name. Left out: unchanged."),
    ] = None,
    flow: Annotated[
        str | None,
        typer.Option(
            "--flow",
            metavar="FLOW_ID",
            help="The id of the flow new chats run. Left out: unchanged.",
        ),
    ] = None,
    no_flow: Annotated[
        bool,
        typer.Option(
            "--no-flow", help="Run no flow from now on: new chats wait in the first queue."
        ),
    ] = False,
    hours: Annotated[
        str | None,
        typer.Option(
            "--hours",
            metavar="HOURS",
            help="Business hours, lines (or ';'-separated parts) such as 'Mon-Fri 09:00-17:30'; "
            "days not named are closed; '' for always open. Outside them no chat starts. "
            "Left out: unchanged.",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            metavar="ZONE",
            help="The hours' IANA time zone, such as Europe/Berlin. Left out: unchanged.",
        ),
    ] = None,
    closed_message: Annotated[
        str | None,
        typer.Option(
            "--closed-message",
            metavar="TEXT",
            help="What customers read while closed. Left out: unchanged.",
        ),
    ] = None,
    pre_chat_form: Annotated[
        str | None,
        typer.Option(
            "--pre-chat-form",
            metavar="JSON",
            help="The pre-chat form (R23): a JSON list of fields such as "
            '\'[{"key": "email", "label": "E-mail", "type": "email", "required": true}]\'; '
            "type text, email or select (with \"options\"); '[]' for no form. Left out: "
            "unchanged.",
        ),
    ] = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Rename a service, change the flow it runs (new chats start on the new flow), or
    set its business hours or pre-chat form."""
    if flow is not None and no_flow:
        fail("give --flow or --no-flow, not both")
    changes = (name, flow, hours, timezone, closed_message, pre_chat_form)
    if all(change is None for change in changes) and not no_flow:
        fail(
            "nothing to change: give --name, --flow, --no-flow, --hours, --timezone, "
            "--closed-message or --pre-chat-form"
        )
    form = None if pre_chat_form is None else _form_fields(pre_chat_form)
    with administration(data_dir, database_url) as admin:
        service = admin.catalog.update_service(
            principal(),
            service_id,
            name=name,
            flow_id=flow,
            clear_flow=no_flow,
            hours=None if hours is None else "\n".join(p.strip() for p in hours.split(";")),
            timezone=timezone,
            closed_message=closed_message,
            pre_chat_form=form,
        )
    print_result(as_json, service_view(service), _service_row(service))


def _form_fields(text: str) -> list[dict[str, Any]]:
    """The form's fields as given on the command line; what they say is the domain's to
    check, which names the field to fix."""
    try:
        fields = json.loads(text)
    except json.JSONDecodeError as error:
        fail(f"--pre-chat-form is not JSON: {error}")
    if not isinstance(fields, list) or not all(isinstance(f, dict) for f in fields):
        fail(
            "--pre-chat-form is a JSON list of fields, such as "
            '\'[{"key": "name", "label": "Name"}]\''
        )
    return fields
