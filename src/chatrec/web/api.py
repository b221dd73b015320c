"""The HTTP API of sessions, the widget and chats (published as OpenAPI at ``/openapi.json``).

Paths follow one scheme: plural nouns for collections; a chat and everything about it
(its explanation, its journal) under ``/api/chats``; a company's administration under
``/api/admin``.  Old paths of earlier versions stay for one version, marked deprecated.

Its length is the number of routes, each a thin adapter; sessions, the widget and chats
share the address limits and models defined here.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from chatrec.domain.codec import encode_event
from chatrec.domain.decision import Origin, Outcome
from chatrec.domain.roles import LoginRole
from chatrec.errors import NotFoundError, RateLimitedError
from chatrec.live.routing import Unavailable
from chatrec.services.access import OVERSEERS, company_for, require_own
from chatrec.services.directory import company_settings
from chatrec.services.explain import explain_chat
from chatrec.services.revocation import AccessEnded, session_id
from chatrec.store.records import ChatRecord, ChatStatus, Pending, UserRecord
from chatrec.web.catalog_api import FormFieldBody
from chatrec.web.csrf import CSRF_COOKIE, set_csrf_cookie
from chatrec.web.errors import refusals
from chatrec.web.guard import (
    SESSION_COOKIE,
    Account,
    CompanyId,
    Credentials,
    GuardedRoute,
    Overseer,
    Role,
    Services,
    SessionCookie,
    Staff,
    container,
    session_token,
)
from chatrec.web.paging import Cursor, Limit, Page, page_of, read_cursor
from chatrec.web.ratelimit import AttemptLimit, client_key
from chatrec.web.transport import secure_transport
from chatrec.web.views import asks_consent, chat_summary

router = APIRouter(prefix="/api", route_class=GuardedRoute)


def client_address(request: Request) -> str:
    """The caller's address as limits count it (an IPv6 client is its /64)."""
    return client_key(request.client.host if request.client else None)


async def _limit(limiter: AttemptLimit, request: Request, what: str) -> None:
    """Take one of the client address's attempts; without one, 429 with Retry-After."""
    wait = await limiter.take(client_address(request))
    if wait > 0:
        seconds = math.ceil(wait)
        raise RateLimitedError(
            f"too many {what} from your address; try again in {seconds} seconds", seconds
        )


async def limit_logins(request: Request) -> None:
    """So many login attempts a minute per client address; then 429 with Retry-After."""
    await _limit(container(request).login_limiter, request, "login attempts")


async def limit_chat_starts(request: Request) -> None:
    """So many chats a minute per client address; then 429 with Retry-After (R19)."""
    await _limit(container(request).chat_start_limiter, request, "chats started")


async def limit_customer_uploads(request: Request) -> None:
    """So many files a minute per client address from customers; then 429 (R19, R23)."""
    await _limit(container(request).upload_limiter, request, "files sent")


class LoginCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    login: Annotated[str, Field(min_length=1, max_length=200)]
    password: Annotated[str, Field(min_length=1, max_length=1000)]
    company: Annotated[str, Field(min_length=1, max_length=40)] | None = Field(
        default=None,
        description="the company id of the login (`system` for operators): needed only "
        "when the login is in several companies",
    )
    code: Annotated[str, Field(min_length=1, max_length=40)] | None = Field(
        default=None,
        description="the current TOTP code, or a recovery code, of a login with "
        "two-factor sign-in (asked for by 401 totp_required)",
    )


class UserRead(BaseModel):
    user_id: str
    company_id: str
    login: str
    name: str
    role: Role


class SessionRead(BaseModel):
    token: str
    user: UserRead
    pending: Pending | None = Field(
        description="what this session must do before anything else works: "
        "`password_change` (PUT /api/me/password) or `totp_enrolment` (POST /api/me/totp)"
    )


class MeRead(UserRead):
    pending: Pending | None = Field(description="as in the login's answer")
    totp_enabled: bool = Field(description="whether the login signs in with a TOTP code too")


class ChatCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service_id: Annotated[str, Field(min_length=1, max_length=64)]
    details: dict[Annotated[str, Field(max_length=32)], Annotated[str, Field(max_length=2000)]] = (
        Field(
            default_factory=dict,
            max_length=20,
            description="answers to the service's pre-chat form by field key (R23; issue 15); "
            "checked here: a required field left empty, an e-mail that is not one or a choice "
            "not offered is 422 naming the field, and no chat starts",
        )
    )
    page: Annotated[str, Field(max_length=4096)] = Field(
        default="",
        description="the address of the page the chat started on (http or https, at most "
        "2000 characters); personal data like the details",
    )


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
    open: bool = Field(description="within the service's business hours now (issue 15)")
    closed_message: str | None = Field(
        description="what to show while closed: the company's words; null while open"
    )
    pre_chat_form: list[FormFieldBody] = Field(
        description="what the widget asks before the chat starts (issue 15); empty: no form"
    )


class RecordingRead(BaseModel):
    recording_id: str
    origin: Origin
    reason: str
    outcome: Outcome
    rule: str
    explanation: str
    files: list[str]


class ExplanationRead(BaseModel):
    chat_id: str
    status: ChatStatus
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


class WrapUpCodesRead(BaseModel):
    codes: list[str] = Field(description="the company's wrap-up codes, in its order (R23)")
    required: bool = Field(description="an agent chooses one before ending a chat")


class ChatRead(BaseModel):
    chat_id: str
    service_id: str
    status: ChatStatus
    started_at: datetime
    ended_at: datetime | None
    flow_id: str | None
    flow_version: int | None = Field(description="the flow version the chat ran")
    purged: bool = Field(description="message bodies purged after delivery (R17)")


class JournalRead(BaseModel):
    chat: ChatRead
    events: list[dict[str, Any]]


def user_read(user: UserRecord) -> UserRead:
    return UserRead(
        user_id=user.user_id,
        company_id=user.company_id,
        login=user.login,
        name=user.name,
        role=user.role,
    )


def chat_read(chat: ChatRecord) -> ChatRead:
    return ChatRead(
        chat_id=chat.chat_id,
        service_id=chat.service_id,
        status=chat.status,
        started_at=chat.started_at,
        ended_at=chat.ended_at,
        flow_id=chat.flow_id,
        flow_version=chat.flow_version,
        purged=chat.purged_at is not None,
    )


HEALTH_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "The database did not answer the node's last heartbeat: the same "
        "fields as 200, with ``status`` ``unavailable`` and ``database_since``.",
        "content": {
            "application/json": {
                "schema": {"type": "object", "additionalProperties": {"type": "string"}}
            }
        },
    }
}


@router.get("/health", operation_id="getHealth", tags=["system"], responses=HEALTH_UNAVAILABLE)
async def health(services: Services, response: Response) -> dict[str, str]:
    """Answers while the server runs; it reads nothing.  It says whether the database
    answered the node's last heartbeat (503 while it does not: a load balancer sends
    nobody to a node that can store nothing) and, with several servers, whether Redis
    is reached: a node that lost it serves its own clients only (R20)."""
    database = services.node.health()
    if database["database"] != "ok":
        response.status_code = 503
        return {"status": "unavailable", **database, **services.fanout.health()}
    return {"status": "ok", **database, **services.fanout.health()}


@router.post(
    "/login",
    operation_id="login",
    tags=["sessions"],
    dependencies=[Depends(limit_logins)],
    responses=refusals(401, 429, 503),
)
async def login(
    body: LoginCreate, request: Request, response: Response, services: Services
) -> SessionRead:
    """A session: its token, the HttpOnly session cookie and the CSRF cookie (R18).

    A wrong password, an unknown or disabled login and an address that must wait after
    wrong tries all get the same 401 ``unauthenticated``.  A login with two-factor
    sign-in gets 401 ``totp_required`` until ``code`` is given.
    """
    signed = await services.auth.login(
        body.login,
        body.password,
        address=client_address(request),
        company=body.company,
        code=body.code,
    )
    secure = secure_transport(services.config, request)
    max_age = int(services.config.session_hours * 3600)
    response.set_cookie(
        SESSION_COOKIE,
        signed.token,
        httponly=True,
        samesite="strict",
        secure=secure,
        max_age=max_age,
    )
    set_csrf_cookie(response, signed.token, secure=secure, max_age=max_age)
    return SessionRead(token=signed.token, user=user_read(signed.user), pending=signed.pending)


