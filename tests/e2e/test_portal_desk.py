"""The agent's desk in Chromium: where a chat opens, presence, transfer targets, the
recording actions, canned responses and narrow screens (R8, R9, R11a, R12b, R13, R20,
R22, R23).

One server serves the module, each test with a company of its own (a tenant); its chats
are ended afterwards, and every agent left Away.  Customers are WebSocket clients (the
widget has its own tests).  The idle timeout, a server's setting, has a server of its own.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect
from websockets.sync.client import ClientConnection, connect

from chatrec.store.store import Store
from tests.e2e.chromium import screenshot
from tests.e2e.conftest import fill_sign_in, seeded_server, widget_page
from tests.e2e.test_chat_pages import (
    RECORDED,
    NewPage,
    assigned_chat,
    go_available,
    log_in,
    say,
    transfer_to,
    widget_in,
)
from tests.integration.server import SeededDemo, ServerProcess
from tests.integration.tenant import Tenant
from tests.keys import SECRETS

pytestmark = pytest.mark.long  # tens of seconds: handed out first (tests/conftest.py)

AGENTS = ("alice", "bob", "carol")
HEADER = (".brand", "#presence", "#connection", ".who", "#logout")
_refs = itertools.count(1)


class Customer:
    """A customer of the Support service who answers the flow and then writes."""

    def __init__(self, server: ServerProcess, **start: object) -> None:
        service_id = server.id("demo-support")
        body = {"service_id": service_id, **start}  # pre-chat details, page (R23)
        response = httpx.post(f"{server.url}/api/chats", json=body)
        response.raise_for_status()
        body = response.json()
        self.chat_id: str = body["chat_id"]
        self._opened = contextlib.ExitStack()
        url = f"{server.ws_url}/ws/customer"
        self.ws: ClientConnection = self._opened.enter_context(connect(url, max_queue=None))
        self.frames: list[dict[str, Any]] = []  # every frame it was sent, in order
        self.ws.send(json.dumps({"type": "hello", "token": body["token"]}))
        self.says("Billing")

    def send(self, frame: dict[str, Any]) -> None:
        """Send a frame and wait for its acknowledgement."""
        ref = f"c{next(_refs)}"
        self.ws.send(json.dumps({**frame, "ref": ref}))
        while True:
            answer = json.loads(self.ws.recv(timeout=10))
            self.frames.append(answer)
            if answer.get("ref") == ref:
                assert answer["type"] == "ack", answer
                return

    def says(self, text: str) -> None:
        self.send({"type": "message", "text": text})

    def close(self) -> None:
        with self._opened:
            self.send({"type": "end"})

    def hang_up(self) -> None:
        """Close the socket of a chat that has ended already."""
        self._opened.close()


def set_away(server: ServerProcess, login: str, tokens: dict[str, str]) -> None:
    if login not in tokens:
        tokens[login] = server.token(login)
    with connect(f"{server.ws_url}/ws/staff") as ws:
        ws.send(json.dumps({"type": "hello", "token": tokens[login]}))
        ws.send(json.dumps({"type": "presence", "available": False, "ref": "away"}))
        while json.loads(ws.recv(timeout=10)).get("ref") != "away":
            pass


@pytest.fixture
def server(tenant: Tenant) -> Tenant:
    """A company of the test's own on the module's server."""
    return tenant


@pytest.fixture
def tokens() -> dict[str, str]:
    """Session tokens of the test's agents, for setting them Away after it."""
    return {}


@pytest.fixture
def customers(server: ServerProcess, tokens: dict[str, str]) -> Iterator[list[Customer]]:
    """The test's customers; afterwards their chats end and every agent is Away."""
    started: list[Customer] = []
    yield started
    for customer in started:
        customer.close()
    for login in AGENTS:
        set_away(server, login, tokens)


def customer(server: ServerProcess, customers: list[Customer], lines: int = 0) -> Customer:
    """A new customer who has written ``lines`` long messages after the flow."""
    new = Customer(server)
    customers.append(new)
    for n in range(1, lines + 1):
        new.says(f"Line {n}: " + "so much to say about my bill " * 6)
    return new


def at_newest(messages: Locator) -> None:
    """The chat shows its newest line, its first is scrolled out of sight."""
    expect(messages.locator("li").last).to_be_in_viewport()
    expect(messages.locator("li").first).not_to_be_in_viewport()
    gap = "el => el.scrollHeight - el.scrollTop - el.clientHeight"
    assert messages.evaluate(gap) < 2


