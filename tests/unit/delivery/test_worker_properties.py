"""Property: whatever crashes and failures come, every produced file arrives once (R16).

A simulated run of two workers over the real store (SQLite) and a fake platform that
keeps name -> bytes and refuses a name rewritten with other bytes.  Hypothesis picks the
interleaving: rounds by either worker, workers that claim and die after writing some
files (their leases abandoned), a platform that is down, refuses one file, or refuses
the login (blocked until an administrator retries), and time passing.  In the end the
platform is healthy, an administrator retries anything blocked, time passes, and the
workers run until nothing is due.  Two chats (three files and two) are waiting from the
start, so every plan has something to deliver.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatrec.delivery.model import Destination, RecordingUpload
from chatrec.delivery.worker import DeliveryWorker, recording_uploads
from chatrec.errors import (
    AuthenticationFailedError,
    FileDeliveryError,
    TransientDeliveryError,
)
from chatrec.store.records import DeliveryState
from chatrec.store.store import Store
from tests.integration.store.factories import destination, ended_chat, file_bytes, produced
from tests.unit.delivery.conftest import open_store
from tests.unit.delivery.fakes import FakeClock, FakeUploader, FixedRandom
from tests.unit.domain.builders import T0

LEASE = 60


@dataclass
class Network:
    """What the platform does now: ``up``, ``down``, ``poison`` (one file) or ``refuse``."""

    mode: str = "up"
    poisoned: int = 0

    def __call__(
        self, destination: Destination, recordings: Sequence[RecordingUpload]
    ) -> dict[int, BaseException] | None:
        if self.mode == "down":
            raise TransientDeliveryError("connection lost")
        if self.mode == "refuse":
            raise AuthenticationFailedError("user name, password or key refused")
        if self.mode == "poison":
            ids = [i.delivery_id for r in recordings for i in (*r.files, r.sidecar) if i]
            if ids:
                return {ids[self.poisoned % len(ids)]: FileDeliveryError("checksum differs")}
        return None


steps = st.lists(
    st.one_of(
        st.tuples(st.just("run"), st.integers(0, 1)),
        st.tuples(st.just("run"), st.integers(0, 1)),
        st.tuples(st.just("crash"), st.integers(0, 8)),
        st.tuples(st.just("network"), st.sampled_from(["up", "down", "poison", "refuse"])),
        st.tuples(st.just("wait"), st.sampled_from([1, 30, LEASE, 301])),
        st.tuples(st.just("end chat"), st.integers(1, 3), st.sampled_from(["acme", "globex"])),
    ),
    max_size=25,
)


async def crash_mid_upload(store: Store, uploader: FakeUploader, clock: FakeClock, k: int) -> None:
    """A worker claims, writes the first ``k`` files (each atomically) and dies."""
    claimed = await asyncio.to_thread(store.claim_deliveries, "doomed", clock(), LEASE, 64)
    contents = await asyncio.to_thread(store.delivery_contents, [d.delivery_id for d in claimed])
    written = 0
    for upload in recording_uploads(claimed, contents, done_marker=False):
        for item in (*upload.files, upload.sidecar):
            if item is None or written >= k:
                continue
            uploader.put_item("/upload", item)
            written += 1


async def simulate(store: Store, clock: FakeClock, plan: list[tuple[object, ...]]) -> FakeUploader:
    network = Network()
    uploader = FakeUploader(script=network)
    workers = [
        DeliveryWorker(
            store,
            uploader,
            worker_id=f"w{n}",
            clock=clock,
            rng=FixedRandom(0.3),
            lease_seconds=LEASE,
        )
        for n in range(2)
    ]
    chats = 0
    for step in [("end chat", 2, "acme"), ("end chat", 1, "globex"), *plan]:
        match step:
            case ("run", int(n)):
                await workers[n].run_once()
            case ("crash", int(k)):
                await crash_mid_upload(store, uploader, clock, k)
            case ("network", str(mode)):
                network.mode = mode
                network.poisoned += 1
            case ("wait", int(seconds)):
                clock.advance(seconds)
            case ("end chat", int(data), str(company)):
                chats += 1
                chat_id = f"{company[0].upper()}{chats}"
                recording = produced(f"R-{chat_id}", chat_id, data=data, company_id=company)
                change = ended_chat(chat_id, (recording,), company_id=company)
                assert store.apply([change]) == [None]
    network.mode = "up"
    store.retry_deliveries(None)  # an administrator fixed what was blocked
    for _ in range(10):
        clock.advance(301)
        await workers[0].run_once()
        if store.delivery_stats().counts[DeliveryState.DELIVERED] == len(
            store.list_deliveries(limit=10_000)
        ):
            break
    return uploader


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(plan=steps)
def test_R16_every_produced_file_is_delivered_once_by_name_and_bytes_whatever_happens(
    migrated_sqlite: Path, plan: list[tuple[object, ...]]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        clock = FakeClock(T0.replace(hour=12))
        store = open_store(migrated_sqlite, root / "db", clock)
        try:
            store.set_destination(destination("acme", folder="/upload", done_marker=True))
            store.set_destination(destination("globex", folder="/upload", done_marker=True))
            uploader = asyncio.run(simulate(store, clock, plan))
            deliveries = store.list_deliveries(limit=10_000)
            assert {d.state for d in deliveries} <= {DeliveryState.DELIVERED}
            expected = {
                f"/upload/{d.remote_path}": file_bytes(d.chat_id, d.recording_id, d.remote_path)
                for d in deliveries
            }
            expected |= {f"/upload/{d.base_name}.done": b"" for d in deliveries}
            assert uploader.remote == expected
            # Delivered: the database keeps none of their bytes (R16, R17).
            assert store.delivery_contents([d.delivery_id for d in deliveries]) == {}
        finally:
            store.close()
