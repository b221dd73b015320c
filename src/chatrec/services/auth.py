"""Staff sign-in and sessions: argon2 password hashes, tokens stored only as hashes (R18).

Sign-in tells nobody which logins exist.  Every refusal of a password (wrong, unknown
login, disabled login, an address waiting after wrong tries) is the same answer after
the same work: one password hash is checked every time.

Wrong sign-ins are counted per login *and* client address.  After
``max_failures`` in a row the address waits ``lockout``, doubling with each further
failure up to ``lockout_cap``; the login's owner elsewhere is not held up, so nobody can
lock a colleague out.  A success from that address, or an administrator's password
reset, clears the count.  (The per-address budget of attempts over all logins is the
web layer's ``AddressLimiter``.)

Logins are unique within a company, not across companies.  Sign-in finds the login
named in any company; when ``company`` is given, in that one only (operators' company
is ``system``).  A login that two companies share is found only with its company: it
is refused, like a wrong password, without it, so the answer never tells that another
company has the same login.  The refusal's words say to give the company.

A session ends ``session_length`` after sign-in, or after ``idle_timeout`` without use
(a request, or a frame on the portal's socket).  A session may start *pending*: after
an administrator's reset the user must choose a password of their own, and in a company
that requires a second factor a user without one must set it up; until then the
session can do only that (``SignInPendingError``).
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chatrec.blocking import run_blocking
from chatrec.errors import (
    AuthenticationError,
    PasswordChangeRequiredError,
    SecondFactorRequiredError,
    SignInPendingError,
    TotpEnrolmentRequiredError,
)
from chatrec.services import passwords
from chatrec.services.access import CredentialKind
from chatrec.services.ports import SignInStore
from chatrec.services.revocation import AccessEnded, Revocations
from chatrec.services.second_factor import recovery_hash, totp_step
from chatrec.services.token_hash import hash_token
from chatrec.store.records import AuditRecord, Pending, SessionRecord, UserRecord

API_TOKEN_PREFIX = "crt_"  # noqa: S105 - a prefix, not a secret
"""What API tokens (``services.tokens``) start with, and session tokens never do."""
WRONG = "wrong login or password"
ASK_FOR_CODE = "enter the 6-digit code from your authenticator app, or one of your recovery codes"
WRONG_CODE = (
    "that code is wrong or was used already; enter the current code from your "
    "authenticator app, or an unused recovery code"
)
TOUCH_EVERY = timedelta(minutes=1)
PURGE_EVERY = timedelta(minutes=10)
# Wrong sign-ins are forgotten a day after the last one (once no lock holds).
FORGET_FAILURES = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: its token (shown once) and what it must do first, if anything."""

    user: UserRecord
    token: str
    pending: Pending | None


def _session_token() -> str:
    while (token := secrets.token_urlsafe(32)).startswith(API_TOKEN_PREFIX):
        pass  # one in 17 million: drawn again, so a bearer token's prefix is never wrong
    return token


