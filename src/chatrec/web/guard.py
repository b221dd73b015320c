"""Who may call each route, checked before anything the caller sent is read (R18, R19).

A route says once who may call it, in the type of its caller parameter (``Staff``,
``Overseer``, ``Administrator``, ``Operator``).  :class:`GuardedRoute` finds that
declaration and checks it before FastAPI reads the body or validates a parameter: a
caller without a login gets 401 and one without the role 403, whatever they sent, so
a malformed body is answered 422 only to someone who may send one.

Credentials are OpenAPI security schemes, not parameters: ``bearer`` (a session or API
token in ``Authorization: Bearer``) and ``session`` (the ``chatrec_session`` cookie),
so the documentation page can Authorize with either.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator
from pydantic.json_schema import WithJsonSchema
from typing_extensions import TypeAliasType

from chatrec.domain.roles import LoginRole
from chatrec.services.access import (
    Credential,
    CredentialKind,
    Principal,
    require_role,
    require_scope,
)
from chatrec.services.auth import API_TOKEN_PREFIX
from chatrec.services.revocation import session_id
from chatrec.store.records import UserRecord
from chatrec.web.container import Container
from chatrec.web.csrf import UNSAFE_METHODS
from chatrec.web.errors import refusals

SESSION_COOKIE = "chatrec_session"

bearer_scheme = HTTPBearer(
    scheme_name="bearer",
    description="A session token (`POST /api/login`) or an API token (`POST /api/tokens`).",
    auto_error=False,
)
session_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    scheme_name="session",
    description="The session cookie `POST /api/login` sets; changes made with it also send "
    "the `chatrec_csrf` cookie's value as `X-CSRF-Token`.",
    auto_error=False,
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
SessionCookie = Annotated[str | None, Depends(session_scheme)]

EVERY_ROLE = frozenset(LoginRole)
OVERSEEING = frozenset({LoginRole.OPERATOR, LoginRole.ADMINISTRATOR, LoginRole.SUPERVISOR})
ADMINISTERING = frozenset({LoginRole.OPERATOR, LoginRole.ADMINISTRATOR})
OPERATING = frozenset({LoginRole.OPERATOR})

Role = TypeAliasType(
    "Role",
    Annotated[
        str,
        AfterValidator(LoginRole),
        WithJsonSchema(
            {
                "type": "string",
                "enum": [role.value for role in LoginRole],
                "title": "Role",
                "description": "Staff roles; customers have no login, only their chat's token.",
            }
        ),
    ],
)
"""A :class:`LoginRole` in the API's bodies, under the name its schema has always had;
built on ``str`` so the schema is this one definition, not the enum's as well."""


def container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


Services = Annotated[Container, Depends(container)]


async def session_caller(
    services: Container, token: str | None, *, allow_pending: bool = False
) -> tuple[UserRecord, Credential]:
    """The staff user of a session token (a cookie, a bearer, a hello), and the session."""
    user = await services.auth.user_for(token, allow_pending=allow_pending)
    return user, Credential(CredentialKind.SESSION, session_id(token or ""))


async def caller_for_token(
    services: Container, token: str, *, allow_pending: bool = False
) -> tuple[UserRecord, Credential]:
    """The staff user of a token given outright (a bearer header, a WebSocket hello), and
    the credential it is: an API token or a session token, never a cookie."""
    if token.startswith(API_TOKEN_PREFIX):
        return await services.tokens.authenticate(token)
    return await session_caller(services, token, allow_pending=allow_pending)


def caller_credential(request: Request) -> Credential:
    """The credential the route's guard admitted the caller with."""
    credential: Credential = request.state.chatrec_credential
    return credential


CallerCredential = Annotated[Credential, Depends(caller_credential)]
"""What the caller proved who they are with: a session, or an API token and its scope."""


def session_token(
    credentials: HTTPAuthorizationCredentials | None, cookie: str | None
) -> str | None:
    """The session token a request came with (a bearer session token, or the cookie);
    ``None`` for an API token, which is no session."""
    if credentials is not None:
        token = credentials.credentials
        return None if token.startswith(API_TOKEN_PREFIX) else token
    return cookie


