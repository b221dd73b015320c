"""The pages over the API's own contract, in Chromium against one real server: the API
documentation without the internet, and the deliveries page (R16).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Route, expect

from tests.e2e.conftest import NewPage, seeded_server
from tests.e2e.test_console import log_in
from tests.integration.clients import run
from tests.integration.live.test_live_recording import queued_to
from tests.integration.server import SeededDemo, ServerProcess

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, seeded_demo: SeededDemo
) -> Iterator[ServerProcess]:
    """The demo company's with the demo platform, which only the demo company delivers to."""
    root = tmp_path_factory.mktemp("api-pages")
    with seeded_server(root, seeded_demo, platform=True) as process:
        try:
            yield process
        finally:
            process.stop()
            process.stop_platform()


def test_the_api_documentation_needs_no_internet(server: ServerProcess, new_page: NewPage) -> None:
    """Every request but to chatrec itself fails, as on a closed network: the page still
    lists the operations, and Authorize offers the bearer token and the session cookie."""
    page = new_page()
    outside: list[str] = []

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    page.goto(f"{server.url}/docs")
    # The page lists the whole API from its 70-path document in the browser: on a loaded
    # machine that took longer than the suite's 10 s (CI, 2026-12-05).
    history = page.locator(".opblock-summary-path", has_text="/api/chats/history")
    expect(history).to_be_visible(timeout=30_000)
    expect(page.locator(".opblock-tag", has_text="deliveries")).to_be_visible()
    page.get_by_role("button", name="Authorize").click()
    schemes = page.locator(".modal-ux .auth-container h4")
    expect(schemes).to_have_count(2)
    expect(schemes.nth(0)).to_contain_text("bearer")
    expect(schemes.nth(1)).to_contain_text("session")
    assert outside == []


def delivered(server: ServerProcess, chat_id: str, timeout: float = 60) -> list[dict[str, Any]]:
    """The chat's recordings once every one is delivered to the demo platform."""
    headers = {"Authorization": f"Bearer {server.token('ada')}"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = httpx.get(f"{server.url}/api/admin/deliveries", headers=headers).json()
        mine = [d for d in page["items"] if d["chat_id"] == chat_id]
        if mine and all(d["state"] == "delivered" for d in mine):
            return mine
        time.sleep(0.3)
    raise AssertionError(f"the recordings of chat {chat_id} were not delivered in {timeout} s")


def test_R16_deliveries_show_a_row_per_recording_with_its_files_and_when_it_arrived(
    server: ServerProcess, new_page: NewPage
) -> None:
    ended: list[str] = []

    async def chat() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        await customer.ok({"type": "message", "text": "Hello"})
        await customer.ok({"type": "end"})
        await alice.state(chat_id, lambda c: c["status"] == "ended")
        ended.append(chat_id)

    # Playwright's own loop runs in this thread: the WebSocket clients get one of theirs.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(run, chat).result()
    [chat_id] = ended
    files = {str(d["recording_id"]): len(d["files"]) for d in delivered(server, chat_id)}
    assert len(files) == 2  # the flow's and Alice's, each with its files inside

    page = new_page()
    log_in(page, server, "ada", "/console")
    page.goto(f"{server.url}/console/deliveries")
    rows = page.locator("#deliveries-body tr", has_text=chat_id)
    expect(rows).to_have_count(2)
    for n in range(2):
        row = rows.nth(n)
        expect(row.locator("[data-column=next-attempt]")).to_have_text("—")
        expect(row.locator("[data-column=delivered-at] time")).to_be_visible()
        folded = row.locator("details.files")
        expect(folded.locator("li").first).to_be_hidden()
        count = files[str(row.get_attribute("data-recording-id"))]
        folded.locator("summary").click()
        expect(folded.locator("li")).to_have_count(count)
        expect(folded.locator("li .pill")).to_have_text(["delivered"] * count)


def test_the_audit_page_shows_the_newest_lines_first(
    server: ServerProcess, new_page: NewPage
) -> None:
    headers = {"Authorization": f"Bearer {server.token('ada')}"}
    for name in ("Demo Insurance Ltd", "Demo Insurance"):
        renamed = httpx.patch(
            f"{server.url}/api/admin/companies/demo", json={"name": name}, headers=headers
        )
        assert renamed.status_code == 200, renamed.text
    page = new_page()
    log_in(page, server, "ada", "/console")
    page.goto(f"{server.url}/console/audit")
    first = page.locator("#audit-body tr").first
    expect(first).to_contain_text("company.updated")
    expect(first.locator(".after")).to_have_text("Demo Insurance")
    expect(page.locator("#audit-more")).to_be_hidden()
