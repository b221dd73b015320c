"""The worker over its real store and a fake uploader: outcomes by error type (R16, R17)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy import text

from chatrec.delivery.model import Destination, RecordingUpload
from chatrec.delivery.readiness import destination_warnings
from chatrec.delivery.worker import (
    MAX_DELAY_SECONDS,
    DeliveryWorker,
    awaiting_platform_seconds,
    backoff_seconds,
)
from chatrec.domain.journal import MessagePosted
from chatrec.errors import (
    FileDeliveryError,
    HostKeyError,
    RemotePermissionError,
    TransientDeliveryError,
)
from chatrec.store.records import DeliveryRecord, DeliveryState
from chatrec.store.store import Store
from tests.integration.store.factories import destination, ended_chat, produced
from tests.unit.delivery.fakes import FakeClock, FakeUploader, FixedRandom

PENDING, DELIVERED, BLOCKED = (
    DeliveryState.PENDING,
    DeliveryState.DELIVERED,
    DeliveryState.BLOCKED,
)


def end(store: Store, chat_id: str, *, data: int = 2, company: str = "acme") -> None:
    recording = produced(f"R-{chat_id}", chat_id, data=data, company_id=company)
    assert store.apply([ended_chat(chat_id, (recording,), company_id=company)]) == [None]


def worker(
    store: Store,
    uploader: FakeUploader,
    clock: FakeClock,
    *,
    worker_id: str = "w1",
    draw: float = 0.5,
) -> DeliveryWorker:
    return DeliveryWorker(
        store,
        uploader,
        worker_id=worker_id,
        clock=clock,
        rng=FixedRandom(draw),
        lease_seconds=60,
    )


def by_path(store: Store) -> dict[str, tuple[DeliveryState, int, str | None]]:
    return {
        d.remote_path: (d.state, d.attempts, d.last_error)
        for d in store.list_deliveries(limit=1000)
    }


def held(store: Store) -> list[str]:
    """The files whose bytes the database still holds (R16, R17)."""
    chats = {d.chat_id for d in store.list_deliveries(limit=1000)}
    return sorted(
        file.path
        for chat_id in chats
        for recording in store.get_recordings(chat_id, with_bytes=True)
        for file in recording.files
        if file.content is not None
    )


@pytest.mark.parametrize(
    ("attempts", "draw", "seconds"),
    [
        (1, 0.99, 1.0),
        (2, 0.0, 1.0),
        (2, 0.5, 1.5),
        (3, 0.5, 2.5),
        (9, 1.0, 256.0),
        (10, 1.0, 300.0),
        (10, 0.0, 1.0),
        (1000, 1.0, 300.0),
        (0, 0.5, 1.0),
    ],
)
def test_R16_backoff_doubles_from_one_second_with_full_jitter_capped_at_five_minutes(
    attempts: int, draw: float, seconds: float
) -> None:
    assert backoff_seconds(attempts, draw) == pytest.approx(seconds)


def test_R16_a_recording_is_delivered_in_order_then_its_bytes_are_emptied(
    with_platforms: Store, clock: FakeClock
) -> None:
    end(with_platforms, "C1")
    assert len(held(with_platforms)) == 3
    uploader = FakeUploader()
    delivering = worker(with_platforms, uploader, clock)
    assert asyncio.run(delivering.run_once()) == 3
    [(company, [upload])] = uploader.calls
    assert company == "acme"
    assert [item.remote_path for item in upload.files] == ["C1/R-C1.0.json", "C1/R-C1.1.json"]
    assert upload.sidecar is not None
    assert upload.sidecar.remote_path == "C1/R-C1.meta.json"
    assert upload.done_marker_path == "C1/R-C1.done"
    assert uploader.writes[-2:] == ["/upload/C1/R-C1.meta.json", "/upload/C1/R-C1.done"]
    assert {state for state, _, _ in by_path(with_platforms).values()} == {DELIVERED}
    assert held(with_platforms) == []
    assert delivering.counts.delivered == 3


def test_R16_a_passing_failure_retries_with_growing_back_off_and_keeps_the_bytes(
    with_platforms: Store, clock: FakeClock
) -> None:
    end(with_platforms, "C1", data=1)

    def down(destination: Destination, recordings: Sequence[RecordingUpload]) -> None:
        raise TransientDeliveryError("connection refused by 127.0.0.1:2222")

    uploader = FakeUploader(script=down)
    delivering = worker(with_platforms, uploader, clock, draw=0.999999)
    waits = []
    for _ in range(11):
        started = clock.now
        assert asyncio.run(delivering.run_once()) == 2
        assert asyncio.run(delivering.run_once()) == 0  # nothing is due before the back-off
        due = min(d.next_attempt_at for d in with_platforms.list_deliveries())
        waits.append(round((due - started).total_seconds()))
        clock.now = due
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    # Only the first attempt may skip looking for the file on the platform.
    attempts = [upload.files[0].first_attempt for _, [upload] in uploader.calls]
    assert attempts == [True] + [False] * 10
    assert set(by_path(with_platforms).values()) == {
        (PENDING, 11, "connection refused by 127.0.0.1:2222")
    }
    assert held(with_platforms) == ["C1/R-C1.0.json", "C1/R-C1.meta.json"]
    assert delivering.counts.failed == 22
    uploader.script = None
    asyncio.run(delivering.run_once())
    assert {state for state, _, _ in by_path(with_platforms).values()} == {DELIVERED}
    assert held(with_platforms) == []


@pytest.mark.parametrize("where", ["raised", "in a file's slot"])
def test_R16_a_permanent_error_blocks_its_company_and_the_others_go_on(
    with_platforms: Store, clock: FakeClock, where: str
) -> None:
    end(with_platforms, "C1")
    end(with_platforms, "G1", company="globex")

    def acme_refuses(
        destination: Destination, recordings: Sequence[RecordingUpload]
    ) -> dict[int, BaseException] | None:
        if destination.company_id != "acme":
            return None
        if where == "raised":
            raise HostKeyError("the server's host key is not the pinned one")
        first = recordings[0].files[0].delivery_id
        return {first: RemotePermissionError("permission denied writing C1/R-C1.0.json")}

    uploader = FakeUploader(script=acme_refuses)
    delivering = worker(with_platforms, uploader, clock)
    asyncio.run(delivering.run_once())
    acme = with_platforms.get_destination("acme")
    assert acme is not None
    assert acme.blocked_reason is not None
    states: dict[str, set[DeliveryState]] = defaultdict(set)
    for d in with_platforms.list_deliveries():
        states[d.company_id].add(d.state)
    assert states == {
        "acme": {BLOCKED} if where == "raised" else {BLOCKED, DELIVERED},
        "globex": {DELIVERED},
    }
    assert delivering.counts.blocked == 1
    calls = len(uploader.calls)
    clock.advance(3600)
    asyncio.run(delivering.run_once())
    assert len(uploader.calls) == calls  # a blocked platform is not tried again by itself
    uploader.script = None
    with_platforms.set_destination(destination("acme", host_key="ssh-ed25519 AAAAfixed"))
    asyncio.run(delivering.run_once())
    assert {state for state, _, _ in by_path(with_platforms).values()} == {DELIVERED}


def test_R16_a_poisoned_file_never_blocks_the_others(
    with_platforms: Store, clock: FakeClock
) -> None:
    end(with_platforms, "C1")
    end(with_platforms, "C2")
    # Poisoned: queued by an older chatrec whose spool file was gone at the upgrade.
    with with_platforms.engine.begin() as connection:
        connection.execute(
            text("UPDATE recording_files SET content = NULL WHERE path = 'C1/R-C1.1.json'")
        )
    uploader = FakeUploader()
    delivering = worker(with_platforms, uploader, clock)
    asyncio.run(delivering.run_once())
    states = by_path(with_platforms)
    assert states["C1/R-C1.0.json"][0] is DELIVERED
    assert states["C1/R-C1.1.json"][0] is PENDING
    assert "C1/R-C1.1.json (delivery" in (states["C1/R-C1.1.json"][2] or "")
    assert "are missing from the database" in (states["C1/R-C1.1.json"][2] or "")
    assert states["C1/R-C1.meta.json"][0] is PENDING  # waits for its data
    assert all(states[f"C2/R-C2.{name}"][0] is DELIVERED for name in ("0.json", "meta.json"))
    assert held(with_platforms) == ["C1/R-C1.meta.json"]


def test_R16_a_crashed_workers_lease_expires_and_another_worker_finishes(
    with_platforms: Store, clock: FakeClock
) -> None:
    end(with_platforms, "C1")

    class Hanging(FakeUploader):
        async def upload(
            self, destination: Destination, recordings: Sequence[RecordingUpload]
        ) -> dict[int, BaseException | None]:
            self.put_item(destination.folder, recordings[0].files[0])  # one file, then dies
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    crashing = Hanging()
    survivor = FakeUploader(remote=crashing.remote)

    async def crash() -> None:
        task = asyncio.create_task(worker(with_platforms, crashing, clock).run_once())
        while not crashing.writes:
            await asyncio.sleep(0.01)
        task.cancel()  # as good as SIGKILL: nothing after the first write happens
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(crash())
    other = worker(with_platforms, survivor, clock, worker_id="w2")
    clock.advance(59)
    assert asyncio.run(other.run_once()) == 0  # still leased to the dead worker
    clock.advance(1)
    assert asyncio.run(other.run_once()) == 3
    assert {v[:2] for v in by_path(with_platforms).values()} == {(DELIVERED, 2)}
    assert sorted(survivor.remote) == [
        "/upload/C1/R-C1.0.json",
        "/upload/C1/R-C1.1.json",
        "/upload/C1/R-C1.done",
        "/upload/C1/R-C1.meta.json",
    ]
    assert held(with_platforms) == []


def test_R16_without_a_platform_files_wait_visibly_until_one_is_configured(
    store: Store, clock: FakeClock
) -> None:
    end(store, "C1", data=1)
    uploader = FakeUploader()
    delivering = worker(store, uploader, clock)
    asyncio.run(delivering.run_once())
    assert uploader.calls == []
    waiting = (
        "no recording platform is set up for company acme: these files wait for one and "
        "go as soon as an administrator saves it (console, Recording platform)"
    )
    # Nothing was tried: no attempt is shown (nor counted as a failure), however often
    # they are looked at, so the back-off starts afresh once a platform is saved.
    assert set(by_path(store).values()) == {(PENDING, 0, waiting)}
    assert delivering.counts.failed == 0
    # Nothing changes until a platform is saved: the files are not claimed again and
    # again meanwhile (each claim a write the chats' commits wait behind), ...
    clock.advance(awaiting_platform_seconds(0.5) - 1)
    assert asyncio.run(delivering.run_once()) == 0
    clock.advance(awaiting_platform_seconds(0.999))
    asyncio.run(delivering.run_once())
    assert set(by_path(store).values()) == {(PENDING, 0, waiting)}
    # ... and saving one makes them due at once, however long they were told to wait.
    store.set_destination(destination("acme"))
    asyncio.run(delivering.run_once())
    assert {(state, attempts) for state, attempts, _ in by_path(store).values()} == {(DELIVERED, 1)}


@pytest.mark.parametrize("draw", [0.0, 0.999])
def test_R16_files_without_a_platform_wait_between_half_and_all_of_the_longest_backoff(
    draw: float,
) -> None:
    assert MAX_DELAY_SECONDS / 2 <= awaiting_platform_seconds(draw) <= MAX_DELAY_SECONDS


@pytest.mark.parametrize(
    ("outcome", "error"),
    [
        ("bug", "RuntimeError: the uploader has a bug"),
        ("silent", "the uploader reported nothing for this file"),
        ("file error raised", "bytes not as rendered"),
    ],
)
def test_R16_an_uploader_that_misbehaves_is_retried_never_fatal(
    with_platforms: Store,
    clock: FakeClock,
    outcome: str,
    error: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    end(with_platforms, "C1", data=1)

    class Misbehaving(FakeUploader):
        async def upload(
            self, destination: Destination, recordings: Sequence[RecordingUpload]
        ) -> dict[int, BaseException | None]:
            if outcome == "bug":
                raise RuntimeError("the uploader has a bug")
            if outcome == "file error raised":
                raise FileDeliveryError("bytes not as rendered")
            return {}

    delivering = worker(with_platforms, Misbehaving(), clock)
    with caplog.at_level(logging.WARNING):
        asyncio.run(delivering.run_once())
    assert {v[2] for v in by_path(with_platforms).values()} == {error}
    assert "delivery" in caplog.text


def test_R17_bodies_are_purged_in_the_round_that_delivers_the_last_file(
    with_platforms: Store, clock: FakeClock
) -> None:
    end(with_platforms, "C1", data=1)
    assert with_platforms.apply([ended_chat("S1")]) == [None]  # suppressed: nothing to send
    delivering = worker(with_platforms, FakeUploader(), clock)
    asyncio.run(delivering.run_once())
    for chat_id in ("C1", "S1"):
        texts = [
            e.text for _, e in with_platforms.load_journal(chat_id) if isinstance(e, MessagePosted)
        ]
        assert texts == ["", ""]


async def never(seconds: float) -> None:
    """A poll that never comes: only :meth:`DeliveryWorker.notify` wakes the worker."""
    await asyncio.Event().wait()


@contextlib.asynccontextmanager
async def running(worker: DeliveryWorker) -> AsyncIterator[None]:
    """``worker.run_forever`` through the block (after its first look, which finds
    nothing); then stopped, and waited for 5 s at most."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    await asyncio.sleep(0.05)
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)


