"""``make bench``: every benchmark in its own process, then the table in docs/performance.md.

Each benchmark runs as ``python -m bench.<name>`` with a time limit (the whole run must
stay under 15 minutes on a 2-core machine), its output streamed through as it comes.
Its last ``RESULT`` line and its ``bench/results/<date>-<name>.json`` give its row; one
that is missing, fails, times out or prints no ``RESULT`` gets a row saying so, and
then the runner exits non-zero.  Only the part of docs/performance.md between the
results markers is rewritten; the hand-written text around it stays.

    python -m bench.run [--only journal,relay] [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import RESULTS, ROOT

DOC = ROOT / "docs" / "performance.md"
START_MARKER = "<!-- results:start -->"
END_MARKER = "<!-- results:end -->"
RESULT_LINE = re.compile(
    r"^RESULT (?P<name>\S+) (?P<figure>\S+) (?P<unit>.+?) "
    r"baseline=(?P<baseline>\S+) ratio=(?P<ratio>\S+)\s*$"
)


def _per_unit(limit: float, units: dict[str, float]) -> Callable[[float, float, str], bool | None]:
    """A goal on the figure itself: at most ``limit`` in the first unit of ``units``."""

    def met(figure: float, _ratio: float, unit: str) -> bool | None:
        scale = units.get(unit.split("/")[0].strip().lower())
        return None if scale is None else figure * scale <= limit

    return met


@dataclass(frozen=True)
class Benchmark:
    name: str
    timeout: float
    """Seconds before it is stopped and reported as timed out."""
    goal: str
    met: Callable[[float, float, str], bool | None]
    """Whether figure, ratio and unit meet the goal; ``None`` when they cannot tell."""


# The issues' order and goals.  The limits are ceilings for a stuck benchmark and add up
# to about 40 minutes; a full run takes about 16 (938 s on 2026-12-04 with relay cut off
# at its old limit of 180 s: it needs about 185 s on this machine, so it has 300).
BENCHMARKS = (
    Benchmark(
        "journal",
        90,
        "≥ 0.5x plain SQLite inserts, a commit per message",
        lambda _f, ratio, _u: ratio >= 0.5,
    ),
    Benchmark(
        "journal_pg",
        90,
        "≥ 1.0x plain PostgreSQL inserts, a connection per writer",
        lambda _f, ratio, _u: ratio >= 1.0,
    ),
    Benchmark(
        "relay",
        300,
        "≥ 0.5x the durable bare relay's messages per CPU-second",
        lambda _f, ratio, _u: ratio >= 0.5,
    ),
    Benchmark(
        "chat_lifecycle",
        180,
        "server CPU per chat ≤ 5x the bare relay's",
        lambda _f, ratio, _u: ratio <= 5,
    ),
    Benchmark(
        "recording_overhead",
        240,
        "median of 20 blocks' p99, recording on ÷ off ≤ 1.05 (and loop stall ≤ 5 ms)",
        lambda _f, ratio, _u: ratio <= 1.05,
    ),
    Benchmark(
        "delivery",
        120,
        "≥ 0.8x `sftp -b` (put to a temporary name, rename) on loopback (issue 13)",
        lambda _f, ratio, _u: ratio >= 0.8,
    ),
    Benchmark(
        "delivery_rtt",
        120,
        "≥ 3x `sftp -b` at +20 ms round trip (issue 13)",
        lambda _f, ratio, _u: ratio >= 3,
    ),
    Benchmark(
        "end_to_file",
        240,
        "p99 end frame → file in place ≤ 0.5 s, worker woken on commit",
        _per_unit(0.5, {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6}),
    ),
    Benchmark(
        "concurrency",
        270,
        "50,000 open chats at ≤ 40 KB each",
        _per_unit(40.0, {"kb": 1.0, "kib": 1.0, "b": 1 / 1024, "bytes": 1 / 1024, "mb": 1024}),
    ),
    Benchmark(
        "nodes",
        300,
        "≥ 0.9x one node's messages per node CPU-second, at two nodes (PostgreSQL, Redis)",
        lambda _f, ratio, _u: ratio >= 0.9,
    ),
    Benchmark(
        "growth_events",
        240,
        "a message's cost at 3,000 events ÷ at 10 ≤ 1.2 (issue 13)",
        lambda _f, ratio, _u: ratio <= 1.2,
    ),
    Benchmark(
        "growth_staff",
        240,
        "a message's cost with 200 staff sockets open ÷ with 10 ≤ 1.2 (issue 13)",
        lambda _f, ratio, _u: ratio <= 1.2,
    ),
)


@dataclass
class Outcome:
    """What one benchmark's run came to."""

    benchmark: Benchmark
    status: str = "not run"
    """``ok``, ``failed (exit N)``, ``timed out after N s``, ``no RESULT line``, ``not run``."""
    line: str | None = None
    figure: float | None = None
    unit: str = ""
    baseline: float | None = None
    ratio: float | None = None
    seconds: float = 0.0
    plots: list[str] = field(default_factory=list)
    goal_met: bool | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# -- running one benchmark ----------------------------------------------------------


