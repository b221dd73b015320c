"""Canned responses: the company's, and each login's own (R23; issue 15).

Names are unique per owner, casefolded (``name_key``); how many an owner may have is
counted in the write's transaction with the owner's row locked (the company's for the
company-wide ones, the login's for its own), so responses added at once are each
counted, as API tokens are.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from chatrec.errors import DuplicateError, NotFoundError, TooManyCannedResponsesError
from chatrec.store.mapping import record_of, values_of
from chatrec.store.models import CannedResponseRow, CompanyRow, UserRow
from chatrec.store.records import CannedResponseRecord
from chatrec.store.transactions import Audit, StorePart, add_audit_rows, require


class CannedStore(StorePart):
    """Canned responses; the services check who may touch which (R18)."""

    def add_canned_response(
        self, response: CannedResponseRecord, *, limit: int, audit: Audit = ()
    ) -> None:
        """Keep a new response, unless its owner has ``limit`` already or the name is taken."""
        with self._write() as session:
            if response.owner_id is None:
                require(session, CompanyRow, response.company_id, "company", for_update=True)
            else:
                owner = require(session, UserRow, response.owner_id, "user", for_update=True)
                if owner.company_id != response.company_id:
                    raise NotFoundError(f"no user {response.owner_id!r}")
            held = session.scalar(
                select(func.count())
                .select_from(CannedResponseRow)
                .where(*_of_owner(response.company_id, response.owner_id))
            )
            if (held or 0) >= limit:
                whose = "the company has" if response.owner_id is None else "you have"
                raise TooManyCannedResponsesError(
                    f"{whose} {held} canned responses, the most there may be; "
                    "remove one no longer used first"
                )
            _refuse_taken_name(session, response)
            session.add(CannedResponseRow(**_values(response)))
            add_audit_rows(session, audit)

    def update_canned_response(self, response: CannedResponseRecord, *, audit: Audit = ()) -> None:
        """Change the response's name and text; its owner and company never change."""
        with self._write() as session:
            row = _require_response(session, response)
            _refuse_taken_name(session, response)
            row.name = response.name
            row.name_key = _key(response.name)
            row.text = response.text
            row.updated_at = response.updated_at
            add_audit_rows(session, audit)

    def delete_canned_response(self, response: CannedResponseRecord, *, audit: Audit = ()) -> None:
        with self._write() as session:
            session.delete(_require_response(session, response))
            add_audit_rows(session, audit)

    def get_canned_response(self, response_id: str) -> CannedResponseRecord | None:
        with self._read() as session:
            row = session.get(CannedResponseRow, response_id)
            return None if row is None else record_of(CannedResponseRecord, row)

    def list_canned_responses(
        self, company_id: str, owner_id: str | None = None
    ) -> list[CannedResponseRecord]:
        """The company's responses, and with ``owner_id`` that login's own, by name."""
        scopes = [""] if owner_id is None else ["", owner_id]
        with self._read() as session:
            rows = session.scalars(
                select(CannedResponseRow)
                .where(
                    CannedResponseRow.company_id == company_id,
                    or_(*(CannedResponseRow.scope_key == scope for scope in scopes)),
                )
                .order_by(CannedResponseRow.name_key, CannedResponseRow.scope_key)
            )
            return [record_of(CannedResponseRecord, row) for row in rows]


def _key(name: str) -> str:
    return name.casefold()


def _values(response: CannedResponseRecord) -> dict[str, object]:
    return values_of(response, scope_key=response.owner_id or "", name_key=_key(response.name))


def _of_owner(company_id: str, owner_id: str | None) -> tuple[ColumnElement[bool], ...]:
    return (
        CannedResponseRow.company_id == company_id,
        CannedResponseRow.scope_key == (owner_id or ""),
    )


def _require_response(session: Session, response: CannedResponseRecord) -> CannedResponseRow:
    row: CannedResponseRow = require(
        session, CannedResponseRow, response.response_id, "canned response"
    )
    if row.company_id != response.company_id or row.owner_id != response.owner_id:
        raise NotFoundError(f"no canned response {response.response_id!r}")
    return row


def _refuse_taken_name(session: Session, response: CannedResponseRecord) -> None:
    clash = session.scalar(
        select(CannedResponseRow.response_id).where(
            *_of_owner(response.company_id, response.owner_id),
            CannedResponseRow.name_key == _key(response.name),
            CannedResponseRow.response_id != response.response_id,
        )
    )
    if clash is not None:
        whose = "the company has" if response.owner_id is None else "you have"
        raise DuplicateError(f"{whose} a canned response named {response.name!r} already")
