"""User logins: create, disable, reset password, role and the recording settings (R4, R7, R12a).

Changes to Permit Recordings and the record percentage take effect for chats joined
after the change: a chat keeps what it stored when each person joined (R7, R12a).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime

from chatrec.domain.roles import COMPANY_ROLES, LoginRole
from chatrec.errors import ActionError, ConflictError, NotFoundError
from chatrec.services.access import Principal, company_for, require_own, require_role
from chatrec.services.admin.audit import audit_line
from chatrec.services.admin.ports import UserAdminStore
from chatrec.services.passwords import hash_password
from chatrec.services.revocation import AccessEnded, Revocations
from chatrec.store.records import SYSTEM_COMPANY_ID, UserRecord

LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
MIN_PASSWORD = 10
MAX_CAPACITY = 50
MAX_BULK = 1000


@dataclass(frozen=True, slots=True)
class UserChanges:
    """What to change on one or many logins; ``None`` leaves a field as it is."""

    name: str | None = None
    role: str | None = None
    disabled: bool | None = None
    permit_recordings: bool | None = None
    record_chats: bool | None = None
    record_percentage: int | None = None
    capacity: int | None = None

    def given(self) -> dict[str, object]:
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


def _checked(changes: UserChanges) -> dict[str, object]:
    values = changes.given()
    if changes.name is not None:
        values["name"] = _name(changes.name)
    if changes.role is not None:
        if changes.role not in COMPANY_ROLES:
            raise ActionError(
                f"role {changes.role!r} is not a company role; choose from "
                f"{sorted(role.value for role in COMPANY_ROLES)}"
            )
        values["role"] = LoginRole(changes.role)
    if changes.record_percentage is not None and not 0 <= changes.record_percentage <= 100:
        raise ActionError(
            f"record percentage must be 0 to 100 (R7), not {changes.record_percentage}"
        )
    if changes.capacity is not None and not 1 <= changes.capacity <= MAX_CAPACITY:
        raise ActionError(f"capacity must be 1 to {MAX_CAPACITY} chats, not {changes.capacity}")
    return values


def _name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= 200:
        raise ActionError("a name must have 1 to 200 characters")
    return cleaned


def check_login(login: str) -> str:
    if not LOGIN.fullmatch(login):
        raise ActionError(f"login {login!r} must be 1 to 100 letters, digits, '.', '_', '@' or '-'")
    return login


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD or len(password) > 1000:
        raise ActionError(f"a password must have {MIN_PASSWORD} to 1000 characters")
    return password


def _password(given: str | None) -> str:
    """The password given (checked), or a new random one to show once."""
    return check_password(given) if given is not None else secrets.token_urlsafe(12)


def _new_login(
    company_id: str, login: str, name: str, role: LoginRole, password: str | None
) -> tuple[UserRecord, str]:
    """A login not yet stored, with its first password."""
    check_login(login)
    initial = _password(password)
    user = UserRecord(
        user_id=f"u_{secrets.token_hex(6)}",
        company_id=company_id,
        login=login,
        name=_name(name),
        role=role,
        password_hash=hash_password(initial),
    )
    return user, initial


def user_view(user: UserRecord) -> dict[str, object]:
    """The audited fields of a login: never its password hash."""
    return {
        "login": user.login,
        "name": user.name,
        "role": user.role,
        "disabled": user.disabled,
        "permit_recordings": user.permit_recordings,
        "record_chats": user.record_chats,
        "record_percentage": user.record_percentage,
        "capacity": user.capacity,
    }


class UserAdmin:
    def __init__(
        self,
        store: UserAdminStore,
        clock: Callable[[], datetime],
        revocations: Revocations | None = None,
    ) -> None:
        self.store = store
        self._clock = clock
        self.revocations = revocations

    def list_users(self, principal: Principal, company_id: str | None = None) -> list[UserRecord]:
        company = company_for(principal, company_id, LoginRole.ADMINISTRATOR)
        return self.store.list_users(company)

    def get(self, principal: Principal, user_id: str) -> UserRecord:
        user = self.store.get_user(user_id)
        if user is None:
            raise NotFoundError(f"no user {user_id!r}")
        require_own(principal, user.company_id, f"user {user_id!r}")
        company_for(principal, user.company_id, LoginRole.ADMINISTRATOR)
        return user

    def find(self, principal: Principal, ref: str, company_id: str | None = None) -> UserRecord:
        """The login ``ref`` names, by its id or by its login name, among those the principal
        administers (R18), of ``company_id`` when given.

        One login's id may be another's login name: such a ``ref`` is refused, naming
        both and what names each alone, rather than changing the wrong person.
        """
        scope = company_id
        if scope is None and principal.role is not LoginRole.OPERATOR:
            scope = principal.company_id
        found: dict[str, UserRecord] = {}  # by id first, then by login name
        named = self.store.find_users_by_login(ref, scope)
        for user in (self.store.get_user(ref), *named):
            if user is None or user.user_id in found:
                continue
            if company_id is not None and user.company_id != company_id:
                continue
            try:
                found[user.user_id] = self.get(principal, user.user_id)
            except NotFoundError:
                continue  # another company's, or an operator's: not the principal's to name
        if not found:
            where = "" if company_id is None else f" in company {company_id!r}"
            raise NotFoundError(f"no user {ref!r}{where}: give a login name or a user id")
        first, *others = found.values()
        if len(others) == 1 and first.user_id == ref:
            (by_login,) = others
            raise ActionError(
                f"{ref!r} names two users: the id of {first.login!r} and the login name of "
                f"{by_login.user_id!r}; give {first.login!r} for the first or "
                f"{by_login.user_id!r} for the second"
            )
        if others:
            listed = ", ".join(f"{u.user_id!r} (of {u.company_id})" for u in found.values())
            raise ActionError(
                f"{ref!r} is the login of {len(found)} users: {listed}; give the user id of "
                "the one you mean, or the company"
            )
        (user,) = found.values()
        return user

    def create(
        self,
        principal: Principal,
        login: str,
        name: str,
        role: str,
        *,
        company_id: str | None = None,
        password: str | None = None,
        changes: UserChanges = UserChanges(),
    ) -> tuple[UserRecord, str]:
        """A new login and its first password (generated when none is given)."""
        company = company_for(principal, company_id, LoginRole.ADMINISTRATOR)
        user, initial = _new_login(company, login, name, LoginRole.AGENT, password)
        user = replace(user, **_checked(replace(changes, role=role)))  # type: ignore[arg-type]
        line = audit_line(
            principal,
            company,
            "user.created",
            self._clock(),
            target=user.user_id,
            after=user_view(user),
        )
        self.store.create_user(user, audit=[line])
        return user, initial

    def create_operator(
        self, principal: Principal, login: str, name: str, *, password: str | None = None
    ) -> tuple[UserRecord, str]:
        """A system operator's login, of company ``system``, and its first password.

        Apart from :meth:`create`, which gives logins company roles only: only an operator
        makes another, and the audit line goes to ``system``, not to a tenant.
        """
        require_role(principal, LoginRole.OPERATOR)
        user, initial = _new_login(SYSTEM_COMPANY_ID, login, name, LoginRole.OPERATOR, password)
        line = audit_line(
            principal,
            SYSTEM_COMPANY_ID,
            "operator.created",
            self._clock(),
            target=user.user_id,
            after=user_view(user),
        )
        self.store.create_user(user, audit=[line])
        return user, initial

    def update(self, principal: Principal, user_id: str, changes: UserChanges) -> UserRecord:
        return self.update_many(principal, [user_id], changes)[0]

    def update_many(
        self, principal: Principal, user_ids: Sequence[str], changes: UserChanges
    ) -> list[UserRecord]:
        """Apply the same changes to every listed login, all or none (bulk edit)."""
        if not 1 <= len(user_ids) <= MAX_BULK:
            raise ActionError(f"name 1 to {MAX_BULK} users")
        values = _checked(changes)
        befores = [self.get(principal, user_id) for user_id in dict.fromkeys(user_ids)]
        afters = [replace(user, **values) for user in befores]  # type: ignore[arg-type]
        self._keep_an_administrator(befores, afters)
        now = self._clock()
        lines = [
            audit_line(
                principal,
                after.company_id,
                "user.updated",
                now,
                target=after.user_id,
                before=user_view(before),
                after=user_view(after),
            )
            for before, after in zip(befores, afters, strict=True)
            if after != before
        ]
        changed = [after for before, after in zip(befores, afters, strict=True) if after != before]
        if changed:
            self.store.update_users(changed, audit=lines)
        for before, after in zip(befores, afters, strict=True):
            self._end_access(before, after)
        return afters

    def _end_access(self, before: UserRecord, after: UserRecord) -> None:
        """Close the open sockets of a login just disabled, or given another role: a
        socket must not act for a disabled login, nor keep the role it opened with."""
        if self.revocations is None:
            return
        if after.disabled and not before.disabled:
            reason = AccessEnded.LOGIN_DISABLED
        elif after.role != before.role:
            reason = AccessEnded.ROLE_CHANGED
        else:
            return
        self.revocations.end_access(reason=reason, user_id=after.user_id)

    def reset_password(
        self, principal: Principal, user_id: str, password: str | None = None
    ) -> tuple[UserRecord, str]:
        """A new password (generated when none is given); lifts every address's sign-in
        lock, ends the login's sessions and revokes its API tokens, so whoever held the
        old password is out.  The user must then choose a password of their own before
        anything else works, unless they reset their own."""
        before = self.get(principal, user_id)
        new = _password(password)
        after = replace(
            before,
            password_hash=hash_password(new),
            locked_until=None,
            must_change_password=user_id != principal.user_id,
        )
        now = self._clock()
        line = audit_line(principal, after.company_id, "user.password_reset", now, target=user_id)
        self.store.reset_credentials(after, now, audit=[line])
        if self.revocations is not None:
            self.revocations.end_access(reason=AccessEnded.PASSWORD_RESET, user_id=user_id)
        return after, new

    def reset_second_factor(self, principal: Principal, user_id: str) -> UserRecord:
        """Turn the login's TOTP off and forget its recovery codes (a lost phone); where
        the company requires it, the user enrols again at their next sign-in."""
        user = self.get(principal, user_id)
        line = audit_line(
            principal, user.company_id, "user.totp_reset", self._clock(), target=user_id
        )
        self.store.set_totp(user_id, None, enabled=False, audit=[line])
        return replace(user, totp_enabled=False)

    def _keep_an_administrator(
        self, befores: Sequence[UserRecord], afters: Sequence[UserRecord]
    ) -> None:
        """A company never loses its last enabled administrator: nobody could fix that."""
        changed = {user.user_id: user for user in afters}
        for company_id in {user.company_id for user in befores if _administers(user)}:
            remaining = [
                changed.get(user.user_id, user) for user in self.store.list_users(company_id)
            ]
            if not any(_administers(user) for user in remaining):
                raise ConflictError(
                    f"this would leave company {company_id} without an enabled "
                    "administrator; make another login an administrator first"
                )


def _administers(user: UserRecord) -> bool:
    return user.role is LoginRole.ADMINISTRATOR and not user.disabled
