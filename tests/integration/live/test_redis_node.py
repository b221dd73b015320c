"""A server with Redis says in /api/health whether it reaches it, and when Redis comes
back its staff catch up on their chats by sequence (R20).

The server is a real process on PostgreSQL with a `redis-server` of the test's own,
stopped and started again; the machine's Redis is never touched.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.clients import Client
from tests.integration.server import ServerProcess
from tests.redis_server import RedisServer


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
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatrec",
            "serve",
            "--data-dir",
            str(tmp_path),
            "--redis-url",
            "redis://127.0.0.1:1/0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert "CHATREC_REDIS_URL" in refused.stderr
    assert "PostgreSQL" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "chatrec.db").exists()
