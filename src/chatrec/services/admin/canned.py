"""Canned responses: the company's, which administrators manage and audit, and each
login's own, which only that login sees and changes (R18, R23; issue 15).

A login's own responses are self-service, not administration: they are not audited, and
nobody else, an administrator neither, can read or change them (another login's id is
"not found").  Supervisors read the company's, as they read its queues; changing them is
the administrators' (there is no precedent of supervisors changing company settings).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from chatrec.domain.canned import (
    MAX_COMPANY_WIDE,
    MAX_PERSONAL,
    check_canned,
    fill_placeholders,
    placeholder_values,
)
from chatrec.domain.roles import LoginRole
from chatrec.errors import NotFoundError
from chatrec.services.access import Principal, company_for, require_own
from chatrec.services.admin.audit import audit_line
from chatrec.services.admin.ports import CannedAdminStore
from chatrec.store.records import AuditRecord, CannedResponseRecord


@dataclass(frozen=True, slots=True)
class CannedResponses:
    """What a login's composer offers: the company's responses and its own, and what each
    placeholder reads for it (``{customer_name}`` as when the customer is unknown)."""

    responses: list[CannedResponseRecord]
    values: dict[str, str]

    def preview(self, response: CannedResponseRecord) -> str:
        return fill_placeholders(response.text, self.values)


class CannedAdmin:
    def __init__(self, store: CannedAdminStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self._clock = clock

    def list_company(
        self, principal: Principal, company_id: str | None = None
    ) -> list[CannedResponseRecord]:
        """The company's responses, for its overseers (and operators naming it)."""
        company = company_for(principal, company_id, LoginRole.ADMINISTRATOR, LoginRole.SUPERVISOR)
        return self.store.list_canned_responses(company)

    def list_for(self, principal: Principal) -> CannedResponses:
        """The company's responses and the caller's own, for any staff login."""
        responses = self.store.list_canned_responses(principal.company_id, principal.user_id)
        user = None if principal.user_id is None else self.store.get_user(principal.user_id)
        company = self.store.get_company(principal.company_id)
        values = placeholder_values(
            agent_name=principal.name if user is None else user.name,
            company_name="" if company is None else company.name,
        )
        return CannedResponses(responses, values)

    def create(
        self,
        principal: Principal,
        name: str,
        text: str,
        *,
        personal: bool,
        company_id: str | None = None,
    ) -> CannedResponseRecord:
        """A new response: the caller's own when ``personal``, else the company's."""
        checked = check_canned(name, text)
        if personal:
            company, owner = principal.company_id, _owner(principal)
        else:
            company, owner = company_for(principal, company_id, LoginRole.ADMINISTRATOR), None
        now = self._clock()
        response = CannedResponseRecord(
            f"cr_{secrets.token_hex(6)}", company, owner, checked.name, checked.text, now, now
        )
        limit = MAX_PERSONAL if personal else MAX_COMPANY_WIDE
        audit = [] if personal else [self._line(principal, response, "created", None)]
        self.store.add_canned_response(response, limit=limit, audit=audit)
        return response

    def update(
        self,
        principal: Principal,
        response_id: str,
        *,
        personal: bool,
        name: str | None = None,
        text: str | None = None,
    ) -> CannedResponseRecord:
        """Change what is given of the name and text; the rest stays."""
        before = self._find(principal, response_id, personal=personal)
        checked = check_canned(
            before.name if name is None else name, before.text if text is None else text
        )
        after = replace(before, name=checked.name, text=checked.text)
        if after == before:
            return before
        after = replace(after, updated_at=self._clock())
        audit = [] if personal else [self._line(principal, after, "updated", before)]
        self.store.update_canned_response(after, audit=audit)
        return after

    def delete(
        self, principal: Principal, response_id: str, *, personal: bool
    ) -> CannedResponseRecord:
        found = self._find(principal, response_id, personal=personal)
        audit = [] if personal else [self._line(principal, found, "removed", found)]
        self.store.delete_canned_response(found, audit=audit)
        return found

    def _find(
        self, principal: Principal, response_id: str, *, personal: bool
    ) -> CannedResponseRecord:
        """The response, if the caller may change it: their own, or (administrators)
        their company's; any other is unknown (R18)."""
        found = self.store.get_canned_response(response_id)
        unknown = NotFoundError(f"no canned response {response_id!r}")
        if found is None:
            raise unknown
        if personal:
            if found.owner_id is None or found.owner_id != principal.user_id:
                raise unknown
            return found
        require_own(principal, found.company_id, f"canned response {response_id!r}")
        company_for(principal, found.company_id, LoginRole.ADMINISTRATOR)
        if found.owner_id is not None:
            raise unknown
        return found

    def _line(
        self,
        principal: Principal,
        response: CannedResponseRecord,
        what: str,
        before: CannedResponseRecord | None,
    ) -> AuditRecord:
        after = None if what == "removed" else {"name": response.name, "text": response.text}
        return audit_line(
            principal,
            response.company_id,
            f"canned_response.{what}",
            self._clock(),
            target=response.response_id,
            before=None if before is None else {"name": before.name, "text": before.text},
            after=after,
        )


def _owner(principal: Principal) -> str:
    if principal.user_id is None:
        raise NotFoundError(
            "a personal canned response belongs to a login; the command line has none"
        )
    return principal.user_id
