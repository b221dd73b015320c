"""Companies: provisioning by system operators (R1); recording settings by administrators.

A company that lacks a product records nothing; the console says so, and why (R1).
Templates are validated on save and previewed on a sample chat that carries the
company's own names (R6); formats (R15) and the message retention period (R17) are the
company's own.  Card numbers are masked unless an administrator turns it off, and a
company may add masking patterns of its own, each checked on save (R22).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from chatrec.domain.attachments import check_attachment_max_bytes, check_attachment_types
from chatrec.domain.filenames import (
    SAMPLE_CONTEXT,
    FilenameContext,
    FilenameTemplate,
    render_filename,
    sample_context,
)
from chatrec.domain.manifest import PublicKey, SigningKey, new_private_key
from chatrec.domain.masking import MaskedText, Masking, MaskPattern, check_patterns
from chatrec.domain.roles import LoginRole
from chatrec.domain.settings import DEFAULT_TEMPLATE, Product, RecordingFormat, VconDraft
from chatrec.domain.wrap_up import check_wrap_up_codes
from chatrec.errors import ActionError, InvalidRequestError, NotFoundError
from chatrec.services.access import Principal, company_for, require_role
from chatrec.services.admin.audit import audit_line
from chatrec.services.admin.ports import CompanyAdminStore
from chatrec.services.directory import company_settings
from chatrec.store.records import SYSTEM_COMPANY_ID, CompanyRecord

COMPANY_ID_FORM = re.compile(r"[a-z0-9][a-z0-9-]{1,39}")
"""What a company's id looks like; the console checks an operator's choice against it too."""
MAX_RETENTION_SECONDS = 10 * 365 * 24 * 3600
MAX_ANSWER_TARGET_SECONDS = 3600
"""The longest answer target a dashboard measures against: an hour."""


@dataclass(frozen=True, slots=True)
class RecordingStatus:
    """Whether the company's chats are recorded at all (R1), in words for its console."""

    records: bool
    sentence: str


def recording_status(company: CompanyRecord) -> RecordingStatus:
    missing = sorted(company_settings(company).missing_products)
    if not missing:
        return RecordingStatus(
            True, "Chats are recorded: the company has call_recording and webchat."
        )
    names = " and ".join(product.value for product in missing)
    return RecordingStatus(
        False,
        f"Nothing will be recorded (R1): the company is not provisioned with {names}. "
        "A system operator provisions products.",
    )


def preview_template(source: str, sample: FilenameContext = SAMPLE_CONTEXT) -> str:
    """The name a recording of ``sample`` would get; :class:`TemplateError` if invalid.

    Without a company to take names from, the sample is the neutral one.
    """
    return render_filename(FilenameTemplate.parse(source), sample)


def _products(names: Iterable[str]) -> frozenset[str]:
    known = {product.value for product in Product}
    unknown = sorted(set(names) - known)
    if unknown:
        raise ActionError(f"unknown products {unknown}; choose from {sorted(known)}")
    return frozenset(names)


def _formats(names: Iterable[str]) -> frozenset[str]:
    known = {fmt.value for fmt in RecordingFormat}
    chosen = set(names)
    unknown = sorted(chosen - known)
    if unknown:
        raise ActionError(f"unknown recording formats {unknown}; choose from {sorted(known)}")
    if not chosen:
        raise ActionError(f"choose at least one recording format of {sorted(known)}")
    return frozenset(chosen)


def _vcon_draft(name: str) -> str:
    known = [draft.value for draft in VconDraft]
    if name not in known:
        raise ActionError(f"unknown vCon draft {name!r}; choose from {known}")
    return name


def _retention(seconds: int) -> int:
    if not 0 <= seconds <= MAX_RETENTION_SECONDS:
        raise ActionError(
            f"the retention period must be 0 (purge at once) to {MAX_RETENTION_SECONDS} "
            f"seconds (ten years), not {seconds}"
        )
    return seconds


def settings_view(company: CompanyRecord) -> dict[str, Any]:
    """The company's recording and desk settings as plain values: what the audit trail
    compares and ``company show`` prints, so a new setting is added to both at once."""
    return {
        "default_template": company.default_template,
        "formats": sorted(company.formats),
        "retention_seconds": company.retention_seconds,
        "vcon_draft": company.vcon_draft,
        "mask_card_numbers": company.mask_card_numbers,
        "masking_patterns": [
            {"name": pattern.name, "pattern": pattern.pattern}
            for pattern in company.masking_patterns
        ],
        "typing_preview": company.typing_preview,
        "record_internal_notes": company.record_internal_notes,
        "wrap_up_codes": list(company.wrap_up_codes),
        "wrap_up_required": company.wrap_up_required,
        "answer_target_seconds": company.answer_target_seconds,
        "attachments_enabled": company.attachments_enabled,
        "attachment_max_bytes": company.attachment_max_bytes,
    }


def _view(company: CompanyRecord) -> dict[str, object]:
    return {
        "name": company.name,
        "products": sorted(company.products),
        "require_totp": company.require_totp,
        **settings_view(company),
        "attachment_types": sorted(company.attachment_types),
    }


def try_masking(text: str, card_numbers: bool, patterns: Iterable[MaskPattern]) -> MaskedText:
    """``text`` as masking an administrator is trying out would keep it (R22);
    :class:`MaskPatternError` if a pattern would be refused on save."""
    return Masking(card_numbers, check_patterns(tuple(patterns))).mask(text)


class CompanyAdmin:
    def __init__(self, store: CompanyAdminStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self._clock = clock

    def _get(self, company_id: str) -> CompanyRecord:
        company = self.store.get_company(company_id)
        if company is None or company_id == SYSTEM_COMPANY_ID:
            raise NotFoundError(f"no company {company_id!r}")
        return company

    def list_companies(self, principal: Principal) -> list[CompanyRecord]:
        require_role(principal, LoginRole.OPERATOR)
        return self.store.list_companies()

    def create(
        self, principal: Principal, company_id: str, name: str, products: Iterable[str] = ()
    ) -> CompanyRecord:
        """A new company with the default template, JSON recordings and purge at once."""
        require_role(principal, LoginRole.OPERATOR)
        if not COMPANY_ID_FORM.fullmatch(company_id) or company_id == SYSTEM_COMPANY_ID:
            raise ActionError(
                f"company id {company_id!r} must be 2 to 40 lower-case letters, digits or '-', "
                f"starting with a letter or digit, and not {SYSTEM_COMPANY_ID!r}"
            )
        company = CompanyRecord(
            company_id=company_id,
            name=_name(name),
            products=_products(products),
            default_template=DEFAULT_TEMPLATE,
            formats=frozenset({RecordingFormat.JSON.value}),
            sampling_key=secrets.token_bytes(32),
        )
        line = audit_line(
            principal,
            company_id,
            "company.created",
            self._clock(),
            target=company_id,
            after=_view(company),
        )
        self.store.create_company(company, audit=[line])
        return company

    def template_sample(self, principal: Principal) -> FilenameContext:
        """The sample chat the principal's template previews are shown on (R6).

        It carries the principal's company's name and, where the company has them, its first
        service, queue and agent, so the preview shows the names its files will carry.
        An operator belongs to no company and gets the neutral sample.
        """
        if principal.role is LoginRole.OPERATOR:
            return SAMPLE_CONTEXT
        company = self._get(principal.company_id)
        services = self.store.list_services(company.company_id)
        queues = self.store.list_queues(company.company_id)
        agents = [
            user
            for user in self.store.list_users(company.company_id)
            if user.role is LoginRole.AGENT and not user.disabled
        ]
        return sample_context(
            company.name,
            service=services[0].name if services else None,
            queue=queues[0].name if queues else None,
            agent=(agents[0].name, agents[0].user_id) if agents else None,
        )

    def get(self, principal: Principal, company_id: str | None = None) -> CompanyRecord:
        company = company_for(principal, company_id, LoginRole.ADMINISTRATOR, LoginRole.SUPERVISOR)
        return self._get(company)

    def provision(
        self, principal: Principal, company_id: str, products: Iterable[str]
    ) -> CompanyRecord:
        """Set the company's products (R1): operators only."""
        require_role(principal, LoginRole.OPERATOR)
        before = self._get(company_id)
        after = replace(before, products=_products(products))
        return self._save(principal, before, after, "company.provisioned")

    def update(
        self,
        principal: Principal,
        company_id: str | None = None,
        *,
        name: str | None = None,
        default_template: str | None = None,
        formats: Iterable[str] | None = None,
        retention_seconds: int | None = None,
        vcon_draft: str | None = None,
        require_totp: bool | None = None,
        mask_card_numbers: bool | None = None,
        masking_patterns: Iterable[MaskPattern] | None = None,
        typing_preview: bool | None = None,
        record_internal_notes: bool | None = None,
        wrap_up_codes: Iterable[str] | None = None,
        wrap_up_required: bool | None = None,
        answer_target_seconds: int | None = None,
        attachments_enabled: bool | None = None,
        attachment_max_bytes: int | None = None,
        attachment_types: Iterable[str] | None = None,
    ) -> CompanyRecord:
        """Change the company's settings; all are checked before any is kept.

        Masking changes (R22) and the typing preview (R23) apply to chats that start
        after them: a customer is told of the preview as their chat opens.  So does
        whether internal notes are recorded (R23)."""
        before = self._get(company_for(principal, company_id, LoginRole.ADMINISTRATOR))
        after = before
        if name is not None:
            after = replace(after, name=_name(name))
        if default_template is not None:
            FilenameTemplate.parse(default_template)
            after = replace(after, default_template=default_template)
        if formats is not None:
            after = replace(after, formats=_formats(formats))
        if retention_seconds is not None:
            after = replace(after, retention_seconds=_retention(retention_seconds))
        if vcon_draft is not None:
            after = replace(after, vcon_draft=_vcon_draft(vcon_draft))
        if require_totp is not None:
            after = replace(after, require_totp=require_totp)
        if mask_card_numbers is not None:
            after = replace(after, mask_card_numbers=mask_card_numbers)
        if masking_patterns is not None:
            after = replace(after, masking_patterns=check_patterns(tuple(masking_patterns)))
        if typing_preview is not None:
            after = replace(after, typing_preview=typing_preview)
        if record_internal_notes is not None:
            after = replace(after, record_internal_notes=record_internal_notes)
        if wrap_up_codes is not None:
            after = replace(after, wrap_up_codes=tuple(wrap_up_codes))
        if wrap_up_required is not None:
            after = replace(after, wrap_up_required=wrap_up_required)
        if answer_target_seconds is not None:
            if not 1 <= answer_target_seconds <= MAX_ANSWER_TARGET_SECONDS:
                raise InvalidRequestError(
                    f"the answer target must be 1 to {MAX_ANSWER_TARGET_SECONDS} seconds "
                    f"(an hour), not {answer_target_seconds}"
                )
            after = replace(after, answer_target_seconds=answer_target_seconds)
        if attachments_enabled is not None:
            after = replace(after, attachments_enabled=attachments_enabled)
        if attachment_max_bytes is not None:
            max_bytes = check_attachment_max_bytes(attachment_max_bytes)
            after = replace(after, attachment_max_bytes=max_bytes)
        if attachment_types is not None:
            after = replace(after, attachment_types=check_attachment_types(attachment_types))
        if (wrap_up_codes, wrap_up_required) != (None, None):
            codes = check_wrap_up_codes(after.wrap_up_codes, after.wrap_up_required)
            after = replace(after, wrap_up_codes=codes)
        # Turning card masking off is a decision the audit trail names on its own (R22).
        action = "company.updated"
        if before.mask_card_numbers != after.mask_card_numbers:
            action = "company.card_masking_" + ("on" if after.mask_card_numbers else "off")
        return self._save(principal, before, after, action)

    def signing_keys(self, company_id: str) -> list[PublicKey]:
        """Every public key the company has signed with, and its validity: public (R21)."""
        keys = self.store.signing_keys(company_id)
        if not keys or company_id == SYSTEM_COMPANY_ID:
            raise NotFoundError(f"no company {company_id!r} with signing keys")
        return keys

    def rotate_signing_key(self, principal: Principal, company_id: str | None = None) -> PublicKey:
        """A new key signs from now; the old one stays published, valid until now (R21)."""
        company = self._get(company_for(principal, company_id, LoginRole.ADMINISTRATOR))
        before = [key.key_id for key in self.store.signing_keys(company.company_id)]
        private = new_private_key()
        new = SigningKey.of(company.company_id, private, self._clock()).public.key_id
        line = audit_line(
            principal,
            company.company_id,
            "company.signing_key_rotated",
            self._clock(),
            target=company.company_id,
            before={"keys": before},
            after={"keys": [*before, new]},
        )
        return self.store.rotate_signing_key(company.company_id, private, audit=[line])

    def _save(
        self, principal: Principal, before: CompanyRecord, after: CompanyRecord, action: str
    ) -> CompanyRecord:
        if after != before:
            line = audit_line(
                principal,
                after.company_id,
                action,
                self._clock(),
                target=after.company_id,
                before=_view(before),
                after=_view(after),
            )
            self.store.update_company(after, audit=[line])
        return after


def _name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= 200:
        raise ActionError("a name must have 1 to 200 characters")
    return cleaned
