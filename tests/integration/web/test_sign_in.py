"""Sign-in, sessions and the second factor over HTTP, in process, on SQLite and
PostgreSQL (R18): what a browser or a script meets.

The app runs in process (httpx's ASGI transport, which sets the client's address) with
an injected clock, so idle timeouts and TOTP steps are reached without waiting.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import text
from websockets.asyncio.client import connect

from chatrec.bootstrap import build
from chatrec.config import Config
from chatrec.services.access import Principal
from chatrec.services.account import AccountService
from chatrec.services.admin import Administration
from chatrec.services.auth import AuthService
from chatrec.store.store import Store
from chatrec.web.app import create_app
from tests.integration.services.logins import OPERATOR, PASSWORD, Clock, company

ATTACKER, OWNER = "198.51.100.7", "192.0.2.10"


@dataclass
class Site:
    app: FastAPI
    store: Store
    auth: AuthService
    clock: Clock

    @asynccontextmanager
    async def browser(
        self, address: str = OWNER, host: str = "127.0.0.1"
    ) -> AsyncIterator[httpx.AsyncClient]:
        """A client keeping cookies, at ``address``, reaching the server as ``host``."""
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
            yield client


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


@contextmanager
def site_of(database_url: str, tmp_path: Path, **settings: Any) -> Iterator[Site]:
    config = Config(
        data_dir=tmp_path / "data",
        database_url=database_url,
        login_attempts_per_minute=1000,
        **settings,
    )
    container = build(config)
    clock = Clock()
    container.auth = AuthService(
        container.store,
        session_length=timedelta(hours=12),
        idle_timeout=timedelta(minutes=30),
        max_failures=3,
        lockout=timedelta(minutes=1),
        clock=clock,
    )
    container.account = AccountService(container.store, container.auth, clock)
    company(container.admin, "acme")
    try:
        yield Site(create_app(container), container.store, container.auth, clock)
    finally:
        container.store.close()


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    with site_of(database_url, tmp_path) as opened:
        yield opened


async def sign_in(
    http: httpx.AsyncClient, login: str = "carol@acme", password: str = PASSWORD, **more: str
) -> httpx.Response:
    return await http.post("/api/login", json={"login": login, "password": password, **more})


def csrf(http: httpx.AsyncClient) -> dict[str, str]:
    return {"X-CSRF-Token": http.cookies["chatrec_csrf"]}


def error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


# -- finding 6: the lock tells nothing, and locks nobody out from elsewhere -------------


def test_R18_a_locked_login_answers_like_a_wrong_password_and_the_owner_elsewhere_signs_in(
    site: Site,
) -> None:
    async def scenario() -> None:
        async with site.browser(ATTACKER) as attacker, site.browser(OWNER) as owner:
            wrong = await sign_in(attacker, password="wrong-password")
            unknown = await sign_in(attacker, "nobody@acme", "wrong-password")
            for _ in range(3):
                await sign_in(attacker, password="wrong-password")
            locked = await sign_in(attacker)
            assert wrong.status_code == unknown.status_code == locked.status_code == 401
            assert wrong.json() == unknown.json() == locked.json()
            assert wrong.json()["error"]["code"] == "unauthenticated"
            assert (await sign_in(owner)).status_code == 200

    run(scenario)


def test_R18_an_administrator_never_learns_that_another_company_has_a_login(
    site: Site,
) -> None:
    site_admin(site)  # beside acme, which has the login carol@acme

    async def scenario() -> None:
        async with site.browser() as http:
            assert (await sign_in(http, "gina", "gina-password")).status_code == 200
            made = await http.post(
                "/api/admin/users",
                json={"login": "carol@acme", "name": "Carol", "role": "agent"},
                headers=csrf(http),
            )
            assert made.status_code == 201, made.text
            again = await http.post(
                "/api/admin/users",
                json={"login": "CAROL@acme", "name": "Carol", "role": "agent"},
                headers=csrf(http),
            )
            assert error(again)[1] == "conflict"
            assert "taken in this company" in again.json()["error"]["message"]

    run(scenario)


def site_admin(site: Site) -> None:
    """Company globex and its administrator gina (password ``gina-password``)."""
    admin = Administration(site.store, site.clock)
    admin.companies.create(OPERATOR, "globex", "Globex", [])
    admin.users.create(
        OPERATOR, "gina", "Gina", "administrator", company_id="globex", password="gina-password"
    )


def give_ada_a_password(site: Site) -> None:
    """acme's administrator ada signs in with ``ada-password`` (her own reset: no change
    forced on her)."""
    ada = site.store.find_user_by_login("ada@acme")
    assert ada is not None
    Administration(site.store, site.clock).users.reset_password(
        Principal.of(ada), ada.user_id, "ada-password"
    )


# -- finding 9: sessions -------------------------------------------------------------


def test_R18_a_session_ends_after_30_minutes_without_use_and_use_keeps_it(site: Site) -> None:
    async def scenario() -> None:
        async with site.browser() as http:
            assert (await sign_in(http)).status_code == 200
            for _ in range(3):
                site.clock.now += timedelta(minutes=29)
                assert (await http.get("/api/me")).status_code == 200
            site.clock.now += timedelta(minutes=30)
            ended = await http.get("/api/me")
            assert error(ended) == (401, "unauthenticated")
            assert "after 30 minutes without use" in ended.json()["error"]["message"]
            assert (await http.get("/portal", follow_redirects=False)).headers[
                "location"
            ] == "/login"

    run(scenario)


def test_R18_log_out_everywhere_ends_every_session_of_the_login(site: Site) -> None:
    async def scenario() -> None:
        async with site.browser() as laptop, site.browser(ATTACKER) as phone:
            await sign_in(laptop)
            token = (await sign_in(phone)).json()["token"]
            refused = await laptop.post("/api/logout-everywhere")
            assert error(refused) == (403, "csrf")
            done = await laptop.post("/api/logout-everywhere", headers=csrf(laptop))
            assert done.status_code == 204
            assert (await laptop.get("/api/me")).status_code == 401
            bearer = {"Authorization": f"Bearer {token}"}
            assert (await phone.get("/api/me", headers=bearer)).status_code == 401

    run(scenario)


def test_R18_expired_and_idle_sessions_are_purged(site: Site) -> None:
    async def scenario() -> None:
        async with site.browser() as http:
            await sign_in(http)
        assert count(site, "sessions") == 1
        site.clock.now += timedelta(minutes=31)
        assert await site.auth.purge() == 1
        assert count(site, "sessions") == 0

    run(scenario)


def count(site: Site, table: str) -> int:
    with site.store.engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


# -- finding 9: passwords ------------------------------------------------------------


def test_R18_changing_ones_password_needs_the_current_one_and_ends_the_other_sessions(
    site: Site,
) -> None:
    async def scenario() -> None:
        async with site.browser() as laptop, site.browser() as phone:
            await sign_in(laptop)
            await sign_in(phone)
            change = {"current_password": "not-my-password", "new_password": "a-new-password"}
            refused = await laptop.put("/api/me/password", json=change, headers=csrf(laptop))
            assert error(refused) == (400, "refused")
            change["current_password"] = PASSWORD
            changed = await laptop.put("/api/me/password", json=change, headers=csrf(laptop))
            assert changed.status_code == 200, changed.text
            assert changed.json() == {"pending": None}
            assert (await laptop.get("/api/me")).status_code == 200
            assert (await phone.get("/api/me")).status_code == 401
            assert (await sign_in(phone)).status_code == 401
            assert (await sign_in(phone, password="a-new-password")).status_code == 200

    run(scenario)


def test_R18_after_an_administrators_reset_nothing_works_until_the_user_sets_a_password(
    site: Site,
) -> None:
    async def scenario() -> None:
        async with site.browser() as ada, site.browser() as carol:
            await sign_in(ada, "ada@acme", "ada-password")
            reset = await ada.post(
                f"/api/admin/users/{carol_id(site)}/password",
                json={"password": "temporary-password"},
                headers=csrf(ada),
            )
            assert reset.status_code == 200
            signed = await sign_in(carol, password="temporary-password")
            assert signed.json()["pending"] == "password_change"
            assert error(await carol.get("/api/chats")) == (403, "password_change_required")
            assert error(await carol.post("/api/tokens", json={"name": "x"}, headers=csrf(carol)))[
                1
            ] == ("password_change_required")
            portal = await carol.get("/portal", follow_redirects=False)
            assert portal.headers["location"] == "/account"
            assert (await carol.get("/account")).status_code == 200
            assert (await carol.get("/api/me")).json()["pending"] == "password_change"
            change = {"current_password": "temporary-password", "new_password": "carols-own-one"}
            changed = await carol.put("/api/me/password", json=change, headers=csrf(carol))
            assert changed.json() == {"pending": None}
            assert (await carol.get("/api/chats")).status_code == 200

    give_ada_a_password(site)
    run(scenario)


def carol_id(site: Site) -> str:
    carol = site.store.find_user_by_login("carol@acme")
    assert carol is not None
    return carol.user_id


# -- finding 9: the second factor ----------------------------------------------------


async def enrol(site: Site, http: httpx.AsyncClient) -> tuple[str, list[str]]:
    """Set up TOTP for the signed-in user; its secret and recovery codes."""
    begun = await http.post("/api/me/totp", headers=csrf(http))
    assert begun.status_code == 201, begun.text
    secret, uri = begun.json()["secret"], begun.json()["uri"]
    assert uri.startswith("otpauth://totp/chatrec:")
    assert f"secret={secret}" in uri
    wrong = await http.post("/api/me/totp/confirm", json={"code": "000000"}, headers=csrf(http))
    assert error(wrong) == (400, "refused")
    code = pyotp.TOTP(secret).at(site.clock.now)
    confirmed = await http.post("/api/me/totp/confirm", json={"code": code}, headers=csrf(http))
    assert confirmed.status_code == 200, confirmed.text
    codes: list[str] = confirmed.json()["recovery_codes"]
    assert len(codes) == 10
    return secret, codes


def test_R18_totp_asks_for_a_code_takes_each_once_and_recovery_codes_once(site: Site) -> None:
    async def scenario() -> None:
        async with site.browser() as http:
            await sign_in(http)
            secret, codes = await enrol(site, http)
            site.clock.now += timedelta(seconds=30)
            asked = await sign_in(http)
            assert error(asked) == (401, "totp_required")
            assert error(await sign_in(http, code="123456")) == (401, "totp_required")
            code = pyotp.TOTP(secret).at(site.clock.now)
            assert (await sign_in(http, code=code)).status_code == 200
            assert error(await sign_in(http, code=code)) == (401, "totp_required")  # replayed
            assert (await sign_in(http, code=codes[0].upper())).status_code == 200
            assert error(await sign_in(http, code=codes[0])) == (401, "totp_required")
            # Turning it off needs the password.
            off = await http.post(
                "/api/me/totp/disable", json={"password": "wrong-one"}, headers=csrf(http)
            )
            assert error(off) == (400, "refused")

        with site.store.engine.connect() as connection:
            stored = connection.execute(
                text("SELECT totp_secret FROM users WHERE user_id = :id"), {"id": carol_id(site)}
            ).scalar_one()
            kept = connection.execute(text("SELECT code_hash FROM recovery_codes")).scalars()
            hashes = list(kept)
        assert stored.startswith("fernet:v1:")
        assert secret not in stored
        assert len(hashes) == 10
        assert not {c.replace("-", "") for c in codes} & set(hashes)

    run(scenario)


def test_R18_a_company_that_requires_totp_makes_its_users_set_it_up_at_next_sign_in(
    site: Site,
) -> None:
    async def scenario() -> None:
        async with site.browser() as ada, site.browser() as carol:
            await sign_in(ada, "ada@acme", "ada-password")
            required = await ada.patch(
                "/api/admin/companies/acme", json={"require_totp": True}, headers=csrf(ada)
            )
            assert required.json()["require_totp"] is True
            signed = await sign_in(carol)
            assert signed.json()["pending"] == "totp_enrolment"
            assert error(await carol.get("/api/chats")) == (403, "totp_enrolment_required")
            await enrol(site, carol)
            assert (await carol.get("/api/chats")).status_code == 200
            off = await carol.post(
                "/api/me/totp/disable", json={"password": PASSWORD}, headers=csrf(carol)
            )
            assert error(off) == (409, "conflict")

    give_ada_a_password(site)
    run(scenario)


# -- finding 9: cookies and HSTS -------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "secure_cookies", "secure"),
    [
        ("chat.example.com", None, True),
        ("127.0.0.1:8400", None, False),
        ("localhost:8400", None, False),
        ("[::1]:8400", None, False),
        ("chat.example.com", False, False),
        ("127.0.0.1:8400", True, True),
    ],
)
def test_R18_cookies_are_secure_and_hsts_is_sent_except_on_loopback(
    database_url: str, tmp_path: Path, host: str, secure_cookies: bool | None, secure: bool
) -> None:
    with site_of(database_url, tmp_path, secure_cookies=secure_cookies) as site:

        async def scenario() -> None:
            async with site.browser(host=host) as http:
                signed = await sign_in(http)
                cookies = signed.headers.get_list("set-cookie")
                assert len(cookies) == 2
                assert all(("; secure" in c.lower()) is secure for c in cookies)
                hsts = signed.headers.get("strict-transport-security")
                assert hsts == ("max-age=31536000" if secure else None)

        run(scenario)


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The app on a real socket, uvicorn in a thread: ``host:port``."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_R18_an_open_staff_socket_keeps_its_session_in_use(site: Site) -> None:
    """The portal's socket pings every 25 s: an agent waiting for chats is not signed out."""
    with serving(site.app) as address:

        async def scenario() -> None:
            async with httpx.AsyncClient(base_url=f"http://{address}") as http:
                token = (await sign_in(http)).json()["token"]
                bearer = {"Authorization": f"Bearer {token}"}
                async with connect(f"ws://{address}/ws/staff") as ws:
                    await ws.send(json.dumps({"type": "hello", "token": token}))
                    assert json.loads(await ws.recv())["type"] == "welcome"
                    for _ in range(3):
                        site.clock.now += timedelta(minutes=25)
                        await ws.send(json.dumps({"type": "ping", "ref": "p"}))
                        while json.loads(await ws.recv())["type"] != "pong":
                            pass
                    site.clock.now += timedelta(minutes=25)
                    assert (await http.get("/api/me", headers=bearer)).status_code == 200
                site.clock.now += timedelta(minutes=31)
                assert (await http.get("/api/me", headers=bearer)).status_code == 401

        run(scenario)
