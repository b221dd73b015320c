"""HTTPS by default: ``Secure`` cookies and HSTS unless the server is reached at a
loopback address (R18).

A browser keeps a ``Secure`` cookie only from an HTTPS page, and one from
``http://127.0.0.1`` or ``http://localhost`` too (a developer's own machine, ``make run``,
the tests).  So each request's ``Host`` decides: a loopback host gets plain cookies and
no HSTS, every other host gets ``Secure`` cookies and ``Strict-Transport-Security``.
Behind a TLS proxy on the same machine the proxy must pass ``Host`` on (it must for the
WebSocket origin check too).  ``CHATREC_SECURE_COOKIES`` overrides the choice either
way: ``false`` for a plain-HTTP test network, ``true`` for a proxy that rewrites
``Host`` to a loopback address.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatrec.config import Config
from chatrec.web.http_middleware import HttpMiddleware


def is_loopback(host: str) -> bool:
    """Whether a ``Host`` header (a name or address, with or without a port) is loopback."""
    name = (urlsplit(f"//{host}").hostname or "").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def secure_transport(config: Config, connection: HTTPConnection) -> bool:
    """Whether this request's cookies are ``Secure`` (and its answer carries HSTS)."""
    if config.secure_cookies is not None:
        return config.secure_cookies
    return not is_loopback(connection.headers.get("host", ""))


class HstsMiddleware(HttpMiddleware):
    """Adds ``Strict-Transport-Security`` to every answer of a secure request."""

    def __init__(self, app: ASGIApp, *, config: Config) -> None:
        self.app = app
        self.config = config
        self.header = f"max-age={config.hsts_seconds}"

    def wants(self, scope: Scope) -> bool:
        return bool(self.config.hsts_seconds)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not secure_transport(self.config, HTTPConnection(scope)):
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Strict-Transport-Security"] = self.header
            await send(message)

        await self.app(scope, receive, sending)
