"""Access taken away ends open staff sockets at once, and tokens carry scopes (R18).

One real server for the module (SQLite; the store's parts run on both databases in
``tests/integration/services/``), real WebSocket and HTTP clients.  Each test makes its
own logins through the administration API, so what one revokes no other test uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from chatrec.services.revocation import AccessEnded
from chatrec.store.store import Store
from chatrec.web.ws import ENDINGS
from tests.integration.clients import Client, Frame, run
from tests.integration.server import SeededDemo, ServerProcess
from tests.keys import SECRETS

PASSWORD = "a-good-password"
MAX_TOKENS = 4
MAX_DAYS = 30
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, seeded_demo: SeededDemo
) -> Iterator[ServerProcess]:
    """The periodic sweep is off (an hour): what closes a socket here is the revocation
    itself, or the check of each frame.  Tests log in often: the limit per address is high."""
    base: Path = tmp_path_factory.mktemp("access-revocation")
    process = ServerProcess(
        base / "data",
        seeded_demo.copy_to(base / "data", base / "chatrec.db"),
        env={
            "CHATREC_SWEEP_INTERVAL_SECONDS": "3600",
            "CHATREC_API_TOKEN_MAX_PER_USER": str(MAX_TOKENS),
            "CHATREC_API_TOKEN_MAX_DAYS": str(MAX_DAYS),
            "CHATREC_LOGIN_ATTEMPTS_PER_MINUTE": "1000",
        },
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def ada(server: ServerProcess) -> Iterator[httpx.Client]:
    """The demo company's administrator, as a script with her session token."""
    headers = {"Authorization": f"Bearer {server.token('ada')}"}
    with httpx.Client(base_url=server.url, headers=headers) as client:
        yield client


@dataclass(frozen=True)
class Login:
    user_id: str
    login: str
    server: ServerProcess

    def session(self) -> str:
        answer = httpx.post(
            f"{self.server.url}/api/login", json={"login": self.login, "password": PASSWORD}
        )
        answer.raise_for_status()
        token: str = answer.json()["token"]
        return token

    def http(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, headers={"Authorization": f"Bearer {token}"})

    def request(self, token: str, method: str, path: str, **options: object) -> httpx.Response:
        with self.http(token) as http:
            return http.request(method, path, **options)  # type: ignore[arg-type]

    def api_token(self, made_with: str, **body: object) -> tuple[str, str]:
        """A new API token, made with ``made_with``: the token and its id."""
        with self.http(made_with) as http:
            answer = http.post("/api/tokens", json={"name": "script", **body})
        assert answer.status_code == 201, answer.text
        created = answer.json()
        return created["token"], created["api_token"]["token_id"]


def new_login(server: ServerProcess, ada: httpx.Client, role: str = "agent") -> Login:
    login = f"staff{next(_numbers)}"
    body = {"login": login, "name": login.title(), "role": role, "password": PASSWORD}
    answer = ada.post("/api/admin/users", json=body)
    assert answer.status_code == 201, answer.text
    return Login(answer.json()["user"]["user_id"], login, server)


def welcome_of(client: Client) -> Frame:
    """The hello's answer (a staff welcome is followed by the chats it follows)."""
    return next(f for f in client.frames if f["type"] in {"welcome", "error"})


async def connected(server: ServerProcess, token: str) -> Client:
    """A staff socket said hello with ``token``; an agent's is Available."""
    client = await Client.open(f"{server.ws_url}/ws/staff", {"token": token})
    welcome = welcome_of(client)
    assert welcome["type"] == "welcome", welcome
    if welcome["role"] == "agent" and welcome.get("scope") != "read":
        await client.ok({"type": "presence", "available": True})
    return client


async def ended(client: Client) -> tuple[int | None, str | None, Frame]:
    """The close code and reason of a socket the server closes, and its last error."""
    async with asyncio.timeout(10):
        await client.ws.wait_closed()
    errors = [frame for frame in client.frames if frame["type"] == "error"]
    return client.ws.close_code, client.ws.close_reason, errors[-1]


async def still_open(client: Client) -> None:
    answer = await client.send({"type": "ping"})
    assert answer["type"] == "pong" or answer["type"] == "ack", answer


async def done(request: Callable[[], httpx.Response]) -> None:
    """Send an HTTP request from a scenario, off its event loop; it must succeed."""
    answer = await asyncio.to_thread(request)
    assert answer.status_code in {200, 204}, answer.text


# -- finding 1: every way of revoking closes the socket (R18) -----------------------------


@dataclass(frozen=True)
class Revocation:
    """What opens the socket (an API token or a session) and what takes access away."""

    hello: str  # "session" or "token"
    revoke: Callable[[Login, httpx.Client, str, str | None], httpx.Response]
    close: tuple[int, str]
    says: str


