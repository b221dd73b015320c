"""Request bodies over their route's limit are refused before they are read (R19).

FastAPI reads a whole body into memory, and parses it, before any check of who calls
or what the body holds: a body of hundreds of megabytes costs as much memory again
before its 422.  So the limit sits in front of the application: a ``Content-Length``
over it is answered ``413`` before a byte of the body is read, and a body sent without
one (chunked) is counted as it arrives and refused once it passes the limit.  Most
routes take small JSON; the flow editor sends whole flows, and an upload a file sent in
a chat (R23), so they have larger limits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatrec.web.errors import error_body
from chatrec.web.http_middleware import HttpMiddleware

# The connection cannot carry another request while the unread body is still coming.
CLOSE = {"Connection": "close"}


def too_large_message(limit: int) -> str:
    return f"the request body is larger than this endpoint takes ({limit} bytes); send less"


class BodyTooLarge(HTTPException):
    """Raised where the application reads a chunked body past its limit: answered 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=too_large_message(limit), headers=CLOSE)


class BodyLimitMiddleware(HttpMiddleware):
    """``default`` bytes for every route but those under a prefix of ``by_prefix`` and
    those whose whole path matches a pattern of ``by_pattern`` (a path with an id)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        default: int,
        by_prefix: Mapping[str, int],
        by_pattern: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.default = default
        self.by_prefix = dict(by_prefix)
        self.by_pattern = {re.compile(p): limit for p, limit in (by_pattern or {}).items()}

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.by_prefix.items():
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return limit
        for pattern, limit in self.by_pattern.items():
            if pattern.fullmatch(path):
                return limit
        return self.default

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            refused = JSONResponse(
                error_body("too_large", too_large_message(limit)), status_code=413, headers=CLOSE
            )
            await refused(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)
