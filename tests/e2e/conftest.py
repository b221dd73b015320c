"""Real browsers against a real server: Debian's Chromium driven by Playwright.

Each test gets its own ``chatrec demo`` process on a SQLite file in its tmp_path (a copy
of the demo seeded once per worker), and
fresh browser contexts (one per person: a customer, an agent, a supervisor), so no
cookie or sessionStorage crosses people or tests.  Chromium is never downloaded:
``make browsers`` installs the distribution's package, and without it the tests fail,
they are not skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.integration.server import SeededDemo, ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}

expect.set_options(timeout=10_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per module; the sync API's loop is gone before other modules run."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: `make browsers` installs it",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def server(tmp_path: Path, seeded_demo: SeededDemo) -> Iterator[ServerProcess]:
    database_url = seeded_demo.copy_to(tmp_path / "data", tmp_path / "chatrec.db")
    process = ServerProcess(tmp_path / "data", database_url)
    process.start()
    try:
        yield process
    finally:
        process.stop()


NewPage = Callable[..., Page]


@pytest.fixture
def new_page(browser: Browser) -> Iterator[NewPage]:
    """Pages in contexts of their own (a desktop's viewport unless one is given, e.g. a
    phone's); a script error or a CSP refusal fails the test."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def watch(page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text:
                errors.append(f"{page.url}: {message.text}")

        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        page.on("console", on_console)

    def opened(viewport: ViewportSize = VIEWPORT) -> Page:
        context = browser.new_context(viewport=viewport)
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
