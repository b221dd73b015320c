"""The administration API of companies and their recording settings (R1, R6, R15, R17, R18,
R22).

Every route here is a thin adapter over ``services.admin``, which checks access and
audits; routes run in the thread pool because the store is synchronous.  Who may call
a route is its caller parameter's type (``web.guard``), checked before its input.
Operators name the company with ``?company_id=``; everyone else acts on their own
company.  A company's settings are the company itself, ``/api/admin/companies/{id}``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from chatrec.domain.attachments import DEFAULT_MAX_BYTES, KNOWN_TYPES, MAX_ATTACHMENT_BYTES
from chatrec.domain.masking import MAX_NAME_LENGTH, MAX_PATTERN_LENGTH, MAX_PATTERNS, MaskPattern
from chatrec.domain.settings import Product, RecordingFormat, VconDraft
from chatrec.errors import TemplateError
from chatrec.services.access import Principal
from chatrec.services.admin.companies import preview_template, recording_status, try_masking
from chatrec.store.records import CompanyRecord
from chatrec.web.container import Container
from chatrec.web.errors import refusal, refusals
from chatrec.web.fields import Name
from chatrec.web.guard import (
    Administrator,
    CompanyId,
    GuardedRoute,
    Operator,
    Overseer,
    Services,
    StaffPrincipal,
)

router = APIRouter(prefix="/api/admin", route_class=GuardedRoute)

VCON_DRAFT = (
    "which vCon draft vcon files follow (R15): core, the current one, or container, for QA "
    "platforms that read the earlier drafts, as the vcon library 0.3 on PyPI does"
)
REQUIRE_TOTP = (
    "every login of the company signs in with a TOTP code too; one without sets it up at "
    "its next sign-in (R18)"
)
MASK_CARD_NUMBERS = (
    "payment card numbers in every message are masked to their last four digits before "
    "anything keeps or shows them (R22); on unless an administrator turns it off, which is "
    "audited. A change applies to chats that start after it"
)
TYPING_PREVIEW = (
    "agents see what the customer types before they send it, masked as a message is (R22); "
    "never recorded (R23). Off unless turned on; the widget tells the customer. A change "
    "applies to chats that start after it"
)
RECORD_INTERNAL_NOTES = (
    "staff's internal notes are in the chat's recordings, marked internal (R23); on unless "
    "turned off. Notes never reach the customer either way. A change applies to chats that "
    "start after it"
)
WRAP_UP_CODES = (
    "the codes staff choose from to say what a chat was about (R23), in the order shown; "
    "the last chosen before the end is in the recordings' metadata and sidecar. At most 50, "
    "each 1 to 60 characters, none twice (case and spacing aside). A change applies to chats "
    "that start after it"
)
WRAP_UP_REQUIRED = (
    "an agent must choose a wrap-up code before ending a chat themselves (R23); a chat the "
    "customer or the inactivity timeout ends is recorded without one if none was chosen"
)
ANSWER_TARGET = (
    "the supervisors' dashboard counts a chat as answered in time when an agent takes it "
    "within this many seconds of its start: 1 to 3600, 60 unless changed"
)
ATTACHMENTS_ENABLED = (
    "customers and staff may send files in chats (R23); on unless turned off. A file sent "
    "while recording is paused is in no recording (R8); the others are delivered beside it"
)
ATTACHMENT_MAX_BYTES = (
    f"the largest file taken in a chat, in bytes: 1 to {MAX_ATTACHMENT_BYTES}, "
    f"{DEFAULT_MAX_BYTES} (10 MB) unless changed"
)
ATTACHMENT_TYPES = (
    "the file types taken in chats, as read from each file's bytes, never its name (R23): "
    f"any of {', '.join(KNOWN_TYPES)}; all unless changed"
)
AttachmentType = Literal[
    "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"
]
MASKING_PATTERNS = (
    "the company's own values to mask in every message, for instance national identity "
    f"numbers (R22): at most {MAX_PATTERNS}, each an RE2 pattern (no back-references or "
    "look-around), checked on save; every letter and digit of a match is masked"
)


class MaskPatternBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]
    pattern: Annotated[str, Field(min_length=1, max_length=MAX_PATTERN_LENGTH)]


def _patterns(bodies: list[MaskPatternBody]) -> list[MaskPattern]:
    return [MaskPattern(body.name, body.pattern) for body in bodies]


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
    mask_card_numbers: bool | None = Field(default=None, description=MASK_CARD_NUMBERS)
    masking_patterns: (
        Annotated[
            list[MaskPatternBody], Field(max_length=MAX_PATTERNS, description=MASKING_PATTERNS)
        ]
        | None
    ) = None
    typing_preview: bool | None = Field(default=None, description=TYPING_PREVIEW)
    record_internal_notes: bool | None = Field(default=None, description=RECORD_INTERNAL_NOTES)
    wrap_up_codes: (
        Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=200)] | None
    ) = Field(default=None, description=WRAP_UP_CODES)
    wrap_up_required: bool | None = Field(default=None, description=WRAP_UP_REQUIRED)
    answer_target_seconds: int | None = Field(default=None, description=ANSWER_TARGET)
    attachments_enabled: bool | None = Field(default=None, description=ATTACHMENTS_ENABLED)
    attachment_max_bytes: int | None = Field(default=None, description=ATTACHMENT_MAX_BYTES)
    attachment_types: list[AttachmentType] | None = Field(
        default=None, max_length=len(KNOWN_TYPES) * 2, description=ATTACHMENT_TYPES
    )


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
    mask_card_numbers: bool = Field(description=MASK_CARD_NUMBERS)
    masking_patterns: list[MaskPatternBody] = Field(description=MASKING_PATTERNS)
    typing_preview: bool = Field(description=TYPING_PREVIEW)
    record_internal_notes: bool = Field(description=RECORD_INTERNAL_NOTES)
    wrap_up_codes: list[str] = Field(description=WRAP_UP_CODES)
    wrap_up_required: bool = Field(description=WRAP_UP_REQUIRED)
    answer_target_seconds: int = Field(description=ANSWER_TARGET)
    attachments_enabled: bool = Field(description=ATTACHMENTS_ENABLED)
    attachment_max_bytes: int = Field(description=ATTACHMENT_MAX_BYTES)
    attachment_types: list[AttachmentType] = Field(description=ATTACHMENT_TYPES)


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
        mask_card_numbers=company.mask_card_numbers,
        masking_patterns=[
            MaskPatternBody(name=pattern.name, pattern=pattern.pattern)
            for pattern in company.masking_patterns
        ],
        typing_preview=company.typing_preview,
        record_internal_notes=company.record_internal_notes,
        wrap_up_codes=list(company.wrap_up_codes),
        wrap_up_required=company.wrap_up_required,
        answer_target_seconds=company.answer_target_seconds,
        attachments_enabled=company.attachments_enabled,
        attachment_max_bytes=company.attachment_max_bytes,
        attachment_types=[t for t in KNOWN_TYPES if t in company.attachment_types],  # type: ignore[misc]
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


TEMPLATE_REFUSED = (
    "The request does not fit this schema, or the template (R6) or a masking pattern (R22) "
    "is refused"
)


@router.patch(
    "/companies/{company_id}",
    operation_id="updateCompany",
    tags=["companies"],
    responses={**refusals(400), **refusal(422, TEMPLATE_REFUSED)},
)
def update_company(
    company_id: str, body: CompanyUpdate, principal: Administrator, services: Services
) -> CompanyRead:
    """Change name, default filename template (R6), formats (R15), retention (R17),
    whether two-factor sign-in is required (R18) or what is masked in messages (R22)."""
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
        mask_card_numbers=body.mask_card_numbers,
        masking_patterns=None
        if body.masking_patterns is None
        else _patterns(body.masking_patterns),
        typing_preview=body.typing_preview,
        record_internal_notes=body.record_internal_notes,
        wrap_up_codes=body.wrap_up_codes,
        wrap_up_required=body.wrap_up_required,
        answer_target_seconds=body.answer_target_seconds,
        attachments_enabled=body.attachments_enabled,
        attachment_max_bytes=body.attachment_max_bytes,
        attachment_types=body.attachment_types,
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


class MaskingPreviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, Field(max_length=4000)]
    mask_card_numbers: bool = True
    masking_patterns: Annotated[list[MaskPatternBody], Field(max_length=MAX_PATTERNS)] = []


class MaskingPreviewRead(BaseModel):
    text: str = Field(description="the text as a message would be kept, shown and recorded")
    masked_card_numbers: int
    masked_other_values: int


@router.post(
    "/masking-preview",
    operation_id="previewMasking",
    tags=["companies"],
    responses=refusal(422, "The request does not fit this schema, or a pattern is refused"),
)
def masking_preview(body: MaskingPreviewCreate, principal: Administrator) -> MaskingPreviewRead:
    """Try masking settings on a sample text before saving them (R22); nothing is kept."""
    masked = try_masking(body.text, body.mask_card_numbers, _patterns(body.masking_patterns))
    return MaskingPreviewRead(
        text=masked.text,
        masked_card_numbers=masked.card_numbers,
        masked_other_values=masked.other_values,
    )
