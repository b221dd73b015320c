"""What a ``chatrec simulate`` run did: each chat's course, the samples, the summary."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from chatrec.simulate.client import Frame, Tally
from chatrec.simulate.plan import ChatPlan, Options


@dataclass
class ChatRun:
    """One chat as it goes: its plan and what was done, by customer and agents alike."""

    plan: ChatPlan
    chat_id: str | None = None
    consent: str | None = None
    paused: bool = False
    transferred: bool = False
    deletion_requested: bool = False
    delete_pressed: bool = False
    ended: bool = False
    ended_by: str | None = None
    error: str | None = None

    def result(self) -> dict[str, Any]:
        done = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "plan"}
        return {"index": self.plan.index, "service": self.plan.service_id, **done}


@dataclass
class Stats(Tally):
    """Every count and sample of a run; its links report into it as they go."""

    messages_sent: int = 0
    messages_acked: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    transfer_fallbacks: int = 0
    foreign_chats: int = 0
    ack_seconds: list[float] = field(default_factory=list)
    delivery_seconds: list[float] = field(default_factory=list)

    def sending(self, frame: Frame) -> None:
        self.messages_sent += frame["type"] == "message"

    def acked(self, frame: Frame, seconds: float) -> None:
        self.ack_seconds.append(seconds)
        if frame["type"] == "message":
            self.messages_acked += 1
        else:
            self.actions[frame["type"]] += 1

    def stray_error(self, frame: Frame) -> None:
        self.errors[str(frame.get("code"))] += 1

    def unreadable(self) -> None:
        self.errors["bad_server_frame"] += 1


@dataclass(frozen=True, slots=True)
class Latency:
    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True, slots=True)
class Summary:
    url: str
    seed: int
    chats: int
    concurrency: int
    agents: list[str]
    chats_started: int
    chats_ended: int
    chats_failed: int
    messages_sent: int
    messages_acked: int
    actions: dict[str, int]
    errors: dict[str, int]
    transfer_fallbacks: int
    foreign_chats: int
    send_to_ack: Latency
    customer_to_agent: Latency
    messages_per_second: float
    chats_per_second: float
    wall_seconds: float
    results: list[dict[str, Any]]

    @property
    def clean(self) -> bool:
        return self.chats_ended == self.chats and not self.errors


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest rank: the smallest value with at least ``percent`` % of values at or below."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def latency(seconds: Sequence[float]) -> Latency:
    if not seconds:
        return Latency(0, None, None, None)
    p50, p95, p99 = (round(percentile(seconds, p) * 1000, 2) for p in (50, 95, 99))
    return Latency(len(seconds), p50, p95, p99)


def summarise(options: Options, runs: Sequence[ChatRun], stats: Stats, wall: float) -> Summary:
    ended = sum(run.ended for run in runs)
    return Summary(
        url=options.url,
        seed=options.seed,
        chats=options.chats,
        concurrency=options.concurrency,
        agents=list(options.agents),
        chats_started=sum(run.chat_id is not None for run in runs),
        chats_ended=ended,
        chats_failed=len(runs) - ended,
        messages_sent=stats.messages_sent,
        messages_acked=stats.messages_acked,
        actions=dict(sorted(stats.actions.items())),
        errors=dict(sorted(stats.errors.items())),
        transfer_fallbacks=stats.transfer_fallbacks,
        foreign_chats=stats.foreign_chats,
        send_to_ack=latency(stats.ack_seconds),
        customer_to_agent=latency(stats.delivery_seconds),
        messages_per_second=round(stats.messages_acked / wall, 2) if wall else 0.0,
        chats_per_second=round(ended / wall, 2) if wall else 0.0,
        wall_seconds=round(wall, 3),
        results=[run.result() for run in runs],
    )


def summary_json(summary: Summary) -> str:
    return json.dumps(asdict(summary), indent=2)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def _latency_line(found: Latency) -> str:
    return (
        f"p50 {_ms(found.p50_ms)}, p95 {_ms(found.p95_ms)}, p99 {_ms(found.p99_ms)}"
        f" ({found.count} samples)"
    )


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items()) or "none"


def _foreign(count: int) -> list[tuple[str, str]]:
    if not count:
        return []
    return [("other chats", f"{count} given to the agents were not this run's; left alone")]


def _fallbacks(count: int) -> str:
    return f" ({count} to the queue: target agent busy)" if count else ""


def summary_text(summary: Summary) -> str:
    rows = [
        (
            "chats",
            f"started {summary.chats_started}, ended {summary.chats_ended}, "
            f"failed {summary.chats_failed}",
        ),
        ("messages", f"sent {summary.messages_sent}, acked {summary.messages_acked}"),
        ("actions", _counts(summary.actions) + _fallbacks(summary.transfer_fallbacks)),
        ("errors", _counts(summary.errors)),
        *_foreign(summary.foreign_chats),
        ("send to ack", _latency_line(summary.send_to_ack)),
        ("customer to agent", _latency_line(summary.customer_to_agent)),
        (
            "throughput",
            f"{summary.messages_per_second} messages/s, {summary.chats_per_second} chats/s",
        ),
        ("wall time", f"{summary.wall_seconds:.2f} s"),
    ]
    head = (
        f"chatrec simulate: {summary.chats} chats, concurrency {summary.concurrency}, "
        f"agents {','.join(summary.agents)}, seed {summary.seed}, {summary.url}"
    )
    return "\n".join([head, *(f"  {label:<19}{value}" for label, value in rows)])
