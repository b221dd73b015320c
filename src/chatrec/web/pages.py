"""Server-rendered pages: the customer widget, the agent portal, the supervisor view."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse


def install_pages(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/docs")
