"""A client of the public protocol (docs/protocol.md): what ``chatrec simulate``, the
benchmarks and the tests that talk to a real server all use.

:class:`Link` is one WebSocket: a reader hands every frame on, and requests are
answered by ``ref``.  :func:`open_link` connects and says hello; :func:`post` is the
HTTP half.  :func:`say_hello` and :func:`ask` are the same exchanges on a socket with
no reader, for connections that are held open and never read otherwise (a benchmark's
thousands of idle chats).  :class:`ChatView` is one chat as one client has seen it.

It never raises for what the server does: a refusal, a silence, a lost connection
each become a :class:`ClientError` with a code, which the load run counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from chatrec.domain.journal import STAFF_CHAT_ROLES

Frame = dict[str, Any]
ANSWERS = frozenset({"ack", "error"})


class ClientError(Exception):
    """Something the client could not get past; ``code`` is what a load run counts.

    Server error frames keep their own code (``conflict``, ``rate_limited``, ...); the
    client's own are ``timeout``, ``connection_failed``, ``connection_lost``,
    ``http_failed``, ``http_<status>``, ``bad_server_frame`` and ``unexpected_answer``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ClientTimeoutError(ClientError, TimeoutError):
    """No answer in time: a :class:`ClientError` coded ``timeout``, and a ``TimeoutError``
    for callers (tests) that wait on the server rather than count its failures."""

    def __init__(self, message: str) -> None:
        super().__init__("timeout", message)


class Tally:
    """What a :class:`Link` reports as it goes; a load run counts it, others ignore it."""

    def sending(self, frame: Frame) -> None:
        """A request's frame is about to leave."""

    def acked(self, frame: Frame, seconds: float) -> None:
        """The server acked ``frame``, ``seconds`` after it left."""

    def stray_error(self, frame: Frame) -> None:
        """An ``error`` frame that answers no request in flight."""

    def unreadable(self) -> None:
        """A frame that is not the protocol (not JSON, a missing field, a wrong type)."""


@dataclass(slots=True)
class Sent:
    """A frame sent by request: the caller's number for it and when it left."""

    k: int
    at: float = 0.0