def clear_cookies(response: Response, secure: bool) -> None:
    """Delete both cookies with the attributes they were set with, so every browser
    drops them."""
    response.delete_cookie(SESSION_COOKIE, secure=secure, httponly=True, samesite="strict")
    response.delete_cookie(CSRF_COOKIE, secure=secure, samesite="strict")


@router.post("/logout", status_code=204, operation_id="logout", tags=["sessions"])
async def logout(
    request: Request,
    response: Response,
    services: Services,
    user: Account,
    credentials: Credentials,
    session: SessionCookie,
) -> None:
    """End the session the request came with (a bearer session token, or the cookie);
    the staff sockets it opened close at once (close code 4403)."""
    token = credentials.credentials if credentials is not None else session
    if token:
        await services.auth.logout(token)
        services.revocations.end_access(reason=AccessEnded.SIGNED_OUT, session_id=session_id(token))
    await services.chats.logged_out(user)
    clear_cookies(response, secure_transport(services.config, request))


@router.post(
    "/logout-everywhere", status_code=204, operation_id="logoutEverywhere", tags=["sessions"]
)
async def logout_everywhere(
    request: Request, response: Response, services: Services, user: Account
) -> None:
    """End every session of the caller's login, on every browser and script (R18).

    API tokens are credentials of their own: revoke them with ``DELETE /api/tokens/{id}``.
    """
    await services.auth.logout_everywhere(user)
    await services.chats.logged_out(user)
    clear_cookies(response, secure_transport(services.config, request))


@router.get("/me", operation_id="getMe", tags=["sessions"])
async def me(
    user: Account, services: Services, credentials: Credentials, session: SessionCookie
) -> MeRead:
    """The caller's login, and what its session must do first, if anything."""
    pending = None
    if (token := session_token(credentials, session)) is not None:
        found, _ = await services.auth.session_for(token)
        pending = found.pending
    return MeRead(**user_read(user).model_dump(), pending=pending, totp_enabled=user.totp_enabled)


@router.get(
    "/services/{service_id}", operation_id="getService", tags=["widget"], responses=refusals(503)
)
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
    is_open = found.open_at(datetime.now(UTC))
    return ServiceRead(
        service_id=found.service_id,
        name=found.name,
        company=company.name,
        records=records,
        asks_consent=flow is not None and asks_consent(flow.source),
        open=is_open,
        closed_message=None if is_open else found.closed_message,
        pre_chat_form=[FormFieldBody.model_validate(f) for f in found.pre_chat_form],
    )


@router.post(
    "/chats",
    status_code=201,
    operation_id="createChat",
    tags=["widget"],
    dependencies=[Depends(limit_chat_starts)],
    responses=refusals(404, 409, 422, 429, 503),
)
async def start_chat(body: ChatCreate, services: Services) -> ChatCreated:
    """Start a customer chat; the token is the customer's only key to it (R18).

    Each client address may start so many chats a minute, and a company have so many
    open at once: beyond either, ``429`` with ``Retry-After``.  Outside the service's
    business hours, ``409 closed`` with the company's message, and no chat.  Answers the
    service's pre-chat form does not accept are ``422`` naming the field, and no chat.
    """
    started = await services.chats.start_chat(body.service_id, body.details, body.page)
    return ChatCreated(chat_id=started.chat.chat_id, token=started.token)


@router.get("/chats", operation_id="listOpenChats", tags=["chats"])
async def chats(user: Staff, services: Services) -> list[dict[str, Any]]:
    """Open chats the caller may see, as live summaries: supervisors all of their
    company's, agents theirs.  Not paged: open chats are bounded by the agents' capacity;
    every chat, ended ones too, is in ``GET /api/chats/history``."""
    await services.chats.load_company(user.company_id)  # opened on other nodes too (R20)
    return [chat_summary(chat, staff=True) for chat in services.chats.visible_chats(user)]


