"""Chat end → file in place on the platform, at a steady 20 endings a second (issue 6 §4).

The real server runs as a user starts it, ``chatrec demo --platform``, with the demo's
OpenSSH ``sshd`` storing into ``<data-dir>/platform/``, in two deployments, one after
the other on fresh data: **one process** (the delivery worker inside the server, as
``make run`` has it, on SQLite) and **server + worker** (``CHATREC_DELIVERY_IN_SERVER=false``
and one ``chatrec worker`` process, as docs/delivery.md advises for a busy site), on a
PostgreSQL database and a ``redis-server`` of the benchmark's own, so that the worker is
woken by the server's commit (R16, R20) and polls only every 2 s as a fallback.  The
headline figure is the second's; the first is printed and kept in the details, so the
cost of sharing one core between chats and SFTP stays visible.

Customers are clients of the public protocol (the pieces of
``chatrec simulate``): each starts a chat on the Support service, answers the flow's
question (the flow records the chat for quality, R5b, and queues it), and at its
appointed moment sends ``end``.  The ends are spaced 50 ms apart; each chat is set up
ahead of its moment so the set-up never delays an end.

A recording is in place when its **sidecar** is: the uploader puts it last, after every
data file of the recording (R16).  :class:`bench.arrivals.Arrivals` watches the platform
folder from the server's side (inotify) and stamps the moment the sidecar's final name
appears (the rename of its ``.part``); latency is that stamp minus the moment the end frame
left the customer, both on this process's monotonic clock.

Baseline, in the same run against the same ``sshd``: the bare upload of the same
files (one delivered recording's data files and sidecar) with chatrec's own
:class:`~chatrec.delivery.sftp.SftpUploader` on a warm connection pool, started at the
same 20 a second and timed to the same sidecar rename.  That is the least any SFTP
delivery of these files can take on this machine; what chatrec adds on top is the
chat's end itself (render, commit with the bytes), waking the worker, claiming, reading
the bytes, and confirming.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import hashlib
import os
import re
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tests.harness import ChildProcess, ChildServer
from tests.redis_server import RedisServer

from bench.arrivals import Arrivals
from bench.common import QUICK, Result, cumulative, pyplot, report, save_plot, summary
from bench.nodes import SQLALCHEMY_PREFIX, bench_database
from chatrec.delivery.egress import EgressPolicy
from chatrec.delivery.model import Destination, RecordingUpload, UploadItem
from chatrec.delivery.sftp import SftpUploader
from chatrec.demo.sshd import LOOPBACK, ensure_keys, free_port, loopback_destination
from chatrec.simulate.client import ChatView, Sent, open_link, post
from chatrec.simulate.plan import ChatPlan, Options
from chatrec.simulate.run import answer_flow
from chatrec.simulate.summary import ChatRun, Stats

NAME = "end_to_file"
RATE = 20.0  # chat endings per second
SECONDS = 5.0 if QUICK else 30.0
WARM_UP = 10  # chats ended (and delivered) before the measured ones
BASELINE_UPLOADS = 60 if QUICK else 200
LEAD = 2.0  # seconds a chat is set up ahead of its end
SERVICE = "demo-support"
SIDECAR = ".meta.json"
CHAT_ID = re.compile(r"[0-9a-f]{12}")
STALL_SECONDS = 30.0  # give up waiting for files when none arrived for this long
WORKER_POLL_SECONDS = "2"  # the separate worker's fallback poll: commits wake it
DEPLOYMENTS = {False: "one process", True: "server + worker"}
ACK_TIMEOUT = 120.0  # a saturated server acks late; that is measured, not a failure


class DemoServer:
    """``chatrec demo --platform`` in a child process, its output in the data dir; with
    ``separate_worker``, delivering through a ``chatrec worker`` process beside it."""

    def __init__(
        self,
        data_dir: Path,
        *,
        separate_worker: bool = False,
        database_url: str | None = None,
        redis_url: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.separate_worker = separate_worker
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.log = data_dir / "server.log"
        in_server = "false" if separate_worker else "true"
        command = [sys.executable, "-m", "chatrec", "demo", "--platform"]
        command += ["--port", str(self.port), "--data-dir", str(data_dir)]
        shared = []
        if database_url is not None:
            shared += ["--database-url", database_url]
        if redis_url is not None:
            shared += ["--redis-url", redis_url]
        command += shared
        self.server = ChildServer(
            command,
            self.log,
            env={"CHATREC_DELIVERY_IN_SERVER": in_server},
            stop_grace=30,
            port=self.port,
        )
        worker = [sys.executable, "-m", "chatrec", "worker", "--data-dir", str(data_dir), *shared]
        self.worker = ChildProcess(
            worker,
            data_dir / "worker.log",
            env={"CHATREC_DELIVERY_POLL_SECONDS": WORKER_POLL_SECONDS},
            stop_grace=30,
        )

    def start(self, timeout: float = 60) -> None:
        self.server.start(timeout)
        if self.separate_worker:  # after the demo has migrated and seeded the database
            self.worker.spawn()

    @property
    def platform(self) -> Path:
        return self.data_dir / "platform"

    def destination(self) -> Destination:
        """The demo platform as the demo company has it: same sshd, key, folder."""
        config = (self.data_dir / "platform-run" / "sshd_config").read_text()
        found = re.search(r"^Port (\d+)$", config, re.MULTILINE)
        if found is None:
            raise RuntimeError("the demo platform's sshd_config names no port")
        port = int(found.group(1))
        keys = ensure_keys(self.data_dir / "platform-keys")
        return loopback_destination(
            keys,
            port=port,
            user=getpass.getuser(),
            folder=str(self.platform.resolve()),
            company_id="demo",
        )

    def stop(self) -> None:
        self.worker.stop()
        self.server.stop()
        self.stop_platform()

    def stop_platform(self) -> None:
        """End the platform's sshd: uvicorn re-raises SIGTERM once it has shut down, so
        ``chatrec demo`` exits before its own ``finally`` stops the sshd it started."""
        run = self.data_dir / "platform-run"
        try:
            pid = int((run / "sshd.pid").read_text().strip())
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if str(run / "sshd_config").encode() in command:
            os.kill(pid, signal.SIGTERM)


# -- chats ending at a steady rate -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ending:
    """One chat's end as its customer saw it (``time.monotonic()`` seconds)."""

    chat_id: str
    sent: float  # the end frame left
    late: float  # after its appointed moment
    acked: float  # its ack came back: the end, its recordings and outbox rows committed


async def end_chat_at(
    http: httpx.AsyncClient, options: Options, stats: Stats, index: int, end_at: float
) -> Ending:
    """Start a chat, take it through the flow, end it at ``end_at``."""
    plan = ChatPlan(index, SERVICE, index, None, None, None, False, "customer")
    run, view = ChatRun(plan), ChatView()
    started = await post(http, "/api/chats", {"service_id": SERVICE})
    url = options.ws_url + started.get("websocket", "/ws/customer")
    link, _ = await open_link(
        url,
        started["token"],
        view.take,
        timeout=options.timeout,
        frames_per_second=options.frames_per_second,
        tally=stats,
    )
    try:
        await answer_flow(link, view, run)
        if view.status != "queued":
            raise RuntimeError(f"chat {started['chat_id']} is {view.status}, not queued")
        await asyncio.sleep(end_at - time.monotonic())
        sent = Sent(0)
        await link.request({"type": "end"}, sent)
        acked = time.monotonic()
    finally:
        await link.close()
    return Ending(started["chat_id"], sent.at, sent.at - end_at, acked)


async def end_chats(url: str, count: int, rate: float) -> list[Ending]:
    """``count`` chats whose ends are ``1/rate`` apart, each set up ``LEAD`` s before."""
    options = Options(url=url, timeout=ACK_TIMEOUT, frames_per_second=50.0)
    stats = Stats()
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=url, timeout=ACK_TIMEOUT, limits=limits) as http:
        first = time.monotonic() + LEAD

        async def chat(index: int) -> Ending:
            end_at = first + index / rate
            await asyncio.sleep(end_at - LEAD - time.monotonic())
            return await end_chat_at(http, options, stats, index, end_at)

        return await asyncio.gather(*(chat(index) for index in range(count)))


def sidecars_of(arrivals: dict[str, float]) -> dict[str, float]:
    """Chat id → when the last sidecar naming it appeared."""
    found: dict[str, float] = {}
    for name, at in arrivals.items():
        if name.endswith(SIDECAR):
            for chat_id in CHAT_ID.findall(Path(name).name):
                found[chat_id] = max(at, found.get(chat_id, at))
    return found


async def wait_for(watcher: Arrivals, chat_ids: Sequence[str]) -> dict[str, float]:
    """Until every chat's sidecar is in place; fails once arrivals stop coming."""
    last_count, last_change = -1, time.monotonic()
    while True:
        sidecars = sidecars_of(watcher.snapshot())
        missing = [chat_id for chat_id in chat_ids if chat_id not in sidecars]
        if not missing:
            return sidecars
        if len(missing) != last_count:
            last_count, last_change = len(missing), time.monotonic()
        elif time.monotonic() - last_change > STALL_SECONDS:
            raise RuntimeError(f"{len(missing)} recordings never arrived, e.g. {missing[:3]}")
        await asyncio.sleep(0.05)


