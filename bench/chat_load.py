"""Chat load for the relay and recording-overhead benchmarks: servers, seeding, runs.

Both benchmarks drive a server in a child process with ``chatrec simulate``'s own
client (imported, so every latency sample is kept for the plots), in the plainest
chat shape: no pause, transfer, deletion or declined consent; the customer ends.

chatrec runs as ``chatrec demo --no-platform`` with the per-connection frame limit
and the login limit raised, so that neither limiter is what gets measured, and the
delivery worker's polling slowed to once an hour: with no recording platform it would
only retry and fail, and delivery has its own benchmark.  Bench companies are made
with the admin CLI, as an operator would: agents of capacity 50 who record every chat,
and a flow with two ``record`` steps, so a recorded chat makes three recordings.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.harness import ChildServer

from bench.common import ROOT
from chatrec.demo.sshd import free_port
from chatrec.simulate.plan import Options
from chatrec.simulate.run import simulate
from chatrec.simulate.summary import Stats, Summary

CAPACITY = 50
PASSWORD = "bench-relay-password"  # noqa: S105 (throwaway bench logins)
FLOW = """\
name: Bench three recordings
steps:
  - id: quality
    type: record
    reason: quality
  - id: audit
    type: record
    reason: audit
  - id: to_general
    type: route
    queue: General
"""
SERVER_ENV = {
    "CHATREC_FRAMES_PER_SECOND": "100000",
    "CHATREC_FRAME_BURST": "100000",
    "CHATREC_LOGIN_ATTEMPTS_PER_MINUTE": "100000",
    "CHATREC_DELIVERY_POLL_SECONDS": "3600",
}
CLIENT_FRAMES_PER_SECOND = 10000.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far, from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Site:
    """Where a load goes: a service, the agents who answer it, their passwords."""

    company_id: str
    service_id: str
    agents: tuple[str, ...]
    passwords: dict[str, str]
    seeded: bool = True
    """Whether its agents must be made with the admin CLI (the bare relay takes anyone)."""


@dataclass
class Server:
    """A server in a child process (the tests' launcher), its log in its data folder."""

    command: list[str]
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    child: ChildServer | None = None
    database_url: str | None = None
    """Its database when not SQLite in ``data_dir``: the admin CLI is given it too."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.child is not None
        return self.child.pid

    def start(self, timeout: float = 60) -> None:
        self.child = ChildServer(
            [*self.command, "--port", str(self.port)],
            self.data_dir / "server.log",
            env=self.env,
            cwd=ROOT,
            stop_signal=signal.SIGINT,
            stop_grace=60,
            port=self.port,
        )
        self.child.start(timeout)

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()


@contextmanager
def chatrec_server(
    profile: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """``chatrec demo`` on a fresh SQLite database; under pyinstrument when ``profile``;
    ``env`` adds settings to the bench's."""
    with tempfile.TemporaryDirectory(prefix="chatrec-bench-") as folder:
        python = [sys.executable, "-m"]
        if profile is not None:
            python += ["pyinstrument", "-o", str(profile), "-r", "html", "-m"]
        data_dir = Path(folder)
        command = [*python, "chatrec", "demo", "--no-platform", "--data-dir", folder]
        server = Server(command, data_dir, SERVER_ENV | (env or {}))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@contextmanager
def bare_server(*, durable: bool = False) -> Iterator[Server]:
    """The bare relay; ``durable``: journaling every event in SQLite in its folder."""
    with tempfile.TemporaryDirectory(prefix="chatrec-bench-bare-") as folder:
        command = [sys.executable, "-m", "bench.bare_relay"]
        if durable:
            command += ["--database", str(Path(folder) / "journal.db")]
        server = Server(command, Path(folder))
        server.start()
        try:
            yield server
        finally:
            server.stop()


def admin(server: Server, *arguments: str) -> Any:
    command = [sys.executable, "-m", "chatrec", "admin", *arguments]
    command += ["--data-dir", str(server.data_dir), "--json"]
    if server.database_url is not None:
        command += ["--database-url", server.database_url]
    done = subprocess.run(  # noqa: S603 (our own command line)
        command, capture_output=True, text=True, check=False, cwd=ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments[:3])}: {done.stdout}{done.stderr}")
    return json.loads(done.stdout)


def seed_company(server: Server, company_id: str, *, recorded: bool, agents: int) -> Site:
    """A company with one queue, the three-recording flow, a service and ``agents`` agents.

    Not ``recorded``: provisioned with webchat only, so nothing of it is recorded (R1).
    """
    products = ["call_recording", "webchat"] if recorded else ["webchat"]
    name = f"Bench {company_id}"
    admin(server, "company", "create", company_id, "--name", name, *_each("--product", products))
    document = {
        "queues": [{"name": "General"}],
        "flows": [{"source": FLOW}],
        "services": [{"name": "Bench", "flow": "Bench three recordings"}],
    }
    made = _import(server, company_id, document)
    site = Site(company_id, made["services"][0]["service_id"], (), {})
    add_agents(server, site, agents)
    return site


