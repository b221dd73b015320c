"""A staff session in Chromium: its cookies, and logging out with the CSRF token (R18)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.e2e.test_chat_pages import log_in
from tests.integration.server import ServerProcess

NewPage = Callable[[], Page]


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
