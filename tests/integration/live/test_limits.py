"""What anonymous callers may take of a server, against a real one (R18, R19).

One ``chatrec demo`` serves the module, with small limits so that reaching them is quick.
Each test calls from loopback addresses of its own (127.0.0.0/8 is all this host's), so
the limits per client address of one test never meet another's, and ends the chats it
starts, so the company's open chats are only the test's own.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from collections.abc import Iterator

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.integration.clients import TIMEOUT, Client, run
from tests.integration.server import SeededDemo, ServerProcess

STARTS_PER_MINUTE = 4
OPEN_CHATS = 6
CHAT_EVENTS = 40
CHAT_BYTES = 6000
PER_ADDRESS = 4
UPLOADS_PER_MINUTE = 2
BODY_LIMIT = 65_536  # the default
_addresses = (f"127.0.{n // 250 + 1}.{n % 250 + 2}" for n in itertools.count())


def address() -> str:
    """A loopback address no other call of the module has used."""
    return next(_addresses)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, seeded_demo: SeededDemo
) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("limits")
    process = ServerProcess(
        folder / "data",
        seeded_demo.copy_to(folder / "data", folder / "chatrec.db"),
        env={
            "CHATREC_CHAT_STARTS_PER_MINUTE": str(STARTS_PER_MINUTE),
            "CHATREC_MAX_OPEN_CHATS_PER_COMPANY": str(OPEN_CHATS),
            "CHATREC_MAX_CHAT_EVENTS": str(CHAT_EVENTS),
            "CHATREC_MAX_CHAT_BYTES": str(CHAT_BYTES),
            "CHATREC_MAX_CONNECTIONS_PER_ADDRESS": str(PER_ADDRESS),
            "CHATREC_CUSTOMER_UPLOADS_PER_MINUTE": str(UPLOADS_PER_MINUTE),
            "CHATREC_CHAT_TOKEN_GRACE_SECONDS": "0",
        },
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


def start_chat(server: ServerProcess, source: str) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, base_url=server.url, timeout=TIMEOUT) as http:
        return http.post("/api/chats", json={"service_id": "demo-support"})


async def open_socket(server: ServerProcess, source: str | None = None) -> Client:
    """A customer socket from ``source`` (a fresh address if left out), before hello."""
    ws = await connect(
        f"{server.ws_url}/ws/customer", open_timeout=TIMEOUT, local_addr=(source or address(), 0)
    )
    return Client(ws)


async def hello(server: ServerProcess, token: str) -> Client:
    client = await open_socket(server)
    await client.ws.send(json.dumps({"type": "hello", "token": token}))
    await client.wait_for(lambda f: f["type"] in {"welcome", "error"})
    return client


async def end_chats(server: ServerProcess, tokens: list[str]) -> None:
    for token in tokens:
        client = await hello(server, token)
        await client.ok({"type": "end"})
        await client.close()


def closed_with(client: Client) -> int | None:
    return client.ws.close_code


# -- chat starts -----------------------------------------------------------------------


def test_R19_chat_starts_per_address_are_limited_with_retry_after(server: ServerProcess) -> None:
    source = address()
    started = [start_chat(server, source) for _ in range(STARTS_PER_MINUTE)]
    assert [r.status_code for r in started] == [201] * STARTS_PER_MINUTE
    refused = start_chat(server, source)
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) >= 1
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["message"].startswith("too many chats started from your address")
    other = start_chat(server, address())  # another address is not held
    assert other.status_code == 201
    run(lambda: end_chats(server, [r.json()["token"] for r in [*started, other]]))


def test_R19_R23_files_a_customer_sends_per_address_are_limited_with_retry_after(
    server: ServerProcess,
) -> None:
    """Each may be as large as the company takes: without a limit one address could fill
    the store through chat after chat."""
    source = address()
    token = start_chat(server, source).json()["token"]

    def send(source: str, name: str) -> httpx.Response:
        transport = httpx.HTTPTransport(local_address=source)
        with httpx.Client(transport=transport, base_url=server.url, timeout=TIMEOUT) as http:
            return http.post(
                "/api/widget/attachments",
                params={"name": name},
                content=b"a note of the customer's\n",
                headers={"X-Chat-Token": token},
            )

    sent = [send(source, f"note-{n}.txt") for n in range(UPLOADS_PER_MINUTE)]
    assert [r.status_code for r in sent] == [201] * UPLOADS_PER_MINUTE, sent[-1].text
    refused = send(source, "one-too-many.txt")
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["message"].startswith("too many files sent from your address")
    assert send(address(), "from-elsewhere.txt").status_code == 201  # per address
    run(lambda: end_chats(server, [token]))


def test_R19_a_company_has_so_many_open_chats_then_429_until_one_ends(
    server: ServerProcess,
) -> None:
    tokens: list[str] = []
    try:
        for _ in range(OPEN_CHATS + 1):
            answer = start_chat(server, address())
            if answer.status_code != 201:
                break
            tokens.append(answer.json()["token"])
        assert answer.status_code == 429, answer.text
        assert answer.headers["retry-after"] == "30"
        assert answer.json()["error"]["message"].startswith(
            f"this company has as many chats open as it may ({OPEN_CHATS})"
        )
        assert len(tokens) == OPEN_CHATS
        run(lambda: end_chats(server, tokens[:1]))
        del tokens[:1]
        again = start_chat(server, address())
        assert again.status_code == 201, again.text
        tokens.append(again.json()["token"])
    finally:
        run(lambda: end_chats(server, tokens))


# -- one chat's sockets and what a chat may hold ------------------------------------------


def test_R19_a_new_customer_socket_closes_the_one_before(server: ServerProcess) -> None:
    token = start_chat(server, address()).json()["token"]

    async def scenario() -> None:
        first = await hello(server, token)
        second = await hello(server, token)
        replaced = await first.wait_for(lambda f: f["type"] == "error")
        assert replaced["code"] == "replaced"
        await first.ws.wait_closed()
        assert closed_with(first) == 4410
        with pytest.raises(ConnectionClosed):
            await first.ws.send(json.dumps({"type": "message", "text": "Billing"}))
        assert await second.ok({"type": "message", "text": "Billing"}) > 0
        await second.ok({"type": "end"})

    run(scenario)


@pytest.mark.parametrize(
    ("text", "limit"),
    [("x" * 2000, f"{CHAT_BYTES} bytes of messages"), ("hi", f"{CHAT_EVENTS} events")],
    ids=["bytes", "events"],
)
def test_R19_a_chat_holds_so_many_events_and_bytes_then_refuses_storing_nothing(
    server: ServerProcess, text: str, limit: str
) -> None:
    started = start_chat(server, address()).json()

    async def scenario() -> None:
        customer = await hello(server, started["token"])
        accepted = 0
        for _ in range(CHAT_EVENTS):
            answer = await customer.send({"type": "message", "text": text})
            if answer["type"] == "error":
                break
            accepted += 1
        refusal = f"this chat holds its limit of {limit}; end it and start a new chat"
        assert (answer["code"], answer["message"]) == ("chat_full", refusal)
        assert (await customer.send({"type": "message", "text": text}))["code"] == "chat_full"
        if text == "hi":  # a deletion request is an event too
            assert (await customer.send({"type": "request_deletion"}))["code"] == "chat_full"
        # Read before the end: an ended chat's message text is purged once delivered (R17).
        journal = httpx.get(
            f"{server.url}/api/chats/{started['chat_id']}/journal",
            headers={"Authorization": f"Bearer {server.token('sam')}"},
        ).json()["events"]
        assert sum(e.get("text") == text for e in journal) == accepted  # no refused one
        ended = await customer.ok({"type": "end"})  # a full chat still ends
        assert ended == len(journal) + 1  # nothing was stored between

    run(scenario)


# -- connections ----------------------------------------------------------------------


def test_R19_one_address_holds_so_many_sockets_then_is_refused_cleanly(
    server: ServerProcess,
) -> None:
    source = address()

    async def scenario() -> None:
        held = [await open_socket(server, source) for _ in range(PER_ADDRESS)]
        refused = await open_socket(server, source)
        error = await refused.wait_for(lambda f: f["type"] == "error")
        assert error["code"] == "too_many_connections"
        assert error["retryable"] is True
        assert error["message"].startswith(
            f"your address holds as many connections as it may ({PER_ADDRESS})"
        )
        await refused.ws.wait_closed()
        assert closed_with(refused) == 1013
        other = await open_socket(server)  # another address is not held
        await other.ws.send(json.dumps({"type": "hello"}))
        assert (await other.wait_for(lambda f: f["type"] == "error"))["code"] == "unauthenticated"
        await held[0].close()
        async with asyncio.timeout(TIMEOUT):
            while True:  # the server counts the closed socket out once its handler ends
                admitted = await open_socket(server, source)
                try:
                    await admitted.ws.send(json.dumps({"type": "hello"}))
                except ConnectionClosed:  # still refused, and closed before the hello went
                    assert closed_with(admitted) == 1013
                    await asyncio.sleep(0.05)
                    continue
                answer = await admitted.wait_for(lambda f: f["type"] == "error")
                if answer["code"] != "too_many_connections":
                    break
                await asyncio.sleep(0.05)
        assert answer["code"] == "unauthenticated"

    run(scenario)


# -- bodies ---------------------------------------------------------------------------


def raw_request(server: ServerProcess, head: str, body: bytes) -> tuple[int, dict[str, str]]:
    """Send a request's head and part of a body, never the rest: the server must answer
    before it has read everything (else the read times out and the test fails)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(head.encode() + body)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    payload = rest.split(b"\r\n\r\n", 1)[1]
    return int(status_line.split()[1]), json.loads(payload)["error"]


