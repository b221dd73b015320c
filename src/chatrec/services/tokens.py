"""API tokens for automation: made by a login for itself, shown once, kept as a hash (R18).

A token acts as its login, as ``Authorization: Bearer crt_<id>_<secret>``, until it
expires or is revoked; a disabled login's tokens stop working with it.  The prefix
tells a token from a session token at a glance (and to secret scanners); the id names
it in lists, the audit trail and ``DELETE /api/tokens/{id}`` without revealing it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from chatrec.errors import ActionError, AuthenticationError, NotFoundError
from chatrec.services.access import Actor, Role, require_own, require_role
from chatrec.services.admin.audit import audit_line
from chatrec.services.auth import API_TOKEN_PREFIX
from chatrec.services.chats import hash_token
from chatrec.store.records import ApiTokenRecord, UserRecord
from chatrec.store.store import Store

MAX_DAYS = 3650
MAX_NAME = 100
# Using a token notes it at most this often: a busy script does not write on every call.
TOUCH_EVERY = timedelta(minutes=1)
HOW_TO_RENEW = "create a new one with POST /api/tokens"


def _when(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def token_view(token: ApiTokenRecord) -> dict[str, object]:
    """The audited fields of a token: never the token or its hash."""
    expires = None if token.expires_at is None else token.expires_at.isoformat()
    return {"name": token.name, "user_id": token.user_id, "expires_at": expires}


class ApiTokens:
    def __init__(
        self, store: Store, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.store = store
        self._clock = clock

    def create(
        self, user: UserRecord, name: str, expires_in_days: int | None = None
    ) -> tuple[ApiTokenRecord, str]:
        """A new token of ``user``, and its plain text, which is never shown again."""
        cleaned = " ".join(name.split())
        if not 1 <= len(cleaned) <= MAX_NAME:
            raise ActionError(f"a token's name must have 1 to {MAX_NAME} characters")
        if expires_in_days is not None and not 1 <= expires_in_days <= MAX_DAYS:
            raise ActionError(f"expires_in_days must be 1 to {MAX_DAYS}, or left out")
        now = self._clock()
        token_id = secrets.token_hex(8)
        plain = f"{API_TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        token = ApiTokenRecord(
            token_hash=hash_token(plain),
            token_id=token_id,
            user_id=user.user_id,
            name=cleaned,
            created_at=now,
            expires_at=None if expires_in_days is None else now + timedelta(days=expires_in_days),
        )
        line = audit_line(
            Actor.of(user),
            user.company_id,
            "api_token.created",
            now,
            target=token_id,
            after=token_view(token),
        )
        self.store.create_api_token(token, audit=[line])
        return token, plain

    def list_tokens(self, user: UserRecord) -> list[ApiTokenRecord]:
        return self.store.list_api_tokens(user.user_id)

    def revoke(self, user: UserRecord, token_id: str) -> ApiTokenRecord:
        """Revoke one's own token; administrators (and operators) also their company's."""
        actor = Actor.of(user)
        token = self.store.get_api_token(token_id)
        owner = None if token is None else self.store.get_user(token.user_id)
        if token is None or owner is None:
            raise NotFoundError(f"no API token {token_id!r}")
        require_own(actor, owner.company_id, f"API token {token_id!r}")
        if owner.user_id != user.user_id:
            require_role(actor, Role.ADMINISTRATOR, Role.OPERATOR)
        now = self._clock()
        line = audit_line(
            actor,
            owner.company_id,
            "api_token.revoked",
            now,
            target=token_id,
            before=token_view(token),
        )
        return self.store.revoke_api_token(token_id, now, audit=[line])

    async def user_for(self, token: str) -> UserRecord:
        """The login a bearer API token acts as, if the token still works."""
        found = await asyncio.to_thread(self.store.find_api_token, hash_token(token))
        now = self._clock()
        if found is None:
            raise AuthenticationError(f"this API token is unknown; {HOW_TO_RENEW}")
        if found.revoked_at is not None:
            raise AuthenticationError(
                f"API token {found.token_id} was revoked on {_when(found.revoked_at)}; "
                + HOW_TO_RENEW
            )
        if found.expires_at is not None and found.expires_at <= now:
            raise AuthenticationError(
                f"API token {found.token_id} expired on {_when(found.expires_at)}; " + HOW_TO_RENEW
            )
        user = await asyncio.to_thread(self.store.get_user, found.user_id)
        if user is None or user.disabled:
            raise AuthenticationError(
                f"the login of API token {found.token_id} is disabled, and its tokens with it"
            )
        if found.last_used_at is None or found.last_used_at <= now - TOUCH_EVERY:
            await asyncio.to_thread(self.store.touch_api_token, found.token_hash, now, TOUCH_EVERY)
        return user
