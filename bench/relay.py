"""A message's cost in chatrec against a durable bare relay on the same stack (issue 13).

chatrec (``chatrec demo``: SQLite journal, every chat recorded three times) and the
*durable* bare relay (``bench/bare_relay.py --database``: the same stack, frames and
fan-out, and a plain SQLite insert committed per event) run side by side and get the
same saturating load from ``chatrec simulate``'s client: ``CHATS`` chats at once, each
customer sending as soon as answered, every message answered by an agent.  Each server
gets it twice per round, with ``FEW`` and with ``MORE`` customer messages per chat; the
difference of its CPU between the two, over the difference of messages acknowledged, is
its CPU per additional message: agents' logins (argon2), chats' starts, flows, routing,
ends and recordings are the same in both and fall out.  Rounds alternate the servers'
order (the machine's speed drifts).

The figure is messages per second of server CPU from that (its threads included), the
baseline the same for the durable bare relay.  Then each fixed load that chatrec's
measured rate can carry (so many chats at once, one message every 5 s per side) gives
latency for both, for the plots.

Set ``CHATREC_BENCH_PROFILE=1`` to run chatrec under pyinstrument
(``bench/results/relay-profile.html``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench import chat_load
from bench.chat_load import Load, Server, Site
from bench.common import (
    QUICK,
    RESULTS,
    Result,
    cumulative,
    raise_open_files,
    report,
    save_plot,
    summary,
)

THINK = 1.0 if QUICK else 5.0
LOADS = (20,) if QUICK else (100, 1000)
CHATS = 20 if QUICK else 100
FEW, MORE = (2, 6) if QUICK else (4, 20)
"""Customer messages per chat in the two runs whose difference is measured."""
ROUNDS = 1 if QUICK else 2
FIXED_MESSAGES = 2 if QUICK else 3
"""Customer messages per chat in the fixed loads, which give the latency plot only: 3
(at 100 chats, 300 a server) keep ``make bench`` within its 15 minutes (issue 6)."""
LEAST_AGENTS = 2 if QUICK else 10
HEADROOM = 0.8
"""A fixed load runs when its offered rate is at most this share of the saturation."""


def offered(chats: int) -> float:
    """Messages per second a fixed load offers: each side, one every ``THINK`` s."""
    return 2 * chats / THINK


class Marginal(chat_load.Differenced):
    """Runs with few and with more messages per chat: the cost of a message."""

    @property
    def cpu_per_message(self) -> float:
        """Seconds of server CPU per additional message acknowledged."""
        return self.cpu_per(lambda load: load.summary.messages_acked)

    @property
    def messages_per_cpu_second(self) -> float:
        return 1 / self.cpu_per_message

    @property
    def rate(self) -> float:
        """The fastest measured rate, which decides which fixed loads can be carried."""
        return max(load.messages_per_second for load in (*self.few, *self.more))

    def describe(self) -> dict[str, Any]:
        cost = {"cpu_us_per_additional_message": round(1e6 * self.cpu_per_message, 1)}
        return cost | self.runs()


def one_round(server: Server, site: Site, into: Marginal) -> None:
    for messages, runs in ((FEW, into.few), (MORE, into.more)):
        runs.append(
            chat_load.run_load(server, site, chats=CHATS, messages=messages, think_seconds=0)
        )


def hold(server: Server, site: Site, loads: list[int]) -> dict[int, Load]:
    """Each fixed load: so many chats at once, one message every ``THINK`` s per side."""
    runs = {}
    for chats in loads:
        chat_load.add_agents(server, site, chat_load.agents_for(chats, LEAST_AGENTS))
        runs[chats] = chat_load.run_load(
            server, site, chats=chats, messages=FIXED_MESSAGES, think_seconds=THINK
        )
    return runs


def chatrec_target() -> AbstractContextManager[Server]:
    profile = RESULTS / "relay-profile.html" if os.environ.get("CHATREC_BENCH_PROFILE") else None
    # Recordings are delivered by `chatrec worker` processes, as a busy site runs it
    # (docs/delivery.md): with no platform here, an in-server worker would only retry,
    # at times that fall in one window or the other.
    return chat_load.chatrec_server(profile, env={"CHATREC_DELIVERY_IN_SERVER": "false"})


def plot(
    chatrec: tuple[Marginal, dict[int, Load]], bare: tuple[Marginal, dict[int, Load]]
) -> list[str]:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for (marginal, _), name, colour in ((chatrec, "chatrec", "C0"), (bare, "durable bare", "C1")):
        runs = [*marginal.few, *marginal.more]
        xs = [load.summary.messages_acked for load in runs]
        ys = [load.server_cpu_seconds for load in runs]
        axes.plot(
            xs,
            ys,
            "o",
            color=colour,
            label=f"{name}: {1e6 * marginal.cpu_per_message:.0f} µs/message",
        )
    axes.set_xlabel(f"messages acknowledged in a run ({CHATS} chats at once)")
    axes.set_ylabel("server CPU seconds")
    axes.set_title("Server CPU against messages: the slope is a message's cost")
    axes.grid(True, alpha=0.3)
    axes.legend()
    cost = save_plot(figure, "relay-cpu.png")

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for (_, fixed), name, style in ((chatrec, "chatrec", "-"), (bare, "durable bare", "--")):
        for n, chats in enumerate(sorted(fixed)):
            values, shares = cumulative(fixed[chats].delivery_ms)
            axes.plot(values, shares, style, color=f"C{n}", label=f"{name}, {chats} chats")
    axes.set_xscale("log")
    axes.set_xlabel("customer message → agent has it (ms)")
    axes.set_ylabel("share of messages")
    axes.set_title(f"Relay latency at fixed loads (one message every {THINK:g} s per side)")
    axes.grid(True, alpha=0.3)
    axes.legend()
    return [cost, save_plot(figure, "relay-latency.png")]


def described(runs: dict[int, Load]) -> dict[str, Any]:
    return {str(chats): load.describe() for chats, load in sorted(runs.items())}


def latencies(runs: dict[int, Load]) -> dict[str, Any]:
    return {str(chats): summary(load.delivery_ms) for chats, load in sorted(runs.items())}


def fitting(saturation: float) -> Iterator[tuple[int, str | None]]:
    for chats in LOADS:
        rate = offered(chats)
        if rate <= HEADROOM * saturation:
            yield chats, None
        else:
            yield (
                chats,
                (
                    f"offers {rate:.0f} messages/s, more than {HEADROOM:.0%} of chatrec's "
                    f"measured saturation ({saturation:.0f}/s) on this machine: its latency "
                    "would measure only the backlog"
                ),
            )


def main() -> None:
    raise_open_files()
    began = time.monotonic()
    chatrec, bare = Marginal(), Marginal()
    with chatrec_target() as ours, chat_load.bare_server(durable=True) as theirs:
        agents = chat_load.agents_for(CHATS, LEAST_AGENTS)
        ours_site = chat_load.seed_company(ours, "bench-relay", recorded=True, agents=agents)
        theirs_site = chat_load.bare_site()
        chat_load.add_agents(theirs, theirs_site, agents)
        sides = [(ours, ours_site, chatrec), (theirs, theirs_site, bare)]
        for round_ in range(ROUNDS):
            for server, site, into in sides if round_ % 2 == 0 else reversed(sides):
                one_round(server, site, into)
        plan = dict(fitting(chatrec.rate))
        loads = [chats for chats, why in plan.items() if why is None]
        chatrec_fixed = hold(ours, ours_site, loads)
        bare_fixed = hold(theirs, theirs_site, loads)

    plots = plot((chatrec, chatrec_fixed), (bare, bare_fixed))
    details = {
        "chats": CHATS,
        "customer_messages_per_chat": {"few": FEW, "more": MORE},
        "rounds": ROUNDS,
        "cpu_us_per_additional_message": {
            "chatrec": round(1e6 * chatrec.cpu_per_message, 1),
            "durable_bare": round(1e6 * bare.cpu_per_message, 1),
        },
        "figure_is": (
            "messages acknowledged per second of server CPU (threads included), from the "
            "CPU of runs with more messages per chat less the CPU of runs with few, over the "
            "messages between them: logins, chat starts and ends fall out"
        ),
        "measured_messages_per_second": {"chatrec": chatrec.rate, "durable_bare": bare.rate},
        "latency_ms_customer_to_agent": {
            "chatrec": latencies(chatrec_fixed),
            "durable_bare": latencies(bare_fixed),
        },
        "skipped": {str(chats): why for chats, why in plan.items() if why is not None},
        "runs": {
            "chatrec": chatrec.describe() | {"fixed": described(chatrec_fixed)},
            "durable_bare": bare.describe() | {"fixed": described(bare_fixed)},
        },
        "setup": (
            "chatrec demo --no-platform, SQLite; one company whose flow records twice and "
            "whose agents (capacity 50) record every chat: 3 recordings a chat; frame and "
            "login limits raised; delivery left to worker processes (none: no platform; "
            "see delivery). "
            "Durable bare relay: the same frames and fan-out, an SQLite insert committed "
            "per event (WAL, synchronous=NORMAL)"
        ),
        "quick": QUICK,
        "seconds": round(time.monotonic() - began, 1),
    }
    report(
        Result(
            name="relay",
            figure=round(chatrec.messages_per_cpu_second, 1),
            unit="msgs/cpu-s",
            baseline=round(bare.messages_per_cpu_second, 1),
            goal="chatrec ≥ 0.5 x the durable bare relay's messages per CPU-second",
            details=details,
            plots=plots,
        )
    )


if __name__ == "__main__":
    main()