class Allowed:
    """The roles that may call a route; the user is looked up once per request.

    API tokens are accepted as bearer tokens only: a cookie is never one.  Changes made
    with the cookie have passed the CSRF check (``web.csrf``) before they get here.  An
    API token also needs the scope: ``read`` for ``GET``, ``chat`` for other changes,
    ``full`` for a change to a company's administration (a route only administrators
    and operators may call).  A session that must first change its password or set up
    a second factor may call only the routes that do that (``while_pending``), and gets
    403 elsewhere.
    """

    def __init__(self, roles: frozenset[LoginRole], *, while_pending: bool = False) -> None:
        self.roles = roles
        self.while_pending = while_pending

    async def admit(
        self,
        request: Request,
        credentials: HTTPAuthorizationCredentials | None,
        session: str | None,
    ) -> UserRecord:
        """The caller, if they have a login with one of the roles and a credential of
        the scope; else 401 or 403."""
        user: UserRecord | None = getattr(request.state, "chatrec_user", None)
        if user is None:
            services = container(request)
            pending = self.while_pending
            if credentials is not None:
                user, credential = await caller_for_token(
                    services, credentials.credentials, allow_pending=pending
                )
            else:
                user, credential = await session_caller(services, session, allow_pending=pending)
            request.state.chatrec_user = user
            request.state.chatrec_credential = credential
        require_role(Principal.of(user), *sorted(self.roles))
        require_scope(
            request.state.chatrec_credential,
            changes=request.method in UNSAFE_METHODS,
            administration=self.roles <= ADMINISTERING,
        )
        return user


class UserAllowed(Allowed):
    """The caller's login, for routes that act as that login (its tokens, its chats)."""

    async def __call__(
        self, request: Request, credentials: Credentials, session: SessionCookie
    ) -> UserRecord:
        return await self.admit(request, credentials, session)


class PrincipalAllowed(Allowed):
    """The caller as the principal of a change, for the services that check and audit it."""

    async def __call__(
        self, request: Request, credentials: Credentials, session: SessionCookie
    ) -> Principal:
        return Principal.of(await self.admit(request, credentials, session))


Staff = Annotated[UserRecord, Depends(UserAllowed(EVERY_ROLE))]
"""Any staff login: operator, administrator, supervisor or agent."""
Account = Annotated[UserRecord, Depends(UserAllowed(EVERY_ROLE, while_pending=True))]
"""Any staff login, even one whose session must first change its password or set up
a second factor: the routes that do that, and reading or ending one's session."""
StaffPrincipal = Annotated[Principal, Depends(PrincipalAllowed(EVERY_ROLE))]
Overseer = Annotated[Principal, Depends(PrincipalAllowed(OVERSEEING))]
"""Reads a company's chats, explanations, settings and deliveries."""
Administrator = Annotated[Principal, Depends(PrincipalAllowed(ADMINISTERING))]
"""Changes a company: its own administrators, and operators on the company they name."""
Operator = Annotated[Principal, Depends(PrincipalAllowed(OPERATING))]
"""Creates and provisions companies."""
CompanyId = Annotated[
    str | None,
    Query(max_length=40, description="operators only: the company to act on"),
]


def _guards(dependant: Dependant) -> Iterator[Allowed]:
    for dependency in dependant.dependencies:
        guard: object = dependency.call  # typed as a callable; Allowed's subclasses are
        if isinstance(guard, Allowed):
            yield guard
        yield from _guards(dependency)


def guard_of(dependant: Dependant) -> Allowed | None:
    """The one role declaration among a route's dependencies; ``None`` for public routes."""
    found = {id(guard): guard for guard in _guards(dependant)}
    if len(found) > 1:
        raise TypeError(f"{dependant.path}: one declaration of who may call it, not {found}")
    return next(iter(found.values()), None)


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class GuardedRoute(APIRoute):
    """A route that checks its caller before its inputs, and documents what it refuses.

    Every operation must be given its ``operation_id``.  The refusals a route can give
    by its shape are added to those it declares: 401 (and 503, as the login is read from
    the database) with a guard, 403 when the guard leaves out a role or the route changes
    something (a cookie session's CSRF check), 404 when a path id or ``company_id`` may
    be unknown, 400 when it reads a body (which may not even be text), 422 when it takes
    any input.
    """

    guard: Allowed | None = None

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        super().__init__(path, endpoint, **options)
        if not self.operation_id:
            raise TypeError(f"{path}: give the operation its operation_id")
        self.responses = {**refusals(*self._refusals()), **self.responses}

    def _refusals(self) -> Iterator[int]:
        if self.guard is not None:
            yield from (401, 503)
            if self.guard.roles != EVERY_ROLE or UNSAFE_METHODS & (self.methods or set()):
                yield 403
        queries = {param.name for param in self.dependant.query_params}
        if self.dependant.path_params or "company_id" in queries:
            yield 404
        if self.body_field is not None:
            yield 400
        if self.body_field is not None or self.dependant.query_params or self.dependant.path_params:
            yield 422

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        guard = self.guard = guard_of(self.dependant)
        if guard is None:
            return handler

        async def guarded(request: Request) -> Response:
            await guard.admit(request, await bearer_scheme(request), await session_scheme(request))
            return await handler(request)

        return guarded
