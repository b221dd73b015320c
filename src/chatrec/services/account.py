"""What staff do to their own login: change the password, set up or turn off the second
factor (R18).

Each asks for something only the user knows (the current password, or a code from the
phone), so a session left open on a shared screen cannot take the login over.  A wrong
current password counts as a wrong sign-in from the caller's address, like at sign-in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from chatrec.errors import ActionError, ConflictError
from chatrec.services import passwords
from chatrec.services.access import CredentialKind, Principal
from chatrec.services.admin.audit import audit_line
from chatrec.services.admin.users import check_password
from chatrec.services.auth import AuthService
from chatrec.services.ports import AccountStore
from chatrec.services.revocation import AccessEnded, Revocations
from chatrec.services.second_factor import (
    new_recovery_codes,
    new_secret,
    provisioning_uri,
    recovery_hash,
    totp_step,
)
from chatrec.services.token_hash import hash_token
from chatrec.store.records import Pending, UserRecord

WRONG_PASSWORD = "your current password is wrong; enter the one you signed in with"  # noqa: S105


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A TOTP secret being set up: shown this once, as text and as an ``otpauth://`` URI."""

    secret: str
    uri: str


class AccountService:
    def __init__(
        self,
        store: AccountStore,
        auth: AuthService,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        revocations: Revocations | None = None,
    ) -> None:
        self.store = store
        self.auth = auth
        self.revocations = revocations
        self._clock = clock

    async def _require_password(self, user: UserRecord, password: str, address: str) -> None:
        locked = await asyncio.to_thread(self.store.login_lock, user.user_id, address)
        valid, _ = await passwords.current().verify_async(user.password_hash, password)
        now = self._clock()
        if locked is not None and locked > now:
            raise ActionError(WRONG_PASSWORD)
        if not valid:
            await self.auth.count_failure(user.user_id, address, user, now)
            raise ActionError(WRONG_PASSWORD)

    async def change_password(
        self,
        user: UserRecord,
        current: str,
        new: str,
        *,
        session_token: str | None,
        address: str = "unknown",
    ) -> Pending | None:
        """Set the user's own password; every other session of theirs ends.

        The session it was made in (``session_token``) goes on, with what it must still
        do (a second factor the company requires), which is returned.
        """
        check_password(new)
        await self._require_password(user, current, address)
        if new == current:
            raise ActionError("choose a new password, not the current one")
        new_hash = await passwords.current().hash_async(new)
        after = replace(user, password_hash=new_hash, must_change_password=False)
        pending = await self.auth.enrolment_pending(after)
        now = self._clock()
        line = audit_line(
            Principal.of(user), user.company_id, "user.password_changed", now, target=user.user_id
        )
        keep = None if session_token is None else hash_token(session_token)
        await asyncio.to_thread(self.store.change_password, after, keep, pending, audit=[line])
        if self.revocations is not None:  # the other sessions' open sockets close too
            self.revocations.end_access(
                reason=AccessEnded.PASSWORD_CHANGED,
                user_id=user.user_id,
                kind=CredentialKind.SESSION,
                keep_session=keep,
            )
        return pending

    async def begin_totp(self, user: UserRecord) -> Enrolment:
        """A new TOTP secret for the user to put in their authenticator app; it signs in
        only once :meth:`confirm_totp` has seen a code of it."""
        if user.totp_enabled:
            raise ConflictError(
                "two-factor sign-in is on already; turn it off first to move it to a new phone"
            )
        secret = new_secret()
        await asyncio.to_thread(self.store.set_totp, user.user_id, secret, enabled=False)
        return Enrolment(secret, provisioning_uri(secret, user.login, user.company_id))

    async def confirm_totp(
        self, user: UserRecord, code: str, *, session_token: str | None
    ) -> list[str]:
        """Turn TOTP on, proven by a code of the new secret; the recovery codes, shown once."""
        if user.totp_enabled:
            raise ConflictError("two-factor sign-in is on already")
        secret = await asyncio.to_thread(self.store.totp_secret, user.user_id)
        if secret is None:
            raise ConflictError("start setting up two-factor sign-in first (POST /api/me/totp)")
        now = self._clock()
        step = totp_step(secret, code, now)
        if step is None:
            raise ActionError(
                "that code is not the current one of the new secret: check that the phone's "
                "clock is right and enter the code the app shows now"
            )
        codes = new_recovery_codes()
        line = audit_line(
            Principal.of(user), user.company_id, "user.totp_enabled", now, target=user.user_id
        )
        hashes = [recovery_hash(code) for code in codes]
        await asyncio.to_thread(self.store.enable_totp, user.user_id, step, hashes, audit=[line])
        if session_token is not None:
            token_hash = hash_token(session_token)
            session = await asyncio.to_thread(self.store.get_session, token_hash)
            if session is not None and session.pending is Pending.TOTP_ENROLMENT:
                await asyncio.to_thread(self.store.set_session_pending, token_hash, None)
        return codes

    async def disable_totp(self, user: UserRecord, password: str, *, address: str) -> None:
        """Turn the user's TOTP off and forget its recovery codes, unless the company
        requires it."""
        await self._require_password(user, password, address)
        company = await asyncio.to_thread(self.store.get_company, user.company_id)
        if company is not None and company.require_totp:
            raise ConflictError(
                "your company requires two-factor sign-in; to move it to a new phone, ask "
                "an administrator to reset it, then set it up again"
            )
        line = audit_line(
            Principal.of(user),
            user.company_id,
            "user.totp_disabled",
            self._clock(),
            target=user.user_id,
        )
        await asyncio.to_thread(
            self.store.set_totp, user.user_id, None, enabled=False, audit=[line]
        )
