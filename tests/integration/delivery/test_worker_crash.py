"""The ``chatrec worker`` SIGKILLed mid-upload 20 times in a loop (R16).

Every recording still ends delivered exactly once by name and bytes, with no ``.part``
left on the platform: uploads go to a temporary name and are renamed into place, a
killed worker's leases expire (1 s here) and the next worker delivers the rest.
"""

from __future__ import annotations

import hashlib
import random
import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chatrec.delivery.worker import stored_destination
from chatrec.store.records import DeliveryState, DestinationRecord, RecordingFileRecord
from chatrec.store.store import Store
from tests.harness import CHATREC, ChildProcess, Running
from tests.integration.store.factories import ended_chat, produced, seed
from tests.keys import SECRETS
from tests.sshd import OpenSshServer

pytestmark = pytest.mark.long  # tens of seconds: handed out first (tests/conftest.py)

KILLS = 20
CHATS = 24  # enough that even a quiet machine is killed mid-work several times
FILE_BYTES = 400_000  # per data file: uploads take a moment
STARTED = "delivery worker"


WORKER_ENV = {"CHATREC_DELIVERY_LEASE_SECONDS": "1", "CHATREC_DELIVERY_POLL_SECONDS": "0.2"}
"""Leases that expire 1 s after a kill, and a worker that looks for work every 0.2 s."""


def destination_record(sshd: OpenSshServer, **changes: Any) -> DestinationRecord:
    """Acme's platform: the sshd's folder, its host key pinned, its client key."""
    return replace(stored_destination(sshd.destination()), **changes)


def big_recording(
    recording_id: str, chat_id: str, rng: random.Random, size: int = FILE_BYTES
) -> tuple[RecordingFileRecord, ...]:
    """A produced recording's files, with ``size`` distinct bytes each."""
    files = []
    for file in produced(recording_id, chat_id, data=2).files:
        content = rng.randbytes(size)
        files.append(
            replace(file, size=size, sha256=hashlib.sha256(content).hexdigest(), content=content)
        )
    return tuple(files)


def seed_outbox(store: Store, sshd: OpenSshServer, chats: int) -> dict[str, bytes]:
    """Acme, its platform, ``chats`` ended chats of one big recording; remote path → bytes."""
    rng = random.Random(16)
    seed(store)
    store.set_destination(destination_record(sshd))
    changes = []
    expected: dict[str, bytes] = {}
    for n in range(chats):
        chat_id, recording_id = f"K{n:02}", f"R-K{n:02}"
        recording = produced(recording_id, chat_id, data=2)
        recording = replace(recording, files=big_recording(recording_id, chat_id, rng))
        changes.append(ended_chat(chat_id, (recording,)))
        expected |= {file.path: file.content or b"" for file in recording.files}
    assert store.apply(changes) == [None] * chats
    assert len(expected) == chats * 3
    return expected


class WorkerProcess:
    """``chatrec worker`` on the test's database, its output in a file per run.

    Forked by default, as every ``chatrec`` the tests start (:mod:`tests.forking`: a real
    process, killed for real, started in milliseconds instead of seconds); with
    ``fork=False`` it is ``python -m chatrec worker``, as deployed.
    """

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self.runs = 0
        self.process: Running | None = None
        self.output = data_dir / "worker-0.log"

    @property
    def argv(self) -> list[str]:
        return ["worker", "--data-dir", str(self.data_dir), "--database-url", self.database_url]

    @property
    def running(self) -> bool:
        return self.process is not None

    def start(self, *, fork: bool = True) -> None:
        self.runs += 1
        self.output = self.data_dir / f"worker-{self.runs}.log"
        child = ChildProcess([*CHATREC, *self.argv], self.output, env=WORKER_ENV, fork=fork)
        child.spawn()
        self.process = child.process

    def poll(self) -> int | None:
        assert self.process is not None
        return self.process.poll()

    def wait_started(self, timeout: float = 20) -> None:
        """Until the worker says it started (its first round begins at once)."""
        deadline = time.monotonic() + timeout
        while STARTED not in self.output.read_text(errors="replace"):
            assert self.poll() is None, self.log
            assert time.monotonic() < deadline, f"the worker did not start:\n{self.log}"
            time.sleep(0.01)

    def _signal(self, signum: signal.Signals, timeout: float) -> int:
        assert self.process is not None
        self.process.send_signal(signum)
        code = self.process.wait(timeout=timeout)
        self.process = None
        return code

    def kill(self) -> None:
        self._signal(signal.SIGKILL, 10)

    def terminate(self) -> int:
        """SIGTERM, as a service manager stops it; its exit code."""
        return self._signal(signal.SIGTERM, 20)

    @property
    def log(self) -> str:
        return self.output.read_text(errors="replace")


def undelivered(store: Store) -> list[str]:
    return [
        d.remote_path
        for d in store.list_deliveries(limit=10_000)
        if d.state is not DeliveryState.DELIVERED
    ]


def test_R16_a_worker_killed_mid_upload_20_times_delivers_each_file_once(
    database_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"  # the worker's own: it holds none of the recordings
    data_dir.mkdir()
    rng = random.Random(20)
    store = Store(database_url, secrets=SECRETS)
    worker = WorkerProcess(database_url, data_dir)
    try:
        with OpenSshServer(tmp_path / "sshd") as sshd:
            expected = seed_outbox(store, sshd, CHATS)
            killed_with_work_left = 0
            for _ in range(KILLS):
                worker.start()
                worker.wait_started()
                time.sleep(rng.uniform(0.05, 0.3))
                worker.kill()
                killed_with_work_left += bool(undelivered(store))
            # Killed while files were still on their way, not only after all was done.
            assert killed_with_work_left >= KILLS // 4, killed_with_work_left
            worker.start(fork=False)  # the last one as deployed: `python -m chatrec worker`
            worker.wait_started()
            deadline = time.monotonic() + 30
            while left := undelivered(store):
                assert time.monotonic() < deadline, f"still waiting: {left}\n{worker.log}"
                time.sleep(0.1)
            assert worker.terminate() == 0, worker.log

            remote = {
                path.relative_to(sshd.folder).as_posix(): path
                for path in sshd.folder.rglob("*")
                if path.is_file()
            }
            assert not [name for name in remote if name.endswith(".part")]
            assert sorted(remote) == sorted(expected)  # each once by name, nothing else
            for name, content in expected.items():
                assert remote[name].read_bytes() == content, name
            # The database keeps none of their bytes once they are delivered (R16, R17).
            ids = [d.delivery_id for d in store.list_deliveries(limit=10_000)]
            assert store.delivery_contents(ids) == {}
    finally:
        if worker.running:
            worker.kill()
        store.close()
