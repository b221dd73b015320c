"""Server-rendered pages: the landing page, staff login, the portal and the customer widget.

Pages are Jinja2 templates with small vanilla scripts from ``static/``; no build step.
They talk to the server only through the public API and WebSocket protocol, like any
other client.  Every page forbids inline script and style (its Content-Security-Policy),
so a message text can never run as code even if escaping were forgotten somewhere.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from chatrec.demo.company import COMPANY_ID as DEMO_COMPANY
from chatrec.domain.presence import AWAY_LABELS
from chatrec.domain.roles import DESK_ROLES, LoginRole
from chatrec.errors import AuthenticationError, SignInPendingError
from chatrec.store.records import UserRecord
from chatrec.web.guard import SESSION_COOKIE, container
from chatrec.web.widget_texts import asked_language, catalogues

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")


def content_security_policy(frame_ancestors: str = "'none'") -> str:
    """Our own files only; framed by nobody but for the widget's frame (see below)."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            f"frame-ancestors {frame_ancestors}",
            "base-uri 'none'",
            "form-action 'self'",
        )
    )


# The portal and login pages run only our own files; the widget demo is a host page
# like a customer's site, under the same policy to show the widget needs nothing more.
CONTENT_SECURITY_POLICY = content_security_policy()
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def widget_frame_headers(widget_origins: list[str]) -> dict[str, str]:
    """The widget's frame may be framed by chatrec's own pages and the configured sites.

    Not by any site: a page of another could show a customer's chat under its own
    buttons (clickjacking), and the frame is where the chat token lives, out of reach
    of the host page's scripts (R18).
    """
    ancestors = " ".join(("'self'", *widget_origins))
    return {**PAGE_HEADERS, "Content-Security-Policy": content_security_policy(ancestors)}


ACCOUNT_PATH = "/account"


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> Response:
    return templates.TemplateResponse(
        request, name, context or {}, status_code=status, headers=PAGE_HEADERS
    )


async def page_user(request: Request) -> UserRecord | Response:
    """The staff user of the session cookie, checked against the store; else where to
    go: the login page, or the account page while the session must first change its
    password or set up a second factor."""
    try:
        return await container(request).auth.user_for(request.cookies.get(SESSION_COOKIE))
    except SignInPendingError:
        return RedirectResponse(ACCOUNT_PATH, status_code=303)
    except AuthenticationError:
        return RedirectResponse("/login", status_code=303)


def install_pages(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        return render(request, "index.html")

    @app.get("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        user = await page_user(request)
        if not isinstance(user, Response):
            return RedirectResponse("/portal", status_code=303)
        if user.headers["location"] == ACCOUNT_PATH:
            return user
        return render(request, "login.html")

    @app.get(ACCOUNT_PATH, include_in_schema=False)
    async def account(request: Request) -> Response:
        """The user's own password, second factor and sessions; where a session that must
        first change its password or set up a second factor is sent."""
        try:
            session, user = await container(request).auth.session_for(
                request.cookies.get(SESSION_COOKIE)
            )
        except AuthenticationError:
            return RedirectResponse("/login", status_code=303)
        pending = None if session.pending is None else session.pending.value
        context = {"user": user, "pending": pending, "totp_enabled": user.totp_enabled}
        return render(request, "account.html", context)

    @app.get("/portal", include_in_schema=False)
    async def portal(request: Request) -> Response:
        user = await page_user(request)
        if isinstance(user, Response):
            return user
        if user.role not in DESK_ROLES:
            # Administrators and operators take no chats: their place is the console.
            return RedirectResponse("/console", status_code=303)
        reasons = [(reason.value, label) for reason, label in AWAY_LABELS.items()]
        return render(request, "portal.html", {"user": user, "away_reasons": reasons})

    @app.get("/dashboard", include_in_schema=False)
    async def dashboard(request: Request) -> Response:
        """The supervisors' live dashboard (issue 15); administrators see their company's
        too.  An operator, of no company, is sent to the console."""
        user = await page_user(request)
        if isinstance(user, Response):
            return user
        if user.role not in {LoginRole.SUPERVISOR, LoginRole.ADMINISTRATOR}:
            return RedirectResponse("/portal" if user.role in DESK_ROLES else "/console", 303)
        return render(request, "dashboard.html", {"user": user})

    @app.get("/widget.js", include_in_schema=False)
    async def widget_script() -> FileResponse:
        return FileResponse(STATIC / "widget.js", media_type="text/javascript")

    @app.get("/widget/frame/{service_id}", include_in_schema=False)
    async def widget_frame(request: Request, service_id: str, lang: str | None = None) -> Response:
        """The widget itself, in a frame of chatrec's origin that ``widget.js`` puts on
        the host page: its chat token is stored here, where the host's scripts cannot
        read it (R18).  ``lang`` is the site's choice of language (``data-lang``): one
        the widget does not speak is English, never an error the customer sees."""
        headers = widget_frame_headers(container(request).config.widget_origins)
        context = {
            "service_id": service_id,
            "lang": asked_language(lang),
            "catalogues": catalogues(),
        }
        return templates.TemplateResponse(request, "widget_frame.html", context, headers=headers)

    @app.get("/widget/demo", include_in_schema=False)
    async def widget_demo(request: Request, service: str | None = None) -> Response:
        """A stand-in for a customer's web site, with the widget of one demo service."""
        found = await asyncio.to_thread(container(request).store.list_services, DEMO_COMPANY)
        if not found:
            return render(request, "no_demo.html", status=404)
        chosen = next((s for s in found if s.service_id == service), found[0])
        return render(request, "widget_demo.html", {"services": found, "chosen": chosen})
