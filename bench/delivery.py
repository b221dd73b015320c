"""Delivery throughput against OpenSSH's ``sftp -b`` doing the same work (issue 6 §3, 13).

The same recordings go to the same OpenSSH ``sshd`` twice in one run: through chatrec's
delivery path, and as one ``sftp -b`` batch with the same client key and the host key
pinned.  Every recording is what a chat's end commits: a data file (~5 KB, or ~500 KB
for the large set) and its small sidecar, their bytes in the store; ``sftp`` reads the
same bytes from local files.  Both clients upload both, sidecar after its data file.

"Through chatrec" is the real :class:`~chatrec.delivery.worker.DeliveryWorker` on a real
store outbox (SQLite, WAL): each round claims a batch with a lease, hands it to the
:class:`~chatrec.delivery.sftp.SftpUploader` (``.part`` write, fsync, close,
``posix-rename``, stat of the final name; the sidecar after its data file), marks the
files delivered (emptying their bytes in the store).  The clock runs from the first
claim to the last file marked delivered, connection set-up included, as ``sftp``'s
includes its log-in.  ``sftp -b`` does the same work on each file, one at a time:
``put -f`` under the same temporary name (open, writes, fsync, close) then ``rename``
into place (OpenSSH's client uses ``posix-rename@openssh.com`` too); only chatrec's
check of the final name has no ``sftp`` command.  On loopback the batch also runs
without ``-f`` (no fsync), in the details only, to show what the fsyncs cost.

This module is the loopback row, ``delivery``; :mod:`bench.delivery_rtt` runs the same
through :mod:`bench.delay_proxy` adding 20 ms to the round trip.  chatrec runs with a
few upload settings (the destination's ``concurrency`` files at once over at most
``max_connections`` connections); the best counts.

Figure: chatrec files per second on loopback for the small set (data files and
sidecars alike), baseline ``sftp -b`` on the same files.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.integration.store.factories import ended_chat, seed

from bench.common import QUICK, Result, pyplot, report, save_plot
from bench.delay_proxy import delayed_link
from bench.sftp_peer import SftpPeer, batch_of_deliveries, sftp_batch
from chatrec.delivery.egress import EgressPolicy
from chatrec.delivery.sftp import SftpUploader
from chatrec.delivery.worker import DeliveryWorker, stored_destination
from chatrec.demo.sshd import LOOPBACK
from chatrec.store.records import (
    SIDECAR_FORMAT,
    DestinationRecord,
    RecordingFileRecord,
    RecordingRecord,
)
from chatrec.store.secrets import SecretBox, generate_key
from chatrec.store.store import Store

NAME = "delivery"
DELAY = 0.010  # each way: the round trip is 20 ms longer
DATE = "2026-11-27"  # the folder the default filename template starts with
SIDECAR_BYTES = 600
SEED_CHUNK = 200  # chats committed per transaction while seeding
# (concurrency, max_connections): the destination default, then a wider one.
SETTINGS = ((16, 2), (64, 4))


@dataclass(frozen=True, slots=True)
class FileSet:
    """``recordings`` recordings, each a data file of ``size`` bytes and its sidecar."""

    label: str
    recordings: int
    size: int

    @property
    def files(self) -> int:
        return 2 * self.recordings

    @property
    def megabytes(self) -> float:
        return self.recordings * (self.size + SIDECAR_BYTES) / 1e6


if QUICK:
    LOOPBACK_SETS = (FileSet("5 KB", 200, 5_000), FileSet("500 KB", 20, 500_000))
    DELAYED_SETS = (FileSet("5 KB", 30, 5_000), FileSet("500 KB", 6, 500_000))
else:
    LOOPBACK_SETS = (FileSet("5 KB", 2_000, 5_000), FileSet("500 KB", 200, 500_000))
    DELAYED_SETS = (FileSet("5 KB", 100, 5_000), FileSet("500 KB", 20, 500_000))


@dataclass(frozen=True, slots=True)
class Outbox:
    """A seeded store, kept as a template each run starts a fresh copy of, and the same
    files on disk for ``sftp -b``."""

    files: FileSet
    database: Path  # the template; runs use a copy
    puts: tuple[tuple[Path, str], ...]  # local copy for sftp -b, remote path

    def fresh(self, workdir: Path) -> str:
        """A copy of the seeded database, as at the end of the chats; its URL."""
        database = workdir / "run.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.database, database)
        return f"sqlite:///{database}"


def seed_outbox(workdir: Path, files: FileSet, box: SecretBox, tag: str) -> Outbox:
    """Acme with ``files`` ended chats, one produced recording each, bytes and all."""
    rng = random.Random(tag)  # noqa: S311 - file contents, not secrets
    local = workdir / f"files-{tag}"
    database = workdir / f"outbox-{tag}.db"
    store = Store(f"sqlite:///{database}", secrets=box)
    puts: list[tuple[Path, str]] = []
    try:
        store.migrate()
        seed(store)
        changes = []
        for n in range(files.recordings):
            chat_id, recording_id = f"{tag}{n:05}", f"R-{tag}{n:05}"
            base = f"{DATE}/acme_{chat_id}_agent_{recording_id}"
            recording_files = []
            for path, kind, size in (
                (f"{base}.json", "json", files.size),
                (f"{base}.meta.json", SIDECAR_FORMAT, SIDECAR_BYTES),
            ):
                content = rng.randbytes(size)
                relative = Path(tag) / chat_id / recording_id / Path(path).name
                (local / relative).parent.mkdir(parents=True, exist_ok=True)
                (local / relative).write_bytes(content)
                puts.append((local / relative, path))
                recording_files.append(
                    RecordingFileRecord(
                        path=path,
                        format=kind,
                        media_type="application/json",
                        size=size,
                        sha256=hashlib.sha256(content).hexdigest(),
                        content=content,
                    )
                )
            recording = RecordingRecord(
                recording_id=recording_id,
                chat_id=chat_id,
                company_id="acme",
                origin="agent",
                reason="agent bob",
                outcome="produced",
                rule="R5a",
                explanation="benchmark",
                base_name=base,
                files=tuple(recording_files),
            )
            changes.append(ended_chat(chat_id, (recording,)))
            if len(changes) == SEED_CHUNK or n == files.recordings - 1:
                refused = [error for error in store.apply(changes) if error is not None]
                if refused:
                    raise RuntimeError(f"seeding the outbox failed: {refused[0]!r}")
                changes = []
    finally:
        store.close()
    return Outbox(files, database, tuple(puts))


def destination_record(
    peer: SftpPeer, port: int, concurrency: int, connections: int
) -> DestinationRecord:
    given = peer.destination(port=port, concurrency=concurrency, max_connections=connections)
    return stored_destination(given)


def check_arrived(peer: SftpPeer, outbox: Outbox) -> None:
    """Every file on the platform under its final name, whole; nothing else."""
    arrived = {
        path.relative_to(peer.folder).as_posix(): path.stat().st_size
        for path in peer.folder.rglob("*")
        if path.is_file()
    }
    expected = {remote: local.stat().st_size for local, remote in outbox.puts}
    if arrived != expected:
        missing = sorted(expected.keys() - arrived.keys())[:3]
        extra = sorted(arrived.keys() - expected.keys())[:3]
        raise RuntimeError(
            f"the platform does not hold the files: missing {missing}, extra {extra}"
        )


async def run_worker(
    outbox: Outbox, workdir: Path, box: SecretBox, destination: DestinationRecord
) -> float:
    """Seconds the worker takes to deliver the whole outbox, from a fresh copy of it."""
    url = outbox.fresh(workdir)
    store = Store(url, secrets=box)
    store.set_destination(destination)
    uploader = SftpUploader(egress=EgressPolicy.of(allow=LOOPBACK))  # the peer is on loopback
    worker = DeliveryWorker(store, uploader, worker_id="bench")
    total = outbox.files.files
    try:
        started = time.perf_counter()
        while worker.counts.delivered < total:
            claimed = await worker.run_once()
            if worker.counts.failed or worker.counts.blocked or not claimed:
                raise RuntimeError(
                    f"delivery stalled: {worker.counts}, "
                    f"errors {[d.last_error for d in store.list_deliveries(limit=3)]}"
                )
        return time.perf_counter() - started
    finally:
        await worker.close()
        store.close()


def measure_sftp(
    peer: SftpPeer, outbox: Outbox, workdir: Path, port: int, *, fsync: bool = True
) -> float:
    """Seconds ``sftp -b`` takes to deliver the outbox's files (temporary name, rename)."""
    batch = workdir / "batch"
    puts = [(local, str(peer.folder / remote)) for local, remote in outbox.puts]
    batch.write_text(batch_of_deliveries(puts, fsync=fsync))
    peer.clear()
    seconds = sftp_batch(peer, batch, port=port)
    check_arrived(peer, outbox)
    return seconds