async def delivered(worker: DeliveryWorker, count: int) -> None:
    """Wait (3 s at most) until ``worker`` has delivered ``count`` files."""
    for _ in range(300):
        if worker.counts.delivered == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{worker.counts.delivered} delivered, not {count}")


def test_R16_notify_wakes_the_worker_and_stop_ends_it(
    with_platforms: Store, clock: FakeClock
) -> None:
    uploader = FakeUploader()

    delivering = DeliveryWorker(with_platforms, uploader, worker_id="w1", clock=clock, sleep=never)

    async def scenario() -> None:
        async with running(delivering):
            end(with_platforms, "C1", data=1)
            delivering.notify()
            await delivered(delivering, 2)
        await delivering.close()

    asyncio.run(scenario())
    assert delivering.counts.delivered == 2
    assert uploader.closed


def gathering(
    store: Store, clock: FakeClock, kind: type[DeliveryWorker] = DeliveryWorker
) -> DeliveryWorker:
    """A worker that only :meth:`~DeliveryWorker.notify` wakes, gathering ends for half a
    second after a claim that found files."""
    return kind(store, FakeUploader(), worker_id="w1", clock=clock, sleep=never, gather_seconds=0.5)


def test_R16_chats_ending_close_together_are_claimed_together(
    with_platforms: Store, clock: FakeClock
) -> None:
    """Every end wakes the worker (issue 13): under a burst of ends, a claim per end was a
    fifth of the server's GIL.  After a claim the next waits for the gather, so four
    chats ending 5 ms apart after the first go in one more claim, all delivered."""
    claims: list[int] = []

    class Counting(DeliveryWorker):
        async def _claim(self) -> list[DeliveryRecord]:
            claimed = await super()._claim()
            claims.append(len(claimed))
            return claimed

    delivering = gathering(with_platforms, clock, Counting)

    async def scenario() -> None:
        async with running(delivering):
            for chat_id in ("C1", "C2", "C3", "C4", "C5"):
                end(with_platforms, chat_id, data=1)
                delivering.notify()
                await asyncio.sleep(0.005)
            await delivered(delivering, 10)

    asyncio.run(scenario())
    assert delivering.counts.delivered == 10
    assert [n for n in claims if n] == [2, 8]  # C1 at once; C2 to C5 gathered


