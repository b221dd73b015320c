"""Cross-site request forgery: what a browser sends with the session cookie on its own (R18).

A change made with the session cookie must carry ``X-CSRF-Token``, equal to the
``chatrec_csrf`` cookie, which only our own pages can read (double submit).  The value
is derived from the session token, so a cookie planted from a sibling subdomain does
not pass, and no second secret is stored.  Requests with ``Authorization: Bearer``
carry no cookie authority and are exempt, as are the public changes: logging in, a
customer starting a chat, and a customer sending a file (with the chat's token).

A staff WebSocket opened by a page of another origin is refused at the handshake:
it would ride on the cookie as well (cross-site WebSocket hijacking).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette import status
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from chatrec.web.errors import error_body
from chatrec.web.http_middleware import HttpMiddleware

log = logging.getLogger(__name__)

CSRF_COOKIE = "chatrec_csrf"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXEMPT = frozenset(
    {("POST", "/api/login"), ("POST", "/api/chats"), ("POST", "/api/widget/attachments")}
)
Secure = Callable[[HTTPConnection], bool]
"""Changes anyone may make without a session: a stale cookie must not stop them."""
REFUSAL = (
    f"this change lacks the page's security token ({CSRF_HEADER}): reload the page and "
    f"try again; scripts send the {CSRF_COOKIE} cookie's value in {CSRF_HEADER}, or use "
    "Authorization: Bearer"
)


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header; ``None`` without one."""
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: the same for its whole life, useless for another."""
    return hmac.new(session_token.encode(), b"chatrec csrf", hashlib.sha256).hexdigest()


def set_csrf_cookie(
    response: Response, session_token: str, *, secure: bool, max_age: int | None = None
) -> None:
    """Readable by our scripts (not HttpOnly), sent to our own site only."""
    response.set_cookie(
        CSRF_COOKIE,
        csrf_token(session_token),
        max_age=max_age,
        secure=secure,
        httponly=False,
        samesite="strict",
    )


def _valid(connection: HTTPConnection, expected: str) -> bool:
    given = connection.headers.get(CSRF_HEADER, "").encode()
    cookie = connection.cookies.get(CSRF_COOKIE, "").encode()
    return secrets.compare_digest(given, cookie) and secrets.compare_digest(
        cookie, expected.encode()
    )


class CsrfMiddleware(HttpMiddleware):
    """Refuse cookie-authenticated changes without the token (403, code ``csrf``).

    A page loaded with a session cookie but without a current CSRF cookie (one set
    before an upgrade, or lost) gets it again, so reloading the page is the cure the
    refusal names.
    """

    def __init__(self, app: ASGIApp, *, session_cookie: str, secure: Secure) -> None:
        self.app = app
        self.session_cookie = session_cookie
        self.secure = secure

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        connection = HTTPConnection(scope)
        session = connection.cookies.get(self.session_cookie)
        if not session or bearer(connection.headers.get("authorization")):
            await self.app(scope, receive, send)
            return
        expected = csrf_token(session)
        method = scope["method"]
        if method in UNSAFE_METHODS:
            if (method, scope["path"]) not in EXEMPT and not _valid(connection, expected):
                refusal = JSONResponse(error_body("csrf", REFUSAL), status_code=403)
                await refusal(scope, receive, send)
                return
        elif connection.cookies.get(CSRF_COOKIE) != expected:
            secure = self.secure(connection)
            await self.app(scope, receive, self._with_cookie(send, session, secure))
            return
        await self.app(scope, receive, send)

    def _with_cookie(self, send: Send, session: str, secure: bool) -> Send:
        carrier = Response()
        set_csrf_cookie(carrier, session, secure=secure)
        cookie = carrier.headers["set-cookie"]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        return sending


async def refuse_foreign_origin(websocket: WebSocket) -> bool:
    """Refuse the handshake (HTTP 403) of a page of another origin; whether it was refused.

    Same origin only, not the widget origins: those are customers' sites, which must
    never act with a staff cookie.  Browsers always send ``Origin`` on a WebSocket
    handshake; other clients need not, and they say hello with a token, not a cookie.
    A reverse proxy must pass the ``Host`` header on.
    """
    origin = websocket.headers.get("origin")
    if origin is None:
        return False
    host = websocket.headers.get("host", "")
    if urlsplit(origin).netloc.lower() == host.lower():
        return False
    log.warning("refused a staff WebSocket opened by a page of %s", origin[:200])
    await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
    return True
