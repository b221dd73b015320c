"""What every benchmark shares: its result line, its JSON file, and its plots' folder.

A benchmark compares chatrec with a baseline measured in the same run (the machine is
shared and noisy, so only ratios from one run mean anything) and ends by printing

    RESULT <name> <figure> <unit> baseline=<figure> ratio=<figure>

with ratio = chatrec ÷ baseline, which ``bench/run.py`` collects into
``docs/performance.md``.  Never assert timings in tests; measure them here.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PLOTS = ROOT / "docs" / "performance"

# A benchmark drives one server from one address with more chats and sockets than the
# limits for anonymous callers allow (docs/protocol.md#limits), and its SFTP peers listen
# on loopback, which the egress policy refuses by default: every chatrec it starts, in
# this process or as a child, runs with those lifted unless the caller set them.
BENCH_SETTINGS = {
    "CHATREC_CHAT_STARTS_PER_MINUTE": "1000000",
    "CHATREC_MAX_OPEN_CHATS_PER_COMPANY": "1000000",
    "CHATREC_MAX_CONNECTIONS": "1000000",
    "CHATREC_MAX_CONNECTIONS_PER_ADDRESS": "1000000",
    "CHATREC_EGRESS_ALLOW": "127.0.0.1",
}
for _name, _value in BENCH_SETTINGS.items():
    os.environ.setdefault(_name, _value)

QUICK = os.environ.get("CHATREC_BENCH_QUICK") == "1"
"""Small sizes for developing a benchmark; `make bench` runs the full sizes."""


@dataclass
class Result:
    """One benchmark's headline figure against its baseline, and whatever else it measured."""

    name: str
    figure: float
    unit: str
    baseline: float
    goal: str
    details: dict[str, Any] = field(default_factory=dict)
    plots: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.figure / self.baseline if self.baseline else float("nan")

    def line(self) -> str:
        return (
            f"RESULT {self.name} {self.figure:.6g} {self.unit} "
            f"baseline={self.baseline:.6g} ratio={self.ratio:.3f}"
        )


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.platform(),
        "load_average": os.getloadavg(),
    }


def report(result: Result) -> Path:
    """Write ``bench/results/<date>-<name>.json`` and print the RESULT line last."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    when = datetime.now(UTC)
    path = RESULTS / f"{when:%Y-%m-%d}-{result.name}.json"
    body = asdict(result) | {"ratio": result.ratio, "at": when.isoformat(), "machine": machine()}
    path.write_text(json.dumps(body, indent=2, default=str) + "\n")
    print(result.line(), flush=True)
    return path


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` (0 to 1) percentile, nearest-rank; ``nan`` for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]


def cumulative(values: Iterable[float]) -> tuple[list[float], list[float]]:
    """Sorted values and the share of them at or below each: the points of a latency CDF."""
    ordered = sorted(values)
    return ordered, [(n + 1) / len(ordered) for n in range(len(ordered))]


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (files, no display), imported only by a
    benchmark that draws: measuring needs none of it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_plot(figure: Any, name: str, dpi: int = 110) -> str:
    """Lay out ``figure``, write it as ``docs/performance/<name>`` and close it; the path
    from the repository root, as the results and docs/performance.md name plots."""
    import matplotlib.pyplot as plt  # the benchmark chose its backend when it imported it

    PLOTS.mkdir(parents=True, exist_ok=True)
    path = PLOTS / name
    figure.tight_layout()
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
    return str(path.relative_to(ROOT))


def summary(values: Sequence[float]) -> dict[str, float]:
    """p50, p99, mean and count of latencies (or any sample)."""
    return {
        "count": float(len(values)),
        "p50": percentile(values, 0.50),
        "p99": percentile(values, 0.99),
        "mean": statistics.fmean(values) if values else float("nan"),
    }


def raise_open_files(wanted: int = 65536) -> int:
    """Raise this process's file-descriptor limit as far as allowed; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
