"""The API documentation page, ``/docs``: Swagger UI over ``/openapi.json``, served whole by
chatrec so that it works on a network without the internet.

Swagger UI's files (version 5, which reads OpenAPI 3.1) come from the
``fastapi-offline`` package, which ships them for this purpose, under ``/docs/assets``;
the page and its starting script are ours.  Everything of the documentation (the page,
its assets, the schema, and ``/redoc``, which answers 404 as there is no ReDoc page)
carries the same security headers as every other page, Content-Security-Policy (no
inline script) included.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatrec.web.http_middleware import HttpMiddleware
from chatrec.web.pages import PAGE_HEADERS, render

ASSETS = "/docs/assets"
DOCUMENTATION = frozenset({"/docs", "/redoc", "/openapi.json"})


def is_documentation(path: str) -> bool:
    return path in DOCUMENTATION or path.startswith("/docs/")


class DocumentationHeaders(HttpMiddleware):
    """Adds the pages' security headers to every answer under the documentation's paths
    (the schema and Swagger UI's files are served by FastAPI and a static mount, which
    set none); headers an answer sets itself are kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def wants(self, scope: Scope) -> bool:
        return is_documentation(scope["path"])

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in PAGE_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_docs(app: FastAPI) -> None:
    swagger_ui = files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui)), name="docs-assets")
    app.add_middleware(DocumentationHeaders)

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        return render(request, "docs.html", {"assets": ASSETS, "openapi_url": app.openapi_url})
