"""Who may do what, and on which company's data: the few checks every service calls (R18).

Tenant checks live here and nowhere else.  An id of another company is "not found",
never "forbidden", so a caller cannot learn what other companies hold; a role that
may not act gets "forbidden", naming the role it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chatrec.domain.roles import LoginRole
from chatrec.errors import NotFoundError, PermissionDeniedError, ScopeError
from chatrec.store.records import SYSTEM_COMPANY_ID, UserRecord

OVERSEERS = frozenset({LoginRole.ADMINISTRATOR, LoginRole.SUPERVISOR})
"""Who reads a company's chats, explanations and deliveries beyond their own chats."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Whoever makes a change: a staff login, or the command line (``chatrec admin``).

    Not a chat's :class:`~chatrec.domain.journal.Actor` (who caused a journal event):
    a principal is checked against its login's role (R18) and named in the audit trail.

    The command line is run by whoever holds the database, so it acts as an operator;
    its ``name`` says so in the audit trail.
    """

    name: str
    role: LoginRole
    company_id: str
    user_id: str | None = None

    @classmethod
    def of(cls, user: UserRecord) -> Principal:
        return cls(user.login, user.role, user.company_id, user.user_id)

    @classmethod
    def command_line(cls, who: str) -> Principal:
        return cls(f"cli:{who}", LoginRole.OPERATOR, SYSTEM_COMPANY_ID)


class Scope(StrEnum):
    """How much of its login's role an API token may use; a session uses all of it.

    Ordered, each allowing what the one before does: ``read`` only reads (HTTP ``GET``;
    on the staff socket ``sync`` and ``ping``), ``chat`` also acts everywhere but in the
    administration of a company (chats, presence, deliveries, its own tokens), ``full``
    does whatever the role does.
    """

    READ = "read"
    CHAT = "chat"
    FULL = "full"

    def covers(self, other: Scope) -> bool:
        return SCOPES.index(self) >= SCOPES.index(other)


SCOPES = (Scope.READ, Scope.CHAT, Scope.FULL)


class CredentialKind(StrEnum):
    SESSION = "session"
    API_TOKEN = "api_token"  # noqa: S105 - a kind of credential, not one


@dataclass(frozen=True, slots=True)
class Credential:
    """What a staff request or socket proved who it is with, and so what may end it.

    ``credential_id`` names it without being it: a session's token hash, an API token's
    id.  ``expires_at`` is an API token's (a token it makes may not outlive it).
    """

    kind: CredentialKind
    credential_id: str
    scope: Scope = Scope.FULL
    expires_at: datetime | None = None

    @property
    def what(self) -> str:
        if self.kind is CredentialKind.SESSION:
            return "your session"
        return f"API token {self.credential_id} (scope {self.scope.value})"


def require_scope(credential: Credential, *, changes: bool, administration: bool) -> None:
    """Refuse a change a ``read`` credential makes, and a change to a company's
    administration a ``chat`` one makes (R18)."""
    if changes and not credential.scope.covers(Scope.CHAT):
        raise ScopeError(
            f"{credential.what} may only read; make a token with scope chat or full for this"
        )
    if changes and administration and not credential.scope.covers(Scope.FULL):
        raise ScopeError(
            f"{credential.what} may not change a company's administration; "
            "make a token with scope full for this"
        )


def require_role(principal: Principal, *roles: LoginRole) -> None:
    if principal.role not in roles:
        needed = " or ".join(role.value for role in roles)
        raise PermissionDeniedError(f"this needs the {needed} role; you are {principal.role.value}")


def company_for(principal: Principal, company_id: str | None, *roles: LoginRole) -> str:
    """The company the principal acts on, having checked they may (R18).

    Company staff act on their own company (``company_id`` ``None`` or their own) and
    need one of ``roles``; operators act on any company they name.  Another company's
    id is "not found".
    """
    if principal.role is LoginRole.OPERATOR:
        if company_id is None or company_id == SYSTEM_COMPANY_ID:
            raise NotFoundError("name the company to act on")
        return company_id
    if company_id is not None and company_id != principal.company_id:
        raise NotFoundError(f"no company {company_id!r}")
    require_role(principal, *roles)
    return principal.company_id


def require_own(principal: Principal, company_id: str, what: str) -> None:
    """Refuse a record of another company as unknown (R18); operators see every company."""
    if principal.role is not LoginRole.OPERATOR and company_id != principal.company_id:
        raise NotFoundError(f"no {what}")