def scroll_up(messages: Locator) -> None:
    """To the first line, as an agent scrolls up to read; again when a resize of the list
    in the same frame took it back down before the portal saw the scroll (it follows the
    newest line until then), which made this test fail now and then."""
    for _ in range(20):
        messages.evaluate("el => { el.scrollTop = 0 }")
        messages.page.wait_for_timeout(100)  # a frame or more: the scroll event has run
        if messages.evaluate("el => el.scrollTop") == 0:
            return
    raise AssertionError("the message list did not stay scrolled up")


def test_R11a_a_chat_opens_at_its_newest_line_wherever_it_is_opened(
    server: ServerProcess, new_page: NewPage, customers: list[Customer]
) -> None:
    alice = new_page()
    log_in(alice, server, "alice")
    waiting = customer(server, customers, lines=20)
    go_available(alice)  # the chat arrives with its history: it opens at the end
    assigned_chat(alice)
    messages = alice.locator("#messages")
    at_newest(messages)

    alice.reload()  # opened again after a reload, still Available
    expect(alice.locator("#connection")).to_have_text("Connected")
    expect(alice.get_by_label("Available", exact=True)).to_be_checked()
    at_newest(messages)

    scroll_up(messages)  # the agent scrolls up to read
    marker = alice.get_by_role("button", name="New messages")
    expect(marker).to_be_hidden()
    waiting.says("Are you still there?")
    expect(marker).to_have_text("↓ New messages (1)")
    expect(messages.get_by_text("Are you still there?")).not_to_be_in_viewport()
    marker.click()
    expect(messages.get_by_text("Are you still there?")).to_be_in_viewport()
    expect(marker).to_be_hidden()

    supervisor = new_page()
    log_in(supervisor, server, "sam")
    supervisor.locator(f'.chat-item[data-chat-id="{waiting.chat_id}"]').click()
    at_newest(supervisor.locator("#messages"))

    carol = new_page()
    log_in(carol, server, "carol")
    go_available(carol)
    transfer_to(alice, "Carol Diaz (3 of 3 slots free)")
    assigned_chat(carol)  # received by transfer: it opens at the end too
    at_newest(carol.locator("#messages"))


def test_presence_is_the_agents_and_the_portal_says_who_else_changed_it(
    server: ServerProcess, new_page: NewPage, customers: list[Customer]
) -> None:
    laptop = new_page()
    log_in(laptop, server, "bob")
    note = laptop.locator("#presence-note")
    go_available(laptop)
    laptop.reload()  # his only window: a reload keeps his choice, and chats keep coming
    expect(laptop.locator("#connection")).to_have_text("Connected")
    expect(laptop.get_by_label("Available", exact=True)).to_be_checked()
    customer(server, customers)
    assigned_chat(laptop)
    expect(note).to_be_hidden()

    desk = new_page()  # a second window, where he logs out
    log_in(desk, server, "bob")
    expect(desk.get_by_label("Available", exact=True)).to_be_checked()
    desk.get_by_role("button", name="Log out").click()
    expect(desk).to_have_url(f"{server.url}/login")
    expect(laptop.get_by_label("Away", exact=True)).to_be_checked()
    expect(note).to_contain_text("You were set to Away when you logged out at")
    go_available(laptop)
    expect(note).to_be_hidden()


def test_the_portal_says_when_the_idle_timeout_set_the_agent_away(
    tmp_path: Path, seeded_demo: SeededDemo, new_page: NewPage
) -> None:
    # The shortest timeout that leaves Carol, at her desk, Available: her portal tells the
    # server she is there at most once a second (once per max(1 s, timeout / 4)).
    env = {
        "CHATREC_PRESENCE_IDLE_TIMEOUT_SECONDS": "2",
        "CHATREC_SWEEP_INTERVAL_SECONDS": "0.3",
    }
    with seeded_server(tmp_path, seeded_demo, env=env) as server:
        alice, carol = new_page(), new_page()
        for page, login in ((alice, "alice"), (carol, "carol")):
            log_in(page, server, login)
            go_available(page)
        away = alice.get_by_label("Away", exact=True)
        for step in range(100):  # Carol keeps using her portal; Alice has left her desk
            carol.mouse.move(100 + step % 2 * 50, 300)
            if away.is_checked():
                break
            carol.wait_for_timeout(100)
        expect(away).to_be_checked()
        expect(alice.locator("#presence-note")).to_contain_text(
            "after 2 seconds without using the portal"
        )
        expect(carol.get_by_label("Available", exact=True)).to_be_checked()


