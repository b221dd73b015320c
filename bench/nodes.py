"""One node against two on PostgreSQL and Redis: what a second node costs each (R20, issue 12).

The same load, one chat flow with three recordings per chat as ``bench.relay`` has it,
goes once through one ``chatrec serve`` and once through two, both on a PostgreSQL
database of the benchmark's own (created on the machine's server, 127.0.0.1:5432, and
dropped at the end) and a ``redis-server`` of its own on a free port.  With two nodes
half the customers and half the agents are on each, from one ``chatrec simulate``
client (its customers and agents, imported) whose chats and agents are shared, so a
chat started on one node is often answered by an agent on the other: routing, notices
and lazy loading across nodes are what is measured.  Delivery is left out of both
(``CHATREC_DELIVERY_IN_SERVER=false``, no worker): it has its own benchmarks.

The load is steady, not saturating (one message every ``THINK`` s per side), so that
two nodes, PostgreSQL, Redis and the client share two cores without a backlog.  CPU
comes from ``/proc``: each node's process (its threads included), the PostgreSQL
backends serving the bench database (found in ``pg_stat_activity`` and read every
``POLL`` s while the load runs, so a backend that exits between two reads loses that
last slice; pg_stat_statements is not preloaded on the machine's server and cannot be
without restarting it) and the ``redis-server``.  PostgreSQL's shared processes (WAL
writer, checkpointer) are not counted: other databases share them.

The figure is messages acknowledged per second of node CPU (summed over the nodes) at
two nodes; the baseline is the same at one node; goal ratio ≥ 0.9.  The details give
database and Redis CPU per message, and the projected capacity of a node.

``CHATREC_BENCH_QUICK=1``: small sizes (under a minute).  ``CHATREC_BENCH_PROFILE=1``:
the nodes run under cProfile, one ``bench/results/nodes-<phase>-<node>.prof`` each
(read with ``python -m pstats``); their CPU figures then include cProfile's overhead,
and cProfile sees the event loop's thread only (py-spy sees the store's threads too).
A phase that counts errors keeps its nodes' logs beside the results.

Its length is one benchmark's: the database, the client spread over the nodes and the
CPU readings are read together, since each figure depends on how the others were taken.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from tests.redis_server import RedisServer

from bench import chat_load
from bench.chat_load import Server, Site, cpu_seconds
from bench.common import (
    QUICK,
    RESULTS,
    Result,
    pyplot,
    raise_open_files,
    report,
    save_plot,
    summary,
)
from chatrec.simulate.agents import Agent, start_agents
from chatrec.simulate.context import Context
from chatrec.simulate.plan import Options, plan_chats
from chatrec.simulate.run import run_customer
from chatrec.simulate.summary import ChatRun, Stats, Summary, summarise

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
"""Where the bench database is created and dropped, and its backends are found."""
SQLALCHEMY_PREFIX = "postgresql+psycopg://postgres@127.0.0.1:5432/"

CHATS = 20 if QUICK else 120
MESSAGES = 3 if QUICK else 8
"""Customer messages per chat, each answered: twice as many messages acknowledged."""
THINK = 1.0 if QUICK else 2.0
ROUNDS = 1 if QUICK else 4
"""Rounds of one node and two; the figures sum the rounds (noise evens out).  The order
alternates (one then two, two then one, ...): this shared machine's speed drifts over
minutes, and a drift then weighs on both figures alike."""
LEAST_AGENTS = 2 if QUICK else 4
POLL = 0.2
"""Seconds between two reads of the bench database's backends' CPU."""
CHAT_TIMEOUT = 60.0
"""Seconds a chat may take before the client counts it as timed out and goes on."""
STATED_RATE = 1 / 15
"""Messages a second of one chat for the projection: each side writes every 30 s."""

NODE_ENV = chat_load.SERVER_ENV | {"CHATREC_DELIVERY_IN_SERVER": "false"}
PROFILE = os.environ.get("CHATREC_BENCH_PROFILE") == "1"


# -- PostgreSQL, Redis and the nodes --------------------------------------------------


@contextmanager
def bench_database() -> Iterator[str]:
    """A database of the benchmark's own on the machine's PostgreSQL, dropped after."""
    name = f"chatrec_bench_nodes_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class BackendCpu:
    """CPU of the PostgreSQL backends serving one database, read from ``/proc`` every
    ``POLL`` s in a thread: each backend's use since the start (or since it appeared)."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _pids(self, connection: psycopg.Connection[Any]) -> list[int]:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)
        ).fetchall()
        return [int(row[0]) for row in rows]

    def _read(self, connection: psycopg.Connection[Any], starting: bool) -> None:
        for pid in self._pids(connection):
            try:
                used = cpu_seconds(pid)
            except (FileNotFoundError, ProcessLookupError):
                continue
            # A backend met at the start counts from there; a later one from its birth.
            self.first.setdefault(pid, used if starting else 0.0)
            self.last[pid] = used

    def _poll(self) -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
            self._read(connection, starting=True)
            self._started.set()
            while not self._stop.wait(POLL):
                self._read(connection, starting=False)
            self._read(connection, starting=False)

    def start(self) -> None:
        self._thread.start()
        self._started.wait(10)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def node(folder: Path, name: str, database_url: str, redis_url: str, phase: str) -> Server:
    """``chatrec serve`` on the shared database and Redis, its own data folder (spool)."""
    data_dir = folder / name
    data_dir.mkdir(exist_ok=True)
    python = [sys.executable]
    if PROFILE:
        python += ["-m", "cProfile", "-o", str(RESULTS / f"nodes-{phase}-{name}.prof")]
    command = [*python, "-m", "chatrec", "serve", "--data-dir", str(data_dir)]
    command += ["--database-url", database_url]
    env = NODE_ENV | {"CHATREC_REDIS_URL": redis_url}
    return Server(command, data_dir, env, database_url=database_url)


