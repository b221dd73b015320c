"""A staff session in Chromium: its cookies, logging out with the CSRF token, a forced
password change and two-factor sign-in (R18).

One server serves the module, each test with a company of its own (a tenant).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import fill_sign_in
from tests.e2e.test_chat_pages import log_in
from tests.integration.server import ServerProcess
from tests.integration.tenant import Tenant

NewPage = Callable[[], Page]


@pytest.fixture
def server(tenant: Tenant) -> Tenant:
    """A company of the test's own on the module's server."""
    return tenant


def fill_password(page: Page, server: ServerProcess, login: str, password: str) -> None:
    """The login form filled for ``login`` (and its company), with ``password``."""
    fill_sign_in(page, server, login)
    page.get_by_label("Password", exact=True).fill(password)


def test_R18_logging_out_of_the_portal_ends_the_session_and_clears_both_cookies(
    server: ServerProcess, new_page: NewPage
) -> None:
    agent = new_page()
    log_in(agent, server, "alice")
    cookies = {cookie["name"]: cookie for cookie in agent.context.cookies()}
    assert cookies["chatrec_session"]["httpOnly"]
    assert not cookies["chatrec_csrf"]["httpOnly"]
    assert {cookies[name]["sameSite"] for name in cookies} == {"Strict"}

    # Logging out is a change made with the cookie: it works only with the CSRF token.
    agent.get_by_role("button", name="Log out").click()
    expect(agent).to_have_url(f"{server.url}/login")
    assert [c["name"] for c in agent.context.cookies()] == []
    agent.goto(f"{server.url}/portal")
    expect(agent).to_have_url(f"{server.url}/login")


def test_R18_the_portal_says_why_it_was_signed_out_when_access_is_taken_away(
    server: ServerProcess, new_page: NewPage
) -> None:
    """An administrator resets carol's password while her portal is open: the portal
    explains, and offers to sign in again, rather than reconnecting in a loop."""
    agent = new_page()
    log_in(agent, server, "carol")
    ada = {"Authorization": f"Bearer {server.token('ada')}"}
    reset = httpx.post(
        f"{server.url}/api/admin/users/{server.id('demo-carol')}/password",
        json={"password": "another-password"},
        headers=ada,
    )
    assert reset.status_code == 200, reset.text
    dialog = agent.get_by_role("dialog", name="You were signed out")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("an administrator reset your password")
    expect(agent.locator("#connection")).to_have_text("Signed out")
    dialog.get_by_role("button", name="Sign in again").click()
    expect(agent).to_have_url(f"{server.url}/login")


def test_R18_a_reset_password_is_changed_first_then_totp_is_set_up_and_asked_at_sign_in(
    server: ServerProcess, new_page: NewPage
) -> None:
    ada = {"Authorization": f"Bearer {server.token('ada')}"}
    reset = httpx.post(
        f"{server.url}/api/admin/users/{server.id('demo-alice')}/password",
        json={"password": "temporary-password"},
        headers=ada,
    )
    assert reset.status_code == 200, reset.text
    agent = new_page()
    agent.goto(f"{server.url}/login")
    fill_password(agent, server, "alice", "temporary-password")
    agent.get_by_role("button", name="Log in").click()

    # Nothing else works until alice has a password of her own.
    expect(agent).to_have_url(f"{server.url}/account")
    expect(agent.locator("#pending-note")).to_contain_text("reset your password")
    agent.goto(f"{server.url}/portal")
    expect(agent).to_have_url(f"{server.url}/account")
    agent.get_by_label("Current password").fill("temporary-password")
    agent.get_by_label("New password", exact=True).fill("alices-own-password")
    agent.get_by_label("Repeat the new password").fill("alices-own-password")
    agent.get_by_role("button", name="Change password").click()
    expect(agent).to_have_url(f"{server.url}/portal")
    expect(agent.locator("#connection")).to_have_text("Connected")

    agent.get_by_role("link", name="Your account").click()
    agent.get_by_role("button", name="Set up two-factor sign-in").click()
    secret = agent.locator("#totp-secret")
    expect(secret).not_to_have_text("")
    totp = pyotp.TOTP(secret.inner_text())
    agent.get_by_label("Code from the app").fill(totp.now())
    agent.get_by_role("button", name="Turn on").click()
    expect(agent.locator("#recovery-codes li")).to_have_count(10)

    agent.get_by_role("link", name="Continue").click()
    agent.get_by_role("button", name="Log out").click()
    expect(agent).to_have_url(f"{server.url}/login")
    fill_password(agent, server, "alice", "alices-own-password")
    agent.get_by_role("button", name="Log in").click()
    code = agent.get_by_label("Code", exact=True)
    expect(code).to_be_visible()
    expect(agent.get_by_role("alert")).to_contain_text("authenticator app")
    # The next step's code: the one that turned TOTP on is never taken twice.
    code.fill(totp.at(time.time() + 30))
    agent.get_by_role("button", name="Log in").click()
    expect(agent).to_have_url(f"{server.url}/portal")
    expect(agent.locator("#connection")).to_have_text("Connected")
