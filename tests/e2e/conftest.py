"""Real browsers against a real server: Debian's Chromium driven by Playwright.

Starting ``chatrec demo`` costs seconds, so a module's tests share one server where a
fresh one is not the point: ``shared_server`` (started from the demo seeded once per
worker), on which each test takes a ``tenant``, a demo-like company of its own
(:mod:`tests.integration.tenant`), or ``shared_demo``, the demo company itself (for the
one test of a module that needs the demo's own pages).  ``fresh_server`` is a server of
the test's own, e.g. to restart it.  A tenant's customers meet the widget where a real
company's do, on its web site (``company_site``, an origin the server allows).  Each
person gets a fresh browser context (a customer, an agent, a supervisor), so no cookie or
sessionStorage crosses people or tests; Chromium is one per worker
(:mod:`tests.e2e.chromium`).  Chromium is never downloaded: ``make browsers``
installs the distribution's package, and without it the tests fail, they are not skipped.
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    expect,
)

from chatrec.demo.company import COMPANY_ID
from chatrec.store.records import SYSTEM_COMPANY_ID
from tests.e2e.chromium import WORKER_CHROMIUM, WorkerChromium
from tests.integration.server import SeededDemo, ServerProcess
from tests.integration.tenant import OPERATORS, SHARED_LIMITS, Tenant

VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
WIDGET_ORIGINS = "CHATREC_WIDGET_ORIGINS"

expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def _chromium() -> Iterator[WorkerChromium]:
    try:
        yield WORKER_CHROMIUM
    finally:
        WORKER_CHROMIUM.stop()


@pytest.fixture(scope="module")
def browser(_chromium: WorkerChromium) -> Browser:
    """The worker's one Chromium (see :mod:`tests.e2e.chromium`)."""
    return _chromium.browser()


class CompanySite(ThreadingHTTPServer):
    """A company's web site, of another origin than chatrec's but of its site (as
    www.example.com is chat.example.com's; Chromium keeps a frame's sessionStorage, which
    a reload rejoins the chat with, only for a frame of the page's own site): any path is
    a page embedding the widget tag of the service and the server its query names."""

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class CompanyPage(BaseHTTPRequestHandler):
    server: CompanySite

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        if not {"chatrec", "service"} <= query.keys():  # e.g. the browser's /favicon.ico
            self.send_error(404)
            return
        chatrec, service = (html.escape(query[name][0]) for name in ("chatrec", "service"))
        page = (
            f'<!doctype html><html lang="en"><head><title>A company</title><script src="{chatrec}'
            f'/static/widget.js" data-service="{service}" defer></script></head>'
            "<body><h1>A company</h1></body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture(scope="session")
def company_site() -> Iterator[CompanySite]:
    with CompanySite(("127.0.0.1", 0), CompanyPage) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            thread.join()


def widget_page(server: ServerProcess, service_id: str) -> str:
    """Where a customer meets the widget of ``service_id``: the demo company's on the
    demo's own page, any other company's on its web site (the server's allowed origin)."""
    if server.company_id == COMPANY_ID:
        return f"{server.url}/widget/demo?service={service_id}"
    [origin] = json.loads(server.env[WIDGET_ORIGINS])
    return f"{origin}/?{urlencode({'service': service_id, 'chatrec': server.url})}"


@contextmanager
def seeded_server(folder: Path, seeded_demo: SeededDemo, **options: Any) -> Iterator[ServerProcess]:
    """A server started as ``chatrec demo`` restarts: from the demo seeded once per
    worker (no migrating, no hashing), on a copy of its own in ``folder``."""
    database_url = seeded_demo.copy_to(folder / "data", folder / "chatrec.db")
    process = ServerProcess(folder / "data", database_url, **options)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def fresh_server(tmp_path: Path, seeded_demo: SeededDemo) -> Iterator[ServerProcess]:
    """A server of the test's own."""
    with seeded_server(tmp_path, seeded_demo) as process:
        yield process


@pytest.fixture
def server(fresh_server: ServerProcess) -> ServerProcess:
    """A server of the test's own (a module that shares one binds ``server`` to ``tenant``)."""
    return fresh_server


@pytest.fixture(scope="module")
def shared_server(
    tmp_path_factory: pytest.TempPathFactory, seeded_demo: SeededDemo, company_site: CompanySite
) -> Iterator[ServerProcess]:
    """One server for a module's tests, each with a company of its own: with the limits
    per address raised (every test's browser is 127.0.0.1) and the companies' site allowed
    to embed the widget."""
    env = SHARED_LIMITS | {WIDGET_ORIGINS: json.dumps([company_site.origin])}
    with seeded_server(tmp_path_factory.mktemp("shared"), seeded_demo, env=env) as process:
        yield process


@dataclass
class SharedDemo(Tenant):
    """The demo company itself on a shared server, with the demo's logins and pages; its
    logins are in the tenants' companies too, so a sign-in names the company."""

    prefix: str = COMPANY_ID

    def logins(self) -> dict[str, str]:
        return ServerProcess.logins(self)

    def sign_in(self, login: str) -> tuple[str, str | None]:
        if login in self.extra_logins:
            return login, None
        return login, SYSTEM_COMPANY_ID if login in OPERATORS else COMPANY_ID


@pytest.fixture
def shared_demo(shared_server: ServerProcess) -> SharedDemo:
    """The demo company on the module's shared server: for one test of the module only."""
    return SharedDemo(
        data_dir=shared_server.data_dir,
        database_url=shared_server.database_url,
        port=shared_server.port,
        env=shared_server.env,
    )


def fill_sign_in(page: Page, server: ServerProcess, login: str) -> None:
    """Fill the login form as the person with the demo's ``login`` does on ``server``:
    their login, password and, where it is needed, their company."""
    actual, company = server.sign_in(login)
    page.get_by_label("Login", exact=True).fill(actual)
    page.get_by_label("Password", exact=True).fill(server.logins()[login])
    if company is not None:
        page.get_by_label("Company", exact=True).fill(company)


NewPage = Callable[..., Page]


@pytest.fixture
def new_page(browser: Browser) -> Iterator[NewPage]:
    """Pages in contexts of their own (a desktop's viewport unless one is given, e.g. a
    phone's, and other options of the context, e.g. the browser's language); a script
    error or a CSP refusal fails the test."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def watch(page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text:
                errors.append(f"{page.url}: {message.text}")

        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        page.on("console", on_console)

    def opened(viewport: ViewportSize = VIEWPORT, **options: Any) -> Page:
        """``options`` are the browser context's, e.g. ``locale="de-DE"``."""
        context = browser.new_context(viewport=viewport, **options)
        contexts.append(context)
        page = context.new_page()
        watch(page)
        return page

    try:
        yield opened
    finally:
        for context in contexts:
            context.close()
    assert errors == [], errors
