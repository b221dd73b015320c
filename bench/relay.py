"""Relay throughput and latency against a bare relay on the same stack (issue 6 §1).

chatrec (``chatrec demo``: SQLite journal, every chat recorded three times) and
``bench/bare_relay.py`` get the same load from ``chatrec simulate``'s client in one
run: first at saturation (customers send as soon as they are answered), then at fixed
loads of concurrent chats with one message every 5 s per side.  A fixed load runs only
when chatrec's measured saturation can carry it; past that its latency would measure
nothing but the backlog, and ``details.skipped`` says so.

The figure is messages per second at saturation, per second of server CPU: each server
is one event loop, so that is what one core carries.  Measured rates are in the
details too, but on two shared cores one Python load generator cannot saturate the
bare relay, so they understate its limit, which is what this benchmark is after.

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
LOADS = (20,) if QUICK else (100, 1000, 5000)
SATURATION = (10, 40) if QUICK else (25, 100)
SATURATION_MESSAGES = 4 if QUICK else 10
FIXED_MESSAGES = 2 if QUICK else 6
LEAST_AGENTS = 2 if QUICK else 10
HEADROOM = 0.8
"""A fixed load runs when its offered rate is at most this share of the saturation."""


def offered(chats: int) -> float:
    """Messages per second a fixed load offers: each side, one every ``THINK`` s."""
    return 2 * chats / THINK


def saturate(server: Server, site: Site) -> dict[int, Load]:
    """Customers who send as soon as they are answered, at each ``SATURATION`` size."""
    runs = {}
    for chats in SATURATION:
        chat_load.add_agents(server, site, chat_load.agents_for(chats, LEAST_AGENTS))
        runs[chats] = chat_load.run_load(
            server, site, chats=chats, messages=SATURATION_MESSAGES, think_seconds=0
        )
    return runs


def hold(server: Server, site: Site, loads: list[int]) -> dict[int, Load]:
    """Each fixed load: so many chats at once, one message every ``THINK`` s per side."""
    runs = {}
    for chats in loads:
        chat_load.add_agents(server, site, chat_load.agents_for(chats, LEAST_AGENTS))
        runs[chats] = chat_load.run_load(
            server, site, chats=chats, messages=FIXED_MESSAGES, think_seconds=THINK
        )
    return runs


def fastest(runs: dict[int, Load]) -> Load:
    return max(runs.values(), key=lambda load: load.messages_per_second)


def best(runs: dict[int, Load]) -> Load:
    return max(runs.values(), key=capacity)


def capacity(load: Load) -> float:
    """Messages per second of server CPU: what one core gives this server."""
    return load.summary.messages_acked / max(load.server_cpu_seconds, 1e-9)


def chatrec_target() -> AbstractContextManager[Server]:
    profile = RESULTS / "relay-profile.html" if os.environ.get("CHATREC_BENCH_PROFILE") else None
    return chat_load.chatrec_server(profile)


def plot(
    chatrec: tuple[dict[int, Load], dict[int, Load]], bare: tuple[dict[int, Load], dict[int, Load]]
) -> list[str]:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for (saturation, fixed), name, colour in ((chatrec, "chatrec", "C0"), (bare, "bare", "C1")):
        for runs, kind, marker in ((saturation, "saturation", "o-"), (fixed, "5 s think", "s--")):
            if runs:
                xs = sorted(runs)
                ys = [runs[x].messages_per_second for x in xs]
                axes.plot(xs, ys, marker, color=colour, label=f"{name}, {kind}")
    axes.set_xscale("log")
    axes.set_xlabel("concurrent chats")
    axes.set_ylabel("messages acknowledged per second")
    axes.set_title("Relay throughput against load")
    axes.grid(True, alpha=0.3)
    axes.legend()
    throughput = save_plot(figure, "relay-throughput.png")

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for (_, fixed), name, style in ((chatrec, "chatrec", "-"), (bare, "bare", "--")):
        for n, chats in enumerate(sorted(fixed)):
            values, shares = cumulative(fixed[chats].delivery_ms)
            axes.plot(values, shares, style, color=f"C{n}", label=f"{name}, {chats} chats")
    axes.set_xscale("log")
    axes.set_xlabel("customer message → agent has it (ms)")
    axes.set_ylabel("share of messages")
    axes.set_title(f"Relay latency at fixed loads (one message every {THINK:g} s per side)")
    axes.grid(True, alpha=0.3)
    axes.legend()
    return [throughput, save_plot(figure, "relay-latency.png")]


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
    # chatrec first: its saturation decides which fixed loads can be measured at all.
    with chatrec_target() as server:
        site = chat_load.seed_company(server, "bench-relay", recorded=True, agents=LEAST_AGENTS)
        chatrec_saturation = saturate(server, site)
        plan = dict(fitting(fastest(chatrec_saturation).messages_per_second))
        loads = [chats for chats, why in plan.items() if why is None]
        chatrec_fixed = hold(server, site, loads)
    with chat_load.bare_server() as server:
        site = chat_load.bare_site()
        bare_saturation = saturate(server, site)
        bare_fixed = hold(server, site, loads)

    chatrec_best, bare_best = best(chatrec_saturation), best(bare_saturation)
    plots = plot((chatrec_saturation, chatrec_fixed), (bare_saturation, bare_fixed))
    details = {
        "think_seconds": THINK,
        "messages_per_chat": {"saturation": SATURATION_MESSAGES, "fixed": FIXED_MESSAGES},
        "saturation_messages_per_second": {
            "chatrec": fastest(chatrec_saturation).messages_per_second,
            "bare": fastest(bare_saturation).messages_per_second,
        },
        "capacity_messages_per_cpu_second": {
            "chatrec": round(capacity(chatrec_best), 1),
            "bare": round(capacity(bare_best), 1),
        },
        "figure_is": (
            "messages acknowledged per second of server CPU at saturation, the best of "
            "the saturation sizes, for chatrec (its threads included) and bare alike: "
            "what one core carries. Measured messages/s are above; on two shared cores "
            "one Python load generator cannot saturate the bare relay (see its "
            "server_cpu_share), so measured rates understate its limit"
        ),
        "latency_ms_customer_to_agent": {
            "chatrec": latencies(chatrec_fixed),
            "bare": latencies(bare_fixed),
        },
        "skipped": {str(chats): why for chats, why in plan.items() if why is not None},
        "runs": {
            "chatrec": {
                "saturation": described(chatrec_saturation),
                "fixed": described(chatrec_fixed),
            },
            "bare": {"saturation": described(bare_saturation), "fixed": described(bare_fixed)},
        },
        "setup": (
            "chatrec demo --no-platform, SQLite; one company whose flow records twice and "
            "whose agents (capacity 50) record every chat: 3 recordings a chat; frame and "
            "login limits raised; delivery polling slowed (no platform; see delivery)"
        ),
        "quick": QUICK,
        "seconds": round(time.monotonic() - began, 1),
    }
    report(
        Result(
            name="relay",
            figure=round(capacity(chatrec_best), 1),
            unit="msgs/cpu-s",
            baseline=round(capacity(bare_best), 1),
            goal="chatrec ≥ 0.5 x the bare relay's messages per second at saturation",
            details=details,
            plots=plots,
        )
    )


if __name__ == "__main__":
    main()
