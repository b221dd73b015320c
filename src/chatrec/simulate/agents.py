"""The agents of a ``chatrec simulate`` run: logged in, Available, acting on what they see."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from chatrec.simulate.client import ChatView, ClientError, Frame, Link, post
from chatrec.simulate.context import FAILURES, Context
from chatrec.simulate.plan import agent_text


@dataclass
class AgentChat:
    """One chat as an agent sees it, and what this agent did in it."""

    view: ChatView = field(default_factory=ChatView)
    answered: set[int] = field(default_factory=set)
    left_seq: int = 0


class Agent:
    """One agent login: Available, answering its chats one frame at a time.

    Every frame about a chat wakes a driver for that chat; the driver does one thing
    at a time (press Delete, pause, resume, transfer, answer, end) until nothing is
    left to do, so duplicate or late frames never make it act twice.
    """

    def __init__(self, ctx: Context, login: str) -> None:
        self.ctx = ctx
        self.login = login
        self.user_id = ""
        self.link: Link | None = None
        self.chats: dict[str, AgentChat] = {}
        self.drivers: dict[str, asyncio.Task[None]] = {}
        self.again: set[str] = set()

    async def start(self, password: str) -> None:
        session = await post(
            self.ctx.http, "/api/login", {"login": self.login, "password": password}
        )
        self.user_id = session["user"]["user_id"]
        url = self.ctx.options.ws_url + "/ws/staff"
        self.link, _ = await self.ctx.open(url, session["token"], self.on_frame)
        await self.link.request({"type": "presence", "available": True})

    async def stop(self) -> None:
        for task in list(self.drivers.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.link is not None:
            with contextlib.suppress(ClientError):
                await self.link.request({"type": "presence", "available": False})
            await self.link.close()

    def holding(self) -> int:
        return sum(self.mine(chat) for chat in self.chats.values())

    def mine(self, chat: AgentChat) -> bool:
        """Whether the latest summary has this agent in the chat.

        After a transfer the last summary received still names this agent: only one
        at or after the transfer's own event counts (the chat may come back by queue).
        """
        summary = chat.view.summary
        here = any(p["user_id"] == self.user_id for p in summary.get("participants") or [])
        fresh = summary.get("last_seq", 0) >= chat.left_seq
        return here and fresh and chat.view.status == "active"

    def on_frame(self, frame: Frame) -> None:
        chat_id = frame.get("chat_id") or frame.get("chat", {}).get("chat_id")
        if frame["type"] not in {"event", "chat"} or not chat_id:
            return
        chat = self.chats.setdefault(chat_id, AgentChat())
        chat.view.take(frame)
        if frame["type"] == "chat":
            self.wake(chat_id)
            return
        event = frame["event"]
        if event["type"] == "message" and event["by"]["role"] == "customer":
            self.ctx.note_delivery(event["text"])

    def wake(self, chat_id: str) -> None:
        if chat_id in self.drivers:
            self.again.add(chat_id)
            return
        self.drivers[chat_id] = asyncio.create_task(self._drive(chat_id))

    async def _drive(self, chat_id: str) -> None:
        try:
            while True:
                self.again.discard(chat_id)
                while await self.step(chat_id):
                    pass
                if chat_id not in self.again:
                    return
        except FAILURES as error:
            run = self.ctx.runs.get(chat_id)
            code = self.ctx.count(error)
            if run is not None and run.error is None:
                run.error = code
        finally:
            del self.drivers[chat_id]

    def unanswered(self, chat: AgentChat) -> tuple[int, str] | None:
        """The customer's latest message since an agent first joined, if no one answered it."""
        joined = chat.view.of_type("joined")
        if not joined:
            return None
        latest: tuple[int, str] | None = None
        for seq, event in chat.view.ordered():
            if seq <= joined[0][0] or event["type"] != "message":
                continue
            latest = (seq, event["text"]) if event["by"]["role"] == "customer" else None
        if latest is None or latest[0] in chat.answered:
            return None
        return latest

    async def step(self, chat_id: str) -> bool:
        """Do the next thing this chat needs from this agent; ``False``: nothing to do."""
        chat, run = self.chats[chat_id], self.ctx.runs.get(chat_id)
        if run is None or self.link is None or not self.mine(chat) or chat.view.ended:
            return False
        link, plan = self.link, run.plan
        if chat.view.of_type("deletion_requested") and not run.delete_pressed:
            run.delete_pressed = True
            await link.request({"type": "delete_recording", "chat_id": chat_id})
            return True
        waiting = self.unanswered(chat)
        sent = self.ctx.sent.get(waiting[1]) if waiting else None
        if waiting is None or sent is None:
            return False
        k = sent.k
        if plan.pause_at == k and not run.paused:
            run.paused = True
            await link.request({"type": "pause", "chat_id": chat_id})
            return True
        if chat.view.paused and (plan.pause_at is None or k > plan.pause_at):
            await link.request({"type": "resume", "chat_id": chat_id})
            return True
        if plan.transfer_at == k and not run.transferred:
            run.transferred = True
            await self.transfer(chat_id, chat)
            return False
        chat.answered.add(waiting[0])
        await link.request(
            {
                "type": "message",
                "chat_id": chat_id,
                "text": agent_text(plan, k, self.ctx.options.seed),
            }
        )
        if k == self.ctx.options.messages and plan.ender == "agent":
            await link.request({"type": "end", "chat_id": chat_id})
        return True

    async def transfer(self, chat_id: str, chat: AgentChat) -> None:
        """To the least busy other agent of the simulation; to the queue if none can take it."""
        assert self.link is not None
        others = sorted(
            (a for a in self.ctx.agents if a is not self and a.link is not None),
            key=lambda a: a.holding(),
        )
        if others:
            try:
                frame: Frame = {
                    "type": "transfer",
                    "chat_id": chat_id,
                    "to_agent": others[0].user_id,
                }
                chat.left_seq = (await self.link.request(frame))["seq"]
            except ClientError as error:
                if error.code != "conflict":  # the target is away or has no free slot
                    raise
                self.ctx.stats.transfer_fallbacks += 1
            else:
                return
        queue = chat.view.summary.get("queue_id")
        frame = {"type": "transfer", "chat_id": chat_id, "to_queue": queue}
        chat.left_seq = (await self.link.request(frame))["seq"]


async def start_agents(ctx: Context, passwords: Mapping[str, str]) -> list[Agent]:
    """Log every agent in and make it Available; one that fails is counted and left out."""
    agents = []
    for login in ctx.options.agents:
        agent = Agent(ctx, login)
        try:
            await agent.start(passwords[login])
        except FAILURES as error:
            ctx.count(error)
            await agent.stop()
            continue
        agents.append(agent)
    return agents
