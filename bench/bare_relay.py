"""The bare relay: the limit chatrec's relay is measured against (issue 6 §1).

The same stack as ``chatrec serve`` (FastAPI on uvicorn, started the same way, with
the same WebSocket size limit and log level) and the same frames of
``docs/protocol.md`` that ``chatrec simulate`` speaks: log in, start a chat, hello and
welcome, presence, ``message`` answered by an ``ack`` and an ``event`` plus a ``chat``
summary to both sides, ``end``.  What it leaves out is what chatrec is for: no flow,
no recording, no checks of tokens, permissions or rates.  Chats go to the Available
agent holding the fewest, up to ``CAPACITY`` each.

With ``--database PATH`` it is *durable* (issue 13's baseline for ``relay``): every event
is a plain insert into an SQLite journal there, committed before the event goes out and
the sender is acknowledged, with chatrec's pragmas (WAL, ``synchronous=NORMAL``).
Without it nothing is written.

Run it as ``python -m bench.bare_relay --port P [--database PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import secrets
import sqlite3
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

CAPACITY = 50

Frame = dict[str, Any]


class Peer:
    """One WebSocket and its writer, fed by a queue as chatrec's connections are."""

    def __init__(self, websocket: WebSocket) -> None:
        self.ws = websocket
        self.outbox: asyncio.Queue[Frame | None] = asyncio.Queue()

    def send(self, frame: Frame) -> None:
        self.outbox.put_nowait(frame)

    async def write(self) -> None:
        while (frame := await self.outbox.get()) is not None:
            await self.ws.send_text(json.dumps(frame))


@dataclass
class Agent:
    user_id: str
    name: str
    peer: Peer | None = None
    available: bool = False
    chats: set[str] = field(default_factory=set)


@dataclass
class Chat:
    chat_id: str
    customer: Peer | None = None
    agent: Agent | None = None
    last_seq: int = 0
    ended: bool = False

    def summary(self, *, staff: bool) -> Frame:
        if self.ended:
            return {"chat_id": self.chat_id, "status": "ended", "recording": None, "choices": None}
        found: Frame = {
            "chat_id": self.chat_id,
            "status": "active" if self.agent else "queued",
            "recording": "not_recorded",
            "service": "Bare",
            "started_at": datetime.now(UTC).isoformat(),
            "last_seq": self.last_seq,
            "choices": None,
        }
        if staff:
            present = [self.agent] if self.agent else []
            found |= {
                "queue_id": "bare",
                "deletion_requested": False,
                "abusive": False,
                "participants": [
                    {"user_id": a.user_id, "name": a.name, "role": "agent"} for a in present
                ],
                "ever": [a.user_id for a in present],
            }
        return found


class Journal:
    """Events kept as a plain program keeps them: an insert and a commit each."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS events (chat_id TEXT NOT NULL, seq INTEGER NOT NULL, "
            "at TEXT NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (chat_id, seq))"
        )

    def add(self, chat_id: str, seq: int, event: Frame) -> None:
        self.connection.execute(
            "INSERT INTO events (chat_id, seq, at, payload) VALUES (?, ?, ?, ?)",
            (chat_id, seq, event["at"], json.dumps(event)),
        )


class Relay:
    """Every chat and agent in memory; events go to the chat's two peers as they happen."""

    def __init__(self, journal: Journal | None = None) -> None:
        self.journal = journal
        self.chats: dict[str, Chat] = {}
        self.by_token: dict[str, str] = {}
        self.agents: dict[str, Agent] = {}
        self.sessions: dict[str, str] = {}
        self.waiting: deque[str] = deque()
        self.ids = itertools.count(1)

    def publish(self, chat: Chat, event: Frame) -> int:
        chat.last_seq += 1
        event = {"at": datetime.now(UTC).isoformat(), **event}
        if self.journal is not None:
            self.journal.add(chat.chat_id, chat.last_seq, event)
        frame = {"type": "event", "chat_id": chat.chat_id, "seq": chat.last_seq, "event": event}
        for peer, staff in ((chat.customer, False), (chat.agent and chat.agent.peer, True)):
            if peer is not None:
                peer.send(frame)
                peer.send({"type": "chat", "chat": chat.summary(staff=staff)})
        return chat.last_seq

    def route(self) -> None:
        while self.waiting:
            free = [a for a in self.agents.values() if a.available and len(a.chats) < CAPACITY]
            if not free:
                return
            chat = self.chats[self.waiting.popleft()]
            agent = min(free, key=lambda a: len(a.chats))
            agent.chats.add(chat.chat_id)
            chat.agent = agent
            by = {"role": "agent", "name": agent.name, "user_id": agent.user_id}
            self.publish(chat, {"type": "joined", "by": by, "by_transfer": False, "queue": "Bare"})

    def end(self, chat: Chat, by: Frame) -> int:
        seq = self.publish(chat, {"type": "ended", "by": by, "reason": "customer ended"})
        chat.ended = True
        if chat.agent is not None:
            chat.agent.chats.discard(chat.chat_id)
            if chat.agent.peer is not None:
                chat.agent.peer.send({"type": "chat", "chat": chat.summary(staff=True)})
        if chat.customer is not None:
            chat.customer.send({"type": "chat", "chat": chat.summary(staff=False)})
        del self.chats[chat.chat_id]
        self.route()
        return seq


