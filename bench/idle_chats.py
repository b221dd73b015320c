"""Held-open chats for the concurrency benchmark, and the bare server it compares against.

The bare server is what holding a WebSocket costs on chatrec's own stack: the same
uvicorn settings as ``chatrec serve`` (``chatrec.cli.main._serve``), a Starlette WebSocket
route, the same hello / welcome / ack framing in JSON, and nothing else: no store, no
flow, no chat.  Run it with ``python -m bench.idle_chats serve PORT``.

The idle connections are held by ``python -m bench.idle_chats hold``, several processes
per server, each from a loopback address of its own (``127.0.0.2``, ``127.0.0.3``, ...):
a process's file-descriptor limit (20,000 where the hard limit is that) then covers its
share of one server's 50,000 sockets, and the ephemeral ports of one source address
(about 28,000 towards one server) its share of the connections.  Each opens them many
at a time (a semaphore bounds the handshakes in flight, so no accept backlog
overflows) and keeps them without reading: an idle chat's few greeting frames sit in
its buffer, and the client library still answers the server's keepalive pings.  The
clients are ``chatrec simulate``'s (:mod:`chatrec.simulate.client`), on sockets without
a reader.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect

from bench.common import raise_open_files
from chatrec.simulate.client import ask, say_hello

SERVICE_ID = "demo-support"
OPEN_TIMEOUT = 60.0
_refs = itertools.count(1)

Opener = Callable[[], Awaitable[ClientConnection]]


# -- the bare server ------------------------------------------------------------------


async def _bare_customer(websocket: WebSocket) -> None:
    """Hello, welcome, then an ack for every frame: chatrec's framing, without chatrec."""
    await websocket.accept()
    try:
        hello = json.loads(await websocket.receive_text())
        await websocket.send_text(json.dumps({"type": "welcome", "role": "customer"}))
        await websocket.send_text(json.dumps({"type": "chat", "chat": {"token": hello["token"]}}))
        while True:
            frame = json.loads(await websocket.receive_text())
            await websocket.send_text(json.dumps({"type": "ack", "ref": frame.get("ref")}))
    except WebSocketDisconnect:
        pass


bare_app = Starlette(routes=[WebSocketRoute("/ws/customer", _bare_customer)])