def test_R16_a_stop_while_gathering_claims_nothing_more(
    with_platforms: Store, clock: FakeClock
) -> None:
    """Stopped while it waits to gather ends, the worker ends without another claim: what
    it has not claimed stays pending for the next worker, and nothing is half-done."""
    delivering = gathering(with_platforms, clock)

    async def scenario() -> None:
        async with running(delivering):
            end(with_platforms, "C1", data=1)
            delivering.notify()
            await delivered(delivering, 2)
            end(with_platforms, "C2", data=1)
            delivering.notify()  # the worker gathers until half a second after C1's claim
            await asyncio.sleep(0.05)  # and is stopped meanwhile

    asyncio.run(scenario())
    assert delivering.counts.delivered == 2
    pending = {path for path, (state, _, _) in by_path(with_platforms).items() if state == PENDING}
    assert pending == {"C2/R-C2.0.json", "C2/R-C2.meta.json"}


class HeldUploader(FakeUploader):
    """Holds every upload of chat C1 until ``release`` is set; the others go at once."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def upload(
        self, destination: Destination, recordings: Sequence[RecordingUpload]
    ) -> dict[int, BaseException | None]:
        if any(r.recording_id == "R-C1" for r in recordings):
            await self.release.wait()
        return await super().upload(destination, recordings)


def test_R16_a_chat_ending_while_a_round_uploads_is_delivered_beside_it_not_after(
    with_platforms: Store, clock: FakeClock
) -> None:
    """Rounds overlap (issue 13): a slow upload no longer holds back the files committed
    after its claim, and stopping waits for the held round, which delivers in full."""
    uploader = HeldUploader()

    delivering = DeliveryWorker(with_platforms, uploader, worker_id="w1", clock=clock, sleep=never)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(delivering.run_forever(stop))
        end(with_platforms, "C1", data=1)
        delivering.notify()
        await asyncio.sleep(0.05)  # C1's round is claimed and held in the upload
        end(with_platforms, "C2", data=1)
        delivering.notify()
        await delivered(delivering, 2)  # C2's data file and sidecar, while C1's round still waits
        assert not any("C1/R-C1" in path for path in uploader.remote)
        stop.set()
        uploader.release.set()
        await asyncio.wait_for(task, timeout=5)
        await delivering.close()

    asyncio.run(scenario())
    assert delivering.counts.delivered == 4
    paths = ("C1/R-C1.0.json", "C1/R-C1.meta.json", "C2/R-C2.0.json", "C2/R-C2.meta.json")
    assert by_path(with_platforms) == dict.fromkeys(paths, (DELIVERED, 1, None))


def test_R17_a_purge_asked_while_one_runs_runs_once_more_after_it(
    with_platforms: Store, clock: FakeClock
) -> None:
    """Rounds overlap: a round that delivered a chat's last file while another round's
    purge was already looking must not go without a purge until the next poll."""
    looks: list[str] = []
    release = asyncio.Event()

    class Looking(DeliveryWorker):
        async def purge_due(self) -> int:
            looks.append("look")
            if len(looks) == 1:
                await release.wait()
            return 0

    delivering = Looking(with_platforms, FakeUploader(), worker_id="w1", clock=clock)

    async def scenario() -> None:
        first = asyncio.create_task(delivering._purge_unless_running())
        await asyncio.sleep(0.01)  # the first purge is looking
        await delivering._purge_unless_running()  # returns at once: one is running
        assert looks == ["look"]
        release.set()
        await first

    asyncio.run(scenario())
    assert looks == ["look", "look"]


def test_R1_R16_a_recording_company_without_a_working_platform_is_named_at_start(
    store: Store,
) -> None:
    warnings = destination_warnings(store)
    assert [w.split(" ")[1] for w in warnings] == ["acme", "globex"]
    assert "no recording platform" in warnings[0]
    store.set_destination(destination("acme"))
    store.set_destination(destination("globex"))
    assert destination_warnings(store) == []
    store.block_destination("globex", "user name, password or key refused", store._clock())
    [blocked] = destination_warnings(store)
    assert "globex" in blocked
    assert "refused" in blocked


def test_R16_a_worker_killed_after_confirming_leaves_no_bytes_behind(
    with_platforms: Store, clock: FakeClock
) -> None:
    end(with_platforms, "C1", data=1)
    end(with_platforms, "C2", data=1)
    # A worker confirms C1's files and is killed at once: confirming emptied their bytes.
    claimed = with_platforms.claim_deliveries("dead", clock(), 60, 100)
    c1 = [d.delivery_id for d in claimed if d.remote_path.startswith("C1/")]
    assert with_platforms.mark_delivered(c1, "dead", clock()) == sorted(c1)
    assert held(with_platforms) == ["C2/R-C2.0.json", "C2/R-C2.meta.json"]  # on their way
