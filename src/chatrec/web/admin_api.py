"""The administration API: companies, logins, recording settings and the audit trail (R1, R4,
R6, R7, R15, R17, R18).

Every route here is a thin adapter over ``services.admin``, which checks access and
audits; routes run in the thread pool because the store is synchronous.  Who may call
a route is its caller parameter's type (``web.guard``), checked before its input.
Operators name the company with ``?company_id=``; everyone else acts on their own
company.  A company's settings are the company itself, ``/api/admin/companies/{id}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from chatrec.domain.settings import Product, RecordingFormat, VconDraft
from chatrec.errors import TemplateError
from chatrec.services.access import Principal
from chatrec.services.admin.audit import csv_chunks, json_chunks
from chatrec.services.admin.companies import preview_template, recording_status
from chatrec.services.admin.users import UserChanges
from chatrec.store.records import AuditRecord, CompanyRecord, UserRecord
from chatrec.web.container import Container
from chatrec.web.errors import refusal, refusals
from chatrec.web.guard import (
    Administrator,
    CompanyId,
    GuardedRoute,
    Operator,
    Overseer,
    Role,
    Services,
    StaffPrincipal,
)
from chatrec.web.paging import Cursor, Limit, Page, page_of, read_cursor

router = APIRouter(prefix="/api/admin", route_class=GuardedRoute)

Name = Annotated[str, Field(min_length=1, max_length=200)]
VCON_DRAFT = (
    "which vCon draft vcon files follow (R15): core, the current one, or container, for QA "
    "platforms that read the earlier drafts, as the vcon library 0.3 on PyPI does"
)
REQUIRE_TOTP = (
    "every login of the company signs in with a TOTP code too; one without sets it up at "
    "its next sign-in (R18)"
)
Percentage = Annotated[int, Field(ge=0, le=100)]
Capacity = Annotated[int, Field(ge=1, le=50)]


# -- companies (operators) and the company's settings ---------------------------------


class CompanyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    company_id: Annotated[str, Field(min_length=2, max_length=40)]
    name: Name
    products: list[Product] = []


class ProductsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    products: list[Product]


class CompanyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    default_template: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    formats: list[RecordingFormat] | None = None
    retention_seconds: Annotated[int, Field(ge=0)] | None = None
    vcon_draft: VconDraft | None = Field(default=None, description=VCON_DRAFT)
    require_totp: bool | None = Field(default=None, description=REQUIRE_TOTP)


class CompanyRead(BaseModel):
    company_id: str
    name: str
    products: list[Product]
    records: bool = Field(description="whether chats are recorded at all (R1)")
    recording_status: str = Field(description="why, in one sentence (R1)")
    default_template: str
    template_preview: str = Field(description="the default template on a sample chat (R6)")
    formats: list[RecordingFormat]
    retention_seconds: int
    vcon_draft: VconDraft = Field(description=VCON_DRAFT)
    require_totp: bool = Field(description=REQUIRE_TOTP)


def company_read(company: CompanyRecord) -> CompanyRead:
    status = recording_status(company)
    return CompanyRead(
        company_id=company.company_id,
        name=company.name,
        products=sorted(Product(p) for p in company.products),
        records=status.records,
        recording_status=status.sentence,
        default_template=company.default_template,
        template_preview=preview_template(company.default_template),
        formats=sorted(RecordingFormat(f) for f in company.formats),
        retention_seconds=company.retention_seconds,
        vcon_draft=VconDraft(company.vcon_draft),
        require_totp=company.require_totp,
    )


@router.get("/companies", operation_id="listCompanies", tags=["companies"])
def list_companies(principal: Operator, services: Services) -> list[CompanyRead]:
    """Every tenant company (operators only)."""
    return [company_read(c) for c in services.admin.companies.list_companies(principal)]


@router.post(
    "/companies",
    status_code=201,
    operation_id="createCompany",
    tags=["companies"],
    responses=refusals(400, 409),
)
def create_company(body: CompanyCreate, principal: Operator, services: Services) -> CompanyRead:
    """A new company (operators only); give it products to record (R1)."""
    company = services.admin.companies.create(principal, body.company_id, body.name, body.products)
    return company_read(company)


@router.put(
    "/companies/{company_id}/products",
    operation_id="provisionCompany",
    tags=["companies"],
    responses=refusals(400),
)
def provision(
    company_id: str, body: ProductsUpdate, principal: Operator, services: Services
) -> CompanyRead:
    """Provision the company (operators only): without both products nothing is recorded (R1)."""
    return company_read(services.admin.companies.provision(principal, company_id, body.products))


@router.get("/companies/{company_id}", operation_id="getCompany", tags=["companies"])
def get_company(company_id: str, principal: Overseer, services: Services) -> CompanyRead:
    """The company's recording settings and whether it records at all (R1); its own
    administrators and supervisors read it, operators any company's."""
    return company_read(services.admin.companies.get(principal, company_id))


