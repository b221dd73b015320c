"""API tokens for automation (R18): a login makes its own, sees them, and revokes them.

The plain token is in the answer to ``POST /api/tokens`` and nowhere else, ever; lists
show its id and name.  Administrators (and operators) also revoke their company's
tokens, say of someone who left.  Thin adapters over ``services.tokens``, run in the
thread pool because the store is synchronous.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from chatrec.services.access import Scope
from chatrec.services.tokens import MAX_DAYS, MAX_NAME
from chatrec.store.records import ApiTokenRecord
from chatrec.web.errors import refusal, refusals
from chatrec.web.guard import CallerCredential, GuardedRoute, Services, Staff

router = APIRouter(prefix="/api/tokens", tags=["API tokens"], route_class=GuardedRoute)

SCOPES = (
    "read: only reads (GET; on the staff socket sync and ping); chat: also acts, in chats "
    "and everywhere but a company's administration; full: whatever the login's role does"
)


class ApiTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME, description="what it is for")]
    expires_in_days: Annotated[
        int | None,
        Field(
            ge=1,
            le=MAX_DAYS,
            description="at most CHATREC_API_TOKEN_MAX_DAYS (default 365) and, for a token "
            "made with a token, no later than that one; left out: the longest allowed",
        ),
    ] = None
    scope: Annotated[
        Scope | None,
        Field(
            description=f"{SCOPES}. At most the scope of the token the request is made with; "
            "left out: that scope (full from a login session)"
        ),
    ] = None


class ApiTokenRead(BaseModel):
    token_id: str
    name: str
    scope: Scope = Field(description=SCOPES)
    created_at: datetime
    expires_at: datetime | None = Field(
        description="null only for tokens made before lifetimes were capped"
    )
    last_used_at: datetime | None = Field(description="to the minute")
    revoked_at: datetime | None
    parent_id: str | None = Field(
        description="the token this one was made with; revoking that revokes this one"
    )


class ApiTokenCreated(BaseModel):
    token: str = Field(description="shown this once; send it as Authorization: Bearer")
    api_token: ApiTokenRead


def api_token_read(token: ApiTokenRecord) -> ApiTokenRead:
    return ApiTokenRead(
        token_id=token.token_id,
        name=token.name,
        scope=Scope(token.scope),
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
        parent_id=token.parent_id,
    )


TokenId = Annotated[str, Path(min_length=1, max_length=64)]


@router.post(
    "",
    status_code=201,
    operation_id="createApiToken",
    responses={
        **refusals(400),
        **refusal(
            409,
            "The login has CHATREC_API_TOKEN_MAX_PER_USER live tokens already: revoke one "
            "(code too_many_tokens)",
        ),
    },
)
def create_token(
    body: ApiTokenCreate, user: Staff, credential: CallerCredential, services: Services
) -> ApiTokenCreated:
    """A new token acting as the caller; the answer is the only place it is shown.

    A token made with a token has at most its scope, expires no later, and is revoked
    with it.  A lifetime beyond CHATREC_API_TOKEN_MAX_DAYS, or beyond the token's the
    request is made with, is refused (422).
    """
    token, plain = services.tokens.create(
        user, body.name, body.expires_in_days, scope=body.scope, made_with=credential
    )
    return ApiTokenCreated(token=plain, api_token=api_token_read(token))


@router.get("", operation_id="listApiTokens")
def list_tokens(user: Staff, services: Services) -> list[ApiTokenRead]:
    """The caller's tokens, revoked and expired ones too; never a token itself."""
    return [api_token_read(token) for token in services.tokens.list_tokens(user)]


@router.delete("/{token_id}", operation_id="revokeApiToken")
def revoke_token(
    token_id: TokenId, user: Staff, credential: CallerCredential, services: Services
) -> ApiTokenRead:
    """Revoke a token: one's own, or as an administrator one of the company's.

    The tokens made with it are revoked too, and the staff sockets any of them opened
    close at once (close code 4403).
    """
    revoked = services.tokens.revoke(user, token_id, made_with=credential)
    return api_token_read(revoked)