@contextmanager
def running(servers: Sequence[Server]) -> Iterator[Sequence[Server]]:
    """Start them one after the other (the first migrates), stop them all after."""
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def keep_logs(servers: Sequence[Server], phase: str) -> None:
    """Each node's log copied to ``bench/results/nodes-<phase>-<node>.log``, for a phase
    that failed or counted errors: the nodes' data folders are deleted at the end."""
    for server in servers:
        log = server.data_dir / "server.log"
        if log.exists():
            shutil.copyfile(log, RESULTS / f"nodes-{phase}-{server.data_dir.name}.log")


# -- one client, customers and agents spread over the nodes ---------------------------


async def spread(
    urls: Sequence[str],
    site: Site,
    *,
    chats: int,
    messages: int,
    stats: Stats,
    mark: Callable[[str], None],
) -> Summary:
    """``chatrec simulate``'s customers and agents, dealt in turn over ``urls``.

    One run whose chats, texts and agents every node's part shares, so an agent on one
    node answers a chat started on another (two ``simulate`` processes would each
    leave the other's chats unanswered).  ``mark("start")`` is called once the agents
    are signed in and Available, ``mark("end")`` when the last chat has ended: the
    agents' sign-ins (a password hash each) are no part of the messages' cost.
    """
    options = [
        Options(
            url=url,
            chats=chats,
            concurrency=chats,
            services=(site.service_id,),
            agents=site.agents[n :: len(urls)],
            messages=messages,
            pause_share=0,
            transfer_share=0,
            delete_share=0,
            consent_no_share=0,
            agent_end_share=0,
            frames_per_second=chat_load.CLIENT_FRAMES_PER_SECOND,
            timeout=60,
            chat_timeout=CHAT_TIMEOUT,
            think_seconds=THINK,
        )
        for n, url in enumerate(urls)
    ]
    runs = [ChatRun(plan) for plan in plan_chats(options[0])]
    agents: list[Agent] = []
    async with AsyncExitStack() as stack:
        contexts: list[Context] = []
        for part in options:
            limits = httpx.Limits(max_connections=max(10, 2 * chats))
            http = await stack.enter_async_context(
                httpx.AsyncClient(base_url=part.url, timeout=part.timeout, limits=limits)
            )
            first = contexts[0] if contexts else None
            ctx = Context(part, http, stats)
            if first is not None:
                ctx.runs, ctx.sent, ctx.delivered = first.runs, first.sent, first.delivered
            ctx.agents = agents
            contexts.append(ctx)
        for ctx in contexts:
            agents.extend(await start_agents(ctx, site.passwords))
        if len(agents) < len(site.agents):
            raise RuntimeError(f"not every agent could sign in: {dict(stats.errors)}")
        mark("start")
        began = time.monotonic()
        try:
            await asyncio.gather(
                *(run_customer(contexts[n % len(contexts)], run) for n, run in enumerate(runs))
            )
        finally:
            wall = time.monotonic() - began
            mark("end")
            for agent in agents:
                await agent.stop()
    return summarise(options[0], runs, stats, wall)