def run_one(benchmark: Benchmark, env: dict[str, str], started: float) -> Outcome:
    outcome = Outcome(benchmark)
    module = f"bench.{benchmark.name}"
    if importlib.util.find_spec(module) is None:
        outcome.status = "not run (no module)"
        print(f"[{benchmark.name}] not run: there is no {module}", flush=True)
        return outcome
    print(f"[{benchmark.name}] start (limit {benchmark.timeout:.0f} s)", flush=True)
    began = time.monotonic()
    # Its own process group, so servers it starts are stopped with it on a timeout.
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", module],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(process, lines), daemon=True)
    reader.start()
    deadline = began + benchmark.timeout
    timed_out = False
    while True:
        try:
            line = lines.get(timeout=max(0.0, min(1.0, deadline - time.monotonic())))
        except queue.Empty:
            if time.monotonic() >= deadline:
                timed_out = True
                break
            continue
        if line is None:
            break
        print(f"[{benchmark.name}] {line}", flush=True)
        if line.startswith("RESULT "):
            outcome.line = line
    if timed_out:
        _stop(process)
    returncode = process.wait()
    reader.join(timeout=5)
    outcome.seconds = time.monotonic() - began
    if timed_out:
        outcome.status = f"timed out after {benchmark.timeout:.0f} s"
    elif returncode != 0:
        outcome.status = f"failed (exit {returncode})"
    elif outcome.line is None:
        outcome.status = "no RESULT line"
    else:
        outcome.status = "ok"
    if outcome.line is not None:
        _read_line(outcome)
        _read_json(outcome, started)
    if not outcome.ok:
        outcome.goal_met = None
    print(f"[{benchmark.name}] {outcome.status} in {outcome.seconds:.0f} s", flush=True)
    return outcome