async def measure_chatrec(server: DemoServer, watcher: Arrivals) -> dict[str, Any]:
    warm = await end_chats(server.url, WARM_UP, RATE)
    await wait_for(watcher, [ending.chat_id for ending in warm])
    ended = await end_chats(server.url, round(RATE * SECONDS), RATE)
    sidecars = await wait_for(watcher, [ending.chat_id for ending in ended])
    sends = sorted(ending.sent for ending in ended)
    return {
        "latencies": [sidecars[ending.chat_id] - ending.sent for ending in ended],
        "end_to_ack": summary([ending.acked - ending.sent for ending in ended]),
        "ack_to_file": summary([sidecars[ending.chat_id] - ending.acked for ending in ended]),
        "chats": len(ended),
        "achieved_rate": round((len(sends) - 1) / (sends[-1] - sends[0]), 2),
        # Endings the server committed per second; below the rate, ends queue up.
        "committed_rate": round(len(ended) / (max(e.acked for e in ended) - sends[0]), 2),
        "end_send_lateness": summary([ending.late for ending in ended]),
    }


# -- the bare upload of the same files -------------------------------------------------


def recording_files(platform: Path, chat_id: str) -> list[Path]:
    """One delivered recording's files on the platform: its data files, then its sidecar."""
    named = sorted(
        path
        for path in platform.rglob(f"*{chat_id}*")
        if path.is_file() and not path.name.startswith(".")
    )
    sidecars = [path for path in named if path.name.endswith(SIDECAR)]
    if len(sidecars) != 1:
        raise RuntimeError(f"chat {chat_id} has {len(sidecars)} sidecars on the platform")
    return [path for path in named if path not in sidecars] + sidecars


async def measure_bare_upload(
    server: DemoServer, watcher: Arrivals, sample_chat: str
) -> dict[str, Any]:
    """The same files put by :class:`SftpUploader` alone, 20 a second, to the same sshd."""
    files = recording_files(server.platform, sample_chat)
    copies = [(path.name, path.read_bytes()) for path in files]
    destination = server.destination()
    uploader = SftpUploader(egress=EgressPolicy.of(allow=LOOPBACK))  # as the bench server's
    ids = iter(range(1, 1_000_000))

    def upload_of(n: int) -> tuple[RecordingUpload, str]:
        items = [
            UploadItem(
                delivery_id=next(ids),
                remote_path=f"baseline/b{n:04}-{name}",
                content=content,
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
            )
            for name, content in copies
        ]
        upload = RecordingUpload(f"b{n}", tuple(items[:-1]), items[-1])
        return upload, items[-1].remote_path

    async def one(n: int, at: float) -> tuple[str, float]:
        await asyncio.sleep(at - time.monotonic())
        upload, sidecar = upload_of(n)
        started = time.monotonic()
        results = await uploader.upload(destination, [upload])
        failed = [error for error in results.values() if error is not None]
        if failed:
            raise RuntimeError(f"the bare upload failed: {failed[0]!r}")
        return sidecar, started

    try:
        await one(0, time.monotonic())  # connect the pool, make the folder
        first = time.monotonic() + 0.2
        done = await asyncio.gather(
            *(one(n, first + (n - 1) / RATE) for n in range(1, BASELINE_UPLOADS + 1))
        )
    finally:
        await uploader.close()
    deadline = time.monotonic() + 5
    while True:
        seen = watcher.snapshot()
        if all(sidecar in seen for sidecar, _ in done) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.02)
    return {
        "latencies": [seen[sidecar] - started for sidecar, started in done],
        "files_per_recording": len(files),
        "bytes_per_recording": sum(path.stat().st_size for path in files),
    }


# -- report ----------------------------------------------------------------------------


def plot(split: Sequence[float], one: Sequence[float], bare: Sequence[float]) -> str:
    """The latency distributions as cumulative curves, p50 and p99 marked."""
    plt = pyplot()

    figure, axis = plt.subplots(figsize=(8, 4.5))
    for values, label in (
        (split, "chatrec, server + worker: end frame → sidecar in place"),
        (one, "chatrec, one process: end frame → sidecar in place"),
        (bare, "bare SftpUploader: call → sidecar in place"),
    ):
        ordered, shares = cumulative(value * 1000 for value in values)
        axis.step(ordered, shares, where="post", label=label)
    axis.axhline(0.99, color="grey", linewidth=0.6, linestyle=":")
    axis.axvline(1000, color="red", linewidth=0.8, linestyle="--", label="goal: p99 ≤ 1 s")
    axis.set_xscale("log")
    axis.set_xlabel("latency (ms, log scale)")
    axis.set_ylabel("share of recordings")
    axis.set_title(f"Chat end → file in place at {RATE:g} endings/s")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="lower right")
    return save_plot(figure, "end_to_file.png")


