"""The widget, the agent portal and the supervisor view, in Chromium, against a real server.

What a customer and the staff see (R11a, R9, R11) is checked on the pages; what is
recorded (R8, R12b) in the files the chat's end committed to the database.  The
screenshots in ``docs/screenshots/`` come from these runs (``make screenshots``).

One server serves the module, each test with a company of its own (a tenant, whose
customers meet its widget on its web site); the first test uses the demo company and its
widget page there (what the screenshots show), the restart test a server of its own.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, WebSocket, expect

from tests.e2e.chromium import screenshot
from tests.e2e.conftest import SharedDemo, fill_sign_in, widget_page
from tests.integration.live.test_live_recording import recorded
from tests.integration.server import ServerProcess
from tests.integration.tenant import Tenant

pytestmark = pytest.mark.long  # tens of seconds: handed out first (tests/conftest.py)

SECRET = "Zanzibar-7731"
"""Said while paused: not a card number, so that R8 alone keeps it out (R22 masks cards)."""
RECORDED = "This chat is recorded for quality and training."
DRAFT = "Draft-Quokka-512"
"""Typed in the widget and shown to the agent, never sent (R23)."""
NewPage = Callable[[], Page]


@pytest.fixture
def server(tenant: Tenant) -> Tenant:
    """A company of the test's own on the module's server."""
    return tenant


def log_in(page: Page, server: ServerProcess, login: str) -> None:
    page.goto(f"{server.url}/login")
    fill_sign_in(page, server, login)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{server.url}/portal")
    expect(page.locator("#connection")).to_have_text("Connected")


def go_available(agent: Page) -> None:
    agent.locator("#presence").get_by_text("Available", exact=True).click()
    expect(agent.get_by_label("Available", exact=True)).to_be_checked()


def widget_in(page: Page) -> Locator:
    """The widget, inside the frame its loader put on the host page."""
    return page.frame_locator("iframe[data-chatrec-widget]").locator("body")


def start_chat(customer: Page, server: ServerProcess, answer: str = "Billing") -> Locator:
    """Open the Support widget, start a chat and answer the flow; returns the widget."""
    customer.goto(widget_page(server, server.id("demo-support")))
    widget = widget_in(customer)
    widget.get_by_role("button", name="Chat with us").click()
    widget.get_by_role("button", name="Start chat").click()
    expect(widget.get_by_role("status")).to_have_text(RECORDED)  # R11a, from the start
    widget.get_by_role("button", name=answer).click()
    return widget


def say(box: Locator, text: str) -> None:
    """Type and press Enter: Enter sends, in the widget and in the portal."""
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


def transfer_to(page: Page, target: str, note: str | None = None) -> None:
    """Transfer the selected chat from the portal to ``target``, the option's label, with
    a note for whoever takes it when ``note``."""
    page.get_by_role("button", name="Transfer…").click()
    dialog = page.locator("#transfer-dialog")
    dialog.get_by_label("Transfer to").select_option(label=target)
    if note is not None:
        dialog.get_by_label("Note for whoever takes it").fill(note)
    dialog.get_by_role("button", name="Transfer").click()


def assigned_chat(agent: Page) -> tuple[Locator, str]:
    item = agent.locator(".chat-item")
    expect(item).to_have_count(1)
    chat_id = item.get_attribute("data-chat-id")
    assert chat_id
    return item, chat_id


def chat_with_alice(server: ServerProcess, new_page: NewPage) -> tuple[Page, Page, Locator, str]:
    """Alice signed in and Available, and a customer's chat from the widget assigned to
    her: her page, the customer's, the widget and the chat's id."""
    alice = new_page()
    log_in(alice, server, "alice")
    go_available(alice)
    customer = new_page()
    widget = start_chat(customer, server)
    _, chat_id = assigned_chat(alice)
    return alice, customer, widget, chat_id


def test_R2_R8_R9_R11a_paused_secret_never_reaches_a_recording_and_enter_sends(
    shared_demo: SharedDemo, new_page: NewPage
) -> None:
    server = shared_demo
    agent = new_page()
    agent.goto(server.url)
    for link in ("Customer widget demo", "Agent and supervisor portal", "API documentation"):
        expect(agent.get_by_role("link", name=link)).to_be_visible()
    agent.goto(f"{server.url}/portal")
    expect(agent).to_have_url(f"{server.url}/login")  # no session, no portal (R18)
    fill_sign_in(agent, server, "alice")
    agent.get_by_label("Password", exact=True).fill("not her password")
    agent.get_by_role("button", name="Log in").click()
    expect(agent.get_by_role("alert")).to_contain_text("Wrong login or password")
    log_in(agent, server, "alice")
    expect(agent.get_by_role("button", name=re.compile("start.*record", re.I))).to_have_count(0)
    go_available(agent)

    customer = new_page()
    widget = start_chat(customer, server)
    item, chat_id = assigned_chat(agent)
    recording = widget.get_by_role("status")
    agent_box = agent.locator("#message")
    customer_box = widget.get_by_label("Your message (Enter sends)")
    messages = agent.locator("#messages")
    badge = agent.locator("#conversation-recording")
    expect(badge).to_have_text("Recording")

    say(agent_box, "Hello, Alice here.")
    expect(widget.get_by_text("Hello, Alice here.")).to_be_visible()
    say(customer_box, "I want to pay my bill.")
    expect(messages).to_contain_text("I want to pay my bill.")

    agent.get_by_role("button", name="Pause recording").click()
    expect(recording).to_contain_text("Recording paused")
    expect(badge).to_have_text("Paused")
    expect(item.locator(".badge")).to_have_text("Paused")
    say(customer_box, f"My password is {SECRET}")
    expect(messages).to_contain_text(SECRET)
    screenshot(customer, "widget.png")
    agent.get_by_role("button", name="Resume recording").click()
    expect(recording).to_have_text(RECORDED)
    expect(badge).to_have_text("Recording")
    expect(messages).to_contain_text("Recording resumed by You")

    widget.get_by_role("button", name="Ask to delete the recording").click()
    widget.get_by_role("button", name="Yes, ask to delete").click()
    expect(widget.get_by_text("The agent has been asked to delete")).to_be_visible()
    expect(agent.locator("#conversation-deletion")).to_be_visible()
    expect(item.get_by_text("Deletion requested")).to_be_visible()
    say(customer_box, "Thanks!")
    expect(messages).to_contain_text("Thanks!")
    screenshot(agent, "portal.png")

    agent.get_by_role("button", name="End chat").click()
    agent.locator("#confirm-dialog").get_by_role("button", name="End chat").click()
    expect(recording).to_have_text("This chat has ended.")
    expect(agent.locator("#conversation-status")).to_have_text("Ended")

    files = recorded(server, chat_id)
    assert files, "a chat whose deletion was only requested is still recorded (R9)"
    assert any(b"I want to pay my bill." in file.content for file in files)
    for file in files:
        assert SECRET.encode() not in file.content, file.path
        assert b"My card is" not in file.content, file.path


def test_R9_R12b_R11a_deleted_recording_shows_not_recorded_and_a_reload_rejoins(
    server: ServerProcess, new_page: NewPage
) -> None:
    agent, customer, widget, chat_id = chat_with_alice(server, new_page)
    messages = agent.locator("#messages")
    say(widget.get_by_label("Your message (Enter sends)"), "Before the reload")
    expect(messages).to_contain_text("Before the reload")

    customer.reload()  # the token in sessionStorage rejoins the same chat
    expect(widget.get_by_text("Before the reload")).to_be_visible()
    say(widget.get_by_label("Your message (Enter sends)"), "After the reload")
    expect(messages).to_contain_text("After the reload")
    expect(agent.locator(".chat-item")).to_have_count(1)

    agent.get_by_role("button", name="Delete recording").click()
    agent.locator("#confirm-dialog").get_by_role("button", name="Delete recording").click()
    expect(widget.get_by_role("status")).to_have_text("This chat is not recorded.")
    expect(agent.locator("#conversation-recording")).to_have_text("Not recorded")
    expect(agent.get_by_role("button", name="Delete recording")).to_be_disabled()
    expect(widget.get_by_role("button", name="Ask to delete the recording")).to_be_hidden()

    widget.get_by_role("button", name="End chat").click()
    widget.get_by_role("button", name="Yes, end the chat").click()
    expect(agent.locator("#conversation-status")).to_have_text("Ended")
    assert recorded(server, chat_id) == []


def test_R11_R11a_supervisor_sees_live_chats_joins_and_flags_abusive(
    server: ServerProcess, new_page: NewPage
) -> None:
    customer = new_page()
    widget = start_chat(customer, server)
    waiting = widget.get_by_text("Waiting for the next available agent")
    expect(waiting).to_be_visible()  # no agent yet: the customer is told, not left guessing
    supervisor = new_page()
    log_in(supervisor, server, "sam")
    item = supervisor.locator(".chat-item")
    expect(item).to_have_count(1)
    expect(item.locator(".pill")).to_have_text("Queued")

    agent = new_page()
    log_in(agent, server, "alice")
    go_available(agent)
    expect(item.locator(".pill")).to_have_text("Active")
    expect(waiting).to_be_hidden()
    item.click()
    participants = supervisor.locator("#conversation-participants")
    expect(participants).to_contain_text("Alice Martin (agent)")
    expect(supervisor.get_by_role("button", name="Pause recording")).to_be_hidden()
    expect(supervisor.locator("#message")).to_be_disabled()

    supervisor.get_by_role("button", name="Join chat", exact=True).click()
    expect(participants).to_contain_text("You (supervisor)")
    expect(widget.get_by_text("Sam Okafor (supervisor) joined the chat")).to_be_visible()
    say(supervisor.locator("#message"), "Supervisor here.")
    expect(widget.get_by_text("Supervisor here.")).to_be_visible()
    expect(agent.locator("#messages")).to_contain_text("Supervisor here.")

    supervisor.get_by_role("button", name="Flag abusive").click()
    supervisor.locator("#confirm-dialog").get_by_role("button", name="Flag abusive").click()
    expect(supervisor.locator("#conversation-abusive")).to_be_visible()
    expect(agent.locator("#conversation-abusive")).to_be_visible()
    expect(supervisor.get_by_role("button", name="Flag abusive")).to_be_disabled()
    expect(widget).not_to_contain_text("abusive")  # staff matters stay with staff (R15a)

    start_chat(new_page(), server, answer="Technical problem")
    expect(item).to_have_count(2)
    expect(supervisor.get_by_role("button", name=re.compile(r"^Join chat Support "))).to_have_count(
        1
    )
    screenshot(supervisor, "supervisor.png")


def test_R8_pause_survives_a_server_restart_and_both_pages_reconnect(
    fresh_server: ServerProcess, new_page: NewPage
) -> None:
    server = fresh_server
    agent = new_page()
    log_in(agent, server, "alice")
    go_available(agent)
    customer = new_page()
    widget = start_chat(customer, server)
    _, chat_id = assigned_chat(agent)
    say(agent.locator("#message"), "Hello, Alice here.")
    expect(widget.get_by_text("Hello, Alice here.")).to_be_visible()
    agent.get_by_role("button", name="Pause recording").click()
    expect(widget.get_by_role("status")).to_contain_text("Recording paused")

    sockets: list[list[tuple[str, Any]]] = []  # the portal's sockets from here on, both ways
    agent.on("websocket", lambda ws: watch(ws, sockets))
    server.kill()
    expect(agent.locator("#connection")).to_contain_text("reconnecting")
    server.start()
    expect(agent.locator("#connection")).to_have_text("Connected", timeout=20_000)
    expect(agent.locator("#conversation-recording")).to_have_text("Paused")
    expect(agent.get_by_label("Available", exact=True)).to_be_checked()
    expect(widget.get_by_role("button", name="Send")).to_be_enabled(timeout=20_000)
    say(widget.get_by_label("Your message (Enter sends)"), "Back again")
    expect(agent.locator("#messages")).to_contain_text("Back again")
    expect(widget.get_by_role("status")).to_contain_text("Recording paused")
    for seen in (
        agent.locator("body"),
        widget,
    ):  # the replay after the reconnect shows nothing twice
        expect(seen.get_by_text("Hello, Alice here.", exact=True)).to_have_count(1)
    # The portal's hello named what it held, and the server sent nothing of it again.
    frames = next(frames for frames in sockets if frames)
    hello = next(frame for way, frame in frames if way == "sent" and frame["type"] == "hello")
    held = hello["seen"][chat_id]
    assert held >= 3, hello  # at least the chat's start, Alice's joining and her message
    again = [f["seq"] for way, f in frames if way == "received" and f["type"] == "event"]
    assert again, frames  # "Back again" at least
    assert min(again) > held, (held, again)


def test_a_supervisor_with_more_open_chats_than_the_frame_burst_reconnects_without_an_error(
    fresh_server: ServerProcess, new_page: NewPage
) -> None:
    """The portal asked for each chat it held again with a `sync` after a reconnect: with
    more open chats than a socket's burst of frames (40), the rest were refused and the
    supervisor saw "too many frames". The `following` frame makes them unneeded."""
    server = fresh_server
    for _ in range(45):
        started = httpx.post(
            f"{server.url}/api/chats", json={"service_id": server.id("demo-support")}
        )
        started.raise_for_status()
    sam = new_page()
    log_in(sam, server, "sam")
    expect(sam.locator(".chat-item")).to_have_count(45)
    sent: list[list[tuple[str, Any]]] = []
    sam.on("websocket", lambda ws: watch(ws, sent))

    server.kill()
    expect(sam.locator("#connection")).to_contain_text("reconnecting")
    server.start()
    expect(sam.locator("#connection")).to_have_text("Connected", timeout=20_000)
    frames = next(frames for frames in sent if frames)
    expect(sam.locator(".chat-item")).to_have_count(45)
    for _ in range(200):  # the frames are the page's, heard as Playwright reports them
        following = [f for way, f in frames if way == "received" and f["type"] == "following"]
        if following:
            break
        sam.wait_for_timeout(50)
    assert len(following) == 1, frames  # once, after the replays
    sam.wait_for_timeout(500)  # a sync, had the page sent any, was sent by now
    assert len(following[0]["chat_ids"]) == 45
    assert not [f for way, f in frames if way == "sent" and f["type"] == "sync"]
    assert not [f for way, f in frames if way == "received" and f["type"] == "error"]
    expect(sam.locator("#error")).to_be_hidden()


def watch(ws: WebSocket, into: list[list[tuple[str, Any]]]) -> None:
    """Keep what the page's socket sends and receives, parsed, in a list of its own."""
    if not ws.url.endswith("/ws/staff"):
        return
    frames: list[tuple[str, Any]] = []
    into.append(frames)
    ws.on("framesent", lambda payload: frames.append(("sent", json.loads(payload))))
    ws.on("framereceived", lambda payload: frames.append(("received", json.loads(payload))))