REVOCATIONS = {
    "token revoked by its owner": Revocation(
        "token",
        lambda who, ada, session, token_id: who.request(
            session, "DELETE", f"/api/tokens/{token_id}"
        ),
        (4403, "access revoked"),
        "the API token of this connection was revoked",
    ),
    "token revoked by an administrator": Revocation(
        "token",
        lambda who, ada, session, token_id: ada.delete(f"/api/tokens/{token_id}"),
        (4403, "access revoked"),
        "the API token of this connection was revoked",
    ),
    "logout": Revocation(
        "session",
        lambda who, ada, session, token_id: who.request(session, "POST", "/api/logout"),
        (4403, "signed out"),
        "You were signed out: this session was logged out",
    ),
    "login disabled": Revocation(
        "token",
        lambda who, ada, session, token_id: ada.patch(
            f"/api/admin/users/{who.user_id}", json={"disabled": True}
        ),
        (4403, "access revoked"),
        "an administrator disabled your login",
    ),
    "password reset": Revocation(
        "session",
        lambda who, ada, session, token_id: ada.post(
            f"/api/admin/users/{who.user_id}/password", json={"password": "another-password"}
        ),
        (4403, "signed out"),
        "an administrator reset your password",
    ),
}


@pytest.mark.parametrize("case", REVOCATIONS.values(), ids=REVOCATIONS.keys())
def test_R18_access_taken_away_closes_the_open_staff_socket_at_once(
    server: ServerProcess, ada: httpx.Client, case: Revocation
) -> None:
    """Before the fix the socket went on: acked presence, was routed chats, acted."""
    agent = new_login(server, ada)
    session = agent.session()
    token, token_id = agent.api_token(session) if case.hello == "token" else (session, None)

    async def scenario() -> None:
        socket = await connected(server, token)
        await done(lambda: case.revoke(agent, ada, session, token_id))
        code, reason, error = await ended(socket)
        assert (code, reason) == case.close
        assert error["code"] == "access_revoked"
        assert case.says in error["message"]
        assert not error["retryable"]

    run(scenario)


def test_R18_logout_closes_that_sessions_sockets_only(
    server: ServerProcess, ada: httpx.Client
) -> None:
    agent = new_login(server, ada)
    leaving, staying = agent.session(), agent.session()

    async def scenario() -> None:
        left, kept = await connected(server, leaving), await connected(server, staying)
        await done(lambda: agent.request(leaving, "POST", "/api/logout"))
        assert (await ended(left))[:2] == (4403, "signed out")
        await still_open(kept)

    run(scenario)


def test_R18_changing_ones_password_closes_the_other_sessions_sockets_only(
    server: ServerProcess, ada: httpx.Client
) -> None:
    """The session the change was made in goes on; an API token is a credential of its own."""
    agent = new_login(server, ada)
    here, elsewhere = agent.session(), agent.session()
    token, _ = agent.api_token(here)
    change = {"current_password": PASSWORD, "new_password": "another-good-password"}

    async def scenario() -> None:
        mine = await connected(server, here)
        other = await connected(server, elsewhere)
        script = await connected(server, token)
        await done(lambda: agent.request(here, "PUT", "/api/me/password", json=change))
        code, reason, error = await ended(other)
        assert (code, reason) == (4403, "signed out")
        assert error["message"] == ENDINGS[AccessEnded.PASSWORD_CHANGED].message
        await still_open(mine)
        await still_open(script)

    run(scenario)


def test_R18_logging_out_everywhere_closes_every_sessions_socket_but_not_a_tokens(
    server: ServerProcess, ada: httpx.Client
) -> None:
    agent = new_login(server, ada)
    here, elsewhere = agent.session(), agent.session()
    token, _ = agent.api_token(here)

    async def scenario() -> None:
        mine = await connected(server, here)
        other = await connected(server, elsewhere)
        script = await connected(server, token)
        await done(lambda: agent.request(here, "POST", "/api/logout-everywhere"))
        for socket in (mine, other):
            assert (await ended(socket))[:2] == (4403, "signed out")
        await still_open(script)

    run(scenario)


def test_R18_a_role_change_closes_the_socket_and_the_next_hello_has_the_new_role(
    server: ServerProcess, ada: httpx.Client
) -> None:
    agent = new_login(server, ada)
    session = agent.session()

    async def scenario() -> None:
        socket = await connected(server, session)
        await done(
            lambda: ada.patch(f"/api/admin/users/{agent.user_id}", json={"role": "supervisor"})
        )
        code, reason, error = await ended(socket)
        assert (code, reason, error["code"]) == (4409, "role changed", "role_changed")
        again = await connected(server, session)
        assert welcome_of(again)["role"] == "supervisor"

    run(scenario)


def test_R18_a_frame_is_not_acted_on_once_the_login_is_disabled_where_no_bus_reaches(
    server: ServerProcess, ada: httpx.Client
) -> None:
    """``chatrec admin`` (or another node) changes the database only: the frame's own
    check closes the socket and does nothing of it."""
    agent = new_login(server, ada)
    session = agent.session()

    async def scenario() -> None:
        socket = await connected(server, session)
        user = store.get_user(agent.user_id)
        assert user is not None
        store.update_users([replace(user, disabled=True)])
        await socket.ws.send('{"type": "presence", "available": false, "ref": "away"}')
        code, _, error = await ended(socket)
        assert (code, error["code"]) == (4403, "access_revoked")
        assert "this login is disabled" in error["message"]
        assert not [frame for frame in socket.frames if frame.get("ref") == "away"]

    with contextlib.closing(Store(server.database_url, secrets=SECRETS)) as store:
        run(scenario)
        presence = store.get_presence(agent.user_id)
        assert presence is not None
        assert presence.available