def test_transfer_lists_who_cannot_take_the_chat_and_why(
    server: ServerProcess, new_page: NewPage, customers: list[Customer]
) -> None:
    carol = new_page()
    log_in(carol, server, "carol")
    go_available(carol)
    for _ in range(3):
        customer(server, customers)
    expect(carol.locator(".chat-item")).to_have_count(3)  # all she can take
    bob = new_page()
    log_in(bob, server, "bob")
    bob.locator("#presence").get_by_text("Away", exact=True).click()
    alice = new_page()
    log_in(alice, server, "alice")
    go_available(alice)
    customer(server, customers)
    assigned_chat(alice)

    alice.get_by_role("button", name="Transfer…").click()
    dialog = alice.locator("#transfer-dialog")
    options = dialog.get_by_label("Transfer to").locator("option")
    expect(options.filter(has_text="Bob Chen")).to_have_text("Bob Chen (away)")
    expect(options.filter(has_text="Bob Chen")).to_be_disabled()
    expect(options.filter(has_text="Carol Diaz")).to_have_text("Carol Diaz (full: 3 of 3 chats)")
    expect(options.filter(has_text="Carol Diaz")).to_be_disabled()
    expect(options.filter(has_text="General queue")).to_be_enabled()
    dialog.get_by_role("button", name="Cancel").click()

    go_available(bob)
    alice.get_by_role("button", name="Transfer…").click()
    expect(options.filter(has_text="Bob Chen")).to_have_text("Bob Chen (3 of 3 slots free)")
    dialog.get_by_label("Transfer to").select_option(label="Bob Chen (3 of 3 slots free)")
    dialog.get_by_role("button", name="Transfer").click()
    assigned_chat(bob)


def test_R23_internal_notes_stay_between_staff_and_one_goes_with_a_transfer(
    server: ServerProcess, new_page: NewPage, customers: list[Customer]
) -> None:
    note, handover = "Sounds upset about the delay", "Renewal, not a claim; be gentle"
    alice = new_page()
    log_in(alice, server, "alice")
    go_available(alice)
    shopper = customer(server, customers)
    assigned_chat(alice)
    alice.get_by_label("Internal note").check()
    expect(alice.get_by_role("button", name="Add note")).to_be_visible()
    say(alice.locator("#message"), note)
    expect(alice.locator(".msg.note")).to_contain_text("Internal note · You")
    expect(alice.locator(".msg.note .text")).to_have_text(note)
    shopper.says("Is anyone there?")  # whatever the customer was sent before its answer
    alice.get_by_label("Internal note").uncheck()

    carol = new_page()
    log_in(carol, server, "carol")
    go_available(carol)
    transfer_to(alice, "Carol Diaz (3 of 3 slots free)", note=handover)
    assigned_chat(carol)
    notes = carol.locator(".msg.note")
    expect(notes).to_have_count(2)
    expect(notes.last).to_contain_text("Internal note for the transfer · Alice Martin ·")
    expect(notes.last.locator(".text")).to_have_text(handover)
    screenshot(carol, "portal-notes.png")
    shopper.says("Hello again")
    assert [f for f in shopper.frames if f["type"] == "event"]  # it was told of the chat
    for frame in shopper.frames:
        assert note not in json.dumps(frame)
        assert handover not in json.dumps(frame)


def test_R23_a_required_wrap_up_code_is_chosen_before_the_agent_can_end_the_chat(
    server: Tenant, new_page: NewPage, customers: list[Customer]
) -> None:
    server.set_company(wrap_up_codes=["Claim", "Renewal"], wrap_up_required=True)
    alice = new_page()
    log_in(alice, server, "alice")
    go_available(alice)
    shopper = customer(server, customers)
    assigned_chat(alice)
    end = alice.get_by_role("button", name="End chat")
    expect(end).to_be_disabled()
    expect(alice.locator("#wrap-up-hint")).to_have_text("Required before you end the chat.")
    alice.get_by_label("Wrap-up code").select_option("Renewal")
    expect(end).to_be_enabled()
    expect(alice.locator("#messages")).to_contain_text("You chose the wrap-up code Renewal")
    screenshot(alice, "portal-wrap-up.png")
    end.click()
    alice.locator("#confirm-dialog").get_by_role("button", name="End chat").click()
    expect(alice.locator("#conversation-status")).to_have_text("Ended")
    customers.remove(shopper)  # ended by the agent: nothing left for the customer to end
    shopper.hang_up()


