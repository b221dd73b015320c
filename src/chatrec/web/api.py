"""The HTTP API (published as OpenAPI at ``/openapi.json``)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from chatrec.errors import NotFoundError, PermissionDeniedError
from chatrec.services.directory import company_settings
from chatrec.services.explain import explain_chat
from chatrec.store.records import UserRecord
from chatrec.web.container import Container
from chatrec.web.views import chat_summary

SESSION_COOKIE = "chatrec_session"

router = APIRouter(prefix="/api")


def container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


Services = Annotated[Container, Depends(container)]


def bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


async def current_user(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    chatrec_session: Annotated[str | None, Cookie()] = None,
) -> UserRecord:
    """The staff user behind a bearer token or the session cookie."""
    return await container(request).auth.user_for(bearer(authorization) or chatrec_session)


Staff = Annotated[UserRecord, Depends(current_user)]


class LoginCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    login: Annotated[str, Field(min_length=1, max_length=200)]
    password: Annotated[str, Field(min_length=1, max_length=1000)]


class UserRead(BaseModel):
    user_id: str
    company_id: str
    login: str
    name: str
    role: str


class SessionRead(BaseModel):
    token: str
    user: UserRead


class ChatCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service_id: Annotated[str, Field(min_length=1, max_length=64)]


class ChatCreated(BaseModel):
    chat_id: str
    token: str
    websocket: str = "/ws/customer"


class ServiceRead(BaseModel):
    service_id: str
    name: str
    company: str
    records: bool = Field(description="whether the company records its chats (R1, R11a)")


class RecordingRead(BaseModel):
    recording_id: str
    origin: str
    reason: str
    outcome: str
    rule: str
    explanation: str
    files: list[str]


class ExplanationRead(BaseModel):
    chat_id: str
    status: str
    sentences: list[str]
    recordings: list[RecordingRead]


def user_read(user: UserRecord) -> UserRead:
    return UserRead(
        user_id=user.user_id,
        company_id=user.company_id,
        login=user.login,
        name=user.name,
        role=user.role,
    )


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.post("/login")
async def login(body: LoginCreate, response: Response, services: Services) -> SessionRead:
    user, token = await services.auth.login(body.login, body.password)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=services.config.secure_cookies,
        max_age=int(services.config.session_hours * 3600),
    )
    return SessionRead(token=token, user=user_read(user))


@router.post("/logout", status_code=204)
async def logout(
    response: Response,
    services: Services,
    user: Staff,
    authorization: Annotated[str | None, Header()] = None,
    chatrec_session: Annotated[str | None, Cookie()] = None,
) -> None:
    token = bearer(authorization) or chatrec_session
    if token:
        await services.auth.logout(token)
    response.delete_cookie(SESSION_COOKIE)


@router.get("/me")
async def me(user: Staff) -> UserRead:
    return user_read(user)


@router.get("/services/{service_id}")
async def service(service_id: str, services: Services) -> ServiceRead:
    """What the widget shows before a chat starts: public by design."""
    found = await asyncio.to_thread(services.store.get_service, service_id)
    if found is None:
        raise NotFoundError(f"no service {service_id!r}")
    company = await services.chats.company(found.company_id)
    records = company_settings(company).records
    return ServiceRead(
        service_id=found.service_id, name=found.name, company=company.name, records=records
    )


@router.post("/chats", status_code=201)
async def start_chat(body: ChatCreate, services: Services) -> ChatCreated:
    """Start a customer chat; the token is the customer's only key to it (R18)."""
    started = await services.chats.start_chat(body.service_id)
    return ChatCreated(chat_id=started.chat.chat_id, token=started.token)


@router.get("/chats")
async def chats(user: Staff, services: Services) -> list[dict[str, Any]]:
    """Open chats the caller may see: supervisors all of their company, agents theirs."""
    return [chat_summary(chat, staff=True) for chat in services.chats.visible_chats(user)]


@router.get("/directory")
async def directory(user: Staff, services: Services) -> dict[str, Any]:
    """Agents and queues of the caller's company, for transfers."""
    users = await asyncio.to_thread(services.store.list_users, user.company_id)
    queues = await asyncio.to_thread(services.store.list_queues, user.company_id)
    return {
        "agents": [
            {
                "user_id": u.user_id,
                "name": u.name,
                "available": services.chats.is_available(u.user_id),
            }
            for u in users
            if u.role == "agent" and not u.disabled
        ],
        "queues": [{"queue_id": q.queue_id, "name": q.name} for q in queues],
    }


@router.get("/chats/{chat_id}/explanation")
async def explanation(chat_id: str, user: Staff, services: Services) -> ExplanationRead:
    """Why each recording of the chat was produced or suppressed (R14)."""
    if user.role not in {"supervisor", "administrator"}:
        raise PermissionDeniedError("supervisors and administrators read explanations")
    found = await asyncio.to_thread(explain_chat, services.store, chat_id, user.company_id)
    return ExplanationRead(
        chat_id=found.chat_id,
        status=found.status,
        sentences=found.sentences,
        recordings=[
            RecordingRead(
                recording_id=r.recording_id,
                origin=r.origin,
                reason=r.reason,
                outcome=r.outcome,
                rule=r.rule,
                explanation=r.explanation,
                files=[f.path for f in r.files],
            )
            for r in found.recordings
        ],
    )