def serve_bare(port: int) -> None:
    """Serve :data:`bare_app` as ``chatrec.cli.main._serve`` serves chatrec."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(
            bare_app,
            host="127.0.0.1",
            port=port,
            ws_max_size=65536,
            ws_per_message_deflate=False,
            log_level="info",
        )
    )
    asyncio.run(server.serve())


# -- the clients ----------------------------------------------------------------------


async def _hello(
    url: str, token: str, *, keepalive: bool, source: str | None = None
) -> ClientConnection:
    """Connect (from the loopback address ``source``, if given) and say hello; return
    once the welcome came (or the hello was refused)."""
    ws = await connect(
        url,
        open_timeout=OPEN_TIMEOUT,
        ping_interval=20 if keepalive else None,
        max_queue=64,
        compression=None,
        proxy=None,
        local_addr=(source, 0) if source else None,
    )
    frame = await say_hello(ws, {"token": token})
    if frame["type"] == "error":
        await ws.close()
        raise RuntimeError(f"hello refused: {frame}")
    return ws


class ChatStarter:
    """``POST /api/chats`` over kept-alive HTTP/1.1 connections, one request on each at a time.

    Written out by hand because httpx's connection pool spends more CPU choosing a
    connection than the server spends starting the chat, at thousands of chats.
    """

    def __init__(self, host: str, port: int, source: str | None = None) -> None:
        self.host, self.port = host, port
        self.local_addr = (source, 0) if source else None
        body = json.dumps({"service_id": SERVICE_ID}).encode()
        self.request = (
            f"POST /api/chats HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def token(self) -> str:
        """Start a chat; its customer token.  A kept-alive connection the server has
        since closed (uvicorn closes them after 5 s idle) is replaced once."""
        for fresh in (False, True):
            if self.idle and not fresh:
                reader, writer = self.idle.pop()
            else:
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, local_addr=self.local_addr
                )
            try:
                token, keep = await self._post(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                writer.close()
                if fresh:
                    raise
                continue
            if keep:
                self.idle.append((reader, writer))
            else:
                writer.close()
            return token
        raise AssertionError("unreachable")

    async def _post(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[str, bool]:
        writer.write(self.request)
        status = await reader.readline()
        if not status:
            raise ConnectionResetError("the server closed the connection")
        length, keep = 0, True
        while (line := await reader.readline()) not in {b"\r\n", b""}:
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                keep = False
        body = await reader.readexactly(length)
        if status.split()[1] != b"201":
            raise RuntimeError(f"POST /api/chats: {status.decode().strip()} {body.decode()}")
        token: str = json.loads(body)["token"]
        return token, keep

    def close(self) -> None:
        while self.idle:
            self.idle.pop()[1].close()


def chat_opener(
    starter: ChatStarter, ws_url: str, *, keepalive: bool = False, source: str | None = None
) -> Opener:
    """A customer as the widget is one: ``POST /api/chats``, then hello on its socket."""

    async def open_chat() -> ClientConnection:
        token = await starter.token()
        url = f"{ws_url}/ws/customer"
        return await _hello(url, token, keepalive=keepalive, source=source)

    return open_chat


def bare_opener(ws_url: str, *, keepalive: bool = False, source: str | None = None) -> Opener:
    async def open_bare() -> ClientConnection:
        token = f"t{next(_refs)}"
        return await _hello(f"{ws_url}/ws/customer", token, keepalive=keepalive, source=source)

    return open_bare


async def open_many(opener: Opener, count: int, in_flight: int) -> list[ClientConnection]:
    """Open ``count`` connections, at most ``in_flight`` handshakes at a time.

    If any fails, the others are still waited for and aborted before the first error
    is raised, so that no connection is left open unaccounted for.
    """
    gate = asyncio.Semaphore(in_flight)

    async def one() -> ClientConnection:
        async with gate:
            return await opener()

    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    opened = [ws for ws in results if isinstance(ws, ClientConnection)]
    errors = [error for error in results if isinstance(error, BaseException)]
    if errors:
        drop_all(opened)
        raise errors[0]
    return opened


def drop_all(connections: list[ClientConnection]) -> None:
    """Abort the connections at once: a closing handshake each would only cost time."""
    for ws in connections:
        ws.transport.abort()


async def hold(kind: str, port: int, in_flight: int, source: str) -> None:
    """Hold idle connections to one server from the address ``source``, as many as each
    line of stdin asks for.

    Answers each line with ``ok <seconds>`` once that many are open, or ``error
    <reason>``; ends, aborting them all, at the end of stdin.  It runs in a process of
    its own, so that its file-descriptor limit and its source address's ephemeral ports
    cover its share of one server's connections, not all of them.
    """
    raise_open_files()
    ws_url = f"ws://127.0.0.1:{port}"
    starter = ChatStarter("127.0.0.1", port, source) if kind == "chatrec" else None
    if starter:
        opener = chat_opener(starter, ws_url, source=source)
    else:
        opener = bare_opener(ws_url, source=source)
    held: list[ClientConnection] = []
    loop = asyncio.get_running_loop()
    try:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            started = time.perf_counter()
            try:
                held += await open_many(opener, int(line) - len(held), in_flight)
            except Exception as error:  # any reason to stop is reported, not raised
                print(f"error {len(held)} held; then {error!r}", flush=True)
            else:
                print(f"ok {time.perf_counter() - started:.3f}", flush=True)
    finally:
        if starter:
            starter.close()
        drop_all(held)


async def round_trip(ws: ClientConnection, frame: dict[str, object]) -> float:
    """Seconds from sending a frame to its ``ack`` (or ``error``), other frames skipped."""
    started = time.perf_counter()
    answer = await ask(ws, frame, f"b{next(_refs)}")
    if answer["type"] == "error":
        raise RuntimeError(f"frame refused: {answer}")
    return time.perf_counter() - started


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["serve", port]:
            serve_bare(int(port))
        case ["hold", kind, port, in_flight, source]:
            asyncio.run(hold(kind, int(port), int(in_flight), source))
        case _:
            sys.exit(
                "usage: python -m bench.idle_chats serve PORT | hold chatrec|bare PORT N SOURCE"
            )
