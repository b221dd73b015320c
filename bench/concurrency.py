"""Concurrency and memory: open chats held idle, stepping up to 50,000 on one node.

The real server (``chatrec demo --no-platform``, SQLite, recording on) runs in a child
process with its file-descriptor limit raised to room for 50,000 sockets, or as far as
the hard limit allows: a socket is a descriptor, so a server whose hard limit is lower
stops at the last step that fits (and the note says so).  Each open chat is a customer as the widget
makes one: ``POST /api/chats`` for ``demo-support``, then its ``/ws/customer`` socket,
hello, and silence: the chat waits in its flow for the answer to "What can we help you
with today?".  At each step the server's resident memory is read from
``/proc/<pid>/status``, and 20 active chats (opened and queued before the first
reading) send messages and time each one to its ``ack``: whether the active chats keep
their latency while the idle ones pile up.

The idle connections are held by several client processes per server
(``bench/idle_chats.py hold``), each from a loopback address of its own: one process's
descriptors and one source address's ephemeral ports (about 28,000) are not enough for
50,000 sockets.

The baseline, measured in the same run at the same counts, is a bare WebSocket server
on the same stack (``bench/idle_chats.py``: uvicorn as chatrec runs it, a Starlette
route, the same hello / welcome / ack framing, no store, no flow).  Its memory per
connection is what holding a socket costs before chatrec keeps anything, so the ratio
says how much chatrec adds per chat; the goal (≤ 40 KB a chat) is judged on chatrec's
absolute figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.harness import ChildServer
from websockets.asyncio.client import ClientConnection

from bench.common import QUICK, ROOT, Result, pyplot, raise_open_files, report, save_plot, summary
from bench.idle_chats import (
    ChatStarter,
    bare_opener,
    chat_opener,
    drop_all,
    open_many,
    round_trip,
)
from chatrec.demo.sshd import free_port

NAME = "concurrency"
GOAL = "50,000 open chats, <= 40 KB each"
GOAL_CHATS = 50_000
GOAL_KB = 40.0

STEPS = (0, 200, 500) if QUICK else (0, 5_000, 10_000, 25_000, GOAL_CHATS)
ACTIVE = 20
"""Chats that talk while the others sit idle; their latency is the one that must hold."""
MESSAGES = 5
"""Messages per active chat at each step: 100 round trips a step."""
GAP = 0.05
"""Seconds between one active chat's messages: a conversation, not a flood."""
IN_FLIGHT = 200
"""Chats being opened at once on each server."""
PER_HOLDER = 12_500
"""Idle connections per client process, at most: with its in-flight ones and the HTTP
connections that start chats, within a 20,000 descriptor limit and one address's ports."""
RESERVE = 1_000
"""Descriptors a server keeps for all but the idle chats: the active ones, the kept-alive
connections that start chats, its database and logs."""
SETTLE = 1.0
"""Seconds to wait after a step's chats are open before reading the memory."""
BUDGET = 30.0 if QUICK else 220.0
"""Seconds this benchmark may take in all; a step that would overrun it is skipped."""
NOFILE = GOAL_CHATS + 15_000


@dataclass
class Step:
    open_chats: int
    rss_kb: float
    kb_per_chat: float | None
    opened_in_s: float
    latency_ms: dict[str, float]


class HoldingError(Exception):
    """A holder could not open the idle connections it was asked for."""


