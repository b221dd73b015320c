"""Bad input gets a clear error frame and the connection goes on (R19); no R2 frame."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from websockets.asyncio.client import connect

from tests.integration.clients import Client, run
from tests.integration.server import ServerProcess
from tests.integration.tenant import Tenant


@pytest.fixture
def server(tenant: Tenant) -> Tenant:
    """A company of the test's own on the module's server (one per database)."""
    return tenant


BAD_FRAMES = [
    ("not json", "bad_json"),
    (json.dumps([1, 2]), "bad_frame"),
    (json.dumps({"type": "start_recording"}), "bad_frame"),  # R2: no such thing
    (json.dumps({"type": "message"}), "bad_frame"),
    (json.dumps({"type": "message", "text": ""}), "bad_frame"),
    (json.dumps({"type": "message", "text": "x" * 5000}), "too_large"),
    (json.dumps({"type": "message", "text": "x" * 20000}), "too_large"),
    (json.dumps({"type": "message", "text": "hi", "extra": 1}), "bad_frame"),
    (json.dumps({"type": "hello", "token": "again"}), "bad_frame"),
]


def test_R19_R2_bad_customer_frames_get_errors_and_the_chat_goes_on(
    server: ServerProcess,
) -> None:
    async def scenario() -> None:
        customer, chat_id, _ = await Client.customer(server, server.id("demo-support"))
        await customer.state(chat_id, lambda c: c["choices"] is not None)
        before = len(customer.events(chat_id))
        for raw, code in BAD_FRAMES:
            count = len(customer.frames)
            await customer.ws.send(raw)
            error = await customer.wait_for(lambda f: f["type"] == "error", after=count)
            assert error["code"] == code, (raw[:40], error)
        await customer.ws.send(b"\x00binary")
        error = await customer.wait_for(lambda f: f.get("message", "").startswith("send JSON"))
        assert error["code"] == "bad_frame"
        assert len(customer.events(chat_id)) == before  # nothing was stored
        assert await customer.ok({"type": "message", "text": "Billing"}) > 0

    run(scenario)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "pause", "chat_id": "nope"}, "not_found"),
        ({"type": "start_recording", "chat_id": "x"}, "bad_frame"),  # R2
        ({"type": "transfer", "chat_id": "x"}, "not_found"),
        ({"type": "presence", "available": "maybe"}, "bad_frame"),
    ],
)
def test_R19_R2_bad_staff_frames(
    server: ServerProcess, frame: dict[str, object], code: str
) -> None:
    async def scenario() -> None:
        alice = await Client.staff(server, "alice")
        answer = await alice.send(frame)
        assert answer["type"] == "error"
        assert answer["code"] == code
        await alice.ok({"type": "presence", "available": True})

    run(scenario)


def test_R19_a_connection_that_never_says_hello_is_refused(server: ServerProcess) -> None:
    async def scenario() -> None:
        staff = await Client.open(f"{server.ws_url}/ws/staff", {"token": "forged"})
        assert staff.frames[-1]["code"] == "unauthenticated"

    run(scenario)


def test_R18_compression_offered_by_a_client_is_not_negotiated(server: ServerProcess) -> None:
    """A customer's text compressed with what else the connection carries leaks by length."""

    async def scenario() -> None:
        url = server.url.replace("http", "ws", 1) + "/ws/customer"
        async with connect(url, compression="deflate") as ws:  # offers permessage-deflate
            assert ws.response is not None
            assert "Sec-WebSocket-Extensions" not in ws.response.headers
            assert ws.protocol.extensions == []

    run(scenario)


@contextmanager
def table_away(database_url: str, table: str) -> Iterator[None]:
    """The database fails every statement on ``table`` until the block ends: renamed away
    behind the running server's back, then put back."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
        yield
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))
        engine.dispose()


def test_R19_a_database_failure_answers_a_retryable_error_and_keeps_the_socket(
    fresh_server: ServerProcess, database_url: str
) -> None:
    server = fresh_server  # its database fails: no other test's server

    async def scenario() -> None:
        customer, chat_id, token = await Client.customer(server, "demo-support")
        await customer.state(chat_id, lambda c: c["choices"] is not None)
        with table_away(database_url, "chat_events"):
            failed = await customer.send({"type": "message", "text": "Billing"})
            assert failed["type"] == "error", failed
            assert failed["code"] == "store_unavailable"
            assert failed["retryable"] is True
        with table_away(database_url, "chats"):
            refused = await Client.open(f"{server.ws_url}/ws/customer", {"token": token})
            assert refused.frames[-1]["code"] == "store_unavailable"
            await refused.ws.wait_closed()
            assert refused.ws.close_code == 1013  # try again later
        # The same socket goes on, and the flow takes the answer it could not store, once.
        assert await customer.ok({"type": "message", "text": "Billing"}) > 0
        await customer.state(chat_id, lambda c: c["status"] == "queued")
        texts = customer.texts(chat_id)
        assert texts.count("Billing") == 1
        assert not any(t.startswith("Please answer") for t in texts), texts

    run(scenario)
