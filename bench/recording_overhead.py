"""What recording costs a chat's latency: recorded against unrecorded (issue 6 §2).

One chatrec server holds two companies alike in all but their products: one with
call_recording and webchat, so each chat makes three recordings (two flow ``record``
steps and the agent's own), and one with webchat only, so nothing of it is recorded
(R1).  The same load (``chatrec simulate``'s client: so many chats at once, one message
every 5 s per side) goes to each in turn, off, on, off, on, ..., so that whatever else
the shared machine is doing falls on both alike.  Samples of each side are pooled.

The figure is the p99 of customer message → agent has it, recorded; the baseline the
same unrecorded.
"""

from __future__ import annotations

import statistics
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench import chat_load
from bench.chat_load import Load
from bench.common import (
    QUICK,
    Result,
    cumulative,
    percentile,
    raise_open_files,
    report,
    save_plot,
    summary,
)

CHATS = 20 if QUICK else 100
MESSAGES = 2 if QUICK else 3
THINK = 1.0 if QUICK else 5.0
ROUNDS = 1 if QUICK else 2
AGENTS = 2 if QUICK else 10
SIDES = ("off", "on")


def plot(runs: dict[str, list[Load]]) -> list[str]:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for side in SIDES:
        values, shares = cumulative(v for load in runs[side] for v in load.delivery_ms)
        axes.plot(values, shares, label=f"recording {side} (p99 {percentile(values, 0.99):.0f} ms)")
    axes.set_xscale("log")
    axes.set_xlabel("customer message → agent has it (ms)")
    axes.set_ylabel("share of messages")
    axes.set_title(f"Recording overhead: {CHATS} chats, one message every {THINK:g} s per side")
    axes.grid(True, alpha=0.3)
    axes.legend()
    return [save_plot(figure, "recording-overhead-latency.png")]


def main() -> None:
    raise_open_files()
    began = time.monotonic()
    runs: dict[str, list[Load]] = {side: [] for side in SIDES}
    with chat_load.chatrec_server() as server:
        sites = {
            side: chat_load.seed_company(
                server, f"bench-rec-{side}", recorded=side == "on", agents=AGENTS
            )
            for side in SIDES
        }
        for _ in range(ROUNDS):
            for side in SIDES:
                load = chat_load.run_load(
                    server, sites[side], chats=CHATS, messages=MESSAGES, think_seconds=THINK
                )
                runs[side].append(load)
    pooled = {side: [v for load in runs[side] for v in load.delivery_ms] for side in SIDES}
    per_run_p99 = {
        side: [percentile(load.delivery_ms, 0.99) for load in runs[side]] for side in SIDES
    }
    details = {
        "chats": CHATS,
        "messages_per_chat": MESSAGES,
        "think_seconds": THINK,
        "order": [side for _ in range(ROUNDS) for side in SIDES],
        "recordings_per_recorded_chat": 3,
        "latency_ms_customer_to_agent": {side: summary(pooled[side]) for side in SIDES},
        "p99_ms_per_run": per_run_p99,
        "p99_ms_median_of_runs": {
            side: statistics.median(values) for side, values in per_run_p99.items()
        },
        "runs": {side: [load.describe() for load in runs[side]] for side in SIDES},
        "method": (
            f"{ROUNDS} rounds of off then on against one server, samples of each side "
            "pooled; the figure and baseline are the pooled p99s"
        ),
        "quick": QUICK,
        "seconds": round(time.monotonic() - began, 1),
    }
    report(
        Result(
            name="recording_overhead",
            figure=percentile(pooled["on"], 0.99),
            unit="ms",
            baseline=percentile(pooled["off"], 0.99),
            goal="p99 latency with recording on ≤ 1.05 x with recording off",
            details=details,
            plots=plot(runs),
        )
    )


if __name__ == "__main__":
    main()