TEMPLATE_REFUSED = "The request does not fit this schema, or the template is refused (R6)"


@router.patch(
    "/companies/{company_id}",
    operation_id="updateCompany",
    tags=["companies"],
    responses={**refusals(400), **refusal(422, TEMPLATE_REFUSED)},
)
def update_company(
    company_id: str, body: CompanyUpdate, principal: Administrator, services: Services
) -> CompanyRead:
    """Change name, default filename template (R6), formats (R15), retention (R17) or
    whether two-factor sign-in is required (R18)."""
    return _update_company(principal, services, company_id, body)


@router.get(
    "/company",
    operation_id="getOwnCompanyDeprecated",
    tags=["companies"],
    deprecated=True,
    description="Moved to `GET /api/admin/companies/{company_id}`.",
)
def get_own_company(
    principal: Overseer, services: Services, company_id: CompanyId = None
) -> CompanyRead:
    return company_read(services.admin.companies.get(principal, company_id))


@router.patch(
    "/company",
    operation_id="updateOwnCompanyDeprecated",
    tags=["companies"],
    deprecated=True,
    description="Moved to `PATCH /api/admin/companies/{company_id}`.",
    responses={**refusals(400), **refusal(422, TEMPLATE_REFUSED)},
)
def update_own_company(
    body: CompanyUpdate, principal: Administrator, services: Services, company_id: CompanyId = None
) -> CompanyRead:
    return _update_company(principal, services, company_id, body)


def _update_company(
    principal: Principal, services: Container, company_id: str | None, body: CompanyUpdate
) -> CompanyRead:
    company = services.admin.companies.update(
        principal,
        company_id,
        name=body.name,
        default_template=body.default_template,
        formats=body.formats,
        retention_seconds=body.retention_seconds,
        vcon_draft=body.vcon_draft,
        require_totp=body.require_totp,
    )
    return company_read(company)


class TemplatePreviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: Annotated[str, Field(max_length=500)]


class TemplatePreviewRead(BaseModel):
    template: str
    valid: bool
    preview: str | None = Field(default=None, description="the name a sample chat's recording gets")
    problem: str | None = None
    position: int | None = Field(default=None, description="0-based position of the problem")
    sample: dict[str, str]


@router.post("/template-preview", operation_id="previewTemplate", tags=["companies"])
def template_preview(
    body: TemplatePreviewCreate, principal: StaffPrincipal, services: Services
) -> TemplatePreviewRead:
    """Validate a filename template and show the name it gives a sample chat (R6)."""
    chat = services.admin.companies.template_sample(principal)
    sample = {
        "company": chat.company,
        "service": chat.service,
        "queue": chat.queue or "",
        "agent": chat.agent or "",
        "chat_id": chat.chat_id,
        "started_at": chat.started_at.isoformat(),
    }
    try:
        preview = preview_template(body.template, chat)
    except TemplateError as error:
        return TemplatePreviewRead(
            template=body.template,
            valid=False,
            problem=error.problem,
            position=error.position,
            sample=sample,
        )
    return TemplatePreviewRead(template=body.template, valid=True, preview=preview, sample=sample)


