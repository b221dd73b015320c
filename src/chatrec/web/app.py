"""The FastAPI application: API, WebSockets and pages over one container."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, WebSocket
from fastapi import routing as fastapi_routing
from fastapi.middleware.cors import CORSMiddleware

from chatrec.domain.attachments import MAX_ATTACHMENT_BYTES
from chatrec.web import protocol
from chatrec.web.account_api import router as account_router
from chatrec.web.api import router as api_router
from chatrec.web.attachments_api import CHAT_TOKEN_HEADER, STAFF_UPLOADS, WIDGET_UPLOADS
from chatrec.web.attachments_api import router as attachments_router
from chatrec.web.audit_api import router as audit_router
from chatrec.web.body_limit import BodyLimitMiddleware
from chatrec.web.canned_api import router as canned_router
from chatrec.web.catalog_api import router as catalog_router
from chatrec.web.companies_api import router as companies_router
from chatrec.web.container import Container
from chatrec.web.csrf import CsrfMiddleware, refuse_foreign_origin
from chatrec.web.customer_api import router as customer_router
from chatrec.web.dashboard_api import router as dashboard_router
from chatrec.web.deliveries_api import router as deliveries_router
from chatrec.web.destination_api import router as destination_router
from chatrec.web.errors import install_error_handlers
from chatrec.web.flows_api import router as flows_router
from chatrec.web.guard import SESSION_COOKIE
from chatrec.web.history_api import router as history_router
from chatrec.web.keys_api import router as keys_router
from chatrec.web.metrics import router as metrics_router
from chatrec.web.nodes_api import router as nodes_router
from chatrec.web.tokens_api import router as tokens_router
from chatrec.web.transport import HstsMiddleware, secure_transport
from chatrec.web.users_api import router as users_router
from chatrec.web.ws import CustomerConnection, StaffConnection, admitted

log = logging.getLogger(__name__)


async def _sweep_forever(container: Container) -> None:
    """End idle chats, set idle agents Away, close sockets whose access ended, purge
    expired sessions (every ten minutes); a failed sweep is logged and retried."""
    while True:
        await asyncio.sleep(container.config.sweep_interval_seconds)
        try:
            await container.chats.sweep()
        except Exception:
            log.exception("inactivity sweep failed")
        try:
            await container.chats.expire_idle_presence()
        except Exception:
            log.exception("idle presence sweep failed")
        try:
            # Access ended where no bus reached (the command line): close its sockets.
            await container.staff_sockets.verify_all()
        except Exception:
            log.exception("staff socket sweep failed")
        try:
            await container.auth.purge()
        except Exception:
            log.exception("purging expired sessions failed")


TAGS = [
    {"name": "system", "description": "Whether the server runs; the servers of the database."},
    {"name": "sessions", "description": "Staff log in and out (R18)."},
    {"name": "account", "description": "Staff change their password and second factor."},
    {"name": "API tokens", "description": "Tokens for automation, acting as their login."},
    {"name": "widget", "description": "What a customer's widget calls, without a login."},
    {"name": "chats", "description": "Chats: open ones, every one, and why each was recorded."},
    {"name": "companies", "description": "Companies, their products and recording settings."},
    {"name": "users", "description": "Logins and who is recorded (R4, R7, R12a)."},
    {"name": "queues", "description": "Where chats wait; never a recording setting (R3)."},
    {"name": "services", "description": "The entry points customers chat from."},
    {"name": "flows", "description": "Chat flows, checked on save (R5b, R10)."},
    {"name": "canned responses", "description": "The company's and one's own, for the composer."},
    {"name": "recording platform", "description": "The SFTP destination (R16)."},
    {"name": "deliveries", "description": "Recordings on their way to the platform (R16)."},
    {"name": "audit", "description": "The audit trail."},
    {"name": "verification", "description": "The keys recordings are signed with (R21)."},
]


def create_app(container: Container) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Before any chat: on SQLite a second server is refused here (R20).
        await asyncio.to_thread(container.node.join)
        heartbeat = asyncio.create_task(container.node.run())
        await container.fanout.start()
        container.committer.start()
        recovered = await container.chats.recover()
        if recovered:
            log.info("recovered %d open chats", recovered)
        sweeper = asyncio.create_task(_sweep_forever(container))
        watch = asyncio.create_task(container.loop_watch.run())
        delivery = container.delivery if container.config.delivery_in_server else None
        if delivery is not None:
            for warning in await delivery.warnings():
                log.warning("%s", warning)
            delivery.start()
        else:
            log.info("recordings are delivered by `chatrec worker` processes, not this server")
        try:
            yield
        finally:
            for task in (sweeper, heartbeat, watch):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if delivery is not None:
                await delivery.stop()
            await container.committer.stop()
            await container.fanout.stop()
            await container.login_limiter.close()
            await container.chat_start_limiter.close()
            await container.upload_limiter.close()
            await asyncio.to_thread(container.node.leave)

    app = FastAPI(
        title="chatrec",
        summary="Webchat for contact centres, recorded by rule and delivered over SFTP.",
        version="0.1.0",
        lifespan=lifespan,
        openapi_tags=TAGS,
        docs_url=None,
        redoc_url=None,
    )
    app.state.container = container
    if container.config.widget_origins:
        # Customers' own sites call the public chat endpoints; staff cookies never go along.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=container.config.widget_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", CHAT_TOKEN_HEADER],
        )
    app.add_middleware(
        CsrfMiddleware,
        session_cookie=SESSION_COOKIE,
        secure=lambda connection: secure_transport(container.config, connection),
    )
    app.add_middleware(HstsMiddleware, config=container.config)
    # Outermost: an oversized body is refused before anything else reads it.
    app.add_middleware(
        BodyLimitMiddleware,
        default=container.config.max_body_bytes,
        by_prefix={
            "/api/admin/flows": container.config.max_flow_body_bytes,
            WIDGET_UPLOADS: MAX_ATTACHMENT_BYTES,
        },
        by_pattern={STAFF_UPLOADS: MAX_ATTACHMENT_BYTES},
    )
    install_error_handlers(app)
    app.include_router(api_router)
    app.include_router(deliveries_router)
    app.include_router(companies_router)
    app.include_router(users_router)
    app.include_router(audit_router)
    app.include_router(nodes_router)
    app.include_router(catalog_router)
    app.include_router(flows_router)
    app.include_router(destination_router)
    app.include_router(metrics_router)
    app.include_router(tokens_router)
    app.include_router(account_router)
    app.include_router(keys_router)
    app.include_router(canned_router)
    app.include_router(history_router)
    app.include_router(attachments_router)
    app.include_router(customer_router)
    app.include_router(dashboard_router)

    # Plain Starlette routes: the sockets take no dependencies, and FastAPI's wrapper
    # would keep its exit stacks and frames for each socket's whole life (about 3 KB an
    # open chat).
    @app.websocket_route("/ws/customer")
    async def customer_socket(websocket: WebSocket) -> None:
        async with admitted(websocket, container.connections) as admission:
            if admission:
                await CustomerConnection(websocket, container).run(protocol.CUSTOMER_FRAMES)

    @app.websocket_route("/ws/staff")
    async def staff_socket(websocket: WebSocket) -> None:
        if await refuse_foreign_origin(websocket):
            return
        async with admitted(websocket, container.connections) as admission:
            if admission:
                cookie = websocket.cookies.get(SESSION_COOKIE)
                await StaffConnection(websocket, container, cookie).run(protocol.STAFF_FRAMES)

    from chatrec.web.console import install_console
    from chatrec.web.docs import install_docs
    from chatrec.web.pages import install_pages

    install_pages(app)
    install_console(app)
    install_docs(app)
    return app


def prepare_routes(app: FastAPI) -> None:
    """Build every route's state now, before the first request and the heap's freeze.

    FastAPI builds an included router's routes (dependants, about 600 validators) on the
    first request through it. On the loop, that was a stall of about 0.5 s for every chat
    of a node just started, when reconnecting clients arrive; built after the start-up
    heap is frozen, it was also walked by every full collection (issue 13). FastAPI's
    ``iter_route_contexts`` (what its OpenAPI document is made from) builds each route
    as a request would, without the document's JSON schemas (0.6 s here against 1.4 s).
    A FastAPI without it (before lazy routes) built them when they were included.
    """
    contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    if contexts is not None:
        for _ in contexts(app.routes):
            pass