def test_R23_an_agent_reads_their_ended_chats_in_their_recent_chats(
    server: Tenant, new_page: NewPage, customers: list[Customer]
) -> None:
    alice = new_page()
    log_in(alice, server, "alice")
    go_available(alice)
    shopper = customer(server, customers)
    _, chat_id = assigned_chat(alice)
    shopper.says("Where is my refund, order 5521?")
    expect(alice.locator(".msg .text").last).to_have_text("Where is my refund, order 5521?")
    shopper.close()
    customers.remove(shopper)
    expect(alice.locator("#conversation-status")).to_have_text("Ended")

    alice.get_by_role("button", name="Your recent chats…").click()
    dialog = alice.locator("#history-dialog")
    past = dialog.get_by_role("button", name=re.compile(chat_id))
    expect(past).to_have_count(1)
    past.click()
    expect(dialog.locator("#history-events")).to_contain_text("Where is my refund, order 5521?")
    expect(dialog.locator("#history-chat-title")).to_contain_text("Support")
    screenshot(alice, "portal-history.png")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def test_R23_the_customer_fills_the_pre_chat_form_and_the_agent_sees_them_beside_the_chat(
    server: Tenant, new_page: NewPage, customers: list[Customer]
) -> None:
    form = [
        {"key": "name", "label": "Your name", "required": True},
        {"key": "email", "label": "E-mail", "type": "email", "required": True},
        {"key": "order", "label": "Order number"},
    ]
    saved = httpx.patch(
        f"{server.url}/api/admin/services/{server.id('demo-support')}",
        json={"pre_chat_form": form},
        headers={"Authorization": f"Bearer {server.token('ada')}"},
    )
    assert saved.status_code == 200, saved.text
    earlier = Customer(server, details={"name": "Kim", "email": "kim@example.com"})
    earlier.close()  # ended before an agent took it: an earlier chat of the same e-mail

    shopper = new_page()
    shopper.goto(widget_page(server, server.id("demo-support")))
    widget = widget_in(shopper)
    widget.get_by_role("button", name="Chat with us").click()
    start = widget.get_by_role("button", name="Start chat")
    start.click()  # checked in the browser first: nothing is sent
    expect(widget.get_by_text("Please fill in Your name.")).to_be_visible()
    expect(widget.get_by_label("Your name")).to_be_focused()
    widget.get_by_label("Your name").fill("Kim Lee")
    widget.get_by_label("E-mail").fill("kim(at)example.com")
    start.click()
    expect(widget.get_by_text("Please enter an e-mail address")).to_be_visible()
    widget.get_by_label("E-mail").fill("Kim@Example.com")
    widget.get_by_label("Order number (optional)").fill("5521")
    start.click()
    expect(widget.get_by_role("status")).to_have_text(RECORDED)
    widget.get_by_role("button", name="Billing").click()

    alice = new_page()
    log_in(alice, server, "alice")
    go_available(alice)
    assigned_chat(alice)
    panel = alice.get_by_role("complementary", name="Customer")
    expect(panel).to_be_visible()
    for shown in ("Kim Lee", "kim@example.com", "Order number", "5521", "Started on"):
        expect(panel.locator("#customer-details")).to_contain_text(shown)
    expect(panel.locator("#customer-earlier li")).to_have_count(1)
    expect(panel.locator("#customer-earlier")).to_contain_text(earlier.chat_id)
    screenshot(alice, "portal-customer.png")
    hello = {"name": "hi", "text": "Hello {customer_name}, {agent_name} here."}
    made = httpx.post(
        f"{server.url}/api/me/canned-responses",
        json=hello,
        headers={"Authorization": f"Bearer {server.token('alice')}"},
    )
    assert made.status_code == 201, made.text
    composer = alice.locator("#message")
    composer.press_sequentially("/hi")
    offered = alice.get_by_role("listbox", name="Canned responses")
    expect(offered.get_by_role("option")).to_contain_text("Hello Kim Lee")
    composer.press("Enter")  # a canned response's {customer_name} is the name given
    expect(composer).to_have_value("Hello Kim Lee, Alice Martin here.")
    alice.set_viewport_size({"width": 900, "height": 700})  # under the chat, not beside it
    inside(alice, panel)
    inside(alice, alice.get_by_role("button", name="Send"))
    widget.get_by_role("button", name="End chat").click()
    widget.get_by_role("button", name="Yes, end the chat").click()
    expect(alice.locator("#conversation-status")).to_have_text("Ended")


