"""API tokens for automation: made by a login for itself, shown once, kept as a hash (R18).

A token acts as its login, as ``Authorization: Bearer crt_<id>_<secret>``, within its
scope (``services.access.Scope``), until it expires or is revoked; a disabled login's
tokens stop working with it.  The prefix tells a token from a session token at a glance
(and to secret scanners); the id names it in lists, the audit trail and
``DELETE /api/tokens/{id}`` without revealing it.

A token bounds what is made with it: a token made with a token never has a wider scope,
never outlives it, and is revoked with it, so a leaked short-lived token cannot mint a
lasting one.  Every token expires within ``max_days``, and a login has at most
``max_live`` live tokens at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from chatrec.blocking import run_blocking
from chatrec.domain.roles import LoginRole
from chatrec.errors import AuthenticationError, InvalidRequestError, NotFoundError, ScopeError
from chatrec.services.access import (
    Credential,
    CredentialKind,
    Principal,
    Scope,
    require_own,
    require_role,
    require_scope,
)
from chatrec.services.admin.audit import audit_line
from chatrec.services.auth import API_TOKEN_PREFIX
from chatrec.services.ports import ApiTokenStore
from chatrec.services.revocation import AccessEnded, Revocations
from chatrec.services.token_hash import hash_token
from chatrec.store.records import ApiTokenRecord, UserRecord

MAX_DAYS = 3650
"""The longest lifetime ``CHATREC_API_TOKEN_MAX_DAYS`` may allow."""
DEFAULT_MAX_DAYS = 365
DEFAULT_MAX_LIVE = 20
MAX_NAME = 100
# Using a token notes it at most this often: a busy script does not write on every call.
TOUCH_EVERY = timedelta(minutes=1)
HOW_TO_RENEW = "create a new one with POST /api/tokens"
SESSION = Credential(CredentialKind.SESSION, "")
"""A login session, as the maker of a token: the widest scope, no expiry of its own."""


def _when(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def token_view(token: ApiTokenRecord) -> dict[str, object]:
    """The audited fields of a token: never the token or its hash."""
    expires = None if token.expires_at is None else token.expires_at.isoformat()
    return {
        "name": token.name,
        "user_id": token.user_id,
        "expires_at": expires,
        "scope": token.scope,
        "parent_id": token.parent_id,
    }


def token_credential(token: ApiTokenRecord) -> Credential:
    return Credential(
        CredentialKind.API_TOKEN, token.token_id, Scope(token.scope), token.expires_at
    )


class ApiTokens:
    def __init__(
        self,
        store: ApiTokenStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        max_days: int = DEFAULT_MAX_DAYS,
        max_live: int = DEFAULT_MAX_LIVE,
        revocations: Revocations | None = None,
    ) -> None:
        self.store = store
        self._clock = clock
        self.max_days = max_days
        self.max_live = max_live
        self.revocations = revocations

    def create(
        self,
        user: UserRecord,
        name: str,
        expires_in_days: int | None = None,
        *,
        scope: Scope | None = None,
        made_with: Credential = SESSION,
    ) -> tuple[ApiTokenRecord, str]:
        """A new token of ``user``, and its plain text, which is never shown again.

        ``made_with`` is the credential of the request: a token made with a token gets
        at most its scope (by default the same), expires no later (by default with it),
        and is revoked with it.  Left out, the lifetime is the longest allowed.
        """
        cleaned = " ".join(name.split())
        if not 1 <= len(cleaned) <= MAX_NAME:
            raise InvalidRequestError(f"a token's name must have 1 to {MAX_NAME} characters")
        if expires_in_days is not None and not 1 <= expires_in_days <= self.max_days:
            raise InvalidRequestError(
                f"expires_in_days must be 1 to {self.max_days} (the longest a token may live, "
                "CHATREC_API_TOKEN_MAX_DAYS), or left out for that"
            )
        chosen = made_with.scope if scope is None else scope
        if not made_with.scope.covers(chosen):
            raise ScopeError(
                f"{made_with.what} may make tokens of scope {_up_to(made_with.scope)}, "
                f"not {chosen.value}"
            )
        now = self._clock()
        expires_at = now + timedelta(days=expires_in_days or self.max_days)
        if made_with.expires_at is not None and expires_at > made_with.expires_at:
            if expires_in_days is not None:
                most = max(0, (made_with.expires_at - now).days)
                raise InvalidRequestError(
                    f"{made_with.what} expires on {_when(made_with.expires_at)}, and a token "
                    f"made with it may not outlive it: ask for at most {most} days, or leave "
                    "expires_in_days out to expire with it"
                )
            expires_at = made_with.expires_at
        token_id = secrets.token_hex(8)
        plain = f"{API_TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        token = ApiTokenRecord(
            token_hash=hash_token(plain),
            token_id=token_id,
            user_id=user.user_id,
            name=cleaned,
            created_at=now,
            expires_at=expires_at,
            scope=chosen.value,
            parent_id=made_with.credential_id
            if made_with.kind is CredentialKind.API_TOKEN
            else None,
        )
        line = audit_line(
            Principal.of(user),
            user.company_id,
            "api_token.created",
            now,
            target=token_id,
            after=token_view(token),
        )
        self.store.create_api_token(token, live_limit=self.max_live, audit=[line])
        return token, plain

    def list_tokens(self, user: UserRecord) -> list[ApiTokenRecord]:
        return self.store.list_api_tokens(user.user_id)

    def revoke(
        self, user: UserRecord, token_id: str, *, made_with: Credential = SESSION
    ) -> ApiTokenRecord:
        """Revoke one's own token; administrators (and operators, with a credential of
        scope ``full``) also their company's.  Tokens made with it are revoked too, and
        every socket any of them opened is closed."""
        principal = Principal.of(user)
        token = self.store.get_api_token(token_id)
        owner = None if token is None else self.store.get_user(token.user_id)
        if token is None or owner is None:
            raise NotFoundError(f"no API token {token_id!r}")
        require_own(principal, owner.company_id, f"API token {token_id!r}")
        if owner.user_id != user.user_id:
            require_role(principal, LoginRole.ADMINISTRATOR, LoginRole.OPERATOR)
            require_scope(made_with, changes=True, administration=True)
        now = self._clock()
        line = audit_line(
            principal,
            owner.company_id,
            "api_token.revoked",
            now,
            target=token_id,
            before=token_view(token),
        )
        revoked = self.store.revoke_api_token(token_id, now, audit=[line])
        if self.revocations is not None:
            self.revocations.end_access(
                reason=AccessEnded.TOKEN_REVOKED, token_ids=[t.token_id for t in revoked]
            )
        return revoked[0]

    async def authenticate(self, token: str) -> tuple[UserRecord, Credential]:
        """The login a bearer API token acts as, and the token as a credential, if the
        token still works."""
        found = await run_blocking(self.store.find_api_token, hash_token(token))
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
        user = await run_blocking(self.store.get_user, found.user_id)
        if user is None or user.disabled:
            raise AuthenticationError(
                f"the login of API token {found.token_id} is disabled, and its tokens with it"
            )
        if found.last_used_at is None or found.last_used_at <= now - TOUCH_EVERY:
            await run_blocking(self.store.touch_api_token, found.token_hash, now, TOUCH_EVERY)
        return user, token_credential(found)


def _up_to(scope: Scope) -> str:
    allowed = [each.value for each in Scope if scope.covers(each)]
    return " or ".join(allowed)