def _pump(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM to the benchmark's process group, SIGKILL if it lingers."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _read_line(outcome: Outcome) -> None:
    assert outcome.line is not None
    match = RESULT_LINE.match(outcome.line)
    if match is None:
        outcome.status = "malformed RESULT line"
        return
    outcome.figure = _number(match["figure"])
    outcome.unit = match["unit"]
    outcome.baseline = _number(match["baseline"])
    outcome.ratio = _number(match["ratio"])
    outcome.goal_met = outcome.benchmark.met(outcome.figure, outcome.ratio, outcome.unit)


def _read_json(outcome: Outcome, started: float) -> None:
    """Plots, and a ``goal_met`` the benchmark decided itself, from this run's JSON."""
    written = [
        path
        for path in RESULTS.glob(f"*-{outcome.benchmark.name}.json")
        if path.stat().st_mtime >= started
    ]
    if not written:
        return
    body: dict[str, Any] = json.loads(max(written, key=lambda p: p.stat().st_mtime).read_text())
    outcome.plots = [str(plot) for plot in body.get("plots", [])]
    decided = body.get("details", {}).get("goal_met")
    if isinstance(decided, bool):
        outcome.goal_met = decided


# -- the report ---------------------------------------------------------------------


def _figure(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"


def _met(outcome: Outcome) -> str:
    if not outcome.ok:
        return outcome.status
    return {True: "yes", False: "**no**", None: "see below"}[outcome.goal_met]


def table(outcomes: Sequence[Outcome]) -> list[str]:
    rows = [
        "| benchmark | chatrec | baseline | ratio | goal | met? |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for o in outcomes:
        unit = f" {o.unit}" if o.figure is not None else ""
        rows.append(
            f"| {o.benchmark.name} | {_figure(o.figure)}{unit} | {_figure(o.baseline)}{unit} "
            f"| {_figure(o.ratio)} | {o.benchmark.goal} | {_met(o)} |"
        )
    return rows


def _plot_link(plot: str) -> str:
    path = Path(plot)
    if not path.is_absolute():
        path = ROOT / path
    try:
        return os.path.relpath(path, DOC.parent)
    except ValueError:
        return str(path)


def generated_section(run: dict[str, Any], outcomes: Sequence[Outcome]) -> str:
    lines = [
        START_MARKER,
        "<!-- Written by `python -m bench.run`; edits between these markers are lost. -->",
        "",
        f"Run of {run['date']} on {run['cpus']} CPUs (load average at start "
        f"{run['load']}), Python {run['python']}, {run['system']}; "
        f"{run['seconds']:.0f} s in all.",
    ]
    if run["quick"]:
        lines += [
            "",
            "**Quick sizes** (`--quick`): a check that the benchmarks run, not figures to quote.",
        ]
    if run["only"]:
        lines += ["", f"Only {', '.join(run['only'])} ran (`--only`); the others show “not run”."]
    lines += ["", *table(outcomes), "", "```"]
    lines += [o.line for o in outcomes if o.line is not None] or ["(no RESULT lines)"]
    lines.append("```")
    plotted = [(o.benchmark.name, plot) for o in outcomes if o.ok for plot in o.plots]
    if plotted:
        lines += ["", "Plots:", ""]
        for name, plot in plotted:
            link = _plot_link(plot)
            lines.append(f"- {name}: [{Path(link).name}]({link})")
        lines.append("")
        lines += [f"![{name}: {Path(plot).stem}]({_plot_link(plot)})" for name, plot in plotted]
    lines += ["", END_MARKER]
    return "\n".join(lines)


def rewrite_doc(section: str, doc: Path = DOC) -> None:
    """Replace what lies between the markers (appended at the end if they are missing)."""
    text = doc.read_text() if doc.exists() else "# Performance\n"
    start, end = text.find(START_MARKER), text.find(END_MARKER)
    if start == -1 or end == -1 or end < start:
        text = text.rstrip("\n") + "\n\n## Results\n\n" + section + "\n"
    else:
        text = text[:start] + section + text[end + len(END_MARKER) :]
    doc.write_text(text)


def print_summary(outcomes: Sequence[Outcome]) -> None:
    print("\n" + "\n".join(table(outcomes)), flush=True)
    for o in outcomes:
        print(o.line or f"(no result) {o.benchmark.name}: {o.status}", flush=True)


# -- entry point --------------------------------------------------------------------


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    names = [b.name for b in BENCHMARKS]
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument(
        "--only", default="", help=f"comma-separated benchmarks to run, of: {', '.join(names)}"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes (CHATREC_BENCH_QUICK=1) for a check"
    )
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(args.only) - set(names))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(names)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    if args.quick:
        env["CHATREC_BENCH_QUICK"] = "1"
    else:
        env.pop("CHATREC_BENCH_QUICK", None)
    load = os.getloadavg()
    started_wall = time.time()
    began = time.monotonic()
    outcomes = []
    for benchmark in BENCHMARKS:
        if args.only and benchmark.name not in args.only:
            outcomes.append(Outcome(benchmark))
            continue
        # A second's slack: a file system's mtime may round below the start.
        outcomes.append(run_one(benchmark, env, started_wall - 1))
    run = {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "cpus": os.cpu_count(),
        "load": " / ".join(f"{value:.2f}" for value in load),
        "python": platform.python_version(),
        "system": platform.platform(terse=True),
        "seconds": time.monotonic() - began,
        "quick": args.quick,
        "only": args.only,
    }
    print_summary(outcomes)
    rewrite_doc(generated_section(run, outcomes))
    print(f"\n{DOC.relative_to(ROOT)} updated; {run['seconds']:.0f} s in all.", flush=True)
    selected = [o for o in outcomes if not args.only or o.benchmark.name in args.only]
    return 0 if all(o.ok for o in selected) else 1


if __name__ == "__main__":
    sys.exit(main())