# Chromium shows no desktop notification headless: the page's calls are recorded instead.
RECORD_NOTIFICATIONS = """
window.__shown = [];
window.Notification = class extends Notification {
  constructor(title, options) { super(title, options); window.__shown.push([title, options.body]); }
};
"""


def test_a_new_chat_and_a_message_off_screen_ring_and_notify_once_allowed(
    server: Tenant, new_page: NewPage, customers: list[Customer]
) -> None:
    alice = new_page()
    alice.context.grant_permissions(["notifications"], origin=server.url)
    alice.add_init_script(RECORD_NOTIFICATIONS)
    log_in(alice, server, "alice")
    expect(alice.get_by_role("button", name="Desktop notifications…")).to_be_hidden()  # allowed
    go_available(alice)
    first = customer(server, customers)
    assigned_chat(alice)
    expect(alice.locator("body")).to_have_attribute("data-alerts", "1")  # the new chat
    first.says("Hello, on screen")
    expect(alice.locator(".msg .text").last).to_have_text("Hello, on screen")
    second = customer(server, customers)
    expect(alice.locator(".chat-item")).to_have_count(2)
    second.says("Hello from the other chat")
    expect(alice.locator("body")).to_have_attribute("data-alerts", "3")  # not the one on screen
    shown = alice.evaluate("window.__shown")
    assert shown[0] == ["New chat", "Support is yours now."]
    assert shown[-1] == ["The customer (Support)", "Hello from the other chat"]
    assert len(shown) == 3
    alice.get_by_label("Sound").uncheck()
    alice.reload()
    expect(alice.get_by_label("Sound")).not_to_be_checked()  # kept in this browser
    expect(alice.locator(".chat-item")).to_have_count(2)
    expect(alice.locator("body")).not_to_have_attribute("data-alerts", re.compile("."))


def kept_reason(server: Tenant, wanted: str) -> None:
    store = Store(server.database_url, secrets=SECRETS)
    try:
        for _ in range(100):
            presence = store.get_presence(server.id("demo-alice"))
            if presence is not None and presence.away_reason == wanted:
                return
            time.sleep(0.1)
    finally:
        store.close()
    raise AssertionError(f"the server never kept the away reason {wanted!r}")


def test_an_agent_says_why_they_are_away_and_the_portal_keeps_it(
    server: Tenant, new_page: NewPage, customers: list[Customer]
) -> None:
    alice = new_page()
    log_in(alice, server, "alice")
    go_available(alice)
    reason = alice.get_by_label("Why you are away")
    expect(reason).to_be_hidden()  # nothing to say while Available
    alice.locator("#presence").get_by_text("Away", exact=True).click()
    reason.select_option(label="Meal")
    kept_reason(server, "meal")  # the server has it before the page goes
    alice.reload()
    expect(alice.get_by_label("Away", exact=True)).to_be_checked()
    expect(alice.get_by_label("Why you are away")).to_have_value("meal")
    go_available(alice)
    expect(alice.get_by_label("Why you are away")).to_be_hidden()