@dataclass
class Holder:
    """A ``python -m bench.idle_chats hold`` child: one server's idle connections."""

    process: asyncio.subprocess.Process
    held: int = 0

    @classmethod
    async def start(cls, kind: str, port: int, source: str) -> Holder:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.idle_chats", "hold", kind, str(port), str(IN_FLIGHT),
            source, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        return cls(process)

    async def grow(self, target: int) -> float:
        """Hold ``target`` idle connections; the seconds it took to open the new ones."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(f"{target}\n".encode())
        await self.process.stdin.drain()
        answer = (await self.process.stdout.readline()).decode().strip()
        if not answer.startswith("ok "):
            raise HoldingError(answer or "the holder exited")
        self.held = target
        return float(answer.split()[1])

    async def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@dataclass
class Holders:
    """One server's holders, filled one after the other, each from its own address."""

    kind: str
    port: int
    sources: list[str]
    per_holder: int
    started: list[Holder] = field(default_factory=list)

    @property
    def held(self) -> int:
        return sum(holder.held for holder in self.started)

    async def grow(self, target: int) -> float:
        """Hold ``target`` idle connections in all; the seconds it took to open the new ones."""
        took = 0.0
        for index in range(math.ceil(target / self.per_holder)):
            if index == len(self.started):
                source = self.sources[index]
                self.started.append(await Holder.start(self.kind, self.port, source))
            share = min(self.per_holder, target - index * self.per_holder)
            if share > self.started[index].held:
                took += await self.started[index].grow(share)
        return took

    async def stop(self) -> None:
        await asyncio.gather(*(holder.stop() for holder in self.started))


@dataclass
class Side:
    """One server under test: its process, its active chats and its idle ones."""

    label: str
    pid: int
    holder: Holders
    active: list[ClientConnection] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)


# -- child processes ------------------------------------------------------------------


def _raise_limit() -> None:
    """In a server child: room for 50,000 sockets and the files around them."""
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    except (ValueError, OSError):  # not privileged: as far as the hard limit allows
        raise_open_files(NOFILE)


