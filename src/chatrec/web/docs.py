"""The API documentation page, ``/docs``: Swagger UI over ``/openapi.json``, served whole by
chatrec so that it works on a network without the internet.

Swagger UI's files (version 5, which reads OpenAPI 3.1) come from the
``fastapi-offline`` package, which ships them for this purpose, under ``/docs/assets``;
the page and its starting script are ours, under the same Content-Security-Policy as
every other page (no inline script).  There is no ReDoc page.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from chatrec.web.pages import render

ASSETS = "/docs/assets"


def install_docs(app: FastAPI) -> None:
    swagger_ui = files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        return render(request, "docs.html", {"assets": ASSETS, "openapi_url": app.openapi_url})