def create_app(database: str | None = None) -> FastAPI:
    app = FastAPI()
    relay = Relay(None if database is None else Journal(database))

    @app.get("/api/health")
    async def health() -> Frame:
        return {"status": "ok"}

    @app.post("/api/login")
    async def login(body: Frame) -> Frame:
        user_id = f"bare-{body['login']}"
        relay.agents.setdefault(user_id, Agent(user_id, str(body["login"])))
        token = secrets.token_urlsafe(24)
        relay.sessions[token] = user_id
        user = {"user_id": user_id, "company_id": "bare", "login": body["login"]}
        return {"token": token, "user": user | {"name": body["login"], "role": "agent"}}

    @app.post("/api/chats", status_code=201)
    async def start_chat(body: Frame) -> Frame:
        chat = Chat(f"bare{next(relay.ids):08d}")
        token = secrets.token_urlsafe(24)
        relay.chats[chat.chat_id] = chat
        relay.by_token[token] = chat.chat_id
        return {"chat_id": chat.chat_id, "token": token, "websocket": "/ws/customer"}

    async def frames(peer: Peer) -> Any:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                yield json.loads(await peer.ws.receive_text())

    @app.websocket("/ws/customer")
    async def customer(websocket: WebSocket) -> None:
        await websocket.accept()
        peer = Peer(websocket)
        writer = asyncio.create_task(peer.write())
        chat: Chat | None = None
        try:
            async for frame in frames(peer):
                ref = frame.get("ref")
                if frame["type"] == "hello":
                    chat = relay.chats[relay.by_token.pop(frame["token"])]
                    chat.customer = peer
                    peer.send({"type": "welcome", "role": "customer", "chat_id": chat.chat_id})
                    by = {"role": "customer", "name": "Customer"}
                    relay.publish(chat, {"type": "started", "by": by, "service": "Bare"})
                    relay.waiting.append(chat.chat_id)
                    relay.route()
                elif chat is None or chat.ended:
                    peer.send({"type": "error", "code": "conflict", "message": "", "ref": ref})
                elif frame["type"] == "message":
                    by = {"role": "customer", "name": "Customer"}
                    seq = relay.publish(chat, {"type": "message", "by": by, "text": frame["text"]})
                    peer.send({"type": "ack", "ref": ref, "seq": seq})
                elif frame["type"] == "end":
                    seq = relay.end(chat, {"role": "customer", "name": "Customer"})
                    peer.send({"type": "ack", "ref": ref, "seq": seq})
        finally:
            peer.outbox.put_nowait(None)
            await writer

    @app.websocket("/ws/staff")
    async def staff(websocket: WebSocket) -> None:
        await websocket.accept()
        peer = Peer(websocket)
        writer = asyncio.create_task(peer.write())
        agent: Agent | None = None
        try:
            async for frame in frames(peer):
                ref, kind = frame.get("ref"), frame["type"]
                if kind == "hello":
                    agent = relay.agents[relay.sessions[frame["token"]]]
                    agent.peer = peer
                    user = {"user_id": agent.user_id, "name": agent.name, "login": agent.name}
                    peer.send(
                        {"type": "welcome", "role": "agent", "user": user, "available": False}
                    )
                    continue
                assert agent is not None
                if kind == "presence":
                    agent.available = bool(frame["available"])
                    peer.send({"type": "ack", "ref": ref, "seq": None})
                    peer.send({"type": "presence", "available": agent.available})
                    relay.route()
                    continue
                chat = relay.chats.get(frame.get("chat_id", ""))
                if chat is None or chat.agent is not agent:
                    peer.send({"type": "error", "code": "not_found", "message": "", "ref": ref})
                    continue
                by = {"role": "agent", "name": agent.name, "user_id": agent.user_id}
                if kind == "message":
                    seq = relay.publish(chat, {"type": "message", "by": by, "text": frame["text"]})
                else:
                    seq = relay.end(chat, by)
                peer.send({"type": "ack", "ref": ref, "seq": seq})
        finally:
            if agent is not None:
                agent.available = False
            peer.outbox.put_nowait(None)
            await writer

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", help="an SQLite file to journal every event in")
    args = parser.parse_args()
    # As chatrec's ``run_server`` does: the same config, and uvicorn's own ``run`` (uvloop).
    config = uvicorn.Config(
        create_app(args.database),
        host=args.host,
        port=args.port,
        ws_max_size=65536,
        ws_per_message_deflate=False,
        log_level="info",
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
