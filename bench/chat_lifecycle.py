"""A chat's whole life in chatrec against the bare relay's (issue 13: ``chat_lifecycle``).

What a chat costs the server beyond its messages: chatrec starts it (``POST /api/chats``,
the customer's socket and hello), runs its flow (two ``record`` steps and a route),
routes it to an agent, and at its end decides three recordings, renders them and queues
them for delivery (R14, R16) in the end's commit; the bare relay (``bench/bare_relay.py``)
connects, says hello, routes and ends, keeping nothing.  Every chat has one customer
message and its answer, then the customer ends it.

Each server gets ``FEW`` and then ``MORE`` chats at once, round by round (the servers'
order alternating); its CPU per additional chat is the difference of its CPU over the
difference of chats ended: the agents' logins, the same in both runs, fall out.  The
*durable* bare relay (an SQLite insert committed per event) is measured too and printed.

Figure: chatrec's server CPU per chat, ms; baseline: the bare relay's.  Goal: at most 5 times.
"""

from __future__ import annotations

import math
import time
from typing import Any

from bench import chat_load
from bench.chat_load import Server, Site
from bench.common import QUICK, Result, pyplot, raise_open_files, report, save_plot

NAME = "chat_lifecycle"
GOAL = "chatrec's server CPU per chat ≤ 5x the bare relay's"
FEW, MORE = (10, 40) if QUICK else (50, 250)
"""Chats at once in the two runs whose difference is measured."""
ROUNDS = 1 if QUICK else 2
MESSAGES = 1
LEAST_AGENTS = 2 if QUICK else 10


class PerChat(chat_load.Differenced):
    """Runs with few and with more chats: the cost of a chat."""

    @property
    def cpu_per_chat(self) -> float:
        """Seconds of server CPU per additional chat ended."""
        return self.cpu_per(lambda load: load.summary.chats_ended)

    def cpu_per_chat_at(self, runs: list[chat_load.Load]) -> float:
        """Seconds of server CPU per chat ended over ``runs``, the agents' sign-ins and
        the server's idle work included."""
        ended = sum(load.summary.chats_ended for load in runs)
        return sum(load.server_cpu_seconds for load in runs) / ended if ended else float("nan")

    def describe(self) -> dict[str, Any]:
        return {"cpu_ms_per_chat": round(1e3 * self.cpu_per_chat, 3)} | self.runs()


def one_round(server: Server, site: Site, into: PerChat) -> None:
    for chats, runs in ((FEW, into.few), (MORE, into.more)):
        runs.append(
            chat_load.run_load(server, site, chats=chats, messages=MESSAGES, think_seconds=0)
        )


def plot(servers: dict[str, PerChat]) -> str:
    """Each server's CPU per chat at both sizes, and per additional chat (the figure):
    what the runs share falls out of the last group only."""
    plt = pyplot()

    groups = (f"{FEW} chats at once", f"{MORE} chats at once", "per additional chat\n(the figure)")
    figure, axes = plt.subplots(figsize=(8, 4.8))
    width = 0.8 / len(servers)
    colours = {"chatrec": "C0", "bare": "tab:grey", "durable bare": "C1"}
    drawn: list[float] = []
    for n, (name, runs) in enumerate(servers.items()):
        costs = [runs.cpu_per_chat_at(runs.few), runs.cpu_per_chat_at(runs.more), runs.cpu_per_chat]
        drawn += [1e3 * cost for cost in costs]
        bars = axes.bar(
            [g + (n - (len(servers) - 1) / 2) * width for g in range(len(groups))],
            drawn[-len(groups) :],
            width,
            color=colours[name],
            label=name,
        )
        axes.bar_label(bars, fmt="%.3g", fontsize=8)
    axes.set_yscale("log")
    shown = [ms for ms in drawn if ms > 0 and math.isfinite(ms)]
    if shown:  # the bars start well below the least, so their heights compare
        axes.set_ylim(10 ** math.floor(math.log10(min(shown)) - 0.5), 2 * max(shown))
    axes.set_xticks(range(len(groups)), groups)
    axes.set_ylabel("server CPU per chat (ms, log scale)")
    ours, bare = servers["chatrec"].cpu_per_chat, servers["bare"].cpu_per_chat
    axes.set_title(
        f"A chat's whole life: chatrec ÷ bare relay = {ours / bare:.1f} per additional chat "
        "(goal ≤ 5)\none message and its answer a chat; the first two groups include the "
        "agents' sign-ins",
        fontsize=10,
    )
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize="small")
    return save_plot(figure, f"{NAME}.png")


def main() -> None:
    raise_open_files()
    began = time.monotonic()
    agents = chat_load.agents_for(MORE, LEAST_AGENTS)
    ours, bare, durable = PerChat(), PerChat(), PerChat()
    # Delivery is left to `chatrec worker` processes (none here: no platform), as in relay.
    chatrec_env = {"CHATREC_DELIVERY_IN_SERVER": "false"}
    with (
        chat_load.chatrec_server(env=chatrec_env) as chatrec,
        chat_load.bare_server() as plain,
        chat_load.bare_server(durable=True) as kept,
    ):
        site = chat_load.seed_company(chatrec, "bench-life", recorded=True, agents=agents)
        plain_site, kept_site = chat_load.bare_site(), chat_load.bare_site()
        chat_load.add_agents(plain, plain_site, agents)
        chat_load.add_agents(kept, kept_site, agents)
        sides = [(chatrec, site, ours), (plain, plain_site, bare), (kept, kept_site, durable)]
        for round_ in range(ROUNDS):
            for server, each, into in sides if round_ % 2 == 0 else reversed(sides):
                one_round(server, each, into)
    errors = {
        name: [load.summary.errors for load in (*runs.few, *runs.more) if load.summary.errors]
        for name, runs in (("chatrec", ours), ("bare", bare), ("durable_bare", durable))
    }
    details = {
        "chats": {"few": FEW, "more": MORE},
        "rounds": ROUNDS,
        "messages_per_chat": MESSAGES,
        "cpu_ms_per_chat": {
            "chatrec": round(1e3 * ours.cpu_per_chat, 3),
            "bare": round(1e3 * bare.cpu_per_chat, 3),
            "durable_bare": round(1e3 * durable.cpu_per_chat, 3),
        },
        "ratio_to_durable_bare": round(ours.cpu_per_chat / durable.cpu_per_chat, 3),
        "errors": errors,
        "runs": {
            "chatrec": ours.describe(),
            "bare": bare.describe(),
            "durable_bare": durable.describe(),
        },
        "setup": (
            "chatrec demo --no-platform, SQLite; a flow with two record steps and a route, "
            "agents who record every chat: three recordings decided, rendered and queued "
            "at each end; delivery left to worker processes (none here)"
        ),
        "quick": QUICK,
        "seconds": round(time.monotonic() - began, 1),
    }
    for name, cost in details["cpu_ms_per_chat"].items():
        print(f"{name}: {cost} ms of server CPU per chat", flush=True)
    report(
        Result(
            name=NAME,
            figure=round(1e3 * ours.cpu_per_chat, 3),
            unit="ms/chat",
            baseline=round(1e3 * bare.cpu_per_chat, 3),
            goal=GOAL,
            details=details,
            plots=[plot({"chatrec": ours, "bare": bare, "durable bare": durable})],
        )
    )


if __name__ == "__main__":
    main()