@dataclass
class Phase:
    """One run of the load through ``nodes`` nodes: what it did and the CPU it took."""

    nodes: int
    summary: Summary
    stats: Stats
    node_cpu: list[float]
    database_cpu: float
    database_backends: int
    redis_cpu: float

    @property
    def messages(self) -> int:
        return self.summary.messages_acked

    def describe(self) -> dict[str, Any]:
        s, messages = self.summary, max(1, self.messages)
        return {
            "nodes": self.nodes,
            "chats": s.chats,
            "ended": s.chats_ended,
            "errors": s.errors,
            "messages_acked": s.messages_acked,
            "wall_seconds": s.wall_seconds,
            "messages_per_second": s.messages_per_second,
            "node_cpu_seconds": [round(cpu, 2) for cpu in self.node_cpu],
            "node_cpu_us_per_message": round(1e6 * sum(self.node_cpu) / messages),
            "database_cpu_seconds": round(self.database_cpu, 2),
            "database_backends": self.database_backends,
            "database_cpu_us_per_message": round(1e6 * self.database_cpu / messages),
            "redis_cpu_seconds": round(self.redis_cpu, 2),
            "redis_cpu_us_per_message": round(1e6 * self.redis_cpu / messages),
            "customer_to_agent_ms": summary([1000 * d for d in self.stats.delivery_seconds]),
            "send_to_ack_ms": summary([1000 * d for d in self.stats.ack_seconds]),
        }


def measure(servers: Sequence[Server], site: Site, database: str, redis: RedisServer) -> Phase:
    assert redis.process is not None
    pids = [server.pid for server in servers] + [redis.process.pid]
    readings: dict[str, list[float]] = {}
    backends = BackendCpu(database)

    def mark(moment: str) -> None:
        readings[moment] = [cpu_seconds(pid) for pid in pids]
        if moment == "start":
            backends.start()
        else:
            backends.stop()

    stats = Stats()
    done = asyncio.run(
        spread(
            [server.url for server in servers],
            site,
            chats=CHATS,
            messages=MESSAGES,
            stats=stats,
            mark=mark,
        )
    )
    used = [end - start for start, end in zip(readings["start"], readings["end"], strict=True)]
    return Phase(
        nodes=len(servers),
        summary=done,
        stats=stats,
        node_cpu=used[:-1],
        database_cpu=backends.seconds,
        database_backends=len(backends.last),
        redis_cpu=used[-1],
    )


# -- the figures ------------------------------------------------------------------------


