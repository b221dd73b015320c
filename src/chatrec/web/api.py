"""The HTTP API (published as OpenAPI at ``/openapi.json``)."""

from __future__ import annotations

import asyncio
import math
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from chatrec.errors import NotFoundError, RateLimitedError
from chatrec.live.routing import Unavailable
from chatrec.services.access import OVERSEERS, Actor, Role, company_for
from chatrec.services.auth import API_TOKEN_PREFIX
from chatrec.services.directory import company_settings
from chatrec.services.explain import explain_chat
from chatrec.store.records import UserRecord
from chatrec.web.container import Container
from chatrec.web.csrf import CSRF_COOKIE, bearer, set_csrf_cookie
from chatrec.web.errors import ErrorRead
from chatrec.web.views import asks_consent, chat_summary

SESSION_COOKIE = "chatrec_session"

router = APIRouter(prefix="/api")


def container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


Services = Annotated[Container, Depends(container)]


async def current_user(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    chatrec_session: Annotated[str | None, Cookie()] = None,
) -> UserRecord:
    """The staff user behind a bearer token (API or session token) or the session cookie.

    API tokens are accepted as bearer tokens only: a cookie is never one.  Changes made
    with the cookie have passed the CSRF check (``web.csrf``) before they get here.
    """
    services = container(request)
    token = bearer(authorization)
    if token is not None:
        return await user_for_token(services, token)
    return await services.auth.user_for(chatrec_session)


async def user_for_token(services: Container, token: str) -> UserRecord:
    """The staff user of a token given outright (a bearer header, a WebSocket hello):
    an API token or a session token, never a cookie."""
    if token.startswith(API_TOKEN_PREFIX):
        return await services.tokens.user_for(token)
    return await services.auth.user_for(token)


async def limit_logins(request: Request) -> None:
    """So many login attempts a minute per client address; then 429 with Retry-After."""
    wait = container(request).login_limiter.take(request.client.host if request.client else None)
    if wait > 0:
        seconds = math.ceil(wait)
        raise RateLimitedError(
            f"too many login attempts from your address; try again in {seconds} seconds",
            seconds,
        )


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
    asks_consent: bool = Field(
        description="whether the service's chat flow asks the customer for consent to record "
        "(R10): then whether a chat is recorded depends on the answer"
    )


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


class AgentTargetRead(BaseModel):
    user_id: str
    name: str
    available: bool = Field(description="their own choice: Available (true) or Away")
    online: bool = Field(description="whether a portal of theirs is connected")
    capacity: int = Field(description="how many chats they take at once")
    open_chats: int
    free_slots: int = Field(description="how many more chats they can take")
    reason: Unavailable | None = Field(
        description="why a transfer to them is refused now; null when it is not"
    )


class QueueTargetRead(BaseModel):
    queue_id: str
    name: str


class DirectoryRead(BaseModel):
    agents: list[AgentTargetRead]
    queues: list[QueueTargetRead]


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


@router.post(
    "/login",
    dependencies=[Depends(limit_logins)],
    responses={429: {"model": ErrorRead, "description": "Too many attempts: see Retry-After"}},
)
async def login(body: LoginCreate, response: Response, services: Services) -> SessionRead:
    """A session: its token, the HttpOnly session cookie and the CSRF cookie (R18).

    Too many wrong passwords in a row lock the login for a while (401 ``login_locked``).
    """
    user, token = await services.auth.login(body.login, body.password)
    secure, max_age = services.config.secure_cookies, int(services.config.session_hours * 3600)
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure, max_age=max_age
    )
    set_csrf_cookie(response, token, secure=secure, max_age=max_age)
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
    await services.chats.logged_out(user)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)


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
    flow = None
    if found.flow_id is not None:
        flow = await asyncio.to_thread(services.store.get_flow, found.flow_id)
    return ServiceRead(
        service_id=found.service_id,
        name=found.name,
        company=company.name,
        records=records,
        asks_consent=flow is not None and asks_consent(flow.source),
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
async def directory(user: Staff, services: Services) -> DirectoryRead:
    """Agents and queues of the caller's company, for transfers: which agents can take a
    chat now, how many more, and why the others cannot."""
    users = await asyncio.to_thread(services.store.list_users, user.company_id)
    queues = await asyncio.to_thread(services.store.list_queues, user.company_id)
    agents = []
    for agent in users:
        if agent.role != "agent" or agent.disabled:
            continue
        availability = services.chats.availability(agent)
        agents.append(
            AgentTargetRead(
                user_id=agent.user_id,
                name=agent.name,
                available=availability.available,
                online=availability.online,
                capacity=availability.capacity,
                open_chats=availability.open_chats,
                free_slots=availability.free_slots,
                reason=availability.reason,
            )
        )
    return DirectoryRead(
        agents=agents,
        queues=[QueueTargetRead(queue_id=q.queue_id, name=q.name) for q in queues],
    )


@router.get("/chats/{chat_id}/explanation")
async def explanation(chat_id: str, user: Staff, services: Services) -> ExplanationRead:
    """Why each recording of the chat was produced or suppressed (R14)."""
    actor = Actor.of(user)
    # Operators read any company's chats; overseers their own company's (R18).
    scope = None if actor.role is Role.OPERATOR else company_for(actor, None, *OVERSEERS)
    found = await asyncio.to_thread(explain_chat, services.store, chat_id, scope)
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
