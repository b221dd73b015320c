"""Journal write rate on PostgreSQL (issue 13: ``journal_pg``): ``bench.journal``'s
measurement at 50 writers on a fresh schema of the ``test`` database, against plain
inserts, every writer on its own connection committing each message."""

from __future__ import annotations

import json
import time

from bench.common import Result, pyplot, report, save_plot
from bench.journal import HEADLINE_WRITERS, MESSAGES, Pair, measure_postgres, postgres_setting

NAME = "journal_pg"
GOAL = "chatrec >= 1.0x plain PostgreSQL inserts, a connection per writer"


def plot(pair: Pair) -> str:
    """chatrec's rate between its baseline's and the limit's, at the headline's writers."""
    plt = pyplot()

    sizes = pair.batch_sizes
    mean = sum(sizes) / max(1, len(sizes))
    figure, axes = plt.subplots(figsize=(6.5, 4.5))
    names = [
        "plain psycopg,\na commit per message\n(baseline)",
        f"chatrec store\n({len(sizes)} commits,\n{mean:.1f} messages each)",
        "limit: psycopg,\nchatrec's batches,\npipelined",
    ]
    bars = axes.bar(
        range(3), [pair.plain, pair.chatrec, pair.limit], color=["tab:grey", "C0", "C2"]
    )
    axes.bar_label(bars, fmt="%.0f", fontsize=9)
    axes.set_xticks(range(3), names, fontsize=8)
    axes.set_ylabel("messages committed per second")
    axes.set_title(
        f"Journal write rate on PostgreSQL, {pair.writers} writers on their own connections\n"
        f"chatrec ÷ plain = {pair.chatrec / pair.plain:.2f}",
        fontsize=10,
    )
    axes.grid(axis="y", alpha=0.3)
    return save_plot(figure, f"{NAME}.png")


def main() -> None:
    began = time.perf_counter()
    details = {
        "messages_per_measurement": MESSAGES // 2,
        "synchronous_commit": postgres_setting("synchronous_commit"),
    }
    pair = measure_postgres(HEADLINE_WRITERS)
    print(f"postgresql {json.dumps(pair.summary())}", flush=True)
    details |= pair.summary() | {"seconds": round(time.perf_counter() - began, 1)}
    report(
        Result(
            name=NAME,
            figure=round(pair.chatrec, 1),
            unit="msgs/s",
            baseline=round(pair.plain, 1),
            goal=GOAL,
            details=details,
            plots=[plot(pair)],
        )
    )


if __name__ == "__main__":
    main()