@dataclass
class Totals:
    """Phases of one node count summed over the rounds."""

    phases: list[Phase] = field(default_factory=list)

    def _sum(self, attribute: str) -> float:
        return float(sum(getattr(phase, attribute) for phase in self.phases))

    @property
    def messages(self) -> float:
        return self._sum("messages")

    @property
    def node_cpu(self) -> float:
        return float(sum(sum(phase.node_cpu) for phase in self.phases))

    @property
    def per_node_cpu_second(self) -> float:
        """Messages per second of node CPU: what one node carries on one core."""
        return self.messages / max(self.node_cpu, 1e-9)

    def us_per_message(self, cpu: float) -> float:
        return round(1e6 * cpu / max(1.0, self.messages), 1)

    def describe(self) -> dict[str, Any]:
        return {
            "messages_acked": self.messages,
            "messages_per_node_cpu_second": round(self.per_node_cpu_second, 1),
            "node_cpu_us_per_message": self.us_per_message(self.node_cpu),
            "database_cpu_us_per_message": self.us_per_message(self._sum("database_cpu")),
            "redis_cpu_us_per_message": self.us_per_message(self._sum("redis_cpu")),
            "errors": sum(sum(phase.summary.errors.values()) for phase in self.phases),
        }


def per_cpu(phase: Phase) -> float:
    """A phase's messages per second of node CPU (summed over its nodes)."""
    return phase.messages / max(sum(phase.node_cpu), 1e-9)


def projection(carried: float) -> dict[str, Any]:
    """What one node carries at 100 % of one core, in messages and in chats."""
    return {
        "messages_per_second_at_one_core": round(carried),
        "chats_at_stated_rate": round(carried / STATED_RATE),
        "stated_rate": "one message every 30 s from each side (1/15 message/s a chat)",
    }


def plot(one: Totals, two: Totals) -> str:
    """Left, the figure and its baseline round by round and summed; right, where a
    message's CPU goes at one node and at two."""
    plt = pyplot()

    figure, (rates, split) = plt.subplots(
        1, 2, figsize=(11, 4.5), gridspec_kw={"width_ratios": [3, 2]}
    )
    rounds = [f"round {n + 1}" for n in range(len(one.phases))] + ["all rounds"]
    most = 0.0
    for offset, totals, label, colour in (
        (-0.2, one, "1 node (baseline)", "tab:grey"),
        (0.2, two, "2 nodes (the figure)", "C0"),
    ):
        carried = [phase.messages / max(sum(phase.node_cpu), 1e-9) for phase in totals.phases] + [
            totals.per_node_cpu_second
        ]
        bars = rates.bar(
            [n + offset for n in range(len(carried))], carried, 0.4, color=colour, label=label
        )
        rates.bar_label(bars, fmt="%.0f", fontsize=8)
        most = max(most, *carried)
    rates.axhline(
        0.9 * one.per_node_cpu_second, color="tab:red", linestyle=":", label="goal: ≥ 0.9x 1 node"
    )
    rates.axvline(len(rounds) - 1.5, color="black", linewidth=0.8)
    rates.set_xticks(range(len(rounds)), rounds)
    rates.set_ylim(0, 1.3 * most)
    rates.set_ylabel("messages acknowledged per node CPU-second")
    rates.set_title(
        f"What a second node costs each: ratio "
        f"{two.per_node_cpu_second / max(one.per_node_cpu_second, 1e-9):.2f}\n"
        f"({CHATS} chats, one message every {THINK:g} s per side; PostgreSQL, Redis)",
        fontsize=10,
    )
    rates.grid(axis="y", alpha=0.3)
    rates.legend(fontsize="small", loc="upper center", ncol=3)

    parts: tuple[tuple[str, Callable[[Phase], float], str], ...] = (
        ("node", lambda phase: sum(phase.node_cpu), "C0"),
        ("PostgreSQL", lambda phase: phase.database_cpu, "C2"),
        ("Redis", lambda phase: phase.redis_cpu, "C3"),
    )
    bottoms = [0.0, 0.0]
    for name, seconds, colour in parts:
        costs = [
            1e3 * sum(seconds(phase) for phase in totals.phases) / max(1.0, totals.messages)
            for totals in (one, two)
        ]
        label = f"{name}: {costs[0]:.2f} → {costs[1]:.2f} ms"
        bars = split.bar([0, 1], costs, 0.5, bottom=bottoms, color=colour, label=label)
        bottoms = [b + c for b, c in zip(bottoms, costs, strict=True)]
    split.bar_label(bars, labels=[f"{whole:.2f} ms in all" for whole in bottoms], fontsize=8)
    split.set_ylim(0, 1.4 * max(bottoms))
    split.set_xticks([0, 1], ["1 node", "2 nodes"])
    split.set_ylabel("CPU per message acknowledged (ms)")
    split.set_title("Where a message's CPU goes\n(nodes summed; all rounds)", fontsize=10)
    split.grid(axis="y", alpha=0.3)
    split.legend(fontsize="small", loc="upper left")
    return save_plot(figure, "nodes.png")


