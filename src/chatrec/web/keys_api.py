"""The companies' signing keys (R21): published to anyone, rotated by administrators.

The public keys are what the QA side checks delivered recordings with
(``chatrec verify``), so they are served without signing in, each with its validity;
a rotation starts a new key now and leaves the old one published.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from chatrec.domain.manifest import PublicKey
from chatrec.web.errors import refusals
from chatrec.web.guard import Administrator, GuardedRoute, Services

router = APIRouter(prefix="/api", route_class=GuardedRoute)


class SigningKeyRead(BaseModel):
    key_id: str = Field(description="ed25519- and the first 16 hex digits of the key's SHA-256")
    company_id: str
    algorithm: str = Field(description="always Ed25519")
    public_key: str = Field(description="the raw 32-byte public key, base64")
    valid_from: datetime
    valid_until: datetime | None = Field(description="null while the key is the current one")


def key_read(key: PublicKey) -> SigningKeyRead:
    return SigningKeyRead.model_validate(key.to_json())


@router.get(
    "/companies/{company_id}/signing-keys",
    operation_id="listSigningKeys",
    tags=["verification"],
    responses=refusals(404),
)
async def signing_keys(company_id: str, services: Services) -> list[SigningKeyRead]:
    """Every public key the company's recordings were signed with, and when each was
    valid: public, for `chatrec verify` and the QA side's own verifiers (R21)."""
    keys = await asyncio.to_thread(services.admin.companies.signing_keys, company_id)
    return [key_read(key) for key in keys]


@router.post(
    "/admin/companies/{company_id}/signing-keys",
    status_code=201,
    operation_id="rotateSigningKey",
    tags=["verification"],
    responses=refusals(404),
)
def rotate_signing_key(
    company_id: str, principal: Administrator, services: Services
) -> SigningKeyRead:
    """Start a new signing key now; the old one stays published, valid until now (R21)."""
    return key_read(services.admin.companies.rotate_signing_key(principal, company_id))