class Pacer:
    """Spaces a connection's frames to stay under the server's per-connection rate."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1 / per_second
        self.next_at = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        if self.next_at > now:
            await asyncio.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval


class Link:
    """One WebSocket: a reader that hands every frame on, and requests answered by ref.

    ``serial`` (a load run's way): requests go one at a time, paced to
    ``frames_per_second``, so that an ``error`` the server sends without a ``ref`` (a
    frame refused before it was parsed) still belongs to the request in flight.
    Otherwise (a test's way) requests may overlap and only a ``ref`` matches.

    ``keep_answers``: the ``ack`` or ``error`` that answers a request is handed on too
    (before the request returns), for a caller that keeps every frame it received.
    """

    def __init__(
        self,
        ws: ClientConnection,
        on_frame: Callable[[Frame], None],
        *,
        timeout: float,
        frames_per_second: float | None = None,
        serial: bool = True,
        keep_answers: bool = False,
        tally: Tally | None = None,
        ref_prefix: str = "s",
    ) -> None:
        self.ws = ws
        self.on_frame = on_frame
        self.timeout = timeout
        self.pacer = Pacer(frames_per_second) if frames_per_second else None
        self.serial = serial
        self.keep_answers = keep_answers
        self.tally = tally or Tally()
        self.ref_prefix = ref_prefix
        self.refs = itertools.count(1)
        self.pending: dict[str, asyncio.Future[Frame]] = {}
        self.turn = asyncio.Lock() if serial else contextlib.nullcontext()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                try:
                    self._take(json.loads(raw))
                except (ValueError, KeyError, TypeError, AttributeError):
                    self.tally.unreadable()
        except ConnectionClosed:
            pass
        finally:
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(ClientError("connection_lost", "connection closed"))

    def _take(self, frame: Frame) -> None:
        if frame.get("type") in ANSWERS:
            ref = frame.get("ref")
            if ref is None and self.serial and len(self.pending) == 1:
                ref = next(iter(self.pending))
            future = self.pending.pop(ref, None) if ref is not None else None
            if future is not None and not future.done():
                if self.keep_answers:
                    self.on_frame(frame)
                future.set_result(frame)
                return
            if frame["type"] == "error":
                self.tally.stray_error(frame)
        self.on_frame(frame)

    async def _exchange(self, frame: Frame, sent: Sent | None) -> tuple[Frame, float]:
        """Send ``frame`` under a fresh ref; its answer and the moment it left."""
        async with self.turn:
            if self.pacer is not None:
                await self.pacer.wait()
            ref = f"{self.ref_prefix}{next(self.refs)}"
            future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
            self.pending[ref] = future
            self.tally.sending(frame)
            sent_at = time.monotonic()
            if sent is not None:
                sent.at = sent_at
            try:
                await self.ws.send(json.dumps({**frame, "ref": ref}))
                answer = await asyncio.wait_for(future, self.timeout)
            except ConnectionClosed:
                raise ClientError("connection_lost", "connection closed") from None
            except TimeoutError:
                raise ClientTimeoutError(f"no answer to {frame['type']}") from None
            finally:
                self.pending.pop(ref, None)
        return answer, sent_at

    async def send(self, frame: Frame, sent: Sent | None = None) -> Frame:
        """Send a frame and return its answer, ``ack`` or ``error``."""
        answer, _ = await self._exchange(frame, sent)
        return answer

    async def request(self, frame: Frame, sent: Sent | None = None) -> Frame:
        """Send a frame and return its ``ack``; an ``error`` frame is raised with its code.

        ``sent`` is stamped with the moment the frame leaves, after any pacing.
        """
        answer, sent_at = await self._exchange(frame, sent)
        if answer["type"] == "error":
            raise ClientError(str(answer.get("code")), str(answer.get("message")))
        self.tally.acked(frame, time.monotonic() - sent_at)
        return answer

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        with contextlib.suppress(Exception):
            await self.reader


async def open_link(
    url: str,
    token: str,
    on_frame: Callable[[Frame], None],
    *,
    timeout: float,
    frames_per_second: float | None = None,
    tally: Tally | None = None,
) -> tuple[Link, Frame]:
    """Connect and say hello; returns the (serial) link and the ``welcome`` frame."""
    try:
        ws = await connect(url, open_timeout=timeout)
    except (OSError, InvalidHandshake, TimeoutError) as error:
        raise ClientError("connection_failed", f"{url}: {error}") from None
    welcomed: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()

    def first(frame: Frame) -> None:
        if not welcomed.done() and frame.get("type") in {"welcome", "error"}:
            welcomed.set_result(frame)
        else:
            on_frame(frame)

    link = Link(ws, first, timeout=timeout, frames_per_second=frames_per_second, tally=tally)
    try:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        welcome = await asyncio.wait_for(welcomed, timeout)
    except (ConnectionClosed, TimeoutError):
        await link.close()
        raise ClientError("connection_lost", f"{url}: no welcome") from None
    if welcome["type"] == "error":
        await link.close()
        raise ClientError(str(welcome.get("code")), str(welcome.get("message")))
    link.on_frame = on_frame
    return link, welcome


async def post(http: httpx.AsyncClient, path: str, body: Frame) -> Frame:
    try:
        response = await http.post(path, json=body)
    except httpx.HTTPError as error:
        raise ClientError("http_failed", f"POST {path}: {error}") from None
    if response.is_error:
        raise ClientError(f"http_{response.status_code}", f"POST {path}: {response.text}")
    found: Frame = response.json()
    return found


# -- a socket without a reader ----------------------------------------------------------


async def say_hello(ws: ClientConnection, hello: Frame) -> Frame:
    """Send ``hello`` and read up to its ``welcome`` or ``error``, which is returned."""
    await ws.send(json.dumps({"type": "hello", **hello}))
    while (frame := json.loads(await ws.recv()))["type"] not in {"welcome", "error"}:
        pass
    found: Frame = frame
    return found


async def ask(ws: ClientConnection, frame: Frame, ref: str) -> Frame:
    """Send ``frame`` as ``ref`` and read up to its ``ack`` or ``error``, skipping others."""
    await ws.send(json.dumps({**frame, "ref": ref}))
    while True:
        answer: Frame = json.loads(await ws.recv())
        if answer.get("ref") == ref and answer["type"] in ANSWERS:
            return answer


# -- what a client has seen of a chat ---------------------------------------------------


@dataclass
class ChatView:
    """The events and latest summary of one chat, as one client received them."""

    events: dict[int, Frame] = field(default_factory=dict)
    summary: Frame = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def take(self, frame: Frame) -> None:
        if frame["type"] == "event":
            self.events[frame["seq"]] = frame["event"]
        elif frame["type"] == "chat":
            self.summary = frame["chat"]
        self.changed.set()

    def ordered(self) -> list[tuple[int, Frame]]:
        return sorted(self.events.items())

    def of_type(self, kind: str) -> list[tuple[int, Frame]]:
        return [(seq, event) for seq, event in self.ordered() if event["type"] == kind]

    def last(self, *kinds: str) -> str | None:
        found = [event["type"] for _, event in self.ordered() if event["type"] in kinds]
        return found[-1] if found else None

    @property
    def status(self) -> str | None:
        status: str | None = self.summary.get("status")
        return status

    @property
    def ended(self) -> bool:
        return self.status == "ended" or bool(self.of_type("ended"))

    @property
    def paused(self) -> bool:
        return self.last("paused", "resumed") == "paused"

    def answered(self, seq: int) -> bool:
        """Whether staff wrote after event ``seq`` (or the chat ended: no answer to come)."""
        return self.ended or any(
            s > seq and e["type"] == "message" and e["by"]["role"] in STAFF_CHAT_ROLES
            for s, e in self.ordered()
        )

    def summary_reached(self, seq: int) -> bool:
        last: int = self.summary.get("last_seq", 0)
        return last >= seq

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait for frames until ``condition`` holds; the caller's deadline bounds the wait."""
        while not condition():
            self.changed.clear()
            await self.changed.wait()
