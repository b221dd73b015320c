"""The outbox worker: claims recording files, has them uploaded, records what happened (R16).

One round (:meth:`DeliveryWorker.run_once`) claims due deliveries with a lease, reads
the bytes of those it claimed from the database (the chat's end committed them there,
so a worker on any machine can deliver any node's recordings, R20), groups them by
company and recording, and hands each company's recordings to the uploader in one call.
Then, by the type of what came back:

- nothing wrong: the files are delivered; confirming them empties their bytes in the
  database in the same transaction;
- :class:`~chatrec.errors.PermanentDeliveryError`: the destination is blocked with the
  reason until a person fixes it; other companies' deliveries go on;
- any other failure, of the call or of one file: that file waits with back-off (full
  jitter, the ceiling doubling from 1 s to 5 min) and tries again, forever, with its
  attempts and last error visible.  One poisoned file never holds back the others.

A worker that dies mid-round leaves its rows leased; once the lease expires another
worker (or the same after a restart) claims them again.  Uploads are idempotent (same
name, same bytes), so a file delivered but not yet confirmed is only delivered again.
Nothing is kept on a disk of the worker's, so nothing is left to sweep after a crash.

After the deliveries, chats whose recordings are all delivered have their message
bodies purged once their company's retention has passed (R17).

:meth:`DeliveryWorker.run_forever` keeps up to :data:`ROUNDS_IN_FLIGHT` rounds going at
once: files committed while a round uploads are claimed and sent beside it, rather
than waiting for its slowest file (at 20 chat endings a second that wait was most of a
file's p99, issue 13).  Two rounds never hold the same file (each claim leases what it
takes) and a sidecar is never claimed while its data is in another round's hands.

Its length is one round's and the loop that overlaps rounds: claiming, the outcome of
each kind of failure, the purge and when to claim again are read together, since each
step's safety depends on the one before.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from chatrec.delivery.model import Destination, RecordingUpload, Uploader, UploadItem
from chatrec.errors import DeliveryError, PermanentDeliveryError
from chatrec.store.records import DeliveryKind, DeliveryRecord, DestinationRecord

log = logging.getLogger(__name__)
T = TypeVar("T")

ROUNDS_IN_FLIGHT = 4
"""Rounds one worker runs at once; each holds the bytes of at most its batch in memory."""

CLAIM_GATHER_SECONDS = 0.025
"""After a claim that found files but not a batch, the least time before the next, so
that the files of chats ending meanwhile go in one claim.  Every end wakes the worker,
and under a burst of ends a claim each (with the purge's look after each round) took a
fifth of the server's GIL; at 20 ends a second, 50 ms apart, no end waits for it."""

FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 300.0
DONE_MARKER_SUFFIX = ".done"


class Outbox(Protocol):
    """What the worker needs of the store: the outbox and its bytes, destinations, purge
    (``store.deliveries``); a fake fills it in unit tests."""

    def claim_deliveries(
        self, worker_id: str, now: datetime, lease_seconds: float, limit: int
    ) -> list[DeliveryRecord]: ...

    def delivery_contents(self, ids: Collection[int]) -> dict[int, bytes]: ...

    def mark_delivered(self, ids: Sequence[int], worker_id: str, now: datetime) -> list[int]: ...

    def mark_retries(
        self, worker_id: str, plan: Sequence[tuple[int, str, datetime]], *, attempted: bool = ...
    ) -> int: ...

    def get_destination(self, company_id: str) -> DestinationRecord | None: ...

    def block_destination(self, company_id: str, reason: str, now: datetime) -> int: ...

    def chats_due_for_purge(self, now: datetime, limit: int = 100) -> list[str]: ...

    def purge_message_bodies(self, chat_id: str, now: datetime | None = None) -> int: ...

    def purge_chats(self, chat_ids: Sequence[str], now: datetime) -> int: ...


class Random(Protocol):
    def random(self) -> float:
        """A number in [0, 1)."""
        ...


def backoff_seconds(attempts: int, draw: float) -> float:
    """How long to wait after the ``attempts``-th failed attempt, for a ``draw`` in [0, 1).

    Full jitter over [1 s, ceiling], the ceiling doubling with each attempt from 1 s to
    5 min: waiting retries spread out instead of returning together, and never sooner
    than a second.
    """
    doublings = min(max(attempts - 1, 0), 16)
    ceiling = min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2.0**doublings)
    return FIRST_DELAY_SECONDS + draw * (ceiling - FIRST_DELAY_SECONDS)


def awaiting_platform_seconds(draw: float) -> float:
    """How long files of a company with no recording platform wait before they are
    looked at again, for a ``draw`` in [0, 1): between half the longest back-off and
    all of it.  Nothing changes until an administrator saves a platform, and saving one
    makes them due at once (``outbox.set_destination``); a shorter wait would only
    claim them again and again, each claim a write the chats' commits queue behind (in
    a load with such a backlog, the server's CPU per chat was three times its own)."""
    return MAX_DELAY_SECONDS * (0.5 + draw / 2)