def open_files_limit(pid: int) -> int:
    """The soft limit on descriptors of a running process, from ``/proc/<pid>/limits``."""
    text = Path(f"/proc/{pid}/limits").read_text()
    found = re.search(r"^Max open files\s+(\d+)", text, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no open files limit for process {pid}")
    return int(found.group(1))


def steps_within(limit: int) -> tuple[list[int], str | None]:
    """The steps a server with ``limit`` descriptors can hold; why they stop short, if so.

    A step over the limit is replaced by the last thousand that fits, so the figure is
    still read as near the goal's count as the machine allows.
    """
    room = limit - RESERVE
    steps = [target for target in STEPS if target <= room]
    if len(steps) == len(STEPS):
        return steps, None
    last = room // 1_000 * 1_000
    if last > steps[-1]:
        steps.append(last)
    return steps, (
        f"the server may open {limit:,} files (its hard limit; raising it needs "
        f"CAP_SYS_RESOURCE), so it holds at most about {room:,} idle chats: "
        f"{STEPS[-1]:,} need {STEPS[-1] + RESERVE:,} descriptors"
    )


def rss_kb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


@contextlib.contextmanager
def child(command: Sequence[str], port: int, folder: Path, env: dict[str, str]) -> Iterator[int]:
    """Run a server until it accepts on ``port``; yield its pid; kill it (its data
    directory is thrown away, so a graceful shutdown of 10,000 sockets buys nothing)."""
    server = ChildServer(
        command,
        folder / "server.log",
        env=env,
        cwd=ROOT,
        preexec_fn=_raise_limit,
        port=port,
        ready="listening",
    )
    try:
        server.start(60)
        yield server.pid
    finally:
        server.kill()


def chatrec_command(folder: Path, port: int) -> list[str]:
    return [
        sys.executable, "-m", "chatrec", "demo", "--no-platform",
        "--data-dir", str(folder), "--port", str(port),
    ]  # fmt: skip


CHATREC_ENV = {
    # Idle chats must stay open for the whole run, and the active ones never be throttled.
    "CHATREC_INACTIVITY_TIMEOUT_SECONDS": "86400",
    "CHATREC_FRAMES_PER_SECOND": "1000",
    "CHATREC_FRAME_BURST": "1000",
}


# -- the steps ------------------------------------------------------------------------


async def _latencies(active: Sequence[ClientConnection]) -> dict[str, float]:
    """Each active chat says ``MESSAGES`` things, one at a time; ms from send to ack."""
    frame: dict[str, object] = {"type": "message", "text": "Are you still there?"}

    async def talk(ws: ClientConnection) -> list[float]:
        times = []
        for _ in range(MESSAGES):
            times.append(await round_trip(ws, frame) * 1000)
            await asyncio.sleep(GAP)
        return times

    per_chat = await asyncio.gather(*(talk(ws) for ws in active))
    return summary([ms for times in per_chat for ms in times])


async def step_up(sides: Sequence[Side], steps: Sequence[int], deadline: float) -> str | None:
    """Both servers through the same steps; why they stopped short, if they did.

    The idle connections of a step are opened on both servers at once (chatrec's
    server takes one core, the bare server and this client the other); memory and
    latency are then read while nothing else happens.
    """
    for side in sides:
        await _latencies(side.active)  # the first round trips warm the code paths
    seconds_per_chat = 0.0
    for target in steps:
        wanted = target - sides[0].holder.held
        needed, left = wanted * seconds_per_chat * 1.2 + 5, deadline - time.monotonic()
        if needed > left:
            return (
                f"stopped before {target:,}: opening {wanted:,} more chats would take about "
                f"{needed:.0f} s, and {left:.0f} s of the {BUDGET:.0f} s budget were left"
            )
        try:
            took = await asyncio.gather(*(side.holder.grow(target) for side in sides))
        except HoldingError as error:
            return f"stopped at {sides[0].holder.held:,}: opening {target:,} failed: {error}"
        if wanted:
            seconds_per_chat = max(took) / wanted
        await asyncio.sleep(SETTLE)
        readings = [rss_kb(side.pid) for side in sides]
        for side, rss, opened_in in zip(sides, readings, took, strict=True):
            latency = await _latencies(side.active)
            base = side.steps[0].rss_kb if side.steps else rss
            step = Step(
                open_chats=target,
                rss_kb=rss,
                kb_per_chat=(rss - base) / target if target else None,
                opened_in_s=round(opened_in, 2),
                latency_ms=latency,
            )
            side.steps.append(step)
            each = f"{step.kb_per_chat:6.1f} KB each" if step.kb_per_chat is not None else ""
            print(
                f"  {side.label:8} {target:6,} open  RSS {rss / 1024:7.1f} MB {each:14}  "
                f"opened in {opened_in:5.1f} s  p50 {latency['p50']:6.1f} ms  "
                f"p99 {latency['p99']:6.1f} ms",
                flush=True,
            )
    return None


async def measure(folder: Path, deadline: float) -> tuple[Side, Side, list[str]]:
    chatrec_port, bare_port = free_port(), free_port()
    bare_command = [sys.executable, "-m", "bench.idle_chats", "serve", str(bare_port)]
    starter = ChatStarter("127.0.0.1", chatrec_port)
    sides: list[Side] = []
    notes: list[str] = []
    holders = math.ceil(STEPS[-1] / PER_HOLDER)
    sources = [f"127.0.0.{2 + n}" for n in range(2 * holders)]
    with (
        child(chatrec_command(folder / "chatrec", chatrec_port), chatrec_port,
              folder / "chatrec", CHATREC_ENV) as chatrec_pid,
        child(bare_command, bare_port, folder / "bare", {}) as bare_pid,
    ):  # fmt: skip
        try:
            steps, short = steps_within(
                min(open_files_limit(chatrec_pid), open_files_limit(bare_pid))
            )
            notes += [short] if short else []
            holding = Holders("chatrec", chatrec_port, sources[:holders], PER_HOLDER)
            chatrec = Side("chatrec", chatrec_pid, holding)
            sides.append(chatrec)
            opener = chat_opener(starter, f"ws://127.0.0.1:{chatrec_port}", keepalive=True)
            chatrec.active = await open_many(opener, ACTIVE, ACTIVE)
            # The active chats answer the flow's question, so they talk in the queue.
            answer: dict[str, object] = {"type": "message", "text": "Technical problem"}
            await asyncio.gather(*(round_trip(ws, answer) for ws in chatrec.active))
            bare = Side("bare", bare_pid, Holders("bare", bare_port, sources[holders:], PER_HOLDER))
            sides.append(bare)
            opener = bare_opener(f"ws://127.0.0.1:{bare_port}", keepalive=True)
            bare.active = await open_many(opener, ACTIVE, ACTIVE)
            stopped = await step_up(sides, steps, deadline)
            notes += [stopped] if stopped else []
        finally:
            starter.close()
            for side in sides:
                drop_all(side.active)
            await asyncio.gather(*(side.holder.stop() for side in sides))
    return chatrec, bare, notes


# -- the report -----------------------------------------------------------------------


def plot(chatrec: Side, bare: Side) -> list[str]:
    plt = pyplot()
    from matplotlib.ticker import FuncFormatter

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for run, style in ((chatrec, "o-"), (bare, "s--")):
        counts = [s.open_chats for s in run.steps]
        axes.plot(counts, [s.rss_kb / 1024 for s in run.steps], style, label=run.label)
    top = max(s.open_chats for s in chatrec.steps)
    base = chatrec.steps[0].rss_kb / 1024
    axes.plot([0, top], [base, base + top * GOAL_KB / 1024], ":", color="grey",
              label=f"goal: {GOAL_KB:.0f} KB a chat")  # fmt: skip
    axes.set_xlabel("open chats (idle connections)")
    axes.set_ylabel("server RSS (MB)")
    axes.set_title("Server memory against open chats")
    axes.grid(alpha=0.3)
    axes.legend()
    memory = save_plot(figure, "concurrency-memory.png")

    figure, axes = plt.subplots(figsize=(8.5, 4.5))
    for run, colour in ((chatrec, "tab:blue"), (bare, "tab:orange")):
        counts = [s.open_chats for s in run.steps]
        for share, style in (("p50", "o-"), ("p99", "s--")):
            values = [s.latency_ms[share] for s in run.steps]
            axes.plot(counts, values, style, color=colour, label=f"{run.label} {share}")
    axes.set_xlabel("open chats (idle connections)")
    axes.set_ylabel(f"message to ack, {ACTIVE} active chats (ms)")
    axes.set_title("Latency of the active chats against open chats")
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.yaxis.set_minor_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.grid(alpha=0.3, which="both")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    return [memory, save_plot(figure, "concurrency-latency.png")]


def main() -> None:
    started = time.monotonic()
    limit = raise_open_files(NOFILE)  # what each holder of idle connections gets too
    folder = Path(tempfile.mkdtemp(prefix="chatrec-bench-concurrency-"))
    try:
        chatrec, bare, notes = asyncio.run(measure(folder, started + BUDGET))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    top, same = chatrec.steps[-1], bare.steps[-1]
    if top.open_chats < GOAL_CHATS and not QUICK:
        notes.append(f"{GOAL_CHATS:,} open chats were not reached ({top.open_chats:,})")
    details: dict[str, Any] = {
        "figure": f"chatrec server KB of RSS per open chat at {top.open_chats:,} open chats",
        "baseline": (
            f"bare uvicorn/Starlette WebSocket server, KB of RSS per idle connection "
            f"at {same.open_chats:,}"
        ),
        "goal_met": top.open_chats >= GOAL_CHATS
        and top.kb_per_chat is not None
        and top.kb_per_chat <= GOAL_KB,
        "why_this_baseline": (
            "the same uvicorn settings, Starlette WebSocket route and JSON hello/ack "
            "framing with no store, flow or chat: what holding a connection costs before "
            "chatrec keeps anything; ratio = what chatrec holds per chat over that"
        ),
        "latency_holds": {
            "chatrec_ms_at_0": chatrec.steps[0].latency_ms,
            f"chatrec_ms_at_{top.open_chats}": top.latency_ms,
            "bare_ms_at_0": bare.steps[0].latency_ms,
            f"bare_ms_at_{same.open_chats}": same.latency_ms,
        },
        "active_chats": ACTIVE,
        "messages_per_step": ACTIVE * MESSAGES,
        "open_files_limit": limit,
        "idle_chats_per_client_process": PER_HOLDER,
        "chatrec_steps": [asdict(step) for step in chatrec.steps],
        "bare_steps": [asdict(step) for step in bare.steps],
        "notes": notes,
        "seconds": round(time.monotonic() - started, 1),
    }
    result = Result(
        name=NAME,
        figure=round(top.kb_per_chat or float("nan"), 2),
        unit="KB/chat",
        baseline=round(same.kb_per_chat or float("nan"), 2),
        goal=GOAL,
        details=details,
        plots=plot(chatrec, bare),
    )
    for note in notes:
        print(f"  {note}")
    report(result)


if __name__ == "__main__":
    main()
