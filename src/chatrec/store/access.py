"""Sign-in and access: sessions, wrong sign-ins, passwords, the second factor, API tokens.

The rows are written by ``logins`` and ``tokens``; here each call is one transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, delete, select, update

from chatrec.domain.roles import LoginRole
from chatrec.errors import NotFoundError
from chatrec.store import logins, tokens
from chatrec.store.mapping import (
    user_values,
    values_of,
)
from chatrec.store.models import (
    SessionRow,
    UserRow,
)
from chatrec.store.records import (
    ApiTokenRecord,
    Pending,
    SessionRecord,
    UserRecord,
)
from chatrec.store.tables import SESSIONS, USERS
from chatrec.store.transactions import (
    Audit,
    StorePart,
    add_audit_rows,
    require,
)

_USER = "user__"
_USER_FIELDS = tuple(field.name for field in dataclasses.fields(UserRecord))
_SESSION_AND_USER = (
    select(SESSIONS, *(USERS.c[name].label(_USER + name) for name in _USER_FIELDS))
    .select_from(SESSIONS.outerjoin(USERS, USERS.c.user_id == SESSIONS.c.user_id))
    .where(SESSIONS.c.token_hash == bindparam("token_hash"))
)
"""A session and its login's columns (``user__``…), read at every staff frame."""


def _user_of(row: Any) -> UserRecord | None:
    if getattr(row, _USER + "user_id") is None:
        return None
    found = {name: getattr(row, _USER + name) for name in _USER_FIELDS}
    return UserRecord(**found | {"role": LoginRole(found["role"])})


