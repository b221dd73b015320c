"""The customer widget on its own: consent, deletion requests, a phone's screen, and a
host page that would read the chat.

One ``chatrec demo`` serves the module; each test ends the chats it starts, so no chat
waits in a queue for the next test's agent.  The demo's Sales service runs the
"consent first" flow (R10: "No" runs ``discard``), its Support service none.  A
customer's site of another origin, allowed to embed the widget, is served from another
loopback address (browsers let a page load from loopback only if it came from there).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.sync_api import Locator, Page, ViewportSize, expect

from chatrec.domain.hours import DAYS
from tests.e2e.chromium import screenshot
from tests.e2e.conftest import seeded_server
from tests.e2e.test_chat_pages import RECORDED, go_available, log_in, say, widget_in
from tests.integration.server import SeededDemo, ServerProcess

pytestmark = pytest.mark.long  # tens of seconds: handed out first (tests/conftest.py)

PHONE: ViewportSize = {"width": 390, "height": 844}
WAITS = "Recording waits for your answer to the consent question."
NOT_RECORDED = "This chat is not recorded."
NewPage = Callable[..., Page]


class Shop(ThreadingHTTPServer):
    """A customer's web site: one page, whatever the path."""

    page = b""

    @property
    def origin(self) -> str:
        return f"http://127.0.0.2:{self.server_address[1]}"


class ShopPage(BaseHTTPRequestHandler):
    server: Shop

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.server.page)))
        self.end_headers()
        self.wfile.write(self.server.page)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    with Shop(("127.0.0.2", 0), ShopPage) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            thread.join()


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory, seeded_demo: SeededDemo, shop: Shop
) -> Iterator[ServerProcess]:
    env = {"CHATREC_WIDGET_ORIGINS": f'["{shop.origin}"]'}
    with seeded_server(tmp_path_factory.mktemp("widget"), seeded_demo, env=env) as process:
        yield process


def widget_of(page: Page, server: ServerProcess, service: str) -> Locator:
    page.goto(f"{server.url}/widget/demo?service={service}")
    widget = widget_in(page)
    widget.get_by_role("button", name="Chat with us").click()
    return widget


def end_chat(widget: Locator) -> None:
    widget.get_by_role("button", name="End chat").click()
    widget.get_by_role("button", name="Yes, end the chat").click()
    expect(widget.get_by_role("status")).to_have_text("This chat has ended.")


def box(locator: Locator) -> tuple[float, float, float, float]:
    found = locator.bounding_box()
    assert found is not None, locator
    return found["x"], found["y"], found["width"], found["height"]


def test_R10_R11a_widget_says_recording_waits_for_consent_then_follows_the_answer(
    demo: ServerProcess, new_page: NewPage
) -> None:
    supervisor = new_page()
    log_in(supervisor, demo, "sam")

    widget = widget_of(new_page(), demo, "demo-sales")
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

    declined = widget_of(new_page(), demo, "demo-sales")
    declined.get_by_role("button", name="Start chat").click()
    expect(declined.get_by_role("status")).to_have_text(WAITS)
    declined.get_by_role("button", name="No", exact=True).click()
    # The flow runs discard on "No" (R12c): not recorded, before any agent has joined.
    expect(declined.get_by_text("this chat will not be recorded")).to_be_visible()
    expect(declined.get_by_role("status")).to_have_text(NOT_RECORDED)
    expect(declined.get_by_role("button", name="Ask to delete the recording")).to_be_hidden()
    end_chat(declined)


def test_R11a_phone_widget_fills_the_screen_open_and_leaves_the_header_alone_closed(
    demo: ServerProcess, new_page: NewPage
) -> None:
    customer = new_page(PHONE)
    widget = widget_of(customer, demo, "demo-support")
    panel = widget.get_by_role("region")
    expect(widget.locator(".intro")).to_contain_text(RECORDED)  # Support asks no consent
    assert box(panel) == (0, 0, PHONE["width"], PHONE["height"])
    expect(widget.get_by_role("button", name="Chat with us")).to_be_hidden()
    widget.get_by_role("button", name="Start chat").click()
    expect(widget.get_by_role("status")).to_have_text(RECORDED)
    assert box(panel) == (0, 0, PHONE["width"], PHONE["height"])
    end_chat(widget)

    widget.get_by_role("button", name="Minimise the chat").click()
    expect(panel).to_be_hidden()
    expect(widget.get_by_role("button", name="Chat with us")).to_be_visible()
    _, header_top, _, header_height = box(customer.locator(".site-header"))
    x, y, width, height = box(customer.locator("iframe[data-chatrec-widget]"))
    assert y >= header_top + header_height, "closed, the widget leaves the page's header alone"
    assert x + width <= PHONE["width"]
    assert y + height <= PHONE["height"]
    customer.get_by_role("link", name="Sales").first.click()  # nothing lies over the header
    expect(customer).to_have_url(f"{demo.url}/widget/demo?service=demo-sales")