def test_the_supervisors_dashboard_follows_queues_and_agents_live(
    server: Tenant, new_page: NewPage, customers: list[Customer]
) -> None:
    sam = new_page()
    log_in(sam, server, "sam")
    sam.get_by_role("link", name="Dashboard").click()
    expect(sam).to_have_url(f"{server.url}/dashboard")
    general = sam.locator('#queues-body tr[data-queue="General"] td').first
    expect(general).to_have_text("0")
    expect(sam.locator('#agents-body tr[data-agent="Alice Martin"]')).to_have_attribute(
        "data-state", "offline"
    )
    customer(server, customers)  # nobody Available: it waits
    expect(general).to_have_text("1", timeout=15_000)  # at the page's next look
    expect(sam.locator("#waiting-total")).to_have_text("1")
    alice = new_page()
    log_in(alice, server, "alice")
    go_available(alice)
    assigned_chat(alice)
    row = sam.locator('#agents-body tr[data-agent="Alice Martin"]')
    expect(row).to_have_attribute("data-state", "available", timeout=15_000)
    expect(row.locator("td").last).to_have_text("1 of 3")
    expect(general).to_have_text("0")
    expect(sam.locator("#service-level")).to_have_text("100 %")
    screenshot(sam, "dashboard.png")
    sam.get_by_role("button", name="Show").click()  # the report, the last 7 days
    expect(sam.locator("#report-totals")).to_have_text(
        "1 chat started, 0 ended; 0 transfers in 0 chats."
    )
    expect(sam.locator("#report-chart rect")).to_have_count(7)
    # Its chat is still open: nothing chosen or decided yet, and the tables say so.
    expect(sam.locator("#report-wrap-ups")).to_have_text(
        "No wrap-up code was chosen in chats of the period."
    )
    expect(sam.locator("#report-recordings")).to_have_text(
        "No recording was decided for the chats of the period."
    )
    csv_link = sam.get_by_role("link", name="Download CSV")
    expect(csv_link).to_have_attribute("href", re.compile(r"^/api/report/export\?from=.*&to="))
    sam.locator("#report-heading").evaluate("heading => heading.scrollIntoView()")
    screenshot(sam, "report.png")


def test_R9_R12b_R13_recording_actions_follow_the_recording_state(
    server: ServerProcess, new_page: NewPage, customers: list[Customer]
) -> None:
    alice = new_page()
    log_in(alice, server, "alice")
    go_available(alice)
    customer(server, customers)
    assigned_chat(alice)
    badge, note = alice.locator("#conversation-recording"), alice.locator("#actions-note")
    pause = alice.get_by_role("button", name="Pause recording")
    delete = alice.get_by_role("button", name="Delete recording")
    expect(pause).to_be_enabled()
    expect(note).to_be_hidden()

    delete.click()
    alice.locator("#confirm-dialog").get_by_role("button", name="Delete recording").click()
    expect(badge).to_have_text("Not recorded")
    expect(pause).to_be_disabled()  # nothing left to pause (R12b)
    expect(note).to_have_text(
        "Nothing to pause: the recording was deleted, so this chat will not be recorded."
    )
    expect(delete).to_be_disabled()

    alice.get_by_role("button", name="Flag abusive").click()
    alice.locator("#confirm-dialog").get_by_role("button", name="Flag abusive").click()
    expect(badge).to_have_text("Recording")  # abusive chats keep their recordings (R13)
    expect(pause).to_be_enabled()
    expect(delete).to_be_disabled()
    expect(note).to_contain_text("Flagged abusive: its recordings are kept")
    pause.click()
    expect(badge).to_have_text("Paused")
    expect(alice.get_by_role("button", name="Resume recording")).to_be_enabled()