class AuthService:
    """Password (and second factor) sign-in to a session token, and a token to its user."""

    def __init__(
        self,
        store: SignInStore,
        *,
        session_length: timedelta,
        idle_timeout: timedelta | None = None,
        max_failures: int = 5,
        lockout: timedelta = timedelta(minutes=1),
        lockout_cap: timedelta = timedelta(hours=1),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        revocations: Revocations | None = None,
    ) -> None:
        self.store = store
        self.revocations = revocations
        self.session_length = session_length
        self.idle_timeout = idle_timeout
        self.max_failures = max_failures
        self.lockout = lockout
        self.lockout_cap = lockout_cap
        self._clock = clock
        # A session's use is written at most this often: a busy page does not write on
        # every request, and an idle session still ends within a minute of its time.
        self.touch_every = min(TOUCH_EVERY, idle_timeout / 4) if idle_timeout else TOUCH_EVERY
        self._purged_at: datetime | None = None
        self.wrong = (
            f"{WRONG}; after {max_failures} wrong tries in a row sign-in from your address "
            f"waits, longer each time; if your login is in several companies, give your "
            "company as well"
        )

    def now(self) -> datetime:
        return self._clock()

    def lock_after(self, failures: int) -> timedelta | None:
        """How long an address waits after ``failures`` wrong sign-ins in a row."""
        if failures < self.max_failures:
            return None
        doublings = min(failures - self.max_failures, 30)
        wait: timedelta = self.lockout * (1 << doublings)
        return min(self.lockout_cap, wait)

    async def login(
        self,
        login: str,
        password: str,
        *,
        address: str = "unknown",
        company: str | None = None,
        code: str | None = None,
    ) -> SignedIn:
        """A new session for a valid, enabled login, from an address not kept waiting.

        ``code`` is the TOTP or recovery code of a login that has a second factor;
        without it, a right password is answered :class:`SecondFactorRequiredError`.
        """
        user = await run_blocking(self.store.find_user_by_login, login, company)
        lock_key = user.user_id if user else f"?{company or ''}/{login.casefold()}"
        locked_until = await run_blocking(self.store.login_lock, lock_key, address)
        valid, stale = await passwords.current().verify_async(
            user.password_hash if user else await asyncio.to_thread(_dummy_hash), password
        )
        now = self._clock()
        if locked_until is not None and locked_until > now:
            raise AuthenticationError(self.wrong)
        if user is None or not valid:
            await self.count_failure(lock_key, address, user, now)
            raise AuthenticationError(self.wrong)
        if user.disabled:
            raise AuthenticationError(self.wrong)
        if user.totp_enabled:
            await self._check_code(lock_key, address, user, code, now)
        await run_blocking(self.store.clear_login_failures, lock_key, address)
        if stale:  # hashed at another cost than the configured one
            await passwords.rehash(self.store, user.user_id, user.password_hash, password)
        pending = await self._pending(user)
        token = _session_token()
        session = SessionRecord(
            hash_token(token),
            user.user_id,
            expires_at=now + self.session_length,
            created_at=now,
            last_seen_at=now,
            pending=pending,
        )
        await run_blocking(self.store.create_session, session)
        return SignedIn(user, token, pending)

    async def _check_code(
        self, lock_key: str, address: str, user: UserRecord, code: str | None, now: datetime
    ) -> None:
        """Accept a TOTP code of a step not used yet, or an unused recovery code; a wrong
        one counts as a wrong sign-in, so codes cannot be guessed either."""
        if not code or not code.strip():
            raise SecondFactorRequiredError(ASK_FOR_CODE)
        secret = await run_blocking(self.store.totp_secret, user.user_id)
        step = None if secret is None else totp_step(secret, code, now)
        if step is not None:
            if await run_blocking(self.store.accept_totp_step, user.user_id, step):
                return
        elif await run_blocking(
            self.store.use_recovery_code, user.user_id, recovery_hash(code), now
        ):
            return
        await self.count_failure(lock_key, address, user, now)
        raise SecondFactorRequiredError(WRONG_CODE)

    async def _pending(self, user: UserRecord) -> Pending | None:
        if user.must_change_password:
            return Pending.PASSWORD_CHANGE
        return await self.enrolment_pending(user)

    async def enrolment_pending(self, user: UserRecord) -> Pending | None:
        """Whether the user's company requires a second factor that they lack."""
        if user.totp_enabled:
            return None
        company = await run_blocking(self.store.get_company, user.company_id)
        return Pending.TOTP_ENROLMENT if company is not None and company.require_totp else None

    async def count_failure(
        self, lock_key: str, address: str, user: UserRecord | None, now: datetime
    ) -> None:
        """Count a wrong sign-in (or code, or current password) of ``lock_key`` from
        ``address``; a lock it starts is audited in the user's company."""

        def audit(until: datetime) -> list[AuditRecord]:
            if user is None:
                return []
            detail = {"target": user.user_id, "address": address, "until": until.isoformat()}
            return [AuditRecord(user.company_id, now, user.login, "login_locked", detail=detail)]

        await run_blocking(
            self.store.count_login_failure, lock_key, address, now, self.lock_after, audit=audit
        )

    async def session_for(self, token: str | None) -> tuple[SessionRecord, UserRecord]:
        """The live session of ``token`` and its enabled user; its use is noted."""
        if not token:
            raise AuthenticationError("log in first")
        found = await run_blocking(self.store.session_and_user, hash_token(token))
        now = self._clock()
        if found is None or found[0].expires_at <= now:
            raise AuthenticationError("your session has expired; log in again")
        session, user = found
        if self.idle_timeout is not None and session.last_seen_at <= now - self.idle_timeout:
            await run_blocking(self.store.delete_session, session.token_hash)
            minutes = round(self.idle_timeout.total_seconds() / 60)
            raise AuthenticationError(
                f"your session ended after {minutes} minutes without use; log in again"
            )
        if user is None or user.disabled:
            raise AuthenticationError("this login is disabled")
        if session.last_seen_at <= now - self.touch_every:
            await run_blocking(self.store.touch_session, session.token_hash, now, self.touch_every)
        return session, user

    async def user_for(self, token: str | None, *, allow_pending: bool = False) -> UserRecord:
        """The user of a live session that may act: not one that must first change its
        password or set up a second factor, unless ``allow_pending``."""
        session, user = await self.session_for(token)
        if session.pending is not None and not allow_pending:
            raise pending_error(session.pending)
        return user

    async def keep_alive(self, token: str) -> None:
        """Note that the session is in use without a request (its portal's socket)."""
        await run_blocking(
            self.store.touch_session, hash_token(token), self._clock(), self.touch_every
        )

    async def logout(self, token: str) -> None:
        await run_blocking(self.store.delete_session, hash_token(token))

    async def logout_everywhere(self, user: UserRecord) -> int:
        """End every session of the user, wherever it was signed in; how many."""
        line = AuditRecord(
            user.company_id,
            self._clock(),
            user.login,
            "user.logged_out_everywhere",
            detail={"target": user.user_id},
        )
        ended = await run_blocking(self.store.end_sessions, user.user_id, audit=[line])
        if self.revocations is not None:  # their open sockets close too, on every node
            self.revocations.end_access(
                reason=AccessEnded.SIGNED_OUT, user_id=user.user_id, kind=CredentialKind.SESSION
            )
        return ended

    async def unlock(self, user_id: str) -> None:
        """Forget the login's wrong sign-ins from every address (an administrator's act)."""
        await run_blocking(self.store.clear_login_failures, user_id)

    async def purge(self) -> int:
        """Delete expired and idle sessions and wrong sign-ins forgotten by now, at most
        once per ``PURGE_EVERY``; how many sessions went."""
        now = self._clock()
        if self._purged_at is not None and now - self._purged_at < PURGE_EVERY:
            return 0
        self._purged_at = now
        idle_since = None if self.idle_timeout is None else now - self.idle_timeout
        purged = await run_blocking(self.store.delete_expired_sessions, now, idle_since)
        await run_blocking(
            self.store.forget_login_failures, now, now - max(FORGET_FAILURES, self.lockout_cap)
        )
        return purged


def pending_error(pending: Pending) -> SignInPendingError:
    if pending is Pending.PASSWORD_CHANGE:
        return PasswordChangeRequiredError(
            "an administrator reset your password: choose a new one before anything else "
            "(the account page, or PUT /api/me/password)"
        )
    return TotpEnrolmentRequiredError(
        "your company requires two-factor sign-in: set it up before anything else (the "
        "account page, or POST /api/me/totp then POST /api/me/totp/confirm)"
    )


@functools.cache
def _dummy_hash() -> str:
    """A real hash to verify unknown logins against, so their timing is like known ones'.

    Made on first use: hashing costs ~0.2 s, which no process should pay at import.
    """
    return passwords.current().hash(secrets.token_hex(16))