@router.get("/directory", operation_id="getDirectory", tags=["chats"])
async def directory(user: Staff, services: Services) -> DirectoryRead:
    """Agents and queues of the caller's company, for transfers: which agents can take a
    chat now, how many more, and why the others cannot."""
    users = await asyncio.to_thread(services.store.list_users, user.company_id)
    queues = await asyncio.to_thread(services.store.list_queues, user.company_id)
    agents = []
    for agent in users:
        if agent.role is not LoginRole.AGENT or agent.disabled:
            continue
        availability = await services.chats.availability(agent)
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


@router.get("/wrap-up-codes", operation_id="getWrapUpCodes", tags=["chats"])
async def wrap_up_codes(user: Staff, services: Services) -> WrapUpCodesRead:
    """The codes staff choose from to say what a chat was about (R23), as the company has
    them now; a chat that started before a change keeps the list it started with."""
    company = await asyncio.to_thread(services.store.get_company, user.company_id)
    if company is None:
        return WrapUpCodesRead(codes=[], required=False)
    return WrapUpCodesRead(codes=list(company.wrap_up_codes), required=company.wrap_up_required)


@router.get("/chats/{chat_id}/explanation", operation_id="explainChat", tags=["chats"])
async def explanation(chat_id: str, principal: Overseer, services: Services) -> ExplanationRead:
    """Why each recording of the chat was produced or suppressed (R14)."""
    # Operators read any company's chats; overseers their own company's (R18).
    scope = (
        None if principal.role is LoginRole.OPERATOR else company_for(principal, None, *OVERSEERS)
    )
    found = await asyncio.to_thread(explain_chat, services.store, chat_id, scope)
    return ExplanationRead(
        chat_id=found.chat_id,
        status=ChatStatus(found.status),
        sentences=found.sentences,
        recordings=[
            RecordingRead(
                recording_id=r.recording_id,
                origin=Origin(r.origin),
                reason=r.reason,
                outcome=Outcome(r.outcome),
                rule=r.rule,
                explanation=r.explanation,
                files=[f.path for f in r.files],
            )
            for r in found.recordings
        ],
    )


@router.get("/chats/history", operation_id="listChats", tags=["chats"])
def list_chats(
    principal: Overseer,
    services: Services,
    company_id: CompanyId = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[ChatRead]:
    """The company's chats, open and ended, newest first, a page at a time."""
    company = company_for(principal, company_id, *OVERSEERS)
    after = read_cursor(cursor, "chats", (datetime, str))
    found = services.store.list_chats(company, limit=limit + 1, after=after)
    return page_of("chats", found, limit, lambda c: (c.started_at, c.chat_id), chat_read)


@router.get("/chats/{chat_id}/journal", operation_id="getChatJournal", tags=["chats"])
@router.get(
    "/admin/chats/{chat_id}/journal",
    operation_id="getChatJournalDeprecated",
    tags=["chats"],
    deprecated=True,
    description="Moved to `GET /api/chats/{chat_id}/journal`.",
)
def chat_journal(chat_id: str, principal: Overseer, services: Services) -> JournalRead:
    """Everything that happened in the chat, in order; purged messages have no text (R17)."""
    chat = services.store.get_chat(chat_id)
    if chat is None:
        raise NotFoundError(f"no chat {chat_id!r}")
    require_own(principal, chat.company_id, f"chat {chat_id!r}")
    events = [
        {"seq": seq, **encode_event(event)} for seq, event in services.store.load_journal(chat_id)
    ]
    return JournalRead(chat=chat_read(chat), events=events)


@router.get(
    "/admin/chats",
    operation_id="listChatsDeprecated",
    tags=["chats"],
    deprecated=True,
    description="Replaced by `GET /api/chats/history`, a page at a time.",
)
def list_chats_deprecated(
    principal: Overseer,
    services: Services,
    company_id: CompanyId = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ChatRead]:
    """The company's newest chats, open and ended."""
    company = company_for(principal, company_id, *OVERSEERS)
    return [chat_read(chat) for chat in services.store.list_chats(company, limit=limit)]
