"""The administration API for what a chat runs through: queues (R3), services, flows (R5b,
R10) and the recording platform (R16).

Queue requests are read as raw JSON first, so a recording setting named in one is
refused quoting R3 (not as an unknown field), and nothing else in the request applies.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chatrec.domain.roles import LoginRole
from chatrec.errors import ActionError, FlowError
from chatrec.services.access import company_for
from chatrec.services.admin.catalog import refuse_recording_on_queue
from chatrec.services.admin.destinations import DestinationSettings, destination_view
from chatrec.store.records import (
    DestinationRecord,
    FlowVersionRecord,
    QueueRecord,
    ServiceRecord,
)
from chatrec.web.errors import refusal, refusals
from chatrec.web.guard import Administrator, CompanyId, GuardedRoute, Overseer, Services

router = APIRouter(prefix="/api/admin", route_class=GuardedRoute)

Label = Annotated[str, Field(min_length=1, max_length=100)]
Source = Annotated[str, Field(min_length=1, max_length=100_000)]


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


class ServiceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Label
    flow_id: Annotated[str, Field(max_length=64)] | None = None


class ServiceUpdate(BaseModel):
    """Fields left out stay; ``flow_id`` ``null`` takes the flow away."""

    model_config = ConfigDict(extra="forbid")
    name: Label | None = None
    flow_id: Annotated[str, Field(max_length=64)] | None = None


WIDGET_TAG = '<script src="/static/widget.js" data-service="{service_id}" defer></script>'


class ServiceAdminRead(BaseModel):
    service_id: str
    name: str
    flow_id: str | None
    widget: str = Field(
        description="the tag that puts the service's chat widget on a web site; "
        "prefix `src` with this server's address"
    )


def service_read(service: ServiceRecord) -> ServiceAdminRead:
    return ServiceAdminRead(
        service_id=service.service_id,
        name=service.name,
        flow_id=service.flow_id,
        widget=WIDGET_TAG.format(service_id=service.service_id),
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
    )
    return service_read(updated)


# -- flows (R5b, R10) -----------------------------------------------------------------


class FlowSave(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: Source = Field(description="the flow in YAML or JSON")


class FlowPreviewCreate(FlowSave):
    answers: Annotated[list[Annotated[str, Field(max_length=2000)]], Field(max_length=50)] = []


class FlowRead(BaseModel):
    flow_id: str
    name: str
    version: int
    created_at: datetime
    source: str


class FlowVersionRead(BaseModel):
    version: int
    created_at: datetime


class FlowProblemRead(BaseModel):
    message: str
    line: int | None
    column: int | None
    location: str


class FlowCheckRead(BaseModel):
    valid: bool
    name: str | None = None
    problems: list[FlowProblemRead] = []


class FlowPreviewRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    lines: list[str]
    waiting_for: str | None
    routed_to: str | None
    ended: bool
    recordings: list[str] = Field(description="the reasons of the flow recordings it requests")


def flow_read(flow: FlowVersionRecord) -> FlowRead:
    return FlowRead(
        flow_id=flow.flow_id,
        name=flow.name,
        version=flow.version,
        created_at=flow.created_at,
        source=flow.source,
    )


FLOW_REFUSED = (
    "The request does not fit this schema, or the flow is refused: every problem, at its line"
)


@router.get("/flows", operation_id="listFlows", tags=["flows"])
def list_flows(
    principal: Administrator, services: Services, company_id: CompanyId = None
) -> list[FlowRead]:
    """The newest version of each flow."""
    return [flow_read(f) for f in services.admin.catalog.list_flows(principal, company_id)]


@router.post(
    "/flows",
    status_code=201,
    operation_id="createFlow",
    tags=["flows"],
    responses={**refusals(409), **refusal(422, FLOW_REFUSED)},
)
def create_flow(
    body: FlowSave, principal: Administrator, services: Services, company_id: CompanyId = None
) -> FlowRead:
    """A new flow, validated first: every problem comes back with its line."""
    saved = services.admin.catalog.save_flow(principal, body.source, company_id=company_id)
    return flow_read(saved)


@router.post("/flows/check", operation_id="checkFlow", tags=["flows"])
def check_flow(
    body: FlowSave, principal: Administrator, services: Services, company_id: CompanyId = None
) -> FlowCheckRead:
    """Validate without saving, for the editor: problems with their lines."""
    try:
        flow = services.admin.catalog.check_flow(principal, body.source, company_id)
    except FlowError as error:
        return FlowCheckRead(
            valid=False,
            problems=[
                FlowProblemRead(
                    message=p.message, line=p.line, column=p.column, location=p.location
                )
                for p in error.problems
            ],
        )
    return FlowCheckRead(valid=True, name=flow.name)


@router.post(
    "/flows/preview",
    operation_id="previewFlow",
    tags=["flows"],
    responses={**refusals(400), **refusal(422, FLOW_REFUSED)},
)
def preview_flow(
    body: FlowPreviewCreate,
    principal: Administrator,
    services: Services,
    company_id: CompanyId = None,
) -> FlowPreviewRead:
    """Run the flow on the given customer answers, without a chat (nothing is stored)."""
    preview = services.admin.catalog.preview(principal, body.source, body.answers, company_id)
    return FlowPreviewRead.model_validate(preview)


@router.get("/flows/{flow_id}", operation_id="getFlow", tags=["flows"])
def get_flow(
    flow_id: str,
    principal: Administrator,
    services: Services,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> FlowRead:
    return flow_read(services.admin.catalog.get_flow(principal, flow_id, version))


@router.get("/flows/{flow_id}/versions", operation_id="listFlowVersions", tags=["flows"])
def flow_versions(
    flow_id: str, principal: Administrator, services: Services
) -> list[FlowVersionRead]:
    return [
        FlowVersionRead(version=f.version, created_at=f.created_at)
        for f in services.admin.catalog.flow_versions(principal, flow_id)
    ]


@router.put(
    "/flows/{flow_id}",
    operation_id="saveFlow",
    tags=["flows"],
    responses={**refusals(409), **refusal(422, FLOW_REFUSED)},
)
def save_flow(
    flow_id: str, body: FlowSave, principal: Administrator, services: Services
) -> FlowRead:
    """Keep a new version; chats already running stay on the version they started on."""
    saved = services.admin.catalog.save_flow(principal, body.source, flow_id=flow_id)
    return flow_read(saved)


# -- the recording platform (R16, R18) ------------------------------------------------


class DestinationUpdate(BaseModel):
    """Secrets left out keep the stored ones; a new password replaces a key and back."""

    model_config = ConfigDict(extra="forbid")
    host: Annotated[str, Field(min_length=1, max_length=255)]
    port: Annotated[int, Field(ge=1, le=65535)] = 22
    username: Annotated[str, Field(min_length=1, max_length=100)]
    folder: Annotated[str, Field(min_length=1, max_length=1000)]
    host_key: Annotated[str, Field(max_length=20_000)] = Field(
        "", description="the pinned server key, known_hosts form; empty until you pin one"
    )
    password: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    private_key: Annotated[str, Field(min_length=1, max_length=20_000)] | None = None
    done_marker: bool = False
    verify_after_rename: bool = True

    def settings(self) -> DestinationSettings:
        return DestinationSettings(**self.model_dump())


class DestinationAdminRead(BaseModel):
    host: str
    port: int
    username: str
    folder: str
    host_key: str
    has_password: bool
    has_private_key: bool
    done_marker: bool
    verify_after_rename: bool
    blocked_reason: str | None
    blocked_at: datetime | None


class ProbeStepRead(BaseModel):
    name: str
    ok: bool
    detail: str
    host_key: str | None = Field(default=None, description="the key the server showed, to pin")


class ConnectionTestRead(BaseModel):
    ok: bool
    steps: list[ProbeStepRead]


class ConnectionTestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    settings: DestinationUpdate | None = Field(
        None, description="unsaved settings to test; left out: the saved destination"
    )


def destination_read(record: DestinationRecord) -> DestinationAdminRead:
    view = destination_view(record)
    return DestinationAdminRead(
        host=record.host,
        port=record.port,
        username=record.username,
        folder=record.folder,
        host_key=record.host_key,
        has_password=view["password"] is not None,
        has_private_key=view["private_key"] is not None,
        done_marker=record.done_marker,
        verify_after_rename=record.verify_after_rename,
        blocked_reason=record.blocked_reason,
        blocked_at=record.blocked_at,
    )


@router.get("/destination", operation_id="getDestination", tags=["recording platform"])
def get_destination(
    principal: Administrator, services: Services, company_id: CompanyId = None
) -> DestinationAdminRead | None:
    """The recording platform, without its secrets; ``null`` when none is set up."""
    found = services.admin.destinations.get(principal, company_id)
    return None if found is None else destination_read(found)


@router.put(
    "/destination",
    operation_id="setDestination",
    tags=["recording platform"],
    responses=refusals(400),
)
def set_destination(
    body: DestinationUpdate,
    principal: Administrator,
    services: Services,
    company_id: CompanyId = None,
) -> DestinationAdminRead:
    """Save the platform; blocked deliveries go again at once (R16)."""
    saved = services.admin.destinations.set(principal, body.settings(), company_id)
    services.worker.notify()
    return destination_read(saved)


@router.post(
    "/destination/test",
    operation_id="testDestination",
    tags=["recording platform"],
    responses=refusals(400, 429),
)
async def check_connection(
    body: ConnectionTestCreate,
    principal: Administrator,
    services: Services,
    company_id: CompanyId = None,
) -> ConnectionTestRead:
    """Connect, check the host key, log in, write, rename and delete a probe file.

    Only to addresses the operator's egress policy allows, within
    ``CHATREC_CONNECTION_TEST_SECONDS``, and so many a minute and at once per company
    (then ``429`` with ``Retry-After``).  Every failure before SSH answers the same."""
    company = company_for(principal, company_id, LoginRole.ADMINISTRATOR)
    limiter = services.connection_tests
    with limiter.slot(company):
        prober = services.new_prober()
        try:
            steps = await services.admin.destinations.test(
                principal,
                prober,
                body.settings.settings() if body.settings else None,
                company_id,
                within=limiter.seconds,
            )
        finally:
            await prober.close()
    return ConnectionTestRead(
        ok=all(step.ok for step in steps),
        steps=[
            ProbeStepRead(name=s.name, ok=s.ok, detail=s.detail, host_key=s.host_key) for s in steps
        ],
    )