def main() -> None:
    raise_open_files()
    RESULTS.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    one, two = Totals(), Totals()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chatrec-nodes-")))
        database = stack.enter_context(bench_database())
        database_url = SQLALCHEMY_PREFIX + database
        redis = stack.enter_context(RedisServer(folder))
        # Every process sharing the database must hold the same key of the secrets (R18).
        os.environ["CHATREC_SECRET_KEY_FILE"] = str(folder / "secret.key")
        site: Site | None = None
        for round_ in range(ROUNDS):
            order = ((1, one), (2, two)) if round_ % 2 == 0 else ((2, two), (1, one))
            for count, totals in order:
                phase = f"r{round_ + 1}-{count}node"
                servers = [
                    node(folder, f"node{n + 1}", database_url, redis.url, phase)
                    for n in range(count)
                ]
                with running(servers):
                    if site is None:
                        site = chat_load.seed_company(
                            servers[0], "bench-nodes", recorded=True, agents=LEAST_AGENTS
                        )
                        chat_load.add_agents(
                            servers[0], site, chat_load.agents_for(CHATS, LEAST_AGENTS)
                        )
                    try:
                        measured = measure(servers, site, database, redis)
                    except BaseException:
                        keep_logs(servers, phase)
                        raise
                    if measured.summary.errors:
                        keep_logs(servers, phase)
                totals.phases.append(measured)
                print(f"{phase}: {measured.describe()}", flush=True)

    ratio_goal = 0.9
    figure, baseline = two.per_node_cpu_second, one.per_node_cpu_second
    details = {
        "one_node": one.describe(),
        "two_nodes": two.describe(),
        # The same ratio round by round: how far this machine's noise moves it.
        "round_ratios": [
            round(per_cpu(b) / per_cpu(a), 3) for a, b in zip(one.phases, two.phases, strict=True)
        ],
        "projection_per_node": projection(figure),
        "goal_met": figure / baseline >= ratio_goal if baseline else None,
        "phases": [phase.describe() for phase in (*one.phases, *two.phases)],
        "load": {
            "chats": CHATS,
            "customer_messages_per_chat": MESSAGES,
            "think_seconds": THINK,
            "rounds": ROUNDS,
            "agents": chat_load.agents_for(CHATS, LEAST_AGENTS),
        },
        "database_cpu_is": (
            "sum of /proc CPU of the PostgreSQL backends serving the bench database "
            f"(pg_stat_activity, read every {POLL} s); shared processes not counted"
        ),
        "setup": (
            "chatrec serve on PostgreSQL (a database of the bench's own) and a redis-server "
            "of its own; delivery off; one company whose flow records twice and whose agents "
            "(capacity 50) record every chat; customers and agents dealt in turn over the "
            "nodes from one simulate client"
        ),
        "profiled": PROFILE,
        "quick": QUICK,
        "seconds": round(time.monotonic() - began, 1),
    }
    report(
        Result(
            name="nodes",
            figure=round(figure, 1),
            unit="msgs/node-cpu-s",
            baseline=round(baseline, 1),
            goal="a second node costs each node at most 10 % of its efficiency (ratio ≥ 0.9)",
            details=details,
            plots=[plot(one, two)],
        )
    )


if __name__ == "__main__":
    main()
