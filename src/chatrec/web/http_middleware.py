"""The base of chatrec's own middlewares: they act on HTTP requests alone.

Anything else (a WebSocket) is handed on by returning the next app's coroutine, not
awaited inside ``__call__``: awaited, each middleware's frame would stay alive for the
socket's whole life, about 300 bytes an open chat for each (issue 13: ``concurrency``).
"""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.types import ASGIApp, Receive, Scope, Send


class HttpMiddleware:
    """Calls :meth:`handle` for the HTTP requests :meth:`wants`; passes on the rest."""

    app: ASGIApp

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "http" or not self.wants(scope):
            return self.app(scope, receive, send)
        return self.handle(scope, receive, send)

    def wants(self, scope: Scope) -> bool:
        """Whether this HTTP request is one the middleware acts on."""
        return True

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError
