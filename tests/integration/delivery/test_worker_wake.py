"""A separate `chatrec worker` given Redis delivers as soon as a server commits a chat's
recordings, not at its next poll (R16, R20).

Real processes on PostgreSQL: a demo server with its SFTP platform that does not deliver
itself, a worker that polls only every ten minutes, and a `redis-server` of the test's own.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.harness import ChildProcess
from tests.integration.clients import Client, run
from tests.integration.server import ServerProcess
from tests.redis_server import RedisServer


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_R16_R20_a_worker_given_redis_delivers_at_once_when_a_chat_ends(
    database_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    redis = RedisServer(tmp_path)
    redis.start()
    server = ServerProcess(
        data,
        database_url,
        platform=True,
        env={"CHATREC_DELIVERY_IN_SERVER": "false", "CHATREC_REDIS_URL": redis.url},
    )
    worker = ChildProcess(
        [sys.executable, "-m", "chatrec", "worker", "--data-dir", str(data),
         "--database-url", database_url, "--redis-url", redis.url],
        tmp_path / "worker.log",
        env={"CHATREC_DELIVERY_POLL_SECONDS": "600"},
    )  # fmt: skip
    server.start()
    try:
        worker.spawn()
        deadline = time.monotonic() + 30
        while "started" not in worker.log_tail():
            assert worker.running, worker.log_tail()
            assert time.monotonic() < deadline, worker.log_tail()
            time.sleep(0.05)
        time.sleep(1)  # its first round, at start, finds nothing

        async def a_chat_with_a_flow_recording() -> None:
            customer, chat_id, _ = await Client.customer(server, "demo-support")
            await customer.state(chat_id, lambda c: c["choices"] is not None)
            await customer.ok({"type": "message", "text": "Billing"})  # the flow records
            await customer.ok({"type": "end"})

        run(a_chat_with_a_flow_recording)
        deadline = time.monotonic() + 20
        while not list((data / "platform").rglob("*.json")):
            assert time.monotonic() < deadline, f"not delivered:\n{worker.log_tail()}"
            time.sleep(0.05)
    finally:
        worker.stop()
        server.stop()
        server.stop_platform()
        redis.stop()