def add_agents(server: Server, site: Site, wanted: int) -> None:
    """Grow the site's agents to ``wanted`` (capacity 50, every chat recorded)."""
    have = len(site.agents)
    if wanted <= have:
        return
    logins = tuple(f"{site.company_id}-agent-{n:03d}" for n in range(have + 1, wanted + 1))
    users = [
        {
            "login": login,
            "name": login,
            "role": "agent",
            "password": PASSWORD,
            "capacity": CAPACITY,
            "record_percentage": 100,
            "permit_recordings": True,
        }
        for login in logins
    ]
    if site.seeded:
        _import(server, site.company_id, {"users": users})
    site.agents += logins
    site.passwords |= dict.fromkeys(logins, PASSWORD)


def _import(server: Server, company_id: str, document: dict[str, Any]) -> Any:
    path = server.data_dir / f"{company_id}-{len(list(server.data_dir.glob('*.json')))}.json"
    path.write_text(json.dumps(document))
    return admin(server, "import", str(path), "--company", company_id)


def bare_site() -> Site:
    return Site("bare", "bare", (), {}, seeded=False)


def _each(option: str, values: list[str]) -> list[str]:
    return [part for value in values for part in (option, value)]


def agents_for(chats: int, least: int) -> int:
    """Enough agents of capacity 50 for ``chats`` at once, and at least ``least``.

    Each simulated agent is one connection whose requests go one at a time, so a
    saturating load needs several of them to keep messages in flight.
    """
    return max(least, -(-chats // CAPACITY))


@dataclass
class Load:
    """What one run measured: the simulation's summary and samples, and server CPU."""

    summary: Summary
    stats: Stats
    server_cpu_seconds: float

    @property
    def delivery_ms(self) -> list[float]:
        """Customer message sent → the agent has it."""
        return [s * 1000 for s in self.stats.delivery_seconds]

    @property
    def messages_per_second(self) -> float:
        return self.summary.messages_per_second

    def describe(self) -> dict[str, Any]:
        summary = self.summary
        acked = summary.messages_acked
        return {
            "chats": summary.chats,
            "ended": summary.chats_ended,
            "errors": summary.errors,
            "messages_acked": acked,
            "wall_seconds": summary.wall_seconds,
            "messages_per_second": summary.messages_per_second,
            "customer_to_agent_ms": _latency(summary.customer_to_agent),
            "send_to_ack_ms": _latency(summary.send_to_ack),
            "server_cpu_seconds": round(self.server_cpu_seconds, 2),
            "server_cpu_share": round(self.server_cpu_seconds / summary.wall_seconds, 2),
            "server_cpu_us_per_message": round(1e6 * self.server_cpu_seconds / max(1, acked)),
        }


def _latency(found: Any) -> dict[str, Any]:
    return {"p50": found.p50_ms, "p95": found.p95_ms, "p99": found.p99_ms, "count": found.count}


def run_load(
    server: Server,
    site: Site,
    *,
    chats: int,
    messages: int,
    think_seconds: float,
    at_once: int | None = None,
) -> Load:
    """``chats`` chats, ``at_once`` of them at a time (all by default), each ``messages``
    customer messages answered by an agent.

    ``think_seconds``: the customer's pause before each message (0: saturate).
    """
    options = Options(
        url=server.url,
        chats=chats,
        concurrency=at_once or chats,
        services=(site.service_id,),
        agents=site.agents,
        messages=messages,
        pause_share=0,
        transfer_share=0,
        delete_share=0,
        consent_no_share=0,
        agent_end_share=0,
        frames_per_second=CLIENT_FRAMES_PER_SECOND,
        timeout=60,
        chat_timeout=600,
        think_seconds=think_seconds,
    )
    stats = Stats()
    before = cpu_seconds(server.pid)
    summary = asyncio.run(simulate(options, site.passwords, stats))
    return Load(summary, stats, cpu_seconds(server.pid) - before)


@dataclass
class Differenced:
    """One server's runs with a smaller and a larger load, round by round: what the
    larger costs more, over how much more it did, is the cost of one more unit, with
    what both runs share (logins, set-up) fallen out (issue 13: relay, chat_lifecycle)."""

    few: list[Load] = field(default_factory=list)
    more: list[Load] = field(default_factory=list)

    def cpu_per(self, units: Callable[[Load], int]) -> float:
        """Seconds of server CPU per additional unit counted by ``units``."""
        cpu = sum(m.server_cpu_seconds for m in self.more)
        cpu -= sum(f.server_cpu_seconds for f in self.few)
        done = sum(units(m) for m in self.more) - sum(units(f) for f in self.few)
        return cpu / done if done > 0 else float("nan")

    def runs(self) -> dict[str, Any]:
        return {
            "few": [load.describe() for load in self.few],
            "more": [load.describe() for load in self.more],
        }