def awaiting_platform_reason(company_id: str) -> str:
    """What a file of a company with no recording platform says while it waits: what to do."""
    return (
        f"no recording platform is set up for company {company_id}: these files wait "
        "for one and go as soon as an administrator saves it (console, Recording platform)"
    )


def destination_of(record: DestinationRecord) -> Destination:
    """The stored destination as the uploader takes it."""
    return Destination(
        company_id=record.company_id,
        host=record.host,
        port=record.port,
        username=record.username,
        folder=record.folder,
        host_key=record.host_key,
        password=record.password,
        private_key=record.private_key,
        done_marker=record.done_marker,
        max_connections=record.max_connections,
        concurrency=record.concurrency,
        timeout_seconds=record.timeout_seconds,
        verify_after_rename=record.verify_after_rename,
    )


def stored_destination(destination: Destination) -> DestinationRecord:
    """A destination as the store keeps it, the inverse of :func:`destination_of` (the
    demo platform's, or a test's sshd, saved for the company)."""
    return DestinationRecord(**asdict(destination))


def recording_uploads(
    deliveries: Sequence[DeliveryRecord], contents: Mapping[int, bytes], *, done_marker: bool
) -> list[RecordingUpload]:
    """One upload per recording: data files in order, the sidecar, the optional marker;
    each file with its bytes from ``contents`` (by delivery id), if there."""
    by_recording: dict[str, list[DeliveryRecord]] = defaultdict(list)
    for delivery in sorted(deliveries, key=lambda d: (d.recording_id, d.delivery_id)):
        by_recording[delivery.recording_id].append(delivery)
    uploads = []
    for recording_id, files in by_recording.items():
        data = tuple(_item(d, contents) for d in files if d.kind is DeliveryKind.DATA)
        sidecars = [d for d in files if d.kind is DeliveryKind.SIDECAR]
        sidecar = sidecars[0] if sidecars else None
        marker = None
        if sidecar is not None and done_marker:
            marker = sidecar.base_name + DONE_MARKER_SUFFIX
        uploads.append(
            RecordingUpload(
                recording_id=recording_id,
                files=data,
                sidecar=None if sidecar is None else _item(sidecar, contents),
                done_marker_path=marker,
            )
        )
    return uploads


def _item(delivery: DeliveryRecord, contents: Mapping[int, bytes]) -> UploadItem:
    return UploadItem(
        delivery_id=delivery.delivery_id,
        remote_path=delivery.remote_path,
        content=contents.get(delivery.delivery_id),
        size=delivery.size,
        sha256=delivery.sha256,
        first_attempt=delivery.attempts <= 1,  # counted by the claim that leased it
    )


def describe(error: BaseException) -> str:
    """What an administrator reads as the last error of a delivery."""
    if isinstance(error, DeliveryError):
        return error.reason
    return f"{type(error).__name__}: {error}"


@dataclass
class DeliveryCounts:
    """What this worker has done since it started, for the metrics."""

    delivered: int = 0
    failed: int = 0
    blocked: int = 0