# -- user logins (R4, R7, R12a) -------------------------------------------------------


class UserAdminRead(BaseModel):
    user_id: str
    company_id: str
    login: str
    name: str
    role: Role
    disabled: bool
    locked: bool = Field(
        description="an address made too many wrong sign-ins: it waits until locked_until"
    )
    locked_until: datetime | None
    must_change_password: bool = Field(description="must choose a password at next sign-in")
    totp_enabled: bool = Field(description="signs in with a TOTP code too")
    permit_recordings: bool
    record_chats: bool
    record_percentage: int
    capacity: int


def user_admin_read(user: UserRecord) -> UserAdminRead:
    # A lock that ran out stays stored until the next login; it no longer holds.
    locked = user.locked_until is not None and user.locked_until > datetime.now(UTC)
    return UserAdminRead(
        user_id=user.user_id,
        company_id=user.company_id,
        login=user.login,
        name=user.name,
        role=user.role,
        disabled=user.disabled,
        locked=locked,
        locked_until=user.locked_until if locked else None,
        must_change_password=user.must_change_password,
        totp_enabled=user.totp_enabled,
        permit_recordings=user.permit_recordings,
        record_chats=user.record_chats,
        record_percentage=user.record_percentage,
        capacity=user.capacity,
    )


class UserUpdate(BaseModel):
    """Fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    role: Literal["administrator", "supervisor", "agent"] | None = None
    disabled: bool | None = None
    permit_recordings: bool | None = Field(default=None, description="R12a")
    record_chats: bool | None = Field(default=None, description="R4")
    record_percentage: Percentage | None = Field(default=None, description="R7")
    capacity: Capacity | None = None

    def changes(self) -> UserChanges:
        return UserChanges(**self.model_dump())


class UserCreate(UserUpdate):
    login: Annotated[str, Field(min_length=1, max_length=100)]
    name: Name
    role: Literal["administrator", "supervisor", "agent"]
    password: Annotated[str, Field(min_length=10, max_length=1000)] | None = Field(
        default=None, description="left out: one is generated and returned once"
    )


class UserCreated(BaseModel):
    user: UserAdminRead
    password: str = Field(description="the first password: shown this once")


class UsersBulkUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_ids: Annotated[
        list[Annotated[str, Field(max_length=64)]], Field(min_length=1, max_length=1000)
    ]
    changes: UserUpdate


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Annotated[str, Field(min_length=10, max_length=1000)] | None = Field(
        default=None, description="left out: one is generated and returned once"
    )


@router.get("/users", operation_id="listUsers", tags=["users"])
def list_users(
    principal: Administrator, services: Services, company_id: CompanyId = None
) -> list[UserAdminRead]:
    return [user_admin_read(u) for u in services.admin.users.list_users(principal, company_id)]


@router.post(
    "/users",
    status_code=201,
    operation_id="createUser",
    tags=["users"],
    responses=refusals(400, 409),
)
def create_user(
    body: UserCreate, principal: Administrator, services: Services, company_id: CompanyId = None
) -> UserCreated:
    user, password = services.admin.users.create(
        principal,
        body.login,
        body.name,
        body.role,
        company_id=company_id,
        password=body.password,
        changes=UserChanges(**body.model_dump(exclude={"login", "password", "name", "role"})),
    )
    return UserCreated(user=user_admin_read(user), password=password)


@router.get("/users/{user_id}", operation_id="getUser", tags=["users"])
def get_user(user_id: str, principal: Administrator, services: Services) -> UserAdminRead:
    return user_admin_read(services.admin.users.get(principal, user_id))


@router.patch(
    "/users/{user_id}", operation_id="updateUser", tags=["users"], responses=refusals(400, 409)
)
def update_user(
    user_id: str, body: UserUpdate, principal: Administrator, services: Services
) -> UserAdminRead:
    """Changes to Permit Recordings and percentage apply to chats joined afterwards (R7)."""
    return user_admin_read(services.admin.users.update(principal, user_id, body.changes()))


@router.post(
    "/users/bulk", operation_id="updateUsers", tags=["users"], responses=refusals(400, 404, 409)
)
def update_users(
    body: UsersBulkUpdate, principal: Administrator, services: Services
) -> list[UserAdminRead]:
    """The same changes to many logins, all or none."""
    users = services.admin.users.update_many(principal, body.user_ids, body.changes.changes())
    return [user_admin_read(u) for u in users]


@router.post(
    "/users/{user_id}/password",
    operation_id="resetPassword",
    tags=["users"],
    responses=refusals(400),
)
def reset_password(
    user_id: str, body: PasswordReset, principal: Administrator, services: Services
) -> UserCreated:
    """A new password; unlocks the login and ends its sessions.  The user must choose a
    password of their own at next sign-in (unless they reset their own)."""
    user, password = services.admin.users.reset_password(principal, user_id, body.password)
    return UserCreated(user=user_admin_read(user), password=password)


@router.delete("/users/{user_id}/totp", operation_id="resetTotp", tags=["users"])
def reset_totp(user_id: str, principal: Administrator, services: Services) -> UserAdminRead:
    """Turn the login's TOTP off and forget its recovery codes (a lost phone); where the
    company requires it, the user sets it up again at next sign-in."""
    return user_admin_read(services.admin.users.reset_second_factor(principal, user_id))


# -- the audit trail ------------------------------------------------------------------


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    at: datetime
    actor: str
    action: str
    chat_id: str | None
    detail: dict[str, object]


def _audit_read(line: tuple[int, AuditRecord]) -> AuditRead:
    return AuditRead.model_validate(line[1])


@router.get("/audit-entries", operation_id="listAuditEntries", tags=["audit"])
def list_audit_entries(
    principal: Administrator,
    services: Services,
    company_id: CompanyId = None,
    chat_id: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[AuditRead]:
    """The audit trail, newest first, a page at a time: changes, staff recording actions,
    decisions; optionally only about one chat, or since a time."""
    before = read_cursor(cursor, "audit-entries", (datetime, int))
    found = services.admin.audit.page(
        principal, company_id, chat_id=chat_id, since=since, before=before, limit=limit + 1
    )
    return page_of("audit-entries", found, limit, lambda line: (line[1].at, line[0]), _audit_read)


@router.get(
    "/audit",
    operation_id="listAuditDeprecated",
    tags=["audit"],
    deprecated=True,
    description="Replaced by `GET /api/admin/audit-entries`, newest first, a page at a time.",
)
def audit(
    principal: Administrator,
    services: Services,
    company_id: CompanyId = None,
    chat_id: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 500,
) -> list[AuditRead]:
    """The newest audit lines, oldest first."""
    entries = services.admin.audit.read(
        principal, company_id, chat_id=chat_id, since=since, limit=limit
    )
    return [AuditRead.model_validate(entry) for entry in entries]


DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}, "application/json": {}}}
}


@router.get(
    "/audit-entries/export",
    operation_id="exportAuditEntries",
    tags=["audit"],
    response_class=Response,
    responses=DOWNLOAD,
)
@router.get(
    "/audit/export",
    operation_id="exportAuditDeprecated",
    tags=["audit"],
    response_class=Response,
    responses=DOWNLOAD,
    deprecated=True,
    description="Moved to `GET /api/admin/audit-entries/export`.",
)
def export_audit(
    principal: Administrator,
    services: Services,
    company_id: CompanyId = None,
    format: Literal["csv", "json"] = "csv",
    since: datetime | None = None,
) -> Response:
    """The whole audit trail (or since a time), oldest first, as a CSV or JSON download,
    streamed: read from the database a page at a time while it is sent."""
    pages = services.admin.audit.export(principal, company_id, since=since)
    chunks = csv_chunks(pages) if format == "csv" else json_chunks(pages)
    media = "text/csv" if format == "csv" else "application/json"
    return StreamingResponse(
        chunks,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="chatrec-audit.{format}"'},
    )