def test_R12a_R11a_transfer_to_an_agent_without_permit_shows_not_recorded(
    server: ServerProcess, new_page: NewPage
) -> None:
    alice, _, widget, chat_id = chat_with_alice(server, new_page)
    bob = new_page()
    log_in(bob, server, "bob")
    go_available(bob)

    transfer_to(alice, "Bob Chen (3 of 3 slots free)")
    expect(alice.locator("#conversation-participants")).to_have_text("You transferred this chat.")
    expect(alice.locator("#message")).to_be_disabled()
    expect(widget.get_by_text("You are being transferred to Bob Chen")).to_be_visible()
    expect(bob.locator(f'.chat-item[data-chat-id="{chat_id}"]')).to_be_visible()
    # Bob's login does not permit recordings: from now on nothing is recorded (R12a).
    expect(widget.get_by_role("status")).to_have_text("This chat is not recorded.")
    expect(bob.locator("#conversation-recording")).to_have_text("Not recorded")

    say(bob.locator("#message"), "Bob here, I'll take it from here.")
    expect(widget.get_by_text("Bob here, I'll take it from here.")).to_be_visible()
    bob.get_by_role("button", name="End chat").click()
    bob.locator("#confirm-dialog").get_by_role("button", name="End chat").click()
    expect(widget.get_by_role("status")).to_have_text("This chat has ended.")
    assert recorded(server, chat_id) == []