class DeliveryWorker:
    """Delivers the outbox of one store through one uploader.

    ``worker_id`` must differ between workers sharing a database: it names the lease.
    Time comes from ``clock``, back-off jitter from ``rng``, and the pause between
    rounds from ``sleep``, so tests run hours of retries in an instant.
    """

    def __init__(
        self,
        store: Outbox,
        uploader: Uploader,
        *,
        worker_id: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Random | None = None,
        lease_seconds: float = 120,
        batch: int = 64,
        rounds: int = ROUNDS_IN_FLIGHT,
        poll_seconds: float = 2.0,
        gather_seconds: float = CLAIM_GATHER_SECONDS,
    ) -> None:
        self.store = store
        self.uploader = uploader
        self.worker_id = worker_id
        self.counts = DeliveryCounts()
        self._clock = clock
        self._sleep = sleep
        self._rng: Random = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._lease_seconds = lease_seconds
        self._batch = batch
        self._rounds = rounds
        self._poll_seconds = poll_seconds
        self._gather_seconds = gather_seconds
        self._wake = asyncio.Event()
        self._purging = asyncio.Lock()
        self._purge_asked = False

    def notify(self) -> None:
        """New deliveries were committed: start the next round now (call in the loop)."""
        self._wake.set()

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(function, *args)

    # -- one round ------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim due deliveries, upload them, record the outcomes; how many were claimed."""
        claimed = await self._claim()
        await self._deliver(claimed)
        await self.purge_due()
        return len(claimed)

    async def _claim(self) -> list[DeliveryRecord]:
        return await self._call(
            self.store.claim_deliveries,
            self.worker_id,
            self._clock(),
            self._lease_seconds,
            self._batch,
        )

    async def _deliver(self, claimed: list[DeliveryRecord]) -> None:
        """Upload what one claim leased, company by company, and record the outcomes."""
        by_company: dict[str, list[DeliveryRecord]] = defaultdict(list)
        for delivery in claimed:
            by_company[delivery.company_id].append(delivery)
        outcomes = await asyncio.gather(
            *(self._deliver_company_batch(company, rows) for company, rows in by_company.items()),
            return_exceptions=True,
        )
        for company_id, outcome in zip(by_company, outcomes, strict=True):
            if isinstance(outcome, Exception):
                log.error(
                    "recording delivery for company %s failed; its leases will expire",
                    company_id,
                    exc_info=outcome,
                )

    async def _deliver_company_batch(
        self, company_id: str, deliveries: list[DeliveryRecord]
    ) -> None:
        """One company's claimed rows: one upload to its destination, then each settled."""
        destination = await self._call(self.store.get_destination, company_id)
        if destination is None:
            await self._await_platform(company_id, deliveries)
            return
        if destination.blocked_reason is not None:
            return  # blocked since the claim: the block took these rows back
        # Read only now, for the files this worker holds: a listing never loads them.
        contents = await self._call(
            self.store.delivery_contents, [d.delivery_id for d in deliveries]
        )
        uploads = recording_uploads(deliveries, contents, done_marker=destination.done_marker)
        try:
            results = await self.uploader.upload(destination_of(destination), uploads)
        except PermanentDeliveryError as error:
            await self._block(company_id, error)
            return
        except Exception as error:
            if not isinstance(error, DeliveryError):
                log.exception("the uploader failed unexpectedly for company %s", company_id)
            await self._retry({d.delivery_id: describe(error) for d in deliveries}, deliveries)
            return
        await self._settle(company_id, deliveries, results)

    async def _settle(
        self,
        company_id: str,
        deliveries: list[DeliveryRecord],
        results: dict[int, BaseException | None],
    ) -> None:
        ok = {
            d.delivery_id
            for d in deliveries
            if d.delivery_id in results and results[d.delivery_id] is None
        }
        confirmed = set(
            await self._call(self.store.mark_delivered, sorted(ok), self.worker_id, self._clock())
        )
        self.counts.delivered += len(confirmed)
        failures: dict[int, str] = {}
        permanent: PermanentDeliveryError | None = None
        for delivery in deliveries:
            if delivery.delivery_id in ok:
                continue
            error = results.get(delivery.delivery_id)
            if isinstance(error, PermanentDeliveryError):
                permanent = permanent or error
            failures[delivery.delivery_id] = (
                "the uploader reported nothing for this file" if error is None else describe(error)
            )
        if permanent is not None:
            await self._block(company_id, permanent)
        elif failures:
            await self._retry(failures, deliveries)

    async def _retry(self, reasons: dict[int, str], deliveries: list[DeliveryRecord]) -> None:
        """Give the files of ``reasons`` back to wait, each its own back-off."""
        now = self._clock()
        plan = [
            (
                d.delivery_id,
                reasons[d.delivery_id],
                now + timedelta(seconds=backoff_seconds(d.attempts, self._rng.random())),
            )
            for d in deliveries
            if d.delivery_id in reasons
        ]
        await self._call(self.store.mark_retries, self.worker_id, plan)
        self.counts.failed += len(plan)
        by_reason: dict[str, list[datetime]] = defaultdict(list)
        for _, reason, due in plan:
            by_reason[reason].append(due)
        for reason, dues in by_reason.items():
            log.warning(
                "%d deliveries failed, next attempt from %s: %s", len(dues), min(dues), reason
            )

    async def _await_platform(self, company_id: str, deliveries: list[DeliveryRecord]) -> None:
        """Files of a company with no recording platform wait for one: nothing was tried,
        so the claim's attempt is given back (the console shows none, and the back-off
        starts afresh once a platform is saved) and no failure is counted."""
        reason = awaiting_platform_reason(company_id)
        due = self._clock() + timedelta(seconds=awaiting_platform_seconds(self._rng.random()))
        plan = [(d.delivery_id, reason, due) for d in deliveries]
        mark = functools.partial(self.store.mark_retries, attempted=False)
        await self._call(mark, self.worker_id, plan)
        log.info(
            "%d deliveries of company %s wait for a recording platform, looked at again from %s",
            len(plan),
            company_id,
            due,
        )

    async def _block(self, company_id: str, error: PermanentDeliveryError) -> None:
        blocked = await self._call(
            self.store.block_destination, company_id, error.reason, self._clock()
        )
        self.counts.blocked += 1
        log.error(
            "recording platform of company %s blocked (%d deliveries wait): %s",
            company_id,
            blocked,
            error.reason,
        )

    async def purge_due(self) -> int:
        """Purge the message bodies of every chat now due (R17); how many chats."""
        now = self._clock()
        due = await self._call(self.store.chats_due_for_purge, now, self._batch)
        if not due:
            return 0
        try:
            # One transaction for all: a commit per chat cost a busy worker a third
            # of its round (issue 13).
            await self._call(self.store.purge_chats, due, now)
            return len(due)
        except Exception:
            log.warning("purging %d chats at once failed; purging one by one", len(due))
        purged = 0
        for chat_id in due:  # one chat that cannot be purged holds back no other
            try:
                await self._call(self.store.purge_message_bodies, chat_id, now)
                purged += 1
            except Exception:
                log.exception("purging the messages of chat %s failed", chat_id)
        return purged

    # -- forever --------------------------------------------------------------------

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Claim and deliver until ``stop`` is set, up to ``rounds`` rounds at once.

        A claim that fills a batch looks again at once; otherwise the next look waits for
        :meth:`notify`, the poll or a free place, and after a claim that found some, at
        least ``gather_seconds``.  Rounds in flight at the stop are waited for
        (cancelled with the task that runs this).  A failure is logged and tried again,
        never fatal.
        """
        in_flight: set[asyncio.Task[None]] = set()
        look = True
        loop = asyncio.get_running_loop()
        next_claim_at = loop.time()
        try:
            while not stop.is_set():
                if look and len(in_flight) < self._rounds:
                    # Real time, not the injected sleep: the gather is a few ms of the
                    # loop's own, whatever clock the retries are planned on.
                    if (wait := next_claim_at - loop.time()) > 0:
                        await asyncio.sleep(wait)
                        if stop.is_set():
                            break
                    self._wake.clear()
                    claimed = await self._claim_or_log()
                    look = len(claimed) >= self._batch
                    # A claim that found some but not a batch: others may be ending.
                    gather = self._gather_seconds if claimed and not look else 0
                    next_claim_at = loop.time() + gather
                    if claimed:
                        task = asyncio.create_task(self._round(claimed))
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                    else:
                        await self._purge_unless_running()
                    continue
                look = await self._pause(stop, in_flight) or look
        finally:
            await _finish(in_flight)

    async def _claim_or_log(self) -> list[DeliveryRecord]:
        try:
            return await self._claim()
        except Exception:
            log.exception("claiming due deliveries failed; trying again at the next poll")
            return []

    async def _round(self, claimed: list[DeliveryRecord]) -> None:
        try:
            await self._deliver(claimed)
            await self._purge_unless_running()
        except Exception:
            log.exception("a delivery round failed; its leases will expire")

    async def _purge_unless_running(self) -> None:
        """Purge what is due; asked while a purge beside it runs, that one purges once
        more when it is done (what this round delivered may have made a chat due after
        the running purge looked)."""
        self._purge_asked = True
        if self._purging.locked():
            return
        async with self._purging:
            while self._purge_asked:
                self._purge_asked = False
                try:
                    await self.purge_due()
                except Exception:
                    log.exception("purging the message bodies due failed")

    async def _pause(self, stop: asyncio.Event, in_flight: set[asyncio.Task[None]]) -> bool:
        """Wait for the stop, :meth:`notify`, the poll or a round's end; whether there may
        be new files to claim (a notice or the poll)."""
        woken = asyncio.ensure_future(self._wake.wait())
        polled = asyncio.ensure_future(self._sleep(self._poll_seconds))
        waiters = [asyncio.ensure_future(stop.wait()), woken, polled]
        try:
            await asyncio.wait([*waiters, *in_flight], return_when=asyncio.FIRST_COMPLETED)
            return woken.done() or polled.done()
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def close(self) -> None:
        await self.uploader.close()


async def _finish(rounds: set[asyncio.Task[None]]) -> None:
    """Wait for the rounds in flight; cancelled meanwhile, cancel them too (their leases
    expire and their files are delivered again)."""
    if not rounds:
        return
    try:
        await asyncio.gather(*rounds)
    except asyncio.CancelledError:
        for task in list(rounds):
            task.cancel()
        await asyncio.gather(*rounds, return_exceptions=True)
        raise


# How long a stop waits for a delivery round in flight before cancelling it; a cancelled
# upload is safe: its lease expires and the file is delivered again.
STOP_SECONDS = 10.0


async def stop_worker(
    worker: DeliveryWorker, stop: asyncio.Event, task: asyncio.Task[None]
) -> None:
    """Ask ``run_forever`` to stop, give a round in flight time, then close the uploader."""
    stop.set()
    await asyncio.wait({task}, timeout=STOP_SECONDS)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await worker.close()
