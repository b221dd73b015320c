"""Canned responses over HTTP (R18, R23; issue 15): what a composer offers any staff
login, each login's own under ``/api/me``, and the company's under ``/api/admin``.

The two roads are apart so an API token's scope reads plainly: a ``chat`` token may
change its login's own responses, only a ``full`` one the company's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from chatrec.domain.canned import MAX_NAME, MAX_TEXT
from chatrec.services.admin.canned import CannedResponses
from chatrec.store.records import CannedResponseRecord
from chatrec.web.errors import refusals
from chatrec.web.guard import (
    Administrator,
    CompanyId,
    GuardedRoute,
    Overseer,
    Services,
    StaffPrincipal,
)

router = APIRouter(prefix="/api", route_class=GuardedRoute, tags=["canned responses"])

Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_NAME,
        description="the shortcut typed after `/` in the composer: letters, digits, `-`, `_`, "
        "`.`; unique per owner whatever its case",
    ),
]
Text = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_TEXT,
        description="what is inserted; placeholders `{customer_name}`, `{agent_name}`, "
        "`{company_name}` are filled in then, any other is refused",
    ),
]


class CannedResponseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    text: Text


class CannedResponseUpdate(BaseModel):
    """Fields left out stay."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    text: Text | None = None


class CannedResponseRead(BaseModel):
    response_id: str
    scope: str = Field(description="`company` (the administrators') or `personal` (yours)")
    name: str
    text: str
    created_at: datetime
    updated_at: datetime


class OfferedResponse(CannedResponseRead):
    preview: str = Field(
        description="the text with its placeholders filled for you, the customer unknown"
    )


class CannedResponsesRead(BaseModel):
    responses: list[OfferedResponse]
    values: dict[str, str] = Field(
        description="what each placeholder reads for you: `customer_name` is `there` until "
        "the customer's name is known"
    )


def canned_read(response: CannedResponseRecord) -> CannedResponseRead:
    return CannedResponseRead(
        response_id=response.response_id,
        scope="company" if response.owner_id is None else "personal",
        name=response.name,
        text=response.text,
        created_at=response.created_at,
        updated_at=response.updated_at,
    )


def offered_read(offered: CannedResponses) -> CannedResponsesRead:
    return CannedResponsesRead(
        responses=[
            OfferedResponse(**canned_read(r).model_dump(), preview=offered.preview(r))
            for r in offered.responses
        ],
        values=offered.values,
    )


# -- what the composer offers, and one's own ----------------------------------------


@router.get("/canned-responses", operation_id="listCannedResponses")
def list_canned_responses(principal: StaffPrincipal, services: Services) -> CannedResponsesRead:
    """The company's canned responses and your own, by name, for the composer's `/`."""
    return offered_read(services.admin.canned.list_for(principal))


@router.post(
    "/me/canned-responses",
    status_code=201,
    operation_id="createOwnCannedResponse",
    responses=refusals(409),
)
def create_own(
    body: CannedResponseCreate, principal: StaffPrincipal, services: Services
) -> CannedResponseRead:
    """A canned response of your own: nobody else sees it (at most 100)."""
    made = services.admin.canned.create(principal, body.name, body.text, personal=True)
    return canned_read(made)


@router.patch(
    "/me/canned-responses/{response_id}",
    operation_id="updateOwnCannedResponse",
    responses=refusals(409),
)
def update_own(
    response_id: str, body: CannedResponseUpdate, principal: StaffPrincipal, services: Services
) -> CannedResponseRead:
    changed = services.admin.canned.update(
        principal, response_id, personal=True, name=body.name, text=body.text
    )
    return canned_read(changed)


@router.delete(
    "/me/canned-responses/{response_id}",
    status_code=204,
    operation_id="deleteOwnCannedResponse",
)
def delete_own(response_id: str, principal: StaffPrincipal, services: Services) -> None:
    services.admin.canned.delete(principal, response_id, personal=True)


# -- the company's: supervisors read, administrators change (audited) ----------------


@router.get("/admin/canned-responses", operation_id="listCompanyCannedResponses")
def list_company(
    principal: Overseer, services: Services, company_id: CompanyId = None
) -> list[CannedResponseRead]:
    return [canned_read(r) for r in services.admin.canned.list_company(principal, company_id)]


@router.post(
    "/admin/canned-responses",
    status_code=201,
    operation_id="createCompanyCannedResponse",
    responses=refusals(409),
)
def create_company(
    body: CannedResponseCreate,
    principal: Administrator,
    services: Services,
    company_id: CompanyId = None,
) -> CannedResponseRead:
    """A canned response every staff login of the company is offered (at most 200)."""
    made = services.admin.canned.create(
        principal, body.name, body.text, personal=False, company_id=company_id
    )
    return canned_read(made)


@router.patch(
    "/admin/canned-responses/{response_id}",
    operation_id="updateCompanyCannedResponse",
    responses=refusals(409),
)
def update_company(
    response_id: str, body: CannedResponseUpdate, principal: Administrator, services: Services
) -> CannedResponseRead:
    changed = services.admin.canned.update(
        principal, response_id, personal=False, name=body.name, text=body.text
    )
    return canned_read(changed)


@router.delete(
    "/admin/canned-responses/{response_id}",
    status_code=204,
    operation_id="deleteCompanyCannedResponse",
)
def delete_company(response_id: str, principal: Administrator, services: Services) -> None:
    services.admin.canned.delete(principal, response_id, personal=False)
