"""Real WebSocket clients of the public protocol (docs/protocol.md), for tests.

A :class:`Client` is ``chatrec simulate``'s :class:`~chatrec.simulate.client.Link` that
keeps every frame it receives, answers included, for tests to wait on and inspect;
requests may overlap, and only a ``ref`` matches an answer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import ClassVar, Protocol

import httpx
from websockets.asyncio.client import ClientConnection, connect

from chatrec.simulate.client import Frame, Link

TIMEOUT = 10.0


class Served(Protocol):
    """Where a server answers: any of the below, or an in-process server."""

    @property
    def url(self) -> str: ...

    @property
    def ws_url(self) -> str: ...


class Reachable(Served, Protocol):
    """What a client needs of a server: a :class:`tests.integration.server.ServerProcess`,
    or one node or the load balancer of :mod:`tests.cluster`."""

    def id(self, demo_id: str) -> str: ...

    def token(self, login: str) -> str: ...


class Client:
    """One connection; keeps every frame received, in order."""

    opened: ClassVar[list[Client]] = []

    def __init__(self, ws: ClientConnection) -> None:
        Client.opened.append(self)
        self.ws = ws
        self.token: str | None = None
        self.frames: list[Frame] = []
        self._new = asyncio.Event()
        self.link = Link(
            ws, self._keep, timeout=TIMEOUT, serial=False, keep_answers=True, ref_prefix="r"
        )

    def _keep(self, frame: Frame) -> None:
        self.frames.append(frame)
        self._new.set()

    @classmethod
    async def open(cls, url: str, hello: Frame) -> Client:
        client = cls(await connect(url, open_timeout=TIMEOUT))
        await client.ws.send(json.dumps({"type": "hello", **hello}))
        await client.wait_for(lambda f: f["type"] in {"welcome", "error"})
        return client

    @classmethod
    async def customer(
        cls, server: Served, service_id: str, **start: object
    ) -> tuple[Client, str, str]:
        """A customer's chat, started with ``start`` (pre-chat ``details``, ``page``) too."""
        # As long as for any frame: httpx's own 5 s ran out first under 200 chats on 3 nodes.
        async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
            response = await http.post("/api/chats", json={"service_id": service_id, **start})
        response.raise_for_status()
        body = response.json()
        client = await cls.open(f"{server.ws_url}/ws/customer", {"token": body["token"]})
        client.token = body["token"]
        return client, body["chat_id"], body["token"]

    @classmethod
    async def staff(cls, server: Reachable, login: str, **hello: object) -> Client:
        """A staff connection of ``login``; ``hello`` adds to its hello (``seen``)."""
        token = await asyncio.to_thread(server.token, login)
        return await cls.open(f"{server.ws_url}/ws/staff", {"token": token, **hello})

    async def wait_for(
        self, predicate: Callable[[Frame], bool], timeout: float = TIMEOUT, *, after: int = 0
    ) -> Frame:
        """The first frame from index ``after`` on (received or to come) that matches."""
        seen = after
        async with asyncio.timeout(timeout):
            while True:
                for frame in self.frames[seen:]:
                    if predicate(frame):
                        return frame
                seen = len(self.frames)
                self._new.clear()
                await self._new.wait()

    async def send(self, frame: Frame) -> Frame:
        """Send a frame and return its ``ack`` or ``error`` (a ``TimeoutError`` if neither
        comes in time)."""
        return await self.link.send(frame)

    async def ok(self, frame: Frame) -> int:
        answer = await self.send(frame)
        assert answer["type"] == "ack", answer
        seq: int = answer["seq"]
        return seq

    def events(self, chat_id: str | None = None) -> list[Frame]:
        return [
            f["event"]
            for f in self.frames
            if f["type"] == "event" and (chat_id is None or f["chat_id"] == chat_id)
        ]

    def texts(self, chat_id: str | None = None) -> list[str]:
        return [e["text"] for e in self.events(chat_id) if e["type"] == "message"]

    async def event(self, chat_id: str, predicate: Callable[[Frame], bool]) -> Frame:
        frame = await self.wait_for(
            lambda f: f["type"] == "event" and f["chat_id"] == chat_id and predicate(f["event"])
        )
        return frame["event"]

    async def state(self, chat_id: str, predicate: Callable[[Frame], bool]) -> Frame:
        frame = await self.wait_for(
            lambda f: (
                f["type"] == "chat" and f["chat"]["chat_id"] == chat_id and predicate(f["chat"])
            )
        )
        return frame["chat"]

    async def close(self) -> None:
        await self.link.close()

    @classmethod
    async def close_all(cls) -> None:
        while cls.opened:
            await cls.opened.pop().close()


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run an async scenario and close every client it opened, whatever happens."""

    async def main() -> None:
        try:
            await scenario()
        finally:
            await Client.close_all()

    asyncio.run(main())
