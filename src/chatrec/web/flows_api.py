"""The administration API for chat flows (R5b, R10): versions, checks and previews."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from chatrec.errors import FlowError
from chatrec.store.records import (
    FlowVersionRecord,
)
from chatrec.web.errors import refusal, refusals
from chatrec.web.guard import Administrator, CompanyId, GuardedRoute, Services

router = APIRouter(prefix="/api/admin", route_class=GuardedRoute)

Source = Annotated[str, Field(min_length=1, max_length=100_000)]


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