class AccessStore(StorePart):
    """What lets a login in, and what shuts it out again."""

    def create_session(self, login_session: SessionRecord) -> None:
        with self._write() as session:
            require(session, UserRow, login_session.user_id, "user")
            session.add(SessionRow(**values_of(login_session)))

    def get_session(self, token_hash: str) -> SessionRecord | None:
        """The session, expired or not: the caller compares its times with its clock."""
        with self._read() as session:
            row = session.get(SessionRow, token_hash)
            return None if row is None else logins.session_record(row)

    def session_and_user(self, token_hash: str) -> tuple[SessionRecord, UserRecord | None] | None:
        """The session (expired or not) and its login as stored now, in one read: every
        frame of a staff socket asks, so it is read at the driver (issue 13)."""
        row = self._plain_row(_SESSION_AND_USER, {"token_hash": token_hash})
        return None if row is None else (logins.session_record(row), _user_of(row))

    def set_session_pending(self, token_hash: str, pending: Pending | None) -> None:
        with self._write() as session:
            row = require(session, SessionRow, token_hash, "session")
            row.pending = None if pending is None else pending.value

    def touch_session(self, token_hash: str, now: datetime, every: timedelta) -> None:
        """Note the session's use, at most once per ``every``."""
        with self._write() as session:
            logins.touch_session(session, token_hash, now, every)

    def delete_session(self, token_hash: str) -> None:
        with self._write() as session:
            session.execute(delete(SessionRow).where(SessionRow.token_hash == token_hash))

    def end_sessions(self, user_id: str, *, keep: str | None = None, audit: Audit = ()) -> int:
        """End every session of the login but the one hashed ``keep``; how many ended."""
        with self._write() as session:
            ended = logins.end_sessions(session, user_id, keep=keep)
            add_audit_rows(session, audit)
            return ended

    def delete_expired_sessions(self, now: datetime, idle_since: datetime | None = None) -> int:
        """Forget sessions that expired by ``now`` or were idle since ``idle_since``; how
        many were deleted."""
        with self._write() as session:
            return logins.delete_stale_sessions(session, now, idle_since)

    def replace_password_hash(self, user_id: str, old_hash: str, new_hash: str) -> bool:
        """Store the login's password hashed anew, at another cost (sign-in's rehash), unless
        its hash changed meanwhile (a reset wins); whether it was replaced."""
        statement = (
            update(UserRow)
            .where(UserRow.user_id == user_id, UserRow.password_hash == old_hash)
            .values(password_hash=new_hash)
            .execution_options(synchronize_session=False)
        )
        with self._write() as session:
            return bool(cast(CursorResult[Any], session.execute(statement)).rowcount)

    def change_password(
        self,
        user: UserRecord,
        keep: str | None,
        pending: Pending | None = None,
        *,
        audit: Audit = (),
    ) -> int:
        """Store the login with its new password and end its other sessions (all but the
        one hashed ``keep``, which is left ``pending``), in one transaction; how many
        ended."""
        with self._write() as session:
            row = require(session, UserRow, user.user_id, "user")
            for name, value in user_values(user).items():
                setattr(row, name, value)
            ended = logins.end_sessions(session, user.user_id, keep=keep)
            if keep is not None and (kept := session.get(SessionRow, keep)) is not None:
                kept.pending = None if pending is None else pending.value
            add_audit_rows(session, audit)
            return ended

    def login_lock(self, lock_key: str, address: str) -> datetime | None:
        """Until when ``address`` may not sign in to ``lock_key``; ``None``: never locked."""
        with self._read() as session:
            return logins.lock_of(session, lock_key, address)

    def count_login_failure(
        self,
        lock_key: str,
        address: str,
        now: datetime,
        lock_after: logins.LockAfter,
        *,
        audit: Callable[[datetime], Audit] = lambda until: (),
    ) -> datetime | None:
        """Count a wrong sign-in; until when it locked ``address`` out of ``lock_key``
        (then ``audit(until)`` is written too), or ``None``."""
        with self._write() as session:
            until = logins.count_failure(session, lock_key, address, now, lock_after)
            if until is not None:
                add_audit_rows(session, audit(until))
            return until

    def clear_login_failures(self, lock_key: str, address: str | None = None) -> None:
        """Forget the wrong sign-ins of ``lock_key`` from ``address`` (a success), or from
        every address (an administrator unlocks)."""
        with self._write() as session:
            logins.clear_failures(session, lock_key, address)
            if address is None and (row := session.get(UserRow, lock_key)) is not None:
                row.locked_until = None

    def forget_login_failures(self, now: datetime, before: datetime) -> int:
        with self._write() as session:
            return logins.forget_failures(session, now, before)

    def set_totp(
        self, user_id: str, secret: str | None, *, enabled: bool, audit: Audit = ()
    ) -> None:
        with self._write() as session:
            logins.set_totp(session, self._secrets, user_id, secret, enabled=enabled)
            add_audit_rows(session, audit)

    def enable_totp(
        self, user_id: str, step: int, code_hashes: list[str], *, audit: Audit = ()
    ) -> None:
        """Turn the enrolled secret on, its confirming code spent, with new recovery codes."""
        with self._write() as session:
            row = require(session, UserRow, user_id, "user")
            row.totp_enabled = True
            row.totp_last_step = step
            logins.replace_recovery_codes(session, user_id, code_hashes)
            add_audit_rows(session, audit)

    def totp_secret(self, user_id: str) -> str | None:
        """The login's TOTP secret in plain text (enrolled or on), else ``None``."""
        with self._read() as session:
            return logins.totp_secret(session, self._secrets, user_id)

    def accept_totp_step(self, user_id: str, step: int) -> bool:
        with self._write() as session:
            return logins.accept_totp_step(session, user_id, step)

    def use_recovery_code(self, user_id: str, code_hash: str, now: datetime) -> bool:
        with self._write() as session:
            return logins.use_recovery_code(session, user_id, code_hash, now)

    def unused_recovery_codes(self, user_id: str) -> int:
        with self._read() as session:
            return logins.unused_recovery_codes(session, user_id)

    # -- API tokens: see ``tokens`` -------------------------------------------------------

    def create_api_token(
        self, token: ApiTokenRecord, *, live_limit: int | None = None, audit: Audit = ()
    ) -> None:
        """Add the token, unless its login has ``live_limit`` live ones (``None``: no limit)."""
        with self._write() as session:
            tokens.add_api_token(session, token, live_limit)
            add_audit_rows(session, audit)

    def find_api_token(self, token_hash: str) -> ApiTokenRecord | None:
        """The token, revoked or expired or not: the caller decides with its clock."""
        with self._read() as session:
            return tokens.find_api_token(session, token_hash)

    def get_api_token(self, token_id: str) -> ApiTokenRecord | None:
        with self._read() as session:
            return tokens.get_api_token(session, token_id)

    def list_api_tokens(self, user_id: str) -> list[ApiTokenRecord]:
        """The login's tokens, revoked and expired ones too, oldest first."""
        with self._read() as session:
            return tokens.list_api_tokens(session, user_id)

    def revoke_api_token(
        self, token_id: str, now: datetime, *, audit: Audit = ()
    ) -> list[ApiTokenRecord]:
        """Revoke the token and those made with it: the token first, then those."""
        with self._write() as session:
            revoked = tokens.revoke_api_token(session, token_id, now)
            add_audit_rows(session, audit)
            return revoked

    def reset_credentials(self, user: UserRecord, now: datetime, *, audit: Audit = ()) -> None:
        """Store the login with its new password and shut out every holder of the old one:
        its sessions end, its API tokens are revoked and every address's sign-in lock
        is lifted, all in one transaction."""
        with self._write() as session:
            row = require(session, UserRow, user.user_id, "user")
            if row.company_id != user.company_id:
                raise NotFoundError(f"no user {user.user_id!r} in company {user.company_id!r}")
            for name, value in user_values(user).items():
                setattr(row, name, value)
            logins.end_sessions(session, user.user_id)
            logins.clear_failures(session, user.user_id)
            tokens.revoke_user_tokens(session, user.user_id, now)
            add_audit_rows(session, audit)

    def touch_api_token(self, token_hash: str, now: datetime, every: timedelta) -> None:
        """Note the token's use, at most once per ``every``."""
        with self._write() as session:
            tokens.touch_api_token(session, token_hash, now, every)
