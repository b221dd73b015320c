"""Staff logins and sessions: argon2 password hashes, tokens stored only as hashes (R18).

A login locks for a while after too many wrong passwords in a row, so a password cannot
be guessed by trying many; the right one then waits too.  An administrator lifts the
lock by resetting the password.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from chatrec.errors import AuthenticationError, LoginLockedError
from chatrec.services import passwords
from chatrec.services.chats import hash_token
from chatrec.store.records import AuditRecord, SessionRecord, UserRecord
from chatrec.store.store import Store

API_TOKEN_PREFIX = "crt_"  # noqa: S105 - a prefix, not a secret
"""What API tokens (``services.tokens``) start with, and session tokens never do."""
WRONG = "wrong login or password"


def _session_token() -> str:
    while (token := secrets.token_urlsafe(32)).startswith(API_TOKEN_PREFIX):
        pass  # one in 17 million: drawn again, so a bearer token's prefix is never wrong
    return token


class AuthService:
    """Password login to a session token, and a token back to its user.

    ``max_failures`` wrong passwords in a row lock a login for ``lockout``.
    """

    def __init__(
        self,
        store: Store,
        *,
        session_length: timedelta,
        max_failures: int = 5,
        lockout: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.session_length = session_length
        self.max_failures = max_failures
        self.lockout = lockout
        self._clock = clock

    async def login(self, login: str, password: str) -> tuple[UserRecord, str]:
        """A new session token for a valid, enabled, unlocked login.

        A wrong login or password gets one vague error; a locked login says until when.
        The password is checked even then, so every refusal takes as long.
        """
        user = await asyncio.to_thread(self.store.find_user_by_login, login)
        valid, stale = await passwords.current().verify_async(
            user.password_hash if user else await asyncio.to_thread(_dummy_hash), password
        )
        now = self._clock()
        if user is None:
            raise AuthenticationError(WRONG)
        if user.locked_until is not None and user.locked_until > now:
            raise self._locked(user.locked_until, now)
        if not valid:
            await self._count_failure(user, now)
            raise AuthenticationError(WRONG)
        if user.disabled:
            raise AuthenticationError(WRONG)
        if user.failed_logins or user.locked_until is not None:
            await asyncio.to_thread(self.store.unlock, user.user_id)
        if stale:  # hashed at another cost than the configured one
            await passwords.rehash(self.store, user.user_id, user.password_hash, password)
        token = _session_token()
        session = SessionRecord(
            hash_token(token), user.user_id, self._clock() + self.session_length
        )
        await asyncio.to_thread(self.store.create_session, session)
        return user, token

    async def user_for(self, token: str | None) -> UserRecord:
        if not token:
            raise AuthenticationError("log in first")
        session = await asyncio.to_thread(self.store.get_session, hash_token(token))
        if session is None or session.expires_at <= self._clock():
            raise AuthenticationError("your session has expired; log in again")
        user = await asyncio.to_thread(self.store.get_user, session.user_id)
        if user is None or user.disabled:
            raise AuthenticationError("this login is disabled")
        return user

    async def logout(self, token: str) -> None:
        await asyncio.to_thread(self.store.delete_session, hash_token(token))

    async def unlock(self, user_id: str) -> None:
        """Lift the login's lock and forget its wrong passwords (a password reset)."""
        await asyncio.to_thread(self.store.unlock, user_id)

    async def _count_failure(self, user: UserRecord, now: datetime) -> None:
        until = now + self.lockout
        line = AuditRecord(
            company_id=user.company_id,
            at=now,
            actor=user.login,
            action="login_locked",
            detail={
                "target": user.user_id,
                "failures": self.max_failures,
                "locked_until": until.isoformat(),
            },
        )
        _, locked = await asyncio.to_thread(
            functools.partial(
                self.store.count_failed_login,
                user.user_id,
                limit=self.max_failures,
                lock_until=until,
                audit=[line],
            )
        )
        if locked:
            raise self._locked(until, now)

    def _locked(self, until: datetime, now: datetime) -> LoginLockedError:
        minutes = max(1, -(-int((until - now).total_seconds()) // 60))
        return LoginLockedError(
            f"this login is locked after {self.max_failures} wrong passwords in a row, "
            f"until {until:%Y-%m-%d %H:%M} UTC (in {minutes} minute{'s' if minutes != 1 else ''}); "
            "try again then, or ask an administrator to reset your password",
            until,
        )


@functools.cache
def _dummy_hash() -> str:
    """A real hash to verify unknown logins against, so their timing is like known ones'.

    Made on first use: hashing costs ~0.2 s, which no process should pay at import.
    """
    return passwords.current().hash(secrets.token_hex(16))