def test_R23_R22_typing_shows_both_ways_and_a_draft_never_sent_is_in_no_recording(
    server: Tenant, new_page: NewPage
) -> None:
    """With the company's typing preview on, the widget tells the customer, and the agent
    sees the draft, masked (R22), as it is typed; neither draft nor indicator is recorded."""
    server.set_company(typing_preview=True)
    alice, _, widget, chat_id = chat_with_alice(server, new_page)
    told = "The agent can see what you type before you send it."
    expect(widget.get_by_text(told)).to_be_visible()

    box = widget.get_by_label("Your message (Enter sends)")
    box.press_sequentially(f"{DRAFT} 4111 1111 1111 1111")
    typing = alice.locator("#typing")
    expect(typing).to_have_text(f"The customer is typing: {DRAFT} **** **** **** 1111")
    expect(alice.locator(".chat-item .preview.typing")).to_be_visible()
    screenshot(alice, "portal-typing.png")
    box.fill("")  # thought better of it: the draft was never sent
    expect(typing).to_be_hidden()

    alice.locator("#message").press_sequentially("Let me check that")
    expect(widget.get_by_text("Alice Martin is typing…")).to_be_visible()
    say(alice.locator("#message"), "Let me check that for you.")
    expect(widget.get_by_text("Let me check that for you.")).to_be_visible()
    expect(widget.get_by_text("Alice Martin is typing…")).to_be_hidden()
    widget.get_by_role("button", name="End chat").click()
    widget.get_by_role("button", name="Yes, end the chat").click()
    expect(widget.get_by_role("status")).to_have_text("This chat has ended.")
    expect(alice.locator("#conversation-status")).to_have_text("Ended")
    files = recorded(server, chat_id)
    assert files
    for file in files:
        assert DRAFT.encode() not in file.content, file.path


