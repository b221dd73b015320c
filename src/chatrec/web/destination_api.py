"""The administration API for the recording platform (R16, R18): where recordings go,
its secrets never read back, and the limited Test connection."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from chatrec.domain.roles import LoginRole
from chatrec.services.access import company_for
from chatrec.services.admin.destinations import DestinationSettings, destination_view
from chatrec.store.records import (
    DestinationRecord,
)
from chatrec.web.errors import refusals
from chatrec.web.guard import Administrator, CompanyId, GuardedRoute, Services

router = APIRouter(prefix="/api/admin", route_class=GuardedRoute)


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