def measure_chatrec(
    peer: SftpPeer, outbox: Outbox, workdir: Path, box: SecretBox, port: int
) -> dict[str, float]:
    """Seconds per upload setting, named ``<concurrency>x<max_connections>``."""
    found = {}
    for concurrency, connections in SETTINGS:
        peer.clear()
        record = destination_record(peer, port, concurrency, connections)
        found[f"{concurrency}x{connections}"] = asyncio.run(
            run_worker(outbox, workdir, box, record)
        )
        check_arrived(peer, outbox)
    return found


def scenario(
    network: str,
    outbox: Outbox,
    sftp_seconds: float,
    chatrec: dict[str, float],
    sftp_nofsync_seconds: float | None = None,
) -> dict[str, Any]:
    files = outbox.files
    best = min(chatrec, key=chatrec.__getitem__)
    rates = {setting: files.files / seconds for setting, seconds in chatrec.items()}
    found = {
        "network": network,
        "set": files.label,
        "recordings": files.recordings,
        "files": files.files,
        "megabytes": round(files.megabytes, 3),
        "sftp_seconds": round(sftp_seconds, 3),
        "sftp_files_per_second": round(files.files / sftp_seconds, 1),
        "sftp_megabytes_per_second": round(files.megabytes / sftp_seconds, 2),
        "chatrec_seconds": {k: round(v, 3) for k, v in chatrec.items()},
        "chatrec_files_per_second": {k: round(v, 1) for k, v in rates.items()},
        "best_setting": best,
        "best_files_per_second": round(rates[best], 1),
        "best_megabytes_per_second": round(files.megabytes / chatrec[best], 2),
        "ratio": round(sftp_seconds / chatrec[best], 3),
    }
    if sftp_nofsync_seconds is not None:
        found["sftp_nofsync_files_per_second"] = round(files.files / sftp_nofsync_seconds, 1)
        found["ratio_to_sftp_nofsync"] = round(sftp_nofsync_seconds / chatrec[best], 3)
    return found


