"""The worker's one Chromium, shared by the browser tests that run on it in a row.

Launching Chromium costs about a second; each test still gets fresh browser contexts
(see ``new_page`` in conftest.py).  Between its calls Playwright's sync API marks its
asyncio loop as running in this thread, which breaks ``asyncio.run`` in any other test:
so tests/conftest.py stops this browser before a test outside tests/e2e runs on the
worker, and the next browser test starts another.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

EXECUTABLE = Path("/usr/bin/chromium")
# `make screenshots` refreshes docs/screenshots/; other runs take none: a test run never
# changes tracked files, and leaves no folder of pictures behind it (about 2 MB a run).
_FOLDER = os.environ.get("CHATREC_SCREENSHOTS")
SCREENSHOTS = Path(_FOLDER) if _FOLDER else None
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class WorkerChromium:
    """Chromium, started when a browser test needs it, until :meth:`stop`."""

    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    def browser(self) -> Browser:
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        self.stop()
        if not EXECUTABLE.exists():
            pytest.fail(
                f"Chromium is not installed at {EXECUTABLE}: `make browsers` installs it",
                pytrace=False,
            )
        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=str(EXECUTABLE), args=ARGS, headless=True
        )
        return self._browser

    def stop(self) -> None:
        """Close the browser and Playwright's loop, if they run."""
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        try:
            if browser is not None and browser.is_connected():
                browser.close()
        finally:
            if playwright is not None:
                playwright.stop()


WORKER_CHROMIUM = WorkerChromium()


def screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    """The page as a person sees it, for the README: no button left hovered, a long
    page from its top.  The page is left as it would be after one either way, so a test
    runs the same steps whether ``make screenshots`` takes them or not."""
    page.mouse.move(0, 0)
    if full_page:
        page.evaluate("window.scrollTo(0, 0)")
    if SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / name, full_page=full_page)
