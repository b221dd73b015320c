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

from chatrec.services.tokens import MAX_DAYS, MAX_NAME
from chatrec.store.records import ApiTokenRecord
from chatrec.web.errors import refusals
from chatrec.web.guard import GuardedRoute, Services, Staff

router = APIRouter(prefix="/api/tokens", tags=["API tokens"], route_class=GuardedRoute)


class ApiTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME, description="what it is for")]
    expires_in_days: Annotated[
        int | None, Field(ge=1, le=MAX_DAYS, description="left out: until revoked")
    ] = None


class ApiTokenRead(BaseModel):
    token_id: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="to the minute")
    revoked_at: datetime | None


class ApiTokenCreated(BaseModel):
    token: str = Field(description="shown this once; send it as Authorization: Bearer")
    api_token: ApiTokenRead


def api_token_read(token: ApiTokenRecord) -> ApiTokenRead:
    return ApiTokenRead(
        token_id=token.token_id,
        name=token.name,
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


TokenId = Annotated[str, Path(min_length=1, max_length=64)]


@router.post("", status_code=201, operation_id="createApiToken", responses=refusals(400))
def create_token(body: ApiTokenCreate, user: Staff, services: Services) -> ApiTokenCreated:
    """A new token acting as the caller; the answer is the only place it is shown."""
    token, plain = services.tokens.create(user, body.name, body.expires_in_days)
    return ApiTokenCreated(token=plain, api_token=api_token_read(token))


@router.get("", operation_id="listApiTokens")
def list_tokens(user: Staff, services: Services) -> list[ApiTokenRead]:
    """The caller's tokens, revoked and expired ones too; never a token itself."""
    return [api_token_read(token) for token in services.tokens.list_tokens(user)]


@router.delete("/{token_id}", operation_id="revokeApiToken")
def revoke_token(token_id: TokenId, user: Staff, services: Services) -> ApiTokenRead:
    """Revoke a token: one's own, or as an administrator one of the company's."""
    return api_token_read(services.tokens.revoke(user, token_id))