def test_R9_a_deletion_request_is_confirmed_in_the_chat_and_hides_no_message(
    demo: ServerProcess, new_page: NewPage
) -> None:
    widget = widget_of(new_page(PHONE), demo, "demo-support")
    widget.get_by_role("button", name="Start chat").click()
    # During the flow no agent is in the chat: the request is noted for the one to come.
    widget.get_by_role("button", name="Ask to delete the recording").click()
    expect(widget.locator(".confirm")).to_contain_text("The agent who takes this chat will see")
    widget.get_by_role("button", name="Yes, ask to delete").click()
    noted = widget.get_by_text("Your request is noted: the agent who takes this chat will see it.")
    expect(noted).to_be_in_viewport(ratio=1)
    expect(widget.get_by_text("has been asked to delete")).to_have_count(0)
    expect(
        widget.get_by_role("button", name="Deletion of the recording requested")
    ).to_be_disabled()

    agent = new_page()
    log_in(agent, demo, "alice")
    go_available(agent)
    widget.get_by_role("button", name="Billing").click()
    agent.locator(".chat-item", has_text="Support").click()
    expect(agent.locator("#conversation-deletion")).to_be_visible()  # the agent sees it
    messages = agent.locator("#messages")
    customer_box = widget.get_by_label("Your message (Enter sends)")
    for n in range(1, 7):  # more than the log holds: it scrolls
        say(customer_box, f"Line {n} of my question")
        expect(messages).to_contain_text(f"Line {n} of my question")
    say(agent.locator("#message"), "I will delete it, one moment.")
    reply = widget.get_by_text("I will delete it, one moment.")
    expect(reply).to_be_in_viewport(ratio=1)
    # A question box below the log shortens it; the newest message stays in view.
    widget.get_by_role("button", name="End chat").click()
    expect(reply).to_be_in_viewport(ratio=1)
    widget.get_by_role("button", name="Yes, end the chat").click()
    expect(widget.get_by_role("status")).to_have_text("This chat has ended.")

    # With an agent in the chat, the agent is asked; their reply stays in view.
    second = widget_of(new_page(PHONE), demo, "demo-support")
    second.get_by_role("button", name="Start chat").click()
    second.get_by_role("button", name="Technical problem").click()
    agent.locator(".chat-item", has_text="Support").filter(has_not_text="Ended").click()
    second_box = second.get_by_label("Your message (Enter sends)")
    for n in range(1, 6):
        say(second_box, f"Detail {n} of my problem")
    expect(messages).to_contain_text("Detail 5 of my problem")
    say(agent.locator("#message"), "Alice here, how can I help?")
    reply = second.get_by_text("Alice here, how can I help?")
    expect(reply).to_be_in_viewport(ratio=1)
    second.get_by_role("button", name="Ask to delete the recording").click()
    second.get_by_role("button", name="Yes, ask to delete").click()
    asked = second.get_by_text("The agent has been asked to delete it.")
    expect(asked).to_be_in_viewport(ratio=1)
    expect(reply).to_be_in_viewport(ratio=1)
    end_chat(second)


READ_EVERYTHING = """() => {
  const found = [document.cookie, document.documentElement.outerHTML];
  for (const storage of [sessionStorage, localStorage]) found.push(JSON.stringify({ ...storage }));
  const frame = document.querySelector("iframe[data-chatrec-widget]");
  try {
    found.push(JSON.stringify({ ...frame.contentWindow.sessionStorage }));
  } catch (error) {
    found.push(error.name);
  }
  found.push(String(frame.contentDocument));
  return found.join("\\n");
}"""
"""What a script of the host page can reach: its own storage, cookies and page, and the
widget's frame as far as the browser lets it."""