def png(width: int, height: int) -> bytes:
    """A real image, blue fading to green, for the browsers to draw."""
    rows = b"".join(
        b"\x00"
        + b"".join(
            bytes((40, 80 + 150 * y // height, 200 - 150 * x // width)) for x in range(width)
        )
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_R23_R8_the_customer_attaches_an_image_and_the_agent_sees_its_preview(
    server: Tenant, new_page: NewPage, tmp_path: Path
) -> None:
    """Sent from the widget, the image is previewed on both sides; one sent while paused
    is marked as in no recording (R8), and a file the company does not take is refused
    with its reason in the widget."""
    alice, customer, widget, chat_id = chat_with_alice(server, new_page)
    photo = tmp_path / "damaged-parcel.png"
    photo.write_bytes(png(96, 64))
    widget.locator("input[type=file]").set_input_files(photo)
    preview = alice.locator(".attachment-line img.preview")
    expect(preview).to_be_visible()
    assert preview.evaluate("img => img.naturalWidth") == 96  # the image itself, drawn
    expect(alice.locator(".attachment-line .file")).to_contain_text("damaged-parcel.png")
    mine = widget.locator(".attachment-line img.preview")
    expect(mine).to_be_visible()
    assert mine.evaluate("img => img.naturalWidth") == 96
    say(alice.locator("#message"), "Thank you, I can see the damage in your photo.")
    screenshot(alice, "portal-attachment.png")

    # From the agent: a PDF, offered to the customer as a download, never previewed.
    policy = tmp_path / "policy.pdf"
    policy.write_bytes(b"%PDF-1.4\n% the customer's policy\n")
    alice.locator("#attach-file").set_input_files(policy)
    offered = widget.locator(".attachment-line").last
    expect(offered.locator(".file")).to_contain_text("policy.pdf")
    expect(offered.locator(".file")).to_have_attribute("href", re.compile("^data:application/pdf"))
    expect(offered.locator("img")).to_have_count(0)
    with customer.expect_download() as download:
        offered.locator(".file").click()
    assert Path(download.value.path()).read_bytes() == policy.read_bytes()

    program = tmp_path / "invoice.png"
    program.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00 not an image")
    widget.locator("input[type=file]").set_input_files(program)
    expect(widget.get_by_role("alert")).to_contain_text("invoice.png was not sent")

    alice.get_by_role("button", name="Pause recording").click()
    expect(widget.get_by_role("status")).to_contain_text("Recording paused")
    card = tmp_path / "card.png"
    card.write_bytes(png(8, 8))
    widget.locator("input[type=file]").set_input_files(card)
    expect(alice.locator(".attachment-line").last).to_contain_text("not recorded")
    alice.get_by_role("button", name="Resume recording").click()
    widget.get_by_role("button", name="End chat").click()
    widget.get_by_role("button", name="Yes, end the chat").click()
    expect(alice.locator("#conversation-status")).to_have_text("Ended")
    names = [file.name for file in recorded(server, chat_id)]
    assert any(name.endswith(".att1-damaged-parcel.png") for name in names), names
    assert any(name.endswith(".att2-policy.pdf") for name in names), names
    assert not any("card" in name for name in names), names