def plot(scenarios: Sequence[dict[str, Any]], name: str) -> str:
    """One panel per scenario, each on its own scale: sftp -b and chatrec per setting."""
    plt = pyplot()

    figure, axes = plt.subplots(1, len(scenarios), figsize=(3.2 * len(scenarios), 4.2))
    names = ["sftp -b", *(f"chatrec {c}x{m}" for c, m in SETTINGS)]
    colours = ["tab:grey", *(f"C{n}" for n in range(len(SETTINGS)))]
    for axis, found in zip(axes, scenarios, strict=True):
        small = found["set"] == LOOPBACK_SETS[0].label
        amount = found["files"] if small else found["megabytes"]
        seconds = [found["sftp_seconds"], *found["chatrec_seconds"].values()]
        axis.bar(range(len(names)), [amount / s for s in seconds], color=colours)
        axis.set_xticks(range(len(names)))
        axis.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
        axis.set_ylabel("files/s" if small else "MB/s")
        axis.set_title(
            f"{found['network']}\n{found['recordings']} x {found['set']} (+ sidecars)",
            fontsize=9,
        )
        axis.grid(axis="y", alpha=0.3)
    figure.suptitle(
        "Delivery to OpenSSH sshd: chatrec worker (concurrency x connections)\n"
        "vs sftp -b (put -f to a temporary name, rename)",
        fontsize=10,
    )
    return save_plot(figure, f"{name}.png")


def run_scenarios(
    network: str, sets: Sequence[FileSet], delay: float | None
) -> list[dict[str, Any]]:
    """Each set delivered by ``sftp -b`` and by chatrec (every setting), on loopback or
    through the delay proxy; one scenario each, printed as it is measured."""
    box = SecretBox([generate_key()])
    scenarios = []
    with tempfile.TemporaryDirectory(prefix="chatrec-bench-delivery-") as temporary:
        workdir = Path(temporary)
        with SftpPeer(workdir / "peer") as peer:
            for files in sets:
                tag = f"{'d' if delay else 'l'}{files.size // 1000}k"
                outbox = seed_outbox(workdir, files, box, tag)
                nofsync = None
                with contextlib.ExitStack() as link:
                    port = peer.port
                    if delay is not None:
                        port = link.enter_context(delayed_link("127.0.0.1", peer.port, delay=delay))
                    sftp_seconds = measure_sftp(peer, outbox, workdir, port)
                    chatrec = measure_chatrec(peer, outbox, workdir, box, port)
                    if delay is None:
                        nofsync = measure_sftp(peer, outbox, workdir, port, fsync=False)
                found = scenario(network, outbox, sftp_seconds, chatrec, nofsync)
                scenarios.append(found)
                print(
                    f"{network:>11} {files.label:>6} x{files.recordings}: sftp -b "
                    f"{found['sftp_files_per_second']} files/s, chatrec "
                    f"{found['chatrec_files_per_second']} files/s (ratio {found['ratio']})",
                    flush=True,
                )
    return scenarios


def details(scenarios: Sequence[dict[str, Any]], began: float, figure: str) -> dict[str, Any]:
    return {
        "figure": figure,
        "path": (
            "DeliveryWorker.run_once rounds on a SQLite store outbox (claim with lease, "
            "batch 64 + completing sidecars) -> SftpUploader (.part write, fsync, "
            "close, posix-rename, stat) -> mark_delivered (bytes emptied)"
        ),
        "baseline": (
            "OpenSSH sftp -b, one batch: per file put -f to .<name>.part (open, write, "
            "fsync, close) then rename (posix-rename)"
        ),
        "settings": "concurrency x max_connections of the destination",
        "scenarios": list(scenarios),
        "seconds": round(time.perf_counter() - began, 1),
        "quick": QUICK,
    }


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    began = time.perf_counter()
    scenarios = run_scenarios("loopback", LOOPBACK_SETS, None)
    headline = scenarios[0]
    result = Result(
        name=NAME,
        figure=headline["best_files_per_second"],
        unit="files/s",
        baseline=headline["sftp_files_per_second"],
        goal=">= 0.8x sftp -b (put -f to a temporary name, rename) on loopback",
        details=details(
            scenarios, began, "chatrec files/s on loopback, 5 KB set (data files and sidecars)"
        ),
        plots=[plot(scenarios, NAME)],
    )
    report(result)


if __name__ == "__main__":
    main()
