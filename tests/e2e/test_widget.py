"""The customer widget on its own: what it says about consent.

One ``chatrec demo`` serves the module; each test ends the chats it starts, so no chat
waits in a queue for the next test's agent.  The demo's Sales service runs the
"consent first" flow (R10: "No" runs ``discard``), its Support service none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Locator, Page, expect

from tests.e2e.test_chat_pages import RECORDED, log_in
from tests.integration.server import ServerProcess

WAITS = "Recording waits for your answer to the consent question."
NOT_RECORDED = "This chat is not recorded."
NewPage = Callable[..., Page]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("widget")
    process = ServerProcess(folder / "data", f"sqlite:///{folder}/chatrec.db")
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[NewPage]:
    """Pages of their own contexts at a chosen viewport; as ``new_page``, a script error or
    a CSP refusal fails the test."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def opened(width: int = 1280, height: int = 800) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()

        def on_console(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text:
                errors.append(f"{page.url}: {message.text}")

        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        page.on("console", on_console)
        return page

    try:
        yield opened
    finally:
        for context in contexts:
            context.close()
    assert errors == [], errors


def widget_of(page: Page, server: ServerProcess, service: str) -> Locator:
    page.goto(f"{server.url}/widget/demo?service={service}")
    widget = page.locator("[data-chatrec-widget]")
    widget.get_by_role("button", name="Chat with us").click()
    return widget


def end_chat(widget: Locator) -> None:
    widget.get_by_role("button", name="End chat").click()
    widget.get_by_role("button", name="Yes, end the chat").click()
    expect(widget.get_by_role("status")).to_have_text("This chat has ended.")


def test_R10_R11a_widget_says_recording_waits_for_consent_then_follows_the_answer(
    demo: ServerProcess, open_page: NewPage
) -> None:
    supervisor = open_page()
    log_in(supervisor, demo, "sam")

    widget = widget_of(open_page(), demo, "demo-sales")
    intro = widget.locator(".intro")
    expect(intro).to_contain_text("depends on your answer")
    expect(intro).not_to_contain_text(RECORDED)  # nothing is promised before the answer
    widget.get_by_role("button", name="Start chat").click()
    expect(widget.get_by_text("May we record this chat")).to_be_visible()
    status = widget.get_by_role("status")
    expect(status).to_have_text(WAITS)
    expect(widget.get_by_role("button", name="Ask to delete the recording")).to_be_hidden()
    expect(supervisor.locator(".chat-item .badge")).to_have_text("Awaiting consent")
    widget.get_by_role("button", name="Yes", exact=True).click()
    expect(status).to_have_text(RECORDED)
    expect(supervisor.locator(".chat-item .badge")).to_have_text("Recording")
    end_chat(widget)

    declined = widget_of(open_page(), demo, "demo-sales")
    declined.get_by_role("button", name="Start chat").click()
    expect(declined.get_by_role("status")).to_have_text(WAITS)
    declined.get_by_role("button", name="No", exact=True).click()
    # The flow runs discard on "No" (R12c): not recorded, before any agent has joined.
    expect(declined.get_by_text("this chat will not be recorded")).to_be_visible()
    expect(declined.get_by_role("status")).to_have_text(NOT_RECORDED)
    expect(declined.get_by_role("button", name="Ask to delete the recording")).to_be_hidden()
    end_chat(declined)
