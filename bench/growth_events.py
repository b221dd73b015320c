"""A message's cost against the length of its chat (issue 13: ``growth_events``).

``chatrec demo --no-platform`` (``bench.chat_load``'s server and bench company: three
recordings a chat) serves one agent and its chats; the customer and the agent take
turns, each message answered (acknowledged) before the next.  The server's CPU
(``/proc``) over a window of messages, divided by their count, is a message's cost:

- the baseline: ``SHORT_CHATS`` chats one after another, each taken from about 10
  events to 10 plus ``SHORT_MESSAGES``, its start, flow, routing and end outside the
  windows (so the agent follows one open chat, as in the long chat's window);
- the figure: one chat filled to ``LONG`` events first, then ``LONG_MESSAGES`` more.

The chat limits are raised so the long chat is not refused (R19).  The goal is a ratio
of at most 1.2: the same cost in a long chat as in a short one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from bench import chat_load
from bench.chat_load import Server, Site, cpu_seconds
from bench.common import QUICK, Result, pyplot, report, save_plot
from chatrec.simulate.client import Link, open_link, post

LONG = 300 if QUICK else 3000
LONG_MESSAGES = 60 if QUICK else 200
SHORT_CHATS = 10 if QUICK else 40
SHORT_MESSAGES = 20
TIMEOUT = 30.0
SETTLE = 0.3
"""Seconds left idle around each window: what a window's messages set off after their
acknowledgements is counted in it, and a chat's start and end are not."""
LIMITS = {"CHATREC_MAX_CHAT_EVENTS": "100000", "CHATREC_MAX_CHAT_BYTES": "100000000"}


@contextmanager
def server() -> Iterator[Server]:
    with chat_load.chatrec_server(env=LIMITS) as started:
        yield started


class Chat:
    """One chat's two sockets and how many events it holds (the last sequence seen)."""

    customer: Link

    def __init__(self, chat_id: str) -> None:
        self.chat_id = chat_id
        self.seq = 0
        self.active = asyncio.Event()

    def take(self, frame: dict[str, Any]) -> None:
        seq = frame.get("seq")
        if isinstance(seq, int):
            self.seq = max(self.seq, seq)
        chat = frame.get("chat")
        if isinstance(chat, dict) and chat.get("status") == "active":
            self.active.set()


async def agent_link(http: httpx.AsyncClient, server: Server, site: Site) -> Link:
    login = site.agents[0]
    session = await post(http, "/api/login", {"login": login, "password": site.passwords[login]})
    ws = server.url.replace("http", "ws", 1)
    link, _ = await open_link(f"{ws}/ws/staff", session["token"], lambda f: None, timeout=TIMEOUT)
    await link.request({"type": "presence", "available": True})
    return link


async def start_chat(http: httpx.AsyncClient, server: Server, site: Site) -> Chat:
    """A chat through the flow to the agent, with about ten events."""
    body = await post(http, "/api/chats", {"service_id": site.service_id})
    ws = server.url.replace("http", "ws", 1)
    chat = Chat(body["chat_id"])  # before the socket: its first frames come at once
    chat.customer, _ = await open_link(
        f"{ws}/ws/customer", body["token"], chat.take, timeout=TIMEOUT
    )
    await asyncio.wait_for(chat.active.wait(), TIMEOUT)
    return chat


async def turns(chat: Chat, agent: Link, count: int) -> None:
    """``count`` messages, customer and agent in turn, each acknowledged."""
    for n in range(count):
        if n % 2 == 0:
            await chat.customer.request({"type": "message", "text": f"customer {n}"})
        else:
            frame = {"type": "message", "chat_id": chat.chat_id, "text": f"agent {n}"}
            await agent.request(frame)


