"""Companies, their logins, and agents' chosen presence."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from chatrec.domain.presence import AwayReason
from chatrec.errors import DuplicateError, NotFoundError
from chatrec.store.mapping import (
    company_record,
    company_values,
    login_key,
    record_of,
    user_record,
    user_values,
    values_of,
)
from chatrec.store.models import (
    CompanyRow,
    PresenceRow,
    UserRow,
)
from chatrec.store.records import (
    SYSTEM_COMPANY_ID,
    CompanyRecord,
    PresenceCause,
    PresenceRecord,
    UserRecord,
)
from chatrec.store.signing_keys import add_signing_key
from chatrec.store.tables import COMPANIES
from chatrec.store.transactions import (
    Audit,
    StorePart,
    add_audit_rows,
    require,
)


class CompanyStore(StorePart):
    """Tenant companies and their logins; an agent's presence is kept with their login."""

    def create_company(self, company: CompanyRecord, *, audit: Audit = ()) -> None:
        with self._write() as session:
            if session.get(CompanyRow, company.company_id):
                raise DuplicateError(f"company {company.company_id!r} already exists")
            session.add(CompanyRow(**company_values(company)))
            session.flush()
            # Its recordings are signed from the first (R21).
            add_signing_key(session, self._secrets, company.company_id, self._clock())
            add_audit_rows(session, audit)

    def update_company(self, company: CompanyRecord, *, audit: Audit = ()) -> None:
        with self._write() as session:
            row = require(session, CompanyRow, company.company_id, "company")
            for name, value in company_values(company).items():
                setattr(row, name, value)
            add_audit_rows(session, audit)

    def get_company(self, company_id: str) -> CompanyRecord | None:
        row = self._plain_row(COMPANY_BY_ID, {"company_id": company_id})
        return None if row is None else company_record(row)

    def list_companies(self) -> list[CompanyRecord]:
        """Every tenant company, without the operators' own."""
        with self._read() as session:
            rows = session.scalars(
                select(CompanyRow)
                .where(CompanyRow.company_id != SYSTEM_COMPANY_ID)
                .order_by(CompanyRow.company_id)
            )
            return [company_record(row) for row in rows]

    def create_user(self, user: UserRecord, *, audit: Audit = ()) -> None:
        with self._write() as session:
            require(session, CompanyRow, user.company_id, "company")
            if session.get(UserRow, user.user_id):
                raise DuplicateError(f"user {user.user_id!r} already exists")
            _refuse_login_taken(session, user)
            session.add(UserRow(**user_values(user)))
            add_audit_rows(session, audit)

    def update_user(self, user: UserRecord, *, audit: Audit = ()) -> None:
        """Store every field of the login; its id and company never change."""
        self.update_users([user], audit=audit)

    def update_users(self, users: Sequence[UserRecord], *, audit: Audit = ()) -> None:
        """Store every field of each login, all or none (bulk edits)."""
        with self._write() as session:
            for user in users:
                row = require(session, UserRow, user.user_id, "user")
                if row.company_id != user.company_id:
                    raise NotFoundError(f"no user {user.user_id!r} in company {user.company_id!r}")
                _refuse_login_taken(session, user)
                for name, value in user_values(user).items():
                    setattr(row, name, value)
            add_audit_rows(session, audit)

    def get_user(self, user_id: str) -> UserRecord | None:
        with self._read() as session:
            row = session.get(UserRow, user_id)
            return None if row is None else user_record(row)

    def find_users_by_login(self, login: str, company_id: str | None = None) -> list[UserRecord]:
        """The users whose login matches, whatever its case: of ``company_id``, or of
        every company (logins are unique only within a company)."""
        with self._read() as session:
            query = select(UserRow).where(UserRow.login_key == login_key(login))
            if company_id is not None:
                query = query.where(UserRow.company_id == company_id)
            rows = session.scalars(query.order_by(UserRow.company_id))
            return [user_record(row) for row in rows]

    def find_user_by_login(self, login: str, company_id: str | None = None) -> UserRecord | None:
        """The one user whose login matches, whatever its case, of ``company_id`` or of
        any company; ``None`` when none does, or when several companies have it."""
        found = self.find_users_by_login(login, company_id)
        return found[0] if len(found) == 1 else None

    def list_users(self, company_id: str) -> list[UserRecord]:
        with self._read() as session:
            rows = session.scalars(
                select(UserRow).where(UserRow.company_id == company_id).order_by(UserRow.login)
            )
            return [user_record(row) for row in rows]

    # -- agents' presence ---------------------------------------------------------------

    def get_presence(self, user_id: str) -> PresenceRecord | None:
        """The agent's chosen presence; ``None`` if they never chose one (Away)."""
        with self._read() as session:
            row = session.get(PresenceRow, user_id)
            return None if row is None else _presence_record(row)

    def set_presence(self, presence: PresenceRecord) -> None:
        with self._write() as session:
            require(session, UserRow, presence.user_id, "user")
            session.merge(PresenceRow(**values_of(presence)))

    def available_agents(self) -> list[PresenceRecord]:
        """Every agent whose chosen presence is Available, connected or not."""
        with self._read() as session:
            rows = session.scalars(select(PresenceRow).where(PresenceRow.available))
            return [_presence_record(row) for row in rows]


def _presence_record(row: PresenceRow) -> PresenceRecord:
    reason = AwayReason(row.away_reason) if row.away_reason in set(AwayReason) else None
    return record_of(
        PresenceRecord, row, changed_by=PresenceCause(row.changed_by), away_reason=reason
    )


def _refuse_login_taken(session: Session, user: UserRecord) -> None:
    """Within the login's own company only: another company's logins are none of its
    administrators' business (R18)."""
    holder = session.scalar(
        select(UserRow.user_id).where(
            UserRow.company_id == user.company_id,
            UserRow.login_key == login_key(user.login),
            UserRow.user_id != user.user_id,
        )
    )
    if holder is not None:
        raise DuplicateError(f"the login {user.login!r} is taken in this company")


COMPANY_BY_ID = select(COMPANIES).where(COMPANIES.c.company_id == bindparam("company_id"))
"""A company's row by ``company_id``, read at every login and chat's start: built once,
read as a plain row (issue 13)."""
