"""Staff logins against a real server: rate limit, API tokens, CSRF (R18, R19).

The rules with an injected clock are in ``tests/integration/services/``
(``test_login_lockout.py``, ``test_api_tokens.py``), and sign-in, sessions and the
second factor over HTTP in process in ``tests/integration/web/test_sign_in.py``; here is
what a client of a running server sees.  The tests share a server, each with a company of
its own; the rate limit, which counts every login from the address, gets its own server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from tests.integration.server import SeededDemo, ServerProcess
from tests.integration.tenant import Tenant


@pytest.fixture
def server(tenant: Tenant) -> Tenant:
    """A company of the test's own on the module's shared server."""
    return tenant


@pytest.fixture
def limited_server(
    database_url: str, tmp_path: Path, seeded_demo: SeededDemo
) -> Iterator[ServerProcess]:
    """Five login attempts a minute from one address, on a server of the test's own."""
    if database_url.startswith("sqlite"):
        database_url = seeded_demo.copy_to(tmp_path / "data", tmp_path / "chatrec.db")
    server = ServerProcess(
        tmp_path / "data", database_url, env={"CHATREC_LOGIN_ATTEMPTS_PER_MINUTE": "5"}
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def log_in(
    server: ServerProcess, login: str, password: str | None = None, company: str | None = None
) -> httpx.Response:
    """A sign-in as a person types it: the login (the company too on a shared server)."""
    body = {"login": login, "password": password or server.logins()[login]}
    if password is None:
        body["login"], company = server.sign_in(login)
    if company is not None:
        body["company"] = company
    return httpx.post(f"{server.url}/api/login", json=body)


Http = Callable[..., httpx.Client]


@pytest.fixture
def http() -> Iterator[Http]:
    """``http(server)``: a client keeping cookies, as a browser; ``http(server, token)``:
    one sending the token as a bearer, as a script.  Closed after the test."""
    with contextlib.ExitStack() as stack:

        def opened(server: ServerProcess, token: str | None = None) -> httpx.Client:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return stack.enter_context(httpx.Client(base_url=server.url, headers=headers))

        yield opened


def test_R19_too_many_login_attempts_from_one_address_get_429_with_retry_after(
    limited_server: ServerProcess,
) -> None:
    server = limited_server
    answers = [log_in(server, "nobody", "wrong-password").status_code for _ in range(5)]
    assert answers == [401] * 5
    limited = log_in(server, "alice")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 12
    error = limited.json()["error"]
    assert error["code"] == "rate_limited"
    assert "too many login attempts" in error["message"]
    assert httpx.get(f"{server.url}/api/health").status_code == 200


def test_R18_an_api_token_is_shown_once_used_as_bearer_and_revoked(
    server: ServerProcess, http: Http
) -> None:
    alice = http(server, server.token("alice"))
    created = alice.post("/api/tokens", json={"name": "nightly export", "expires_in_days": 30})
    assert created.status_code == 201, created.text
    token, token_id = created.json()["token"], created.json()["api_token"]["token_id"]
    assert token.startswith(f"crt_{token_id}_")
    listed = alice.get("/api/tokens")
    assert [t["token_id"] for t in listed.json()] == [token_id]
    assert token not in listed.text
    me = http(server, token).get("/api/me")
    assert me.json()["login"] == "alice"
    assert alice.get("/api/tokens").json()[0]["last_used_at"] is not None
    as_cookie = httpx.get(f"{server.url}/api/me", cookies={"chatrec_session": token})
    assert as_cookie.status_code == 401

    async def hello_with_the_token() -> tuple[str, str]:
        async with connect(f"{server.ws_url}/ws/staff") as ws:
            await ws.send(json.dumps({"type": "hello", "token": token}))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
            return answer["type"], answer.get("user", {}).get("login")

    # Automation may use the staff socket with the token too.
    assert asyncio.run(hello_with_the_token()) == ("welcome", "alice")

    revoked = alice.delete(f"/api/tokens/{token_id}")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    refused = http(server, token).get("/api/me")
    assert refused.status_code == 401
    assert "was revoked on" in refused.json()["error"]["message"]


def test_R18_tokens_of_a_disabled_login_stop_and_other_companies_cannot_see_them(
    server: ServerProcess,
    http: Http,
) -> None:
    olga = http(server, server.token("olga"))
    ada = http(server, server.token("ada"))
    globex = {"company_id": "globex", "name": "Globex", "products": ["webchat"]}
    assert olga.post("/api/admin/companies", json=globex).status_code == 201
    admin = {"login": "gina", "name": "Gina", "role": "administrator", "password": "gina-password"}
    assert olga.post("/api/admin/users?company_id=globex", json=admin).status_code == 201
    gina = http(server, log_in(server, "gina", "gina-password", "globex").json()["token"])

    alice = http(server, server.token("alice"))
    token_id, token = [], []
    for name in ("first", "second"):
        body = alice.post("/api/tokens", json={"name": name}).json()
        token_id.append(body["api_token"]["token_id"])
        token.append(body["token"])
    assert gina.delete(f"/api/tokens/{token_id[0]}").status_code == 404
    bob = http(server, server.token("bob"))
    assert bob.delete(f"/api/tokens/{token_id[0]}").status_code == 403
    assert ada.delete(f"/api/tokens/{token_id[0]}").status_code == 200

    disabled = ada.patch(f"/api/admin/users/{server.id('demo-alice')}", json={"disabled": True})
    assert disabled.status_code == 200
    refused = http(server, token[1]).get("/api/me")
    assert refused.status_code == 401
    assert "is disabled" in refused.json()["error"]["message"]


def test_R18_changes_made_with_the_session_cookie_need_the_csrf_token(
    server: ServerProcess,
    http: Http,
) -> None:
    browser = http(server)
    login_as, company = server.sign_in("alice")
    body = {"login": login_as, "password": server.logins()["alice"]}
    login = browser.post("/api/login", json=body | ({"company": company} if company else {}))
    set_cookies = login.headers.get_list("set-cookie")
    csrf_header = next(c for c in set_cookies if c.startswith("chatrec_csrf="))
    assert "samesite=strict" in csrf_header.lower()
    assert "httponly" not in csrf_header.lower()
    csrf = browser.cookies["chatrec_csrf"]

    for headers in ({}, {"X-CSRF-Token": "forged"}):
        refused = browser.post("/api/tokens", json={"name": "x"}, headers=headers)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "csrf"
        assert "reload the page" in refused.json()["error"]["message"]
    assert browser.get("/api/tokens").json() == []
    made = browser.post("/api/tokens", json={"name": "x"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201

    bearer = http(server, login.json()["token"])
    assert bearer.post("/api/tokens", json={"name": "y"}).status_code == 201
    assert (
        browser.post("/api/chats", json={"service_id": server.id("demo-support")}).status_code
        == 201
    )
    # A session cookie from before the CSRF cookie existed: the next page load sets it.
    session = browser.cookies["chatrec_session"]
    reload = httpx.get(f"{server.url}/portal", cookies={"chatrec_session": session})
    assert reload.cookies["chatrec_csrf"] == csrf

    logout = browser.post("/api/logout", headers={"X-CSRF-Token": csrf})
    assert logout.status_code == 204
    assert not browser.cookies.get("chatrec_session")
    assert not browser.cookies.get("chatrec_csrf")


def test_R18_a_staff_socket_opened_by_a_page_of_another_site_is_refused(
    server: ServerProcess,
) -> None:
    session = {"Cookie": f"chatrec_session={server.token('alice')}"}
    url = f"{server.ws_url}/ws/staff"

    async def scenario() -> None:
        for origin in ("https://evil.example", "null"):
            with pytest.raises(InvalidStatus) as refused:
                await connect(url, origin=Origin(origin), additional_headers=session)
            assert refused.value.response.status_code == 403
        async with connect(url, origin=Origin(server.url), additional_headers=session) as ws:
            await ws.send(json.dumps({"type": "hello"}))
            welcome = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert (welcome["type"], welcome["user"]["login"]) == ("welcome", "alice")

    asyncio.run(scenario())
