"""Test connection over HTTP against real SSH servers: where secrets go, where the server
connects, how it answers, and how often (R16, R18, issue 16.2 and 16.3).

The app runs in process (no worker); the platforms are asyncssh servers on loopback
that note every password offered to them, so a stored secret sent to the wrong server
shows.  Each test sets its egress policy: the default refuses loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatrec.bootstrap import build
from chatrec.config import Config
from chatrec.demo.sshd import free_port
from chatrec.errors import EgressRefusedError, PlatformUnreachableError
from chatrec.store.migrations import migrate
from chatrec.store.store import Store
from chatrec.web.app import create_app
from chatrec.web.container import Container
from tests.integration.delivery.world import NOW, PASSWORD, build_world
from tests.integration.sftp.conftest import password_platform
from tests.keys import SECRETS

TEST = "/api/admin/destination/test"
DESTINATION = "/api/admin/destination"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: these tests are about the network, and the store is tested on both."""
    url = f"sqlite:///{tmp_path / 'chatrec.db'}"
    migrate(url)
    return url


@pytest.fixture
def built(database_url: str, tmp_path: Path) -> Iterator[list[Container]]:
    """Containers made by :func:`container`, closed after the test."""
    world = Store(database_url, secrets=SECRETS, clock=lambda: NOW)
    try:
        build_world(world, staff=True)
    finally:
        world.close()
    containers: list[Container] = []
    yield containers
    for made in containers:
        made.store.close()


def container(
    built: list[Container], database_url: str, tmp_path: Path, **settings: Any
) -> Container:
    config = Config(data_dir=tmp_path / "data", database_url=database_url, **settings)
    made = build(config)
    built.append(made)
    return made


