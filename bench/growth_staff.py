"""A message's cost against the number of staff signed in (issue 13: ``growth_staff``).

One chat, its customer and one agent taking turns as in ``bench.growth_events``, while
other agents of the company have the portal open (a staff socket each, Away, in no
chat).  The server's CPU per message is measured with ``FEW`` staff sockets in all, then
with ``MANY``, then with ``FEW`` again (the baseline is the mean of the two, so drift
weighs on both sides).  Staff who do not follow a chat should cost it nothing: the goal
is a ratio of at most 1.2.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from bench import chat_load
from bench.chat_load import Server, Site, cpu_seconds
from bench.common import QUICK, Result, pyplot, report, save_plot
from bench.growth_events import SETTLE, TIMEOUT, Chat, agent_link, start_chat, turns
from chatrec.simulate.client import Link, open_link, post

FEW = 10
MANY = 40 if QUICK else 200
MESSAGES = 60 if QUICK else 300


async def onlooker(http: httpx.AsyncClient, server: Server, site: Site, login: str) -> Link:
    """An agent with the portal open, Away, in no chat."""
    session = await post(http, "/api/login", {"login": login, "password": site.passwords[login]})
    ws = server.url.replace("http", "ws", 1)
    link, _ = await open_link(f"{ws}/ws/staff", session["token"], lambda f: None, timeout=TIMEOUT)
    return link


async def window(server: Server, chat: Chat, agent: Link) -> float:
    """CPU seconds per message over ``MESSAGES`` messages."""
    await asyncio.sleep(SETTLE)
    before = cpu_seconds(server.pid)
    await turns(chat, agent, MESSAGES)
    await asyncio.sleep(SETTLE)
    return (cpu_seconds(server.pid) - before) / MESSAGES


async def measure(server: Server, site: Site) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        agent = await agent_link(http, server, site)
        chat = await start_chat(http, server, site)
        others = site.agents[1:]
        few = [await onlooker(http, server, site, login) for login in others[: FEW - 1]]
        first = await window(server, chat, agent)
        many = [await onlooker(http, server, site, login) for login in others[FEW - 1 :]]
        crowded = await window(server, chat, agent)
        for link in many:
            await link.close()
        await asyncio.sleep(2.0)  # their disconnections handled outside the window
        last = await window(server, chat, agent)
        await chat.customer.request({"type": "end"})
        for link in (*few, agent):
            await link.close()
    return {
        "few": {"staff_sockets": FEW, "us_per_message": [round(first * 1e6), round(last * 1e6)]},
        "many": {"staff_sockets": MANY, "us_per_message": round(crowded * 1e6)},
        "messages_per_window": MESSAGES,
    }


def plot(measured: dict[str, Any]) -> str:
    """The three windows in the order they ran, against the staff sockets open."""
    plt = pyplot()

    first, last = measured["few"]["us_per_message"]
    crowded = measured["many"]["us_per_message"]
    baseline = (first + last) / 2
    windows = ((FEW, first, "1st"), (MANY, crowded, "2nd"), (FEW, last, "3rd"))
    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.plot([FEW, FEW], [first, last], "o", color="tab:grey", label=f"{FEW} sockets")
    axes.plot([MANY], [crowded], "o", color="C0", label=f"{MANY} sockets (the figure)")
    # The 1st and 3rd windows' labels apart: the higher one's above, the other's below.
    rises = (8 if first >= last else -8, 0, -8 if first >= last else 8)
    for (sockets, cost, order), rise in zip(windows, rises, strict=True):
        axes.annotate(
            f"{order} window: {cost} µs",
            (sockets, cost),
            textcoords="offset points",
            xytext=(8, rise),
            va={0: "center", 8: "bottom", -8: "top"}[rise],
            fontsize=8,
        )
    axes.axhline(baseline, color="tab:grey", linestyle="--", label="baseline: mean of 1st and 3rd")
    axes.axhline(1.2 * baseline, color="tab:red", linestyle=":", label="goal: ≤ 1.2x baseline")
    axes.set_xlim(0, 1.35 * MANY)
    axes.set_ylim(0, 1.3 * max(crowded, 1.2 * baseline))
    axes.set_xlabel("staff sockets open (agents Away, in no chat)")
    axes.set_ylabel("server CPU per message (µs)")
    axes.set_title(
        f"A message's cost against staff signed in: ratio {crowded / baseline:.2f}\n"
        f"(one chat, {measured['messages_per_window']} messages a window, "
        "customer and agent in turn)",
        fontsize=10,
    )
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small", loc="lower right")
    return save_plot(figure, "growth_staff.png")


def main() -> None:
    began = time.monotonic()
    with chat_load.chatrec_server() as server:
        site = chat_load.seed_company(server, "staff", recorded=True, agents=MANY)
        measured = asyncio.run(measure(server, site))
    baseline = sum(measured["few"]["us_per_message"]) / 2
    details = measured | {
        "setup": (
            "chatrec demo --no-platform, SQLite; one chat recorded three times, customer "
            "and agent in turn, each message acknowledged; the other staff sockets are "
            "agents of the company, Away, in no chat; windows few, many, few"
        ),
        "quick": QUICK,
        "seconds": round(time.monotonic() - began, 1),
    }
    report(
        Result(
            name="growth_staff",
            figure=measured["many"]["us_per_message"],
            unit="us/msg",
            baseline=baseline,
            goal=f"server CPU per message with {MANY} staff sockets ÷ with {FEW} ≤ 1.2",
            details=details,
            plots=[plot(measured)],
        )
    )


if __name__ == "__main__":
    main()
