"""The administration console in Chromium, against a real server (and a real sshd).

What an administrator sets on the pages is checked through the API afterwards, so a
page that only looks right fails.  The console's screenshots in ``docs/screenshots/``
come from these runs (``make screenshots``).

One server serves the module, each test with a company of its own (a tenant); the first
test sets up the demo company there, as the screenshots show it.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.chromium import screenshot
from tests.e2e.conftest import SharedDemo, fill_sign_in
from tests.integration.server import ServerProcess
from tests.integration.tenant import Tenant
from tests.sshd import OpenSshServer

pytestmark = pytest.mark.long  # tens of seconds: handed out first (tests/conftest.py)

NewPage = Callable[[], Page]


@pytest.fixture
def server(tenant: Tenant) -> Tenant:
    """A company of the test's own on the module's server."""
    return tenant


def log_in(page: Page, server: ServerProcess, login: str, lands_on: str) -> None:
    page.goto(f"{server.url}/login")
    fill_sign_in(page, server, login)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{server.url}{lands_on}")


def api(server: ServerProcess, login: str, path: str) -> Any:
    response = httpx.get(
        f"{server.url}{path}", headers={"Authorization": f"Bearer {server.token(login)}"}
    )
    response.raise_for_status()
    return response.json()


def open_section(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Console sections").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def test_R3_R4_R6_R7_administrator_sets_logins_template_flow_and_queues_without_recording(
    shared_demo: SharedDemo, new_page: NewPage
) -> None:
    server = shared_demo
    admin = new_page()
    log_in(admin, server, "ada", "/console")  # the portal sends administrators here
    expect(admin.get_by_role("heading", level=1)).to_have_text("Demo Insurance")
    expect(admin.locator("#records-ok")).to_contain_text("Chats are recorded")
    expect(admin.locator("#platform")).to_contain_text("Not set up")
    expect(admin.locator("#count-blocked")).to_have_text("0")
    screenshot(admin, "console-home.png")

    # One login edited (R7, R12a), then two at once (R4).
    open_section(admin, "Users")
    alice = admin.get_by_role("row", name=re.compile(r"\balice\b"))
    alice.get_by_role("button", name="Edit alice").click()
    dialog = admin.get_by_role("dialog", name="Edit alice")
    dialog.get_by_label("Permit Recordings").uncheck()
    dialog.get_by_label("Record percentage").fill("50")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(alice.locator("[data-column=permit]")).to_have_text("Not permitted")
    expect(alice.locator("[data-column=percentage]")).to_have_text("50 %")
    for login in ("bob", "carol"):
        admin.get_by_label(f"Select {login}").check()
    expect(admin.locator("#bulk-count")).to_have_text("(2 selected)")
    admin.get_by_label("Record chats", exact=True).select_option("false")
    admin.get_by_role("button", name="Apply to selected").click()
    for login in ("bob", "carol"):
        row = admin.get_by_role("row", name=re.compile(rf"\b{login}\b"))
        expect(row.locator("[data-column=record]")).to_have_text("Off")
    screenshot(admin, "console-users.png")
    users = {u["login"]: u for u in api(server, "ada", "/api/admin/users")}
    assert (users["alice"]["permit_recordings"], users["alice"]["record_percentage"]) == (False, 50)
    assert [users[login]["record_chats"] for login in ("alice", "bob", "carol")] == [
        True,
        False,
        False,
    ]

    # The default filename template, previewed live as it is typed (R6), on a sample chat
    # with the company's own names: its name, first service, queue and agent.
    open_section(admin, "Recording settings")
    template = admin.get_by_label("Default filename template")
    expect(template).to_have_value("{date}/{company}_{chat_id}_{origin}_{recording_id}")
    template.fill("{date}/{agnt}")
    expect(admin.locator("#preview-problem")).to_contain_text("Unknown token {agnt}")
    assert admin.locator("#preview-caret").text_content() == "{date}/{agnt}\n       ^"
    template.fill("{date}/{company}/{agent}/{chat_id}_{reason}")
    expect(admin.locator("#preview-name")).to_have_text(
        "2024-03-14/Demo_Insurance/Alice_Martin/c_01HRZ8K5J2W4_agent"
    )
    expect(admin.locator("#sample")).to_contain_text(
        "A sample chat of Demo Insurance: service Sales, queue General, agent Alice Martin,"
    )
    expect(admin.locator("#preview-problem")).to_be_hidden()
    admin.get_by_role("checkbox", name=re.compile(r"^vCon")).uncheck()
    expect(admin.get_by_label("vCon files follow")).to_have_value("core")
    admin.get_by_label("vCon files follow").select_option("container")  # R15
    admin.get_by_label("Keep message text after delivery for").fill("2")
    admin.get_by_label("Unit").select_option(label="days")
    expect(admin.locator("#retention-text")).to_contain_text("kept 2 days")
    screenshot(admin, "console-recording.png")
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator("#recording-result")).to_have_text("Saved.")
    company = api(server, "ada", "/api/admin/companies/demo")
    assert company["default_template"] == "{date}/{company}/{agent}/{chat_id}_{reason}"
    assert (company["formats"], company["retention_seconds"], company["vcon_draft"]) == (
        ["html", "json", "text"],
        2 * 86400,
        "container",
    )
    admin.reload()
    expect(admin.get_by_label("vCon files follow")).to_have_value("container")

    # A queue offers no recording control at all, and the page says why (R3); the API's
    # refusal of one is test_admin_effects.py::test_R3_*.
    open_section(admin, "Queues and services")
    expect(admin.locator("#queues-no-recording")).to_have_text(
        re.compile(r"^Queues have no recording settings \(R3\): ")
    )
    queues = admin.get_by_role("region", name="Queues")
    expect(queues.get_by_role("checkbox")).to_have_count(0)
    expect(admin.get_by_label(re.compile("record", re.I))).to_have_count(0)
    admin.locator("#queue-form").get_by_label("Name").fill("Claims")
    admin.get_by_role("button", name="Create queue").click()
    expect(admin.locator("#queue-result")).to_have_text("Created queue Claims.")
    expect(admin.locator("#queues-body")).to_contain_text("Claims")
    screenshot(admin, "console-queues.png")
    assert [q["name"] for q in api(server, "ada", "/api/admin/queues")] == ["Claims", "General"]

    # A flow with a typo: the problem names its line, and a click selects that line.
    open_section(admin, "Chat flows")
    admin.get_by_role("link", name="support", exact=True).click()
    source = admin.get_by_label("Flow (YAML or JSON)")
    expect(source).to_have_value(re.compile("type: say"))
    text = source.input_value()
    source.fill(text.replace("type: say", "type: sya", 1))
    typo_line = text.splitlines().index("    type: say") + 1
    admin.get_by_role("button", name="Check").click()
    problem = admin.locator("#flow-problems button").first
    expect(problem).to_contain_text(f"Line {typo_line}")
    expect(problem).to_contain_text("Unknown step type 'sya'")
    problem.click()
    expect(source).to_be_focused()
    selected = source.evaluate("t => t.value.slice(t.selectionStart, t.selectionEnd)")
    assert selected == "    type: sya"
    expect(admin.locator(f"#gutter .bad:text-is('{typo_line}')")).to_be_visible()
    screenshot(admin, "console-flow-editor.png", full_page=True)
    admin.get_by_role("button", name="Save as a new version").click()
    expect(admin.locator("#flow-result")).to_contain_text("nothing was saved")
    source.fill(text.replace("Hello and welcome", "Welcome", 1))
    admin.get_by_label("Customer's answers").fill("Billing")
    admin.get_by_role("button", name="Preview").click()
    expect(admin.locator("#preview-out")).to_contain_text(
        "flow: Welcome to Demo Insurance support!"
    )
    expect(admin.locator("#preview-out")).to_contain_text("Routes the chat to the queue General")
    admin.get_by_role("button", name="Save as a new version").click()
    expect(admin.locator("#flow-result")).to_have_text("Saved version 2.")
    expect(admin.locator("#versions li")).to_have_count(2)
    flow = api(server, "ada", "/api/admin/flows/demo-support")
    assert flow["version"] == 2
    assert "Welcome to Demo Insurance support!" in flow["source"]


def test_administrator_creates_a_login_and_resets_its_password_each_shown_once(
    server: ServerProcess, new_page: NewPage
) -> None:
    admin = new_page()
    log_in(admin, server, "ada", "/console")
    open_section(admin, "Users")
    admin.get_by_role("button", name="Create login").click()
    dialog = admin.get_by_role("dialog", name="Create a login")
    dialog.get_by_label("Login").fill("dave")
    dialog.get_by_label("Name").fill("Dave Doe")
    dialog.get_by_label("Record percentage").fill("25")
    dialog.get_by_role("button", name="Save").click()
    shown = admin.get_by_role("dialog", name="dave can log in")
    first = shown.get_by_label("Password").input_value()
    shown.get_by_role("button", name="Done").click()
    dave = admin.get_by_role("row", name=re.compile(r"\bdave\b"))
    expect(dave.locator("[data-column=percentage]")).to_have_text("25 %")
    assert httpx.post(
        f"{server.url}/api/login", json={"login": "dave", "password": first}
    ).is_success

    dave.get_by_role("button", name="Reset password of dave").click()
    admin.get_by_role("dialog", name="Reset the password of dave?").get_by_role(
        "button", name="Reset password"
    ).click()
    second = admin.get_by_role("dialog", name="New password for dave").get_by_label("Password")
    expect(second).not_to_have_value("")
    new = second.input_value()
    assert new != first
    old_login = httpx.post(f"{server.url}/api/login", json={"login": "dave", "password": first})
    assert old_login.status_code == 401
    assert httpx.post(f"{server.url}/api/login", json={"login": "dave", "password": new}).is_success


def test_R22_R21_administrator_sets_masking_and_rotates_the_signing_key(
    server: Tenant, new_page: NewPage
) -> None:
    admin = new_page()
    log_in(admin, server, "ada", "/console")
    open_section(admin, "Recording settings")
    cards = admin.get_by_label("Mask payment card numbers")
    expect(cards).to_be_checked()
    kept = admin.locator("#mask-kept")
    expect(kept).to_have_text("Card **** **** **** 1111, please")  # tried as it is
    admin.get_by_label("Try it on a sample message").fill("ID AB123456C, card 4111-1111-1111-1111")
    admin.get_by_role("button", name="Add a pattern").click()
    admin.get_by_label("Name of pattern 1").fill("National ID")
    admin.get_by_label("Pattern 1", exact=True).fill(r"\b[A-Z]{2}\d{6}([A-D])\1")
    expect(admin.locator("#mask-problem")).to_contain_text(
        "Masking pattern 'National ID': invalid escape sequence: \\1"
    )
    admin.get_by_label("Pattern 1", exact=True).fill(r"\b[A-Z]{2}\d{6}[A-D]\b")
    expect(kept).to_have_text("ID *********, card ****-****-****-1111")
    expect(admin.locator("#mask-problem")).to_be_hidden()
    expect(admin.get_by_role("alert")).to_be_hidden()
    cards.uncheck()
    expect(admin.locator("#cards-kept")).to_contain_text("Card numbers will be kept")
    expect(kept).to_have_text("ID *********, card 4111-1111-1111-1111")
    admin.locator("#masking").scroll_into_view_if_needed()
    screenshot(admin, "console-masking.png")
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator("#recording-result")).to_have_text("Saved.")
    company = api(server, "ada", f"/api/admin/companies/{server.company_id}")
    assert (company["mask_card_numbers"], company["masking_patterns"]) == (
        False,
        [{"name": "National ID", "pattern": r"\b[A-Z]{2}\d{6}[A-D]\b"}],
    )
    trail = api(server, "ada", "/api/admin/audit-entries")["items"]
    assert trail[0]["action"] == "company.card_masking_off"
    admin.reload()
    expect(admin.get_by_label("Mask payment card numbers")).not_to_be_checked()
    expect(admin.locator("#cards-kept")).to_be_visible()
    expect(admin.get_by_label("Pattern 1", exact=True)).to_have_value(r"\b[A-Z]{2}\d{6}[A-D]\b")
    admin.get_by_role("button", name="Remove pattern 1").click()
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator("#recording-result")).to_have_text("Saved.")
    assert api(server, "ada", f"/api/admin/companies/{server.company_id}")["masking_patterns"] == []

    # R21: the signing keys, rotated from the same page; the old one stays published.
    keys = admin.locator("#keys-body tr")
    expect(keys).to_have_count(1)
    expect(keys.first).to_contain_text("now (current)")
    admin.get_by_role("button", name="Rotate key").click()
    admin.get_by_role("dialog").get_by_role("button", name="Rotate key").click()
    expect(admin.locator("#key-result")).to_contain_text("New key ed25519-")
    expect(keys).to_have_count(2)
    published = api(server, "ada", f"/api/companies/{server.company_id}/signing-keys")
    expect(keys.nth(0)).to_contain_text(published[0]["key_id"])
    expect(keys.nth(1)).to_contain_text(published[1]["key_id"])
    expect(keys.nth(1)).to_contain_text("now (current)")
    assert published[0]["valid_until"] is not None
    assert api(server, "ada", "/api/admin/audit-entries")["items"][0]["action"] == (
        "company.signing_key_rotated"
    )


def test_R16_test_connection_shows_the_offered_key_to_pin_then_every_step_passes(
    server: ServerProcess, new_page: NewPage, tmp_path: Path
) -> None:
    with OpenSshServer(tmp_path / "sshd") as sshd:
        admin = new_page()
        log_in(admin, server, "ada", "/console")
        open_section(admin, "Recording platform")
        expect(admin.locator("#key-state")).to_have_text("not set")
        admin.get_by_label("Host", exact=True).fill(sshd.host)
        admin.get_by_label("Port").fill(str(sshd.port))
        admin.get_by_label("User").fill(sshd.user)
        admin.get_by_label("Folder").fill(str(sshd.folder))
        admin.get_by_label("Private key").fill(sshd.client_key)

        # No pinned key yet: the test stops at the host key and shows the offered one.
        admin.get_by_role("button", name="Test connection").click()
        steps = admin.locator("#test-out .step")
        expect(steps).to_have_count(2)
        expect(steps.nth(0)).to_contain_text("Connect ok")
        expect(steps.nth(1)).to_contain_text("Host key failed")
        offered = admin.locator("#test-out .offered-key pre")
        expect(offered).to_have_text(sshd.host_key_line)
        admin.get_by_role("button", name="Use this key").click()
        expect(admin.get_by_label("Pinned host key")).to_have_value(sshd.host_key_line)

        admin.get_by_role("button", name="Save").click()
        expect(admin.locator("#dest-result")).to_contain_text("Saved.")
        expect(admin.locator("#key-state")).to_have_text("set")
        expect(admin.locator("#password-state")).to_have_text("not set")
        expect(admin.get_by_label("Private key")).to_have_value("")  # never shown again

        admin.get_by_role("button", name="Test connection").click()
        expect(admin.locator("#test-out")).to_contain_text("Every step passed.")
        expect(steps).to_have_count(7)
        expect(admin.locator("#test-out .step-failed")).to_have_count(0)
        screenshot(admin, "console-destination.png", full_page=True)

        saved = api(server, "ada", "/api/admin/destination")
        assert (saved["host_key"], saved["has_private_key"]) == (sshd.host_key_line, True)
        assert list(sshd.folder.iterdir()) == []  # the probe file was deleted
        admin.get_by_role("navigation", name="Console sections").get_by_role(
            "link", name="Overview"
        ).click()
        expect(admin.locator("#platform")).to_contain_text("host key pinned")


def test_R1_operator_sees_that_a_company_without_both_products_records_nothing(
    server: ServerProcess, new_page: NewPage
) -> None:
    operator = new_page()
    log_in(operator, server, "olga", "/console/companies")
    operator.get_by_label(re.compile(r"^Id\b")).fill("newco")
    operator.get_by_label("Name", exact=True).fill("New Co")
    operator.get_by_label("Call recording", exact=True).uncheck()
    operator.get_by_role("button", name="Create company").click()
    row = operator.get_by_role("row", name=re.compile("New Co"))
    expect(row).to_contain_text("Records nothing")

    row.get_by_role("link", name="Open console of New Co").click()
    expect(operator).to_have_url(f"{server.url}/console?company_id=newco")
    banner = operator.locator("#r1-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Nothing will be recorded (R1)")
    expect(banner).to_contain_text("not provisioned with call_recording")
    screenshot(operator, "console-r1-banner.png")

    operator.get_by_role("link", name="Provision products").click()
    row = operator.get_by_role("row", name=re.compile("New Co"))
    row.get_by_label("Call recording for New Co").check()
    row.get_by_role("button", name="Save products of New Co").click()
    expect(row.locator(".flag")).to_have_text("Records")
    operator.goto(f"{server.url}/console?company_id=newco")
    expect(operator.locator("#records-ok")).to_contain_text("Chats are recorded")
    expect(operator.locator("#r1-banner")).to_be_hidden()
    # Operators also see the servers serving the database (R20), this one alone.
    servers = operator.locator("#servers li")
    expect(servers).to_have_count(1)
    expect(servers).to_contain_text(f"{socket.gethostname()} (process ")
    expect(servers).to_contain_text("up since")


def test_R18_the_console_sends_visitors_to_login_and_agents_to_the_portal(
    server: ServerProcess, new_page: NewPage
) -> None:
    visitor = new_page()
    visitor.goto(f"{server.url}/console/users")
    expect(visitor).to_have_url(f"{server.url}/login")

    agent = new_page()
    log_in(agent, server, "alice", "/portal")
    response = agent.goto(f"{server.url}/console")
    assert response is not None
    assert response.status == 403
    expect(agent.get_by_role("heading", level=1)).to_have_text("The console is for administrators")
    agent.get_by_role("link", name="Go to the agent and supervisor portal").click()
    expect(agent).to_have_url(f"{server.url}/portal")


def test_R23_administrator_sets_a_services_pre_chat_form_and_the_server_names_what_to_fix(
    server: Tenant, new_page: NewPage
) -> None:
    admin = new_page()
    log_in(admin, server, "ada", "/console")
    open_section(admin, "Queues and services")
    admin.get_by_role("button", name="Pre-chat form… of Support").click()
    dialog = admin.locator("#form-dialog")
    expect(dialog.locator("#form-fields tr")).to_have_count(0)
    add = dialog.get_by_role("button", name="Add a field")
    add.click()
    add.click()
    dialog.get_by_label("Key of field 1").fill("email")
    dialog.get_by_label("Label of field 1").fill("E-mail")
    dialog.get_by_label("Type of field 1").select_option("email")
    dialog.get_by_label("Required of field 1").check()
    dialog.get_by_label("Key of field 2").fill("topic")
    dialog.get_by_label("Label of field 2").fill("Topic")
    dialog.get_by_label("Type of field 2").select_option("select")
    dialog.get_by_role("button", name="Save form").click()
    expect(dialog.locator("#form-error")).to_have_text(
        "Field 'topic' is a select: give it its options."
    )
    dialog.get_by_label("Choices of field 2").fill("Sales, Billing")
    dialog.get_by_role("button", name="Save form").click()
    expect(dialog).to_be_hidden()
    row = admin.locator(f'tr[data-service-id="{server.id("demo-support")}"]')
    expect(row.locator(".service-form")).to_have_text("Asks: E-mail (required), Topic")
    service = api(server, "ada", f"/api/services/{server.id('demo-support')}")
    assert service["pre_chat_form"] == [
        {"key": "email", "label": "E-mail", "type": "email", "required": True, "options": []},
        {
            "key": "topic",
            "label": "Topic",
            "type": "select",
            "required": False,
            "options": ["Sales", "Billing"],
        },
    ]