def test_R18_a_script_of_the_host_page_cannot_read_the_chat_token(
    demo: ServerProcess, shop: Shop, new_page: NewPage
) -> None:
    shop.page = (
        f'<!doctype html><html lang="en"><head><title>Shop</title><script src="{demo.url}'
        '/static/widget.js" data-service="demo-support" defer></script></head>'
        "<body><h1>Shop</h1></body></html>"
    ).encode()
    customer = new_page()
    customer.goto(f"{shop.origin}/")
    widget = widget_in(customer)
    widget.get_by_role("button", name="Chat with us").click()
    with customer.expect_response(f"{demo.url}/api/chats") as created:
        widget.get_by_role("button", name="Start chat").click()
    token = created.value.json()["token"]
    expect(widget.get_by_role("status")).to_have_text(RECORDED)
    say(widget.get_by_label("Your message (Enter sends)"), "Billing")
    expect(widget.locator(".msg.me", has_text="Billing")).to_be_visible()

    seen = customer.evaluate(READ_EVERYTHING)
    assert token not in seen
    assert "SecurityError" in seen  # the frame's storage is another origin's
    assert "Billing" not in seen  # nor is the chat itself
    end_chat(widget)
    # Only the sites configured may frame the widget (and chatrec's own pages).
    policy = httpx.get(f"{demo.url}/widget/frame/demo-support").headers["content-security-policy"]
    assert f"frame-ancestors 'self' {shop.origin};" in policy


GERMAN_RECORDED = "Dieser Chat wird zu Qualitäts- und Schulungszwecken aufgezeichnet."


def shop_with_widget(shop: Shop, server: ServerProcess, lang: str | None) -> None:
    """The shop's page embeds the Support widget, with the site's choice of language."""
    chosen = "" if lang is None else f' data-lang="{lang}"'
    shop.page = (
        f'<!doctype html><html lang="en"><head><title>Shop</title><script src="{server.url}'
        f'/static/widget.js" data-service="demo-support"{chosen} defer></script></head>'
        "<body><h1>Shop</h1></body></html>"
    ).encode()


def frame_root(page: Page) -> Locator:
    return page.frame_locator("iframe[data-chatrec-widget]").locator("html")


def test_the_site_chooses_the_widget_language_over_the_browser(
    demo: ServerProcess, shop: Shop, new_page: NewPage
) -> None:
    shop_with_widget(shop, demo, "de")
    customer = new_page(locale="en-US")
    customer.goto(f"{shop.origin}/")
    widget = widget_in(customer)
    widget.get_by_role("button", name="Chatten Sie mit uns").click()
    expect(frame_root(customer)).to_have_attribute("lang", "de")
    expect(widget.get_by_role("heading")).to_have_text("Chat mit Support")
    expect(widget.locator(".intro")).to_contain_text(GERMAN_RECORDED)  # before it starts
    widget.get_by_role("button", name="Chat starten").click()
    expect(widget.get_by_role("status")).to_have_text(GERMAN_RECORDED)  # R11a, in German
    # The company's flow speaks its own words, as written: only the widget's are German.
    expect(widget.get_by_role("button", name="Billing")).to_be_visible()
    expect(
        widget.get_by_role("button", name="Löschung der Aufzeichnung beantragen")
    ).to_be_visible()
    screenshot(customer, "widget-de.png")
    widget.get_by_role("button", name="Chat beenden").click()
    widget.get_by_role("button", name="Ja, Chat beenden").click()
    expect(widget.get_by_role("status")).to_have_text("Dieser Chat ist beendet.")
    expect(widget.get_by_text("Der Chat wurde beendet")).to_be_visible()


def test_without_the_site_choice_the_browser_languages_choose(
    demo: ServerProcess, new_page: NewPage
) -> None:
    customer = new_page(locale="de-DE")
    customer.goto(f"{demo.url}/widget/demo?service=demo-sales")  # a page with no data-lang
    widget = widget_in(customer)
    widget.get_by_role("button", name="Chatten Sie mit uns").click()
    expect(frame_root(customer)).to_have_attribute("lang", "de")
    expect(widget.locator(".intro")).to_contain_text("hängt von Ihrer Antwort ab")
    widget.get_by_role("button", name="Chat starten").click()
    # Until the consent question is answered, nothing is promised (R10, R11a).
    status = widget.get_by_role("status")
    expect(status).to_have_text(
        "Die Aufzeichnung wartet auf Ihre Antwort auf die Frage nach Ihrer Einwilligung."
    )
    widget.get_by_role("button", name="No", exact=True).click()
    expect(status).to_have_text("Dieser Chat wird nicht aufgezeichnet.")
    widget.get_by_role("button", name="Chat beenden").click()
    widget.get_by_role("button", name="Ja, Chat beenden").click()
    expect(status).to_have_text("Dieser Chat ist beendet.")


