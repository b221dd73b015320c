"""A server with Redis says in /api/health whether it reaches it, and when Redis comes
back its staff catch up on their chats by sequence (R20).

The server is a real process on PostgreSQL with a `redis-server` of the test's own,
stopped and started again; the machine's Redis is never touched.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from chatrec.domain.journal import ChatEnded
from chatrec.store.store import Store
from tests.harness import run_chatrec
from tests.integration.clients import Client
from tests.integration.live.test_live_recording import queued_to
from tests.integration.server import ServerProcess, nodes_sharing_redis
from tests.keys import SECRETS
from tests.redis_server import RedisServer

pytestmark = pytest.mark.long  # tens of seconds: handed out first (tests/conftest.py)


@contextmanager
def two_nodes(
    database_url: str, tmp_path: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two servers on one PostgreSQL database, sharing a Redis of the test's own."""
    with nodes_sharing_redis(2, database_url, tmp_path, env) as (one, two):
        yield one, two


def health(server: ServerProcess) -> dict[str, str]:
    answer: dict[str, str] = httpx.get(f"{server.url}/api/health", timeout=5).json()
    return answer


def until_health(server: ServerProcess, redis: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while health(server).get("redis") != redis:
        assert time.monotonic() < deadline, f"health never said redis {redis}: {health(server)}"
        time.sleep(0.05)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_R20_health_says_when_redis_is_lost_and_staff_catch_up_when_it_returns(
    database_url: str, tmp_path: Path
) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    server = ServerProcess(tmp_path / "data", database_url, env={"CHATREC_REDIS_URL": redis.url})
    server.start()
    try:
        assert health(server) == {
            "status": "ok",
            "database": "ok",
            "notices": "redis",
            "redis": "connected",
            "redis_since": health(server)["redis_since"],
        }

        async def scenario() -> None:
            sam = await Client.staff(server, "sam")
            customer, chat_id, _ = await Client.customer(server, server.id("demo-support"))
            await sam.wait_for(
                lambda f: f.get("type") == "chat" and f["chat"]["chat_id"] == chat_id
            )
            redis.stop()
            await asyncio.to_thread(until_health, server, "lost")
            # Alone, the node still serves its own clients.
            await customer.ok({"type": "message", "text": "still here"})
            await sam.event(chat_id, lambda event: event.get("text") == "still here")
            await asyncio.sleep(0.3)  # the summary that follows the event
            seen = len(sam.frames)
            redis.start()
            await asyncio.to_thread(until_health, server, "connected")
            # Back: the supervisor is brought up to date on the chat by sequence.
            await sam.wait_for(
                lambda f: f.get("type") == "chat" and f["chat"]["chat_id"] == chat_id,
                after=seen,
            )
            await customer.close()
            await sam.close()

        asyncio.run(scenario())
    finally:
        server.stop()
        redis.stop()


def test_R20_redis_with_sqlite_is_refused_saying_what_to_do(tmp_path: Path) -> None:
    refused = run_chatrec(
        "serve", "--data-dir", str(tmp_path), "--redis-url", "redis://127.0.0.1:1/0"
    )
    assert refused.returncode == 2
    assert "CHATREC_REDIS_URL" in refused.stderr
    assert "PostgreSQL" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "chatrec.db").exists()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_R19_R20_two_servers_share_login_limits_and_both_are_listed(
    database_url: str, tmp_path: Path
) -> None:
    with two_nodes(database_url, tmp_path, {"CHATREC_LOGIN_ATTEMPTS_PER_MINUTE": "3"}) as nodes:
        listed = run_chatrec(
            "nodes", "--database-url", database_url, "--data-dir", str(tmp_path / "data")
        )
        for server in nodes:
            assert f" {server.process.pid} " in listed.stdout  # type: ignore[union-attr]
        wrong = {"login": "nobody", "password": "wrong password"}
        answers = [
            httpx.post(f"{nodes[i % 2].url}/api/login", json=wrong, timeout=10).status_code
            for i in range(3)
        ]
        assert answers == [401, 401, 401]
        # The budget is the address's on every node, not each node's own.
        for server in nodes:
            refused = httpx.post(f"{server.url}/api/login", json=wrong, timeout=10)
            assert refused.status_code == 429
            assert int(refused.headers["Retry-After"]) > 0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_R20_a_customer_on_one_node_and_the_agent_on_another_see_each_other(
    database_url: str, tmp_path: Path
) -> None:
    with two_nodes(database_url, tmp_path) as (one, two):

        async def scenario() -> str:
            # Alice waits on node two; the customer's chat is queued on node one and
            # routing, shared in the database, gives it to her there.
            alice = await Client.staff(two, "alice")
            await alice.ok({"type": "presence", "available": True})
            customer, chat_id, _ = await Client.customer(one, one.id("demo-support"))
            await customer.state(chat_id, lambda c: c["choices"] is not None)
            await customer.ok({"type": "message", "text": "Billing"})
            await alice.state(chat_id, lambda c: c["status"] == "active")
            await alice.ok({"type": "message", "chat_id": chat_id, "text": "Hello from two"})
            await customer.event(chat_id, lambda e: e.get("text") == "Hello from two")
            # She reconnects through the load balancer to node one, the customer to two.
            await alice.close()
            alice = await Client.staff(one, "alice")
            await alice.state(chat_id, lambda c: c["status"] == "active")
            token = customer.token
            await customer.close()
            moved = await Client.open(f"{two.ws_url}/ws/customer", {"token": token})
            await alice.ok({"type": "message", "chat_id": chat_id, "text": "Hi from one"})
            await moved.event(chat_id, lambda e: e.get("text") == "Hi from one")
            await moved.ok({"type": "message", "text": "Thanks from two"})
            await alice.event(chat_id, lambda e: e.get("text") == "Thanks from two")
            await alice.ok({"type": "message", "chat_id": chat_id, "text": "Bye from one"})
            await moved.event(chat_id, lambda e: e.get("text") == "Bye from one")
            await moved.ok({"type": "end"})
            await alice.state(chat_id, lambda c: c["status"] == "ended")
            await moved.close()
            await alice.close()
            return chat_id

        chat_id = asyncio.run(scenario())
    store = Store(database_url, secrets=SECRETS)
    try:
        journal = store.load_journal(chat_id, 0)
    finally:
        store.close()
    assert [seq for seq, _ in journal] == list(range(1, len(journal) + 1))
    texts = [getattr(event, "text", None) for _, event in journal]
    for said in ("Hi from one", "Thanks from two", "Bye from one"):
        assert texts.count(said) == 1
    assert sum(isinstance(event, ChatEnded) for _, event in journal) == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_R20_R12a_a_supervisor_on_another_node_sees_joins_and_speaks_in_the_chat(
    database_url: str, tmp_path: Path
) -> None:
    with two_nodes(database_url, tmp_path) as (one, two):

        async def scenario() -> None:
            customer, alice, chat_id = await queued_to(one, "alice")
            # Opened on node one, the chat is listed to a supervisor asking node two...
            token = await asyncio.to_thread(two.token, "sam")
            listed = httpx.get(
                f"{two.url}/api/chats", headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
            assert [chat["chat_id"] for chat in listed.json()] == [chat_id], listed.text
            # ...and shown to him signing in there.
            sam = await Client.staff(two, "sam")
            await sam.state(chat_id, lambda c: c["status"] == "active")
            await alice.ok({"type": "message", "chat_id": chat_id, "text": "From one"})
            await sam.event(chat_id, lambda e: e.get("text") == "From one")
            await sam.ok({"type": "join", "chat_id": chat_id})
            await alice.event(chat_id, lambda e: e["type"] == "joined")
            await sam.ok({"type": "message", "chat_id": chat_id, "text": "Sam from two"})
            await customer.event(chat_id, lambda e: e.get("text") == "Sam from two")
            await alice.event(chat_id, lambda e: e.get("text") == "Sam from two")
            # A chat started on node one later reaches him too, by its notice.
            other, other_id, _ = await Client.customer(one, "demo-support")
            await sam.state(other_id, lambda c: c["chat_id"] == other_id)
            for client in (customer, alice, sam, other):
                await client.close()

        asyncio.run(scenario())


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_R18_R20_a_login_disabled_from_the_command_line_is_signed_out_at_once(
    database_url: str, tmp_path: Path
) -> None:
    with RedisServer(tmp_path) as redis:
        # The sweep that would find it otherwise runs every 15 s: the close comes first.
        server = ServerProcess(
            tmp_path / "data", database_url, env={"CHATREC_REDIS_URL": redis.url}
        )
        server.start()
        try:

            async def scenario() -> tuple[int | None, str | None]:
                alice = await Client.staff(server, "alice")
                disabled = await asyncio.to_thread(
                    run_chatrec,
                    *("admin", "user", "set", "alice", "--disable"),
                    *("--database-url", database_url, "--data-dir", str(tmp_path / "data")),
                    env={"CHATREC_REDIS_URL": redis.url},
                )
                assert disabled.returncode == 0, disabled.stderr
                async with asyncio.timeout(5):
                    await alice.ws.wait_closed()
                return alice.ws.close_code, alice.ws.close_reason

            assert asyncio.run(scenario()) == (4403, "access revoked")
        finally:
            server.stop()
