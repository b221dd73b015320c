"""The administration API of a company's logins (R4, R7, R12a, R18): who is recorded how
often, who may permit recordings, and their passwords and second factors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from chatrec.services.admin.users import UserChanges
from chatrec.store.records import UserRecord
from chatrec.web.errors import refusals
from chatrec.web.fields import Capacity, Name, Percentage
from chatrec.web.guard import (
    Administrator,
    CompanyId,
    GuardedRoute,
    Role,
    Services,
)

router = APIRouter(prefix="/api/admin", route_class=GuardedRoute)

# -- user logins (R4, R7, R12a) -------------------------------------------------------


class UserAdminRead(BaseModel):
    user_id: str
    company_id: str
    login: str
    name: str
    role: Role
    disabled: bool
    locked: bool = Field(
        description="an address made too many wrong sign-ins: it waits until locked_until"
    )
    locked_until: datetime | None
    must_change_password: bool = Field(description="must choose a password at next sign-in")
    totp_enabled: bool = Field(description="signs in with a TOTP code too")
    permit_recordings: bool
    record_chats: bool
    record_percentage: int
    capacity: int


def user_admin_read(user: UserRecord) -> UserAdminRead:
    # A lock that ran out stays stored until the next login; it no longer holds.
    locked = user.locked_until is not None and user.locked_until > datetime.now(UTC)
    return UserAdminRead(
        user_id=user.user_id,
        company_id=user.company_id,
        login=user.login,
        name=user.name,
        role=user.role,
        disabled=user.disabled,
        locked=locked,
        locked_until=user.locked_until if locked else None,
        must_change_password=user.must_change_password,
        totp_enabled=user.totp_enabled,
        permit_recordings=user.permit_recordings,
        record_chats=user.record_chats,
        record_percentage=user.record_percentage,
        capacity=user.capacity,
    )


class UserUpdate(BaseModel):
    """Fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    role: Literal["administrator", "supervisor", "agent"] | None = None
    disabled: bool | None = None
    permit_recordings: bool | None = Field(default=None, description="R12a")
    record_chats: bool | None = Field(default=None, description="R4")
    record_percentage: Percentage | None = Field(default=None, description="R7")
    capacity: Capacity | None = None

    def changes(self) -> UserChanges:
        return UserChanges(**self.model_dump())


class UserCreate(UserUpdate):
    login: Annotated[str, Field(min_length=1, max_length=100)]
    name: Name
    role: Literal["administrator", "supervisor", "agent"]
    password: Annotated[str, Field(min_length=10, max_length=1000)] | None = Field(
        default=None, description="left out: one is generated and returned once"
    )


class UserCreated(BaseModel):
    user: UserAdminRead
    password: str = Field(description="the first password: shown this once")


class UsersBulkUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_ids: Annotated[
        list[Annotated[str, Field(max_length=64)]], Field(min_length=1, max_length=1000)
    ]
    changes: UserUpdate


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Annotated[str, Field(min_length=10, max_length=1000)] | None = Field(
        default=None, description="left out: one is generated and returned once"
    )


@router.get("/users", operation_id="listUsers", tags=["users"])
def list_users(
    principal: Administrator, services: Services, company_id: CompanyId = None
) -> list[UserAdminRead]:
    return [user_admin_read(u) for u in services.admin.users.list_users(principal, company_id)]


@router.post(
    "/users",
    status_code=201,
    operation_id="createUser",
    tags=["users"],
    responses=refusals(400, 409),
)
def create_user(
    body: UserCreate, principal: Administrator, services: Services, company_id: CompanyId = None
) -> UserCreated:
    user, password = services.admin.users.create(
        principal,
        body.login,
        body.name,
        body.role,
        company_id=company_id,
        password=body.password,
        changes=UserChanges(**body.model_dump(exclude={"login", "password", "name", "role"})),
    )
    return UserCreated(user=user_admin_read(user), password=password)


@router.get("/users/{user_id}", operation_id="getUser", tags=["users"])
def get_user(user_id: str, principal: Administrator, services: Services) -> UserAdminRead:
    return user_admin_read(services.admin.users.get(principal, user_id))


@router.patch(
    "/users/{user_id}", operation_id="updateUser", tags=["users"], responses=refusals(400, 409)
)
def update_user(
    user_id: str, body: UserUpdate, principal: Administrator, services: Services
) -> UserAdminRead:
    """Changes to Permit Recordings and percentage apply to chats joined afterwards (R7)."""
    return user_admin_read(services.admin.users.update(principal, user_id, body.changes()))


@router.post(
    "/users/bulk", operation_id="updateUsers", tags=["users"], responses=refusals(400, 404, 409)
)
def update_users(
    body: UsersBulkUpdate, principal: Administrator, services: Services
) -> list[UserAdminRead]:
    """The same changes to many logins, all or none."""
    users = services.admin.users.update_many(principal, body.user_ids, body.changes.changes())
    return [user_admin_read(u) for u in users]


@router.post(
    "/users/{user_id}/password",
    operation_id="resetPassword",
    tags=["users"],
    responses=refusals(400),
)
def reset_password(
    user_id: str, body: PasswordReset, principal: Administrator, services: Services
) -> UserCreated:
    """A new password; unlocks the login and ends its sessions.  The user must choose a
    password of their own at next sign-in (unless they reset their own)."""
    user, password = services.admin.users.reset_password(principal, user_id, body.password)
    return UserCreated(user=user_admin_read(user), password=password)


@router.delete("/users/{user_id}/totp", operation_id="resetTotp", tags=["users"])
def reset_totp(user_id: str, principal: Administrator, services: Services) -> UserAdminRead:
    """Turn the login's TOTP off and forget its recovery codes (a lost phone); where the
    company requires it, the user sets it up again at next sign-in."""
    return user_admin_read(services.admin.users.reset_second_factor(principal, user_id))