def test_a_language_the_widget_does_not_speak_is_english(
    demo: ServerProcess, shop: Shop, new_page: NewPage
) -> None:
    shop_with_widget(shop, demo, "xx")
    customer = new_page(locale="de-DE")
    customer.goto(f"{shop.origin}/")
    widget = widget_in(customer)
    widget.get_by_role("button", name="Chat with us").click()
    expect(frame_root(customer)).to_have_attribute("lang", "en")
    expect(widget.locator(".intro")).to_contain_text(RECORDED)
    expect(widget.get_by_role("button", name="Start chat")).to_be_visible()
    frame = httpx.get(f"{demo.url}/widget/frame/demo-support", params={"lang": '"><b>'})
    assert '<html lang="en">' in frame.text
    assert "<b>" not in frame.text


def test_outside_its_business_hours_the_widget_says_so_and_offers_no_chat(
    demo: ServerProcess, new_page: NewPage
) -> None:
    """In the company's words, under the widget's own sentence; back to normal once the
    hours are taken away (the module's other tests use this service)."""
    url = f"{demo.url}/api/admin/services/demo-support"
    admin = {"Authorization": f"Bearer {demo.token('ada')}"}
    other_day = DAYS[(datetime.now(UTC).weekday() + 1) % 7].capitalize()
    hours = {"hours": f"{other_day} 00:00-24:00", "closed_message": "Back on Monday at 9."}
    assert httpx.patch(url, json=hours, headers=admin).status_code == 200
    try:
        widget = widget_of(new_page(), demo, "demo-support")
        intro = widget.locator(".intro")
        expect(intro).to_contain_text("We are closed right now, so no chat can start.")
        expect(intro).to_contain_text("Back on Monday at 9.")
        expect(widget.get_by_role("button", name="Start chat")).to_be_hidden()
        screenshot(widget.page, "widget-closed.png")
    finally:
        assert httpx.patch(url, json={"hours": ""}, headers=admin).status_code == 200
    reopened = widget_of(new_page(), demo, "demo-support")
    expect(reopened.get_by_role("button", name="Start chat")).to_be_visible()


def test_R23_the_pre_chat_form_speaks_the_customers_language_and_the_company_labels_stay(
    demo: ServerProcess, new_page: NewPage
) -> None:
    """The widget's own words in German, the company's labels as written; back to no form
    afterwards (the module's other tests use this service)."""
    url = f"{demo.url}/api/admin/services/demo-support"
    admin = {"Authorization": f"Bearer {demo.token('ada')}"}
    form = [
        {"key": "name", "label": "Ihr Name", "required": True},
        {"key": "topic", "label": "Thema", "type": "select", "options": ["Rechnung", "Vertrag"]},
    ]
    assert httpx.patch(url, json={"pre_chat_form": form}, headers=admin).status_code == 200
    try:
        customer = new_page(locale="de-DE")
        customer.goto(f"{demo.url}/widget/demo?service=demo-support")
        widget = widget_in(customer)
        widget.get_by_role("button", name="Chatten Sie mit uns").click()
        start = widget.get_by_role("button", name="Chat starten")
        start.click()
        expect(widget.get_by_text("Bitte füllen Sie „Ihr Name“ aus.")).to_be_visible()
        expect(widget.get_by_role("status")).to_have_count(0)  # nothing started
        widget.get_by_label("Ihr Name").fill("Kim")
        widget.get_by_label("Thema (optional)").select_option("Vertrag")
        start.click()
        expect(widget.get_by_role("status")).to_have_text(GERMAN_RECORDED)
        widget.get_by_role("button", name="Chat beenden").click()
        widget.get_by_role("button", name="Ja, Chat beenden").click()
    finally:
        assert httpx.patch(url, json={"pre_chat_form": []}, headers=admin).status_code == 200
