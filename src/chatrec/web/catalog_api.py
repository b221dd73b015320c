"""The administration API for queues (R3) and services: what a customer's chat enters by.

Queue requests are read as raw JSON first, so a recording setting named in one is
refused quoting R3 (not as an unknown field), and nothing else in the request applies.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chatrec.errors import ActionError
from chatrec.services.admin.catalog import refuse_recording_on_queue
from chatrec.store.records import (
    QueueRecord,
    ServiceRecord,
)
from chatrec.web.errors import refusal, refusals
from chatrec.web.guard import Administrator, CompanyId, GuardedRoute, Overseer, Services

router = APIRouter(prefix="/api/admin", route_class=GuardedRoute)

Label = Annotated[str, Field(min_length=1, max_length=100)]


# -- queues (R3) ----------------------------------------------------------------------


class QueueCreate(BaseModel):
    """A queue is a name: it has no recording settings at all (R3)."""

    model_config = ConfigDict(extra="forbid")
    name: Label


class QueueRead(BaseModel):
    queue_id: str
    name: str


def _queue_body(body: Any) -> QueueCreate:
    if isinstance(body, dict):
        refuse_recording_on_queue(body)
    try:
        return QueueCreate.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ActionError(f"{where}: {first['msg']}") from error


QueueBody = Annotated[
    Any,
    Body(
        openapi_examples={"queue": {"value": {"name": "Claims"}}},
        description='`{"name": ...}`; any recording key is refused (R3)',
    ),
]


def queue_read(queue: QueueRecord) -> QueueRead:
    return QueueRead(queue_id=queue.queue_id, name=queue.name)


QUEUE_REFUSED = (
    'The body is not a queue, `{"name": ...}` (code refused), or could not be read '
    "(code bad_request)"
)
QUEUE_RECORDING = (
    "The request does not fit this schema, or names a recording setting "
    "(code recording_on_queue, R3): nothing of it applies"
)


@router.get("/queues", operation_id="listQueues", tags=["queues"])
def list_queues(
    principal: Overseer, services: Services, company_id: CompanyId = None
) -> list[QueueRead]:
    return [queue_read(q) for q in services.admin.catalog.list_queues(principal, company_id)]


@router.post(
    "/queues",
    status_code=201,
    operation_id="createQueue",
    tags=["queues"],
    responses={**refusal(400, QUEUE_REFUSED), **refusals(409), **refusal(422, QUEUE_RECORDING)},
)
def create_queue(
    body: QueueBody, principal: Administrator, services: Services, company_id: CompanyId = None
) -> QueueRead:
    """A new queue; naming a recording setting is refused (R3)."""
    name = _queue_body(body).name
    return queue_read(services.admin.catalog.create_queue(principal, name, company_id=company_id))


@router.patch(
    "/queues/{queue_id}",
    operation_id="renameQueue",
    tags=["queues"],
    responses={**refusal(400, QUEUE_REFUSED), **refusals(409), **refusal(422, QUEUE_RECORDING)},
)
def rename_queue(
    queue_id: str, body: QueueBody, principal: Administrator, services: Services
) -> QueueRead:
    """Rename a queue; naming a recording setting is refused (R3)."""
    name = _queue_body(body).name
    return queue_read(services.admin.catalog.rename_queue(principal, queue_id, name))


# -- services -------------------------------------------------------------------------


class FormFieldBody(BaseModel):
    """One field of a service's pre-chat form (R23; issue 15)."""

    model_config = ConfigDict(extra="forbid")
    key: str = Field(
        max_length=32,
        description="lower-case letters, digits and _; 'name' (text) and 'email' (email) are "
        "the customer's name and e-mail, which finds their earlier chats",
    )
    label: str = Field(max_length=100, description="what the customer reads beside the field")
    type: Literal["text", "email", "select"] = "text"
    required: bool = False
    options: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=30, description="a select's choices; none otherwise"
    )


FORM = (
    "the pre-chat form (issue 15): the fields the widget asks before the chat starts, each "
    "optional or required and checked again when the chat starts; empty: no form"
)


class ServiceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Label
    flow_id: Annotated[str, Field(max_length=64)] | None = None


class ServiceUpdate(BaseModel):
    """Fields left out stay; ``flow_id`` ``null`` takes the flow away."""

    model_config = ConfigDict(extra="forbid")
    name: Label | None = None
    flow_id: Annotated[str, Field(max_length=64)] | None = None
    hours: Annotated[str, Field(max_length=2000, description=HOURS)] | None = None
    timezone: Annotated[str, Field(min_length=1, max_length=64, description=ZONE)] | None = None
    closed_message: Annotated[str, Field(max_length=500, description=CLOSED)] | None = None
    pre_chat_form: Annotated[list[FormFieldBody], Field(max_length=20, description=FORM)] | None = (
        None
    )


HOURS = (
    "business hours (issue 15), one line per day or days, such as 'Mon-Fri 09:00-17:30'; "
    "days not named are closed; empty: always open. Outside them no chat starts"
)
ZONE = "the hours' IANA time zone, such as Europe/Berlin; UTC unless given"
CLOSED = "what a customer reads outside the hours (up to 500 characters)"

WIDGET_TAG = '<script src="/static/widget.js" data-service="{service_id}" defer></script>'


class ServiceAdminRead(BaseModel):
    service_id: str
    name: str
    flow_id: str | None
    widget: str = Field(
        description="the tag that puts the service's chat widget on a web site; "
        "prefix `src` with this server's address"
    )
    hours: str = Field(description=HOURS)
    timezone: str = Field(description=ZONE)
    closed_message: str = Field(description=CLOSED)
    pre_chat_form: list[FormFieldBody] = Field(description=FORM)


def service_read(service: ServiceRecord) -> ServiceAdminRead:
    return ServiceAdminRead(
        service_id=service.service_id,
        name=service.name,
        flow_id=service.flow_id,
        widget=WIDGET_TAG.format(service_id=service.service_id),
        hours=service.hours,
        timezone=service.timezone,
        closed_message=service.closed_message,
        pre_chat_form=[FormFieldBody.model_validate(f) for f in service.pre_chat_form],
    )


@router.get("/services", operation_id="listServices", tags=["services"])
def list_services(
    principal: Overseer, services: Services, company_id: CompanyId = None
) -> list[ServiceAdminRead]:
    return [service_read(s) for s in services.admin.catalog.list_services(principal, company_id)]


@router.post(
    "/services",
    status_code=201,
    operation_id="createService",
    tags=["services"],
    responses=refusals(400, 409),
)
def create_service(
    body: ServiceCreate, principal: Administrator, services: Services, company_id: CompanyId = None
) -> ServiceAdminRead:
    created = services.admin.catalog.create_service(
        principal, body.name, body.flow_id, company_id=company_id
    )
    return service_read(created)


@router.patch(
    "/services/{service_id}",
    operation_id="updateService",
    tags=["services"],
    responses=refusals(400, 409),
)
def update_service(
    service_id: str, body: ServiceUpdate, principal: Administrator, services: Services
) -> ServiceAdminRead:
    given = body.model_fields_set
    updated = services.admin.catalog.update_service(
        principal,
        service_id,
        name=body.name,
        flow_id=body.flow_id,
        clear_flow="flow_id" in given and body.flow_id is None,
        hours=body.hours,
        timezone=body.timezone,
        closed_message=body.closed_message,
        pre_chat_form=(
            None if body.pre_chat_form is None else [f.model_dump() for f in body.pre_chat_form]
        ),
    )
    return service_read(updated)