async def measure(started: Server, site: Site) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=started.url, timeout=TIMEOUT) as http:
        agent = await agent_link(http, started, site)
        short_cpu = 0.0
        for _ in range(SHORT_CHATS):  # one open chat at a time, as the long one will be
            chat = await start_chat(http, started, site)
            await asyncio.sleep(SETTLE)
            before = cpu_seconds(started.pid)
            await turns(chat, agent, SHORT_MESSAGES)
            await asyncio.sleep(SETTLE)  # the notices after the last ack, in the window
            short_cpu += cpu_seconds(started.pid) - before
            await chat.customer.request({"type": "end"})
            await asyncio.sleep(SETTLE)  # the end's work (delivery woken) outside
        long = await start_chat(http, started, site)
        began = time.monotonic()
        await turns(long, agent, LONG - 10)
        filled = time.monotonic() - began
        await asyncio.sleep(SETTLE)
        before = cpu_seconds(started.pid)
        await turns(long, agent, LONG_MESSAGES)
        await asyncio.sleep(SETTLE)
        long_cpu = cpu_seconds(started.pid) - before
        await long.customer.request({"type": "end"})
        await agent.close()
    short_messages = SHORT_CHATS * SHORT_MESSAGES
    return {
        "short": {
            "chats": SHORT_CHATS,
            "messages": short_messages,
            "cpu_s": round(short_cpu, 3),
            "us_per_message": round(short_cpu / short_messages * 1e6, 1),
        },
        "long": {
            "events_before": LONG,
            "messages": LONG_MESSAGES,
            "cpu_s": round(long_cpu, 3),
            "us_per_message": round(long_cpu / LONG_MESSAGES * 1e6, 1),
            "fill_seconds": round(filled, 1),
        },
    }


def plot(measured: dict[str, Any]) -> str:
    """Each window's cost drawn across the events its chat held meanwhile."""
    plt = pyplot()
    from matplotlib.ticker import StrMethodFormatter

    short, long = measured["short"]["us_per_message"], measured["long"]["us_per_message"]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.hlines(
        short,
        10,
        10 + SHORT_MESSAGES,
        color="tab:grey",
        linewidth=4,
        label=f"baseline: {SHORT_CHATS} short chats, {SHORT_MESSAGES} messages each",
    )
    axes.hlines(
        long,
        LONG,
        LONG + LONG_MESSAGES,
        color="C0",
        linewidth=4,
        label=f"figure: one chat filled to {LONG} events, {LONG_MESSAGES} more",
    )
    axes.axhline(1.2 * short, color="tab:red", linestyle=":", label="goal: ≤ 1.2x baseline")
    for x, y in ((10 + SHORT_MESSAGES / 2, short), (LONG + LONG_MESSAGES / 2, long)):
        axes.annotate(
            f"{y:.0f} µs",
            (x, y),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            fontsize=9,
        )
    axes.set_xscale("log")
    axes.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    axes.set_xlim(5, 2 * (LONG + LONG_MESSAGES))
    axes.set_ylim(0, 1.3 * max(long, 1.2 * short))
    axes.set_xlabel("events in the chat during the window (log scale)")
    axes.set_ylabel("server CPU per message (µs)")
    axes.set_title(
        f"A message's cost against its chat's length: ratio {long / short:.2f}\n"
        "(customer and agent in turn, each message acknowledged)",
        fontsize=10,
    )
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small", loc="lower right")
    return save_plot(figure, "growth_events.png")


def main() -> None:
    began = time.monotonic()
    with server() as started:
        site = chat_load.seed_company(started, "growth", recorded=True, agents=1)
        measured = asyncio.run(measure(started, site))
    details = measured | {
        "setup": (
            "chatrec demo --no-platform, SQLite; one agent (capacity 50) who records every "
            "chat, a flow that records twice: three recordings a chat; chat limits raised; "
            "customer and agent in turn, each message acknowledged before the next"
        ),
        "quick": QUICK,
        "seconds": round(time.monotonic() - began, 1),
    }
    report(
        Result(
            name="growth_events",
            figure=measured["long"]["us_per_message"],
            unit="us/msg",
            baseline=measured["short"]["us_per_message"],
            goal=f"server CPU per message at {LONG} events ÷ at about 10 ≤ 1.2",
            details=details,
            plots=[plot(measured)],
        )
    )


if __name__ == "__main__":
    main()