def box(locator: Locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, locator
    return dict(found)


def inside(page: Page, locator: Locator) -> None:
    size = page.viewport_size
    assert size is not None
    found = box(locator)
    assert found["x"] >= 0, locator
    assert found["y"] >= 0, locator
    assert found["x"] + found["width"] <= size["width"] + 0.5, (locator, found)
    assert found["y"] + found["height"] <= size["height"] + 0.5, (locator, found)


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_R11a_the_portal_works_on_a_400px_screen_and_actions_fit_two_rows_at_820px(
    server: ServerProcess, new_page: NewPage, customers: list[Customer]
) -> None:
    alice = new_page()
    alice.set_viewport_size({"width": 400, "height": 800})
    log_in(alice, server, "alice")
    go_available(alice)
    waiting = customer(server, customers, lines=5)
    item, _ = assigned_chat(alice)
    assert alice.evaluate("document.documentElement.scrollWidth") <= 400
    header = [alice.locator(f".topbar {part}") for part in HEADER]
    for part in header:
        inside(alice, part)
    for n, part in enumerate(header):
        for other in header[n + 1 :]:
            assert not overlap(box(part), box(other)), (part, other)
    actions = alice.locator(".actions button:visible")
    expect(actions).to_have_count(6)
    for part in [item, alice.locator("#messages"), alice.locator("#message")]:
        inside(alice, part)
    for n in range(6):
        inside(alice, actions.nth(n))
    inside(alice, alice.get_by_role("button", name="Send"))
    say(alice.locator("#message"), "Hello from a small screen.")
    expect(alice.locator("#messages").get_by_text("Hello from a small screen.")).to_be_visible()
    waiting.says("Thanks!")
    expect(alice.locator("#messages").get_by_text("Thanks!")).to_be_in_viewport()

    alice.set_viewport_size({"width": 820, "height": 800})
    rows = {round(box(actions.nth(n))["y"]) for n in range(6)}
    assert len(rows) <= 2, rows

    alice.set_viewport_size({"width": 400, "height": 800})
    alice.get_by_role("button", name="Log out").click(trial=True)  # reachable, on top
    alice.get_by_role("button", name="Log out").click()
    expect(alice).to_have_url(f"{server.url}/login")


def heard(customer: Customer, text: str) -> dict[str, Any]:
    """The next frame the customer receives that holds ``text``."""
    while True:
        frame: dict[str, Any] = json.loads(customer.ws.recv(timeout=10))
        if text in json.dumps(frame):
            return frame


def test_R23_R22_a_canned_response_made_in_the_console_is_inserted_with_slash_and_masked_when_sent(
    server: Tenant, new_page: NewPage, customers: list[Customer]
) -> None:
    ada = new_page()
    ada.goto(f"{server.url}/login")
    fill_sign_in(ada, server, "ada")
    ada.get_by_role("button", name="Log in").click()
    expect(ada).to_have_url(f"{server.url}/console")
    ada.get_by_role("navigation", name="Console sections").get_by_role(
        "link", name="Canned responses"
    ).click()
    form = ada.locator("#canned-form")
    form.get_by_label("Name").fill("card")
    form.get_by_label("Text").fill("Dear {customer}")
    form.get_by_role("button", name="Add response").click()
    expect(ada.locator("#canned-result")).to_contain_text("Unknown placeholder {customer};")
    form.get_by_label("Text").fill("Hello {customer_name}, I'm {agent_name}.")
    form.get_by_role("button", name="Add response").click()
    row = ada.locator("#canned-body tr", has_text="/card")
    expect(row).to_contain_text("Hello {customer_name}, I'm {agent_name}.")
    row.get_by_role("button", name="Edit card").click()
    dialog = ada.locator("#canned-dialog")
    dialog.get_by_label("Text").fill(
        "Hello {customer_name}, I'm {agent_name} of {company_name}. Card 4111 1111 1111 1111?"
    )
    dialog.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("{company_name}. Card 4111")

    alice = new_page()
    log_in(alice, server, "alice")
    go_available(alice)
    buyer = customer(server, customers)
    assigned_chat(alice)
    composer = alice.locator("#message")
    composer.press_sequentially("/car")
    offered = alice.get_by_role("listbox", name="Canned responses")
    expect(offered.get_by_role("option")).to_have_count(1)
    expect(offered.get_by_role("option")).to_contain_text("/card")
    expect(composer).to_have_attribute("aria-activedescendant", "canned-0")
    screenshot(alice, "portal-canned.png")
    composer.press("Enter")  # inserts; the agent may still edit it
    expect(offered).to_be_hidden()
    expect(composer).to_have_value(
        re.compile(r"^Hello there, I'm Alice .+ of .+\. Card 4111 1111 1111 1111\?$")
    )
    composer.press_sequentially("/zzz")
    expect(offered).to_be_hidden()  # a "/" not at the start offers nothing
    composer.fill("/nothing-like-it")
    expect(offered).to_contain_text("No canned response matches.")
    composer.press("Escape")
    expect(offered).to_be_hidden()
    composer.fill("/CA")
    expect(offered.get_by_role("option")).to_contain_text("/card")
    composer.press("Tab")
    composer.press("Enter")  # sends

    expect(alice.locator("#messages")).to_contain_text("Card **** **** **** 1111?")
    frame = heard(buyer, "**** **** **** 1111")
    assert "4111 1111 1111 1111" not in json.dumps(frame)

    # Her own responses, on her account page: offered to her alone.
    alice.goto(f"{server.url}/account")
    alice.get_by_label("Name").fill("mine")
    alice.get_by_label("Text").fill("Bye {customer_name}!")
    alice.get_by_role("button", name="Add response").click()
    expect(alice.locator("#canned-own")).to_contain_text("/mine Bye {customer_name}!")
    bob = httpx.get(
        f"{server.url}/api/canned-responses",
        headers={"Authorization": f"Bearer {server.token('bob')}"},
    ).json()
    assert [r["name"] for r in bob["responses"]] == ["card"]
    alice.get_by_role("button", name="Remove mine").click()
    expect(alice.locator("#canned-own-empty")).to_be_visible()
