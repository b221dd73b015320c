"""Staff logins and sessions: argon2 password hashes, tokens stored only as hashes (R18)."""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from chatrec.errors import AuthenticationError
from chatrec.services.chats import hash_token
from chatrec.store.records import SessionRecord, UserRecord
from chatrec.store.store import Store

_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class AuthService:
    """Password login to a session token, and a token back to its user."""

    def __init__(
        self,
        store: Store,
        *,
        session_length: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.session_length = session_length
        self._clock = clock

    async def login(self, login: str, password: str) -> tuple[UserRecord, str]:
        """A new session token for a valid, enabled login; one vague error otherwise."""
        user = await asyncio.to_thread(self.store.find_user_by_login, login)
        valid = await asyncio.to_thread(
            verify_password, user.password_hash if user else _dummy_hash(), password
        )
        if user is None or not valid or user.disabled:
            raise AuthenticationError("wrong login or password")
        token = secrets.token_urlsafe(32)
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


@functools.cache
def _dummy_hash() -> str:
    """A real hash to verify unknown logins against, so their timing is like known ones'.

    Made on first use: hashing costs ~0.2 s, which no process should pay at import.
    """
    return _HASHER.hash(secrets.token_hex(16))