def measure(workdir: Path, *, separate_worker: bool, bare: bool) -> dict[str, Any]:
    """One deployment on fresh data; with ``bare``, the bare upload after it too.  The
    separate worker's deployment runs on PostgreSQL and Redis, which wake it."""
    with contextlib.ExitStack() as stack:
        database_url = redis_url = None
        if separate_worker:
            database_url = SQLALCHEMY_PREFIX + stack.enter_context(bench_database())
            redis_url = stack.enter_context(RedisServer(workdir)).url
        server = DemoServer(
            workdir / "data",
            separate_worker=separate_worker,
            database_url=database_url,
            redis_url=redis_url,
        )
        return _measure(server, bare=bare)


def _measure(server: DemoServer, *, bare: bool) -> dict[str, Any]:
    server.start()
    watcher = Arrivals(server.platform)
    try:
        chatrec = asyncio.run(measure_chatrec(server, watcher))
        if bare:
            sample = sorted(sidecars_of(watcher.snapshot()))[0]
            chatrec["bare"] = asyncio.run(measure_bare_upload(server, watcher, sample))
    finally:
        watcher.close()
        server.stop()
    chatrec["watcher"] = watcher.method
    return chatrec


def line(deployment: str, chatrec: dict[str, Any]) -> str:
    latency = summary(chatrec["latencies"])
    return (
        f"{deployment}: p50 {latency['p50'] * 1000:.0f} ms p99 {latency['p99'] * 1000:.0f} ms "
        f"over {chatrec['chats']} chats ended at {chatrec['achieved_rate']}/s, committed at "
        f"{chatrec['committed_rate']}/s; end frame to ack p50 "
        f"{chatrec['end_to_ack']['p50'] * 1000:.0f} ms p99 "
        f"{chatrec['end_to_ack']['p99'] * 1000:.0f} ms"
    )


def details(chatrec: dict[str, Any]) -> dict[str, Any]:
    return {
        "achieved_rate_per_second": chatrec["achieved_rate"],
        "committed_rate_per_second": chatrec["committed_rate"],
        "chats": chatrec["chats"],
        "end_send_lateness_seconds": chatrec["end_send_lateness"],
        "end_frame_to_ack_seconds": chatrec["end_to_ack"],
        "ack_to_file_seconds": chatrec["ack_to_file"],
        "chatrec_seconds": summary(chatrec["latencies"]),
    }


def main() -> None:
    began = time.perf_counter()
    runs: dict[bool, dict[str, Any]] = {}
    for separate in (False, True):
        with tempfile.TemporaryDirectory(prefix="chatrec-bench-end-to-file-") as temporary:
            runs[separate] = measure(Path(temporary), separate_worker=separate, bare=separate)
        print(line(DEPLOYMENTS[separate], runs[separate]), flush=True)
    one, split = runs[False], runs[True]
    bare = split["bare"]
    split_summary = summary(split["latencies"])
    bare_summary = summary(bare["latencies"])
    result = Result(
        name=NAME,
        figure=split_summary["p99"],
        unit="s",
        baseline=bare_summary["p99"],
        goal="p99 <= 0.5 s at 20 chat endings/s, worker woken on commit",
        details={
            "figure": (
                "p99 seconds from the customer's end frame to the sidecar's final name, "
                "server + one `chatrec worker` process woken on commit (PostgreSQL, Redis)"
            ),
            "in_place": "the recording's sidecar, renamed into place after all its data files",
            "baseline": (
                "p99 of the bare SftpUploader.upload of the same files (warm pool, started "
                f"{RATE:g}/s), call to the sidecar's final name"
            ),
            "watcher": split["watcher"],
            "server": "chatrec demo --platform (OpenSSH sshd)",
            "rate_per_second": RATE,
            "warm_up_chats": WARM_UP,
            "server_and_worker": {
                **details(split),
                "worker_poll_seconds": float(WORKER_POLL_SECONDS),
            },
            "one_process": details(one),
            "bare_upload_seconds": bare_summary,
            "files_per_recording": bare["files_per_recording"],
            "bytes_per_recording": bare["bytes_per_recording"],
            "seconds": round(time.perf_counter() - began, 1),
            "quick": QUICK,
        },
        plots=[plot(split["latencies"], one["latencies"], bare["latencies"])],
    )
    print(
        f"bare upload p50 {bare_summary['p50'] * 1000:.0f} ms p99 "
        f"{bare_summary['p99'] * 1000:.0f} ms",
        flush=True,
    )
    report(result)


if __name__ == "__main__":
    main()