# -- finding 7: token scopes, lifetimes, parents and the cap (R18) ------------------------


def test_R18_a_token_acts_within_its_scope_over_http_and_on_the_socket(
    server: ServerProcess, ada: httpx.Client
) -> None:
    admin = new_login(server, ada, role="administrator")
    session = admin.session()
    read, _ = admin.api_token(session, scope="read")
    chat, _ = admin.api_token(session, scope="chat")
    full, _ = admin.api_token(session)
    change = {"record_percentage": 50}
    with admin.http(read) as reader, admin.http(chat) as chatter, admin.http(full) as owner:
        assert reader.get("/api/admin/users").status_code == 200
        for refused in (
            reader.post("/api/tokens", json={"name": "x"}),
            reader.post("/api/logout"),
            chatter.patch(f"/api/admin/users/{admin.user_id}", json=change),
        ):
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"]["code"] == "insufficient_scope"
        assert "may only read" in reader.post("/api/tokens", json={"name": "x"}).text
        assert chatter.get("/api/admin/users").status_code == 200
        made = chatter.post("/api/tokens", json={"name": "y", "scope": "read"})
        assert made.status_code == 201, made.text
        assert owner.patch(f"/api/admin/users/{admin.user_id}", json=change).status_code == 200

    agent = new_login(server, ada)
    watching, _ = agent.api_token(agent.session(), scope="read")

    async def scenario() -> None:
        socket = await connected(server, watching)
        assert welcome_of(socket)["scope"] == "read"
        refused = await socket.send({"type": "presence", "available": True})
        assert (refused["type"], refused["code"]) == ("error", "insufficient_scope")
        await still_open(socket)

    run(scenario)


def test_R18_a_token_made_with_a_token_is_bounded_by_it_and_revoked_with_it(
    server: ServerProcess, ada: httpx.Client
) -> None:
    agent = new_login(server, ada)
    session = agent.session()
    parent, parent_id = agent.api_token(session, scope="chat", expires_in_days=2)
    with agent.http(parent) as http:
        wider = http.post("/api/tokens", json={"name": "wider", "scope": "full"})
        assert (wider.status_code, wider.json()["error"]["code"]) == (403, "insufficient_scope")
        longer = http.post("/api/tokens", json={"name": "longer", "expires_in_days": 3})
        assert (longer.status_code, longer.json()["error"]["code"]) == (422, "invalid")
        assert "may not outlive it" in longer.json()["error"]["message"]
        child = http.post("/api/tokens", json={"name": "child"}).json()
    made = child["api_token"]
    assert (made["scope"], made["parent_id"]) == ("chat", parent_id)
    listed = {t["token_id"]: t for t in agent.request(session, "GET", "/api/tokens").json()}
    assert made["expires_at"] == listed[parent_id]["expires_at"]

    async def scenario() -> None:
        socket = await connected(server, child["token"])
        await done(lambda: agent.request(session, "DELETE", f"/api/tokens/{parent_id}"))
        assert (await ended(socket))[:2] == (4403, "access revoked")

    run(scenario)
    refused = agent.request(child["token"], "GET", "/api/me")
    assert refused.status_code == 401
    assert "was revoked" in refused.json()["error"]["message"]


def test_R18_tokens_have_a_longest_lifetime_and_a_cap_per_login(
    server: ServerProcess, ada: httpx.Client
) -> None:
    agent = new_login(server, ada)
    session = agent.session()
    with agent.http(session) as http:
        too_long = http.post("/api/tokens", json={"name": "x", "expires_in_days": MAX_DAYS + 1})
        assert too_long.status_code == 422
        assert "CHATREC_API_TOKEN_MAX_DAYS" in too_long.json()["error"]["message"]
        made = [http.post("/api/tokens", json={"name": f"t{n}"}) for n in range(MAX_TOKENS)]
        assert [answer.status_code for answer in made] == [201] * MAX_TOKENS
        over = http.post("/api/tokens", json={"name": "one too many"})
        assert over.status_code == 409
        assert over.json()["error"]["code"] == "too_many_tokens"
        assert "revoke one" in over.json()["error"]["message"]
        first = made[0].json()["api_token"]["token_id"]
        assert http.delete(f"/api/tokens/{first}").status_code == 200
        assert http.post("/api/tokens", json={"name": "instead"}).status_code == 201


def test_every_reason_access_ends_has_words_for_the_person() -> None:
    assert set(AccessEnded) <= set(ENDINGS)
    assert all(len(ending.close_reason.encode()) <= 123 for ending in ENDINGS.values())
