"""The caller's own login: its password and its second factor (R18).

These routes work for a session that must first change its password or set up a
second factor, as they are how it does so (the guard's ``Account``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from chatrec.services.admin.users import MIN_PASSWORD
from chatrec.store.records import Pending
from chatrec.web.api import client_address
from chatrec.web.errors import refusals
from chatrec.web.guard import (
    Account,
    Credentials,
    GuardedRoute,
    Services,
    SessionCookie,
    session_token,
)

router = APIRouter(prefix="/api/me", route_class=GuardedRoute, tags=["account"])


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: Annotated[str, Field(min_length=1, max_length=1000)]
    new_password: Annotated[str, Field(min_length=MIN_PASSWORD, max_length=1000)]


class PasswordChanged(BaseModel):
    pending: Pending | None = Field(
        description="what this session must still do: `totp_enrolment` where the company "
        "requires a second factor the login lacks"
    )


class TotpEnrolmentRead(BaseModel):
    secret: str = Field(description="the base32 secret, for typing into an app: shown once")
    uri: str = Field(description="the same as an otpauth:// URI (a QR code's content)")


class TotpConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Annotated[str, Field(min_length=1, max_length=40)]


class RecoveryCodesRead(BaseModel):
    recovery_codes: list[str] = Field(
        description="one-time codes that sign in instead of a TOTP code: shown this once"
    )


class TotpDisable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Annotated[str, Field(min_length=1, max_length=1000)]


@router.put("/password", operation_id="changeOwnPassword", responses=refusals(400))
async def change_password(
    body: PasswordChange,
    request: Request,
    user: Account,
    services: Services,
    credentials: Credentials,
    session: SessionCookie,
) -> PasswordChanged:
    """Change one's own password, giving the current one; every other session of the
    login ends, this one goes on."""
    pending = await services.account.change_password(
        user,
        body.current_password,
        body.new_password,
        session_token=session_token(credentials, session),
        address=client_address(request),
    )
    return PasswordChanged(pending=pending)


@router.post("/totp", status_code=201, operation_id="beginTotp", responses=refusals(409))
async def begin_totp(user: Account, services: Services) -> TotpEnrolmentRead:
    """Start setting up TOTP: a new secret for the authenticator app, shown once.  It
    takes effect when ``POST /api/me/totp/confirm`` sends a code of it."""
    enrolment = await services.account.begin_totp(user)
    return TotpEnrolmentRead(secret=enrolment.secret, uri=enrolment.uri)


@router.post("/totp/confirm", operation_id="confirmTotp", responses=refusals(400, 409))
async def confirm_totp(
    body: TotpConfirm,
    user: Account,
    services: Services,
    credentials: Credentials,
    session: SessionCookie,
) -> RecoveryCodesRead:
    """Turn TOTP on with a code the app shows; from now on sign-in asks for a code too.
    The answer holds ten recovery codes, each good for one sign-in, shown this once."""
    codes = await services.account.confirm_totp(
        user, body.code, session_token=session_token(credentials, session)
    )
    return RecoveryCodesRead(recovery_codes=codes)


@router.post(
    "/totp/disable", status_code=204, operation_id="disableTotp", responses=refusals(400, 409)
)
async def disable_totp(
    body: TotpDisable, request: Request, user: Account, services: Services
) -> None:
    """Turn TOTP off, giving the password; refused where the company requires it."""
    await services.account.disable_totp(user, body.password, address=client_address(request))