HEAD = "POST /api/chats HTTP/1.1\r\nHost: chatrec\r\nContent-Type: application/json\r\n"


@pytest.mark.parametrize(
    ("head", "body"),
    [
        # A declared length over the limit: refused before a byte of the body is sent.
        (f"{HEAD}Content-Length: 200000000\r\n\r\n", b""),
        # No length: counted as it comes, refused once past the limit, never finished.
        (
            f"{HEAD}Transfer-Encoding: chunked\r\n\r\n",
            f"{BODY_LIMIT + 1:x}\r\n".encode() + b"x" * (BODY_LIMIT + 1) + b"\r\n",
        ),
    ],
    ids=["content-length", "chunked"],
)
def test_R19_a_body_over_the_limit_is_refused_before_it_is_read(
    server: ServerProcess, head: str, body: bytes
) -> None:
    status, error = raw_request(server, head, body)
    assert status == 413
    assert error == {
        "code": "too_large",
        "message": f"the request body is larger than this endpoint takes ({BODY_LIMIT} bytes); "
        "send less",
    }


def test_R19_the_flow_editor_takes_bodies_larger_than_the_default(server: ServerProcess) -> None:
    source = "name: big\n" + "# a long comment line of the flow\n" * 2500
    assert len(source.encode()) > BODY_LIMIT
    answer = httpx.post(
        f"{server.url}/api/admin/flows/check",
        json={"source": source},
        headers={"Authorization": f"Bearer {server.token('ada')}"},
    )
    assert answer.status_code == 200, answer.text


# -- the chat token ends with the chat (finding 8) ------------------------------------


def test_R18_a_chat_token_opens_nothing_once_its_chat_ended_and_the_grace_passed(
    server: ServerProcess,
) -> None:
    token = start_chat(server, address()).json()["token"]

    async def scenario() -> None:
        customer = await hello(server, token)
        await customer.ok({"type": "message", "text": "Billing"})
        await customer.ok({"type": "end"})
        await customer.close()
        again = await hello(server, token)
        error = again.frames[-1]
        assert error["type"] == "error", again.frames  # no welcome, nothing replayed
        assert error["code"] == "unauthenticated"
        assert "its link has expired; start a new chat" in error["message"]
        assert [f for f in again.frames if f["type"] == "event"] == []
        await again.ws.wait_closed()
        assert closed_with(again) == 4401

    run(scenario)