@asynccontextmanager
async def admin(made: Container, login: str = "ada") -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the app, logged in as ``login``."""
    transport = httpx.ASGITransport(app=create_app(made))
    async with httpx.AsyncClient(transport=transport, base_url="http://chatrec") as http:
        answer = await http.post("/api/login", json={"login": login, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        http.headers["Authorization"] = f"Bearer {answer.json()['token']}"
        yield http


def platform_at(host: str, port: int, **more: object) -> dict[str, object]:
    return {"host": host, "port": port, "username": "chatrec", "folder": "/drop", **more}


@dataclass
class Listener:
    """A TCP port that is open but speaks no SSH: it counts connections, and answers
    each with ``reply`` then closes it, or (``reply`` None) stays silent."""

    port: int
    connections: int = 0
    reply: bytes | None = None


@asynccontextmanager
async def listener(reply: bytes | None = None) -> AsyncIterator[tuple[Listener, asyncio.Event]]:
    held: list[asyncio.StreamWriter] = []
    accepted = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        found.connections += 1
        accepted.set()
        if reply is None:
            held.append(writer)
            return
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    found = Listener(server.sockets[0].getsockname()[1], reply=reply)
    try:
        yield found, accepted
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


# -- issue 16.2: the stored secret goes only to the server it was given for -----------------


def test_R18_a_stored_password_is_never_sent_to_another_host_port_or_user(
    built: list[Container], database_url: str, tmp_path: Path
) -> None:
    made = container(built, database_url, tmp_path, egress_allow="127.0.0.0/8")

    async def scenario() -> None:
        async with (
            password_platform(tmp_path / "platform", "s3cret") as platform,
            password_platform(tmp_path / "trap", None) as other_port,
            password_platform(tmp_path / "trap2", None, host="127.0.0.2") as other_host,
            admin(made) as http,
        ):
            saved = platform_at(platform.host, platform.port, host_key=platform.host_key)
            answer = await http.put(DESTINATION, json=saved | {"password": "s3cret"})
            assert answer.status_code == 200, answer.text

            elsewhere = [
                saved | {"port": other_port.port, "host_key": other_port.host_key},
                saved | {"host": "127.0.0.2", "port": other_host.port},
                saved | {"username": "mallory"},
            ]
            for settings in elsewhere:
                for method, url, body in (
                    ("POST", TEST, {"settings": settings}),
                    ("PUT", DESTINATION, settings),
                ):
                    refused = await http.request(method, url, json=body)
                    assert refused.status_code == 400, (url, settings, refused.text)
                    message = refused.json()["error"]["message"]
                    assert "enter the password or private key again" in message
            assert other_port.offered == other_host.offered == platform.offered == []
            stored = (await http.get(DESTINATION)).json()
            assert (stored["port"], stored["username"]) == (platform.port, "chatrec")

            # The same server and user: the stored password is used, saved or not.
            kept = await http.put(DESTINATION, json=saved | {"folder": "drop"})
            assert kept.status_code == 200, kept.text
            for body in ({}, {"settings": saved}):
                tested = (await http.post(TEST, json=body)).json()
                assert tested["ok"], tested
            assert platform.offered == [("chatrec", "s3cret")] * 2

            # A password entered again goes where it was entered for, and only it.
            moved = elsewhere[0] | {"password": "typed again"}
            tested = (await http.post(TEST, json={"settings": moved})).json()
            assert [s["name"] for s in tested["steps"] if not s["ok"]] == ["log in"]
            assert other_port.offered == [("chatrec", "typed again")]

    asyncio.run(scenario())


# -- issue 16.3: where Test connection may connect, how it answers, how often --------------


def test_test_connection_refuses_what_the_default_egress_policy_refuses_without_connecting(
    built: list[Container], database_url: str, tmp_path: Path
) -> None:
    made = container(built, database_url, tmp_path, egress_allow="", egress_deny="")

    async def scenario() -> None:
        async with listener(b"not ssh\r\n") as (open_port, _), admin(made) as http:
            targets = [
                ("127.0.0.1", open_port.port),
                ("localhost", open_port.port),  # the name resolves to loopback
                ("127.0.0.1", 5432),  # the machine's PostgreSQL
                ("169.254.169.254", 80),  # cloud metadata
                ("10.20.30.40", 22),
                ("::ffff:127.0.0.1", open_port.port),
            ]
            for host, port in targets:
                answer = await http.post(
                    TEST, json={"settings": platform_at(host, port, password="pw")}
                )
                assert answer.status_code == 200, answer.text
                assert answer.json()["steps"] == [
                    {
                        "name": "connect",
                        "ok": False,
                        "detail": EgressRefusedError(host, port).reason,
                        "host_key": None,
                    }
                ]
            assert open_port.connections == 0

    asyncio.run(scenario())


def test_every_failure_before_ssh_answers_the_same_sentence(
    built: list[Container], database_url: str, tmp_path: Path
) -> None:
    """Closed, open but not SSH, silent, unroutable and unknown all read alike, so Test
    connection tells an administrator nothing about which ports of a network are open."""
    made = container(
        built, database_url, tmp_path, egress_allow="127.0.0.1", connection_test_seconds=0.5
    )

    async def scenario() -> list[tuple[str, int, dict[str, Any]]]:
        async with (
            listener(b"HTTP/1.1 400 Bad Request\r\n\r\n") as (web, _),
            listener(None) as (silent, _),
            admin(made) as http,
        ):
            targets = [
                ("127.0.0.1", free_port()),  # closed: refused at once
                ("127.0.0.1", web.port),  # open, answers, not SSH
                ("127.0.0.1", silent.port),  # open, never answers
                ("192.0.2.1", 22),  # TEST-NET-1: no route, or dropped
                ("no-such-platform.invalid", 22),  # no such name
                ("a\U0010f49e.example", 22),  # a name IDNA refuses
            ]
            answers = []
            for host, port in targets:
                answer = await http.post(
                    TEST, json={"settings": platform_at(host, port, password="pw")}
                )
                assert answer.status_code == 200, answer.text
                answers.append((host, port, answer.json()))
            return answers

    for host, port, answer in asyncio.run(scenario()):
        plain = PlatformUnreachableError(host, port).reason
        assert answer == {
            "ok": False,
            "steps": [{"name": "connect", "ok": False, "detail": plain, "host_key": None}],
        }, (host, port)


def test_test_connections_are_limited_per_company_in_rate_and_at_once(
    built: list[Container], database_url: str, tmp_path: Path
) -> None:
    made = container(
        built,
        database_url,
        tmp_path,
        egress_allow="127.0.0.1",
        connection_test_seconds=1,
        connection_tests_per_minute=2,
        connection_tests_at_once=1,
    )
    closed = {"settings": platform_at("127.0.0.1", free_port(), password="pw")}

    async def scenario() -> None:
        async with (
            listener(None) as (silent, accepted),
            admin(made) as ada,
            admin(made, "gus") as gus,
        ):
            held = {"settings": platform_at("127.0.0.1", silent.port, password="pw")}
            first = asyncio.create_task(ada.post(TEST, json=held))
            await accepted.wait()
            meanwhile = await ada.post(TEST, json=closed)
            assert meanwhile.status_code == 429, meanwhile.text
            assert meanwhile.json()["error"]["code"] == "rate_limited"
            assert "running" in meanwhile.json()["error"]["message"]
            assert int(meanwhile.headers["Retry-After"]) >= 1
            other_company = await gus.post(TEST, json=closed)
            assert other_company.status_code == 200, other_company.text
            assert (await first).status_code == 200

            assert (await ada.post(TEST, json=closed)).status_code == 200  # the second
            over = await ada.post(TEST, json=closed)
            assert over.status_code == 429, over.text
            assert "try again in" in over.json()["error"]["message"]
            assert 1 <= int(over.headers["Retry-After"]) <= 30

    asyncio.run(scenario())
