"""The :class:`~chatrec.delivery.model.Uploader` that talks to real SFTP servers (R16).

It keeps a connection pool per destination (:mod:`~chatrec.delivery.sftp.pool`), puts
each recording's files on it (:mod:`~chatrec.delivery.sftp.transfer`) in their order:
the sidecar after the recording's data files, and the optional done-marker after the
sidecar.  Failures come back as the typed errors of :mod:`chatrec.errors`
(:mod:`~chatrec.delivery.sftp.errors`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

import asyncssh

from chatrec.delivery.egress import EgressPolicy
from chatrec.delivery.model import Destination, RecordingUpload, UploadItem
from chatrec.delivery.sftp.errors import classify
from chatrec.delivery.sftp.pool import Pool
from chatrec.delivery.sftp.probe import ProbeStep, probe
from chatrec.delivery.sftp.transfer import Source, put
from chatrec.errors import DeliveryError, FileDeliveryError, TransientDeliveryError

logger = logging.getLogger(__name__)


class SftpUploader:
    """The :class:`~chatrec.delivery.model.Uploader` that talks to real SFTP servers.

    ``egress`` is the operator's policy every connection is checked against (Test
    connection's too).  ``stale_part_age`` (seconds) is how long a ``.part`` must be
    untouched before a new connection removes it; ``idle_timeout`` closes pooled
    connections unused that long when next looked at; ``clock`` (epoch seconds) is
    injectable for tests.
    """

    def __init__(
        self,
        *,
        egress: EgressPolicy,
        keepalive_interval: float = 15.0,
        keepalive_count_max: int = 3,
        idle_timeout: float = 120.0,
        stale_part_age: float = 600.0,
        stale_scan_limit: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.egress = egress
        self.keepalive_interval = keepalive_interval
        self.keepalive_count_max = keepalive_count_max
        self.idle_timeout = idle_timeout
        self.stale_part_age = stale_part_age
        self.stale_scan_limit = stale_scan_limit
        self.clock = clock
        self.taken_on_arrival = 0
        self._pools: dict[str, Pool] = {}
        self._in_flight: dict[tuple[Pool, str, str], asyncio.Future[BaseException | None]] = {}

    def connections_opened(self, destination: Destination) -> int:
        """How many connections were opened to the destination since it was configured."""
        pool = self._pools.get(destination.company_id)
        return pool.opened if pool is not None and pool.destination == destination else 0

    async def _pool(self, destination: Destination) -> Pool:
        pool = self._pools.get(destination.company_id)
        if pool is not None and pool.destination != destination:
            # The administrator changed the destination: its old connections are void.
            await pool.close()
            pool = None
        if pool is None:
            pool = self._pools[destination.company_id] = Pool(destination, self)
        return pool

    async def upload(
        self, destination: Destination, recordings: Sequence[RecordingUpload]
    ) -> dict[int, BaseException | None]:
        """Deliver the recordings; per delivery id ``None`` or the error (see model).

        Raises when the destination as a whole cannot be used (unreachable, host key,
        login, root folder); after that every file's outcome is in its slot.
        """
        if not recordings:
            return {}
        pool = await self._pool(destination)
        await pool.ready()
        results: dict[int, BaseException | None] = {}
        await asyncio.gather(*(self._put_recording(pool, item, results) for item in recordings))
        return results

    async def _put_recording(
        self, pool: Pool, recording: RecordingUpload, results: dict[int, BaseException | None]
    ) -> None:
        outcomes = await asyncio.gather(*(self._put_item(pool, item) for item in recording.files))
        for item, outcome in zip(recording.files, outcomes, strict=True):
            results[item.delivery_id] = outcome
        sidecar = recording.sidecar
        if any(outcome is not None for outcome in outcomes):
            if sidecar is not None:
                results[sidecar.delivery_id] = FileDeliveryError(
                    f"not attempted: recording {recording.recording_id} has data files not "
                    "delivered yet, and its sidecar goes only after all of them"
                )
            return
        if sidecar is not None:
            results[sidecar.delivery_id] = outcome = await self._put_item(pool, sidecar)
            if outcome is not None:
                return
        if pool.destination.done_marker and recording.done_marker_path is not None:
            marker = await self._put_file(
                pool, recording.done_marker_path, 0, lambda: Source.of_bytes(b"", "done-marker")
            )
            if marker is not None:
                # The marker has no delivery of its own: the file it follows is retried.
                for item in (sidecar,) if sidecar is not None else recording.files:
                    results[item.delivery_id] = marker

    async def _put_item(self, pool: Pool, item: UploadItem) -> BaseException | None:
        """Put one item; an item already on its way with the same path and bytes (the
        signing key every recording of a company carries, R21) shares that upload's
        outcome: two uploads of one file at once would write into one temporary file,
        and the second rename would find it gone and fail the file for a retry."""
        key = (pool, item.remote_path, item.sha256)
        if (shared := self._in_flight.get(key)) is not None:
            return await asyncio.shield(shared)
        outcome: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = outcome
        try:
            result = await self._put_file(
                pool,
                item.remote_path,
                item.size,
                lambda: Source.open_item(item),
                look_first=not item.first_attempt,
            )
        except BaseException:
            outcome.set_result(
                TransientDeliveryError(f"delivering {item.remote_path} was interrupted")
            )
            raise
        else:
            outcome.set_result(result)
            return result
        finally:
            del self._in_flight[key]

    async def _put_file(
        self,
        pool: Pool,
        remote_path: str,
        size: int,
        open_source: Callable[[], Source],
        *,
        look_first: bool = True,
    ) -> BaseException | None:
        """Put one file at its remote path; its error is returned (classified), not raised,
        so one file's failure leaves the others of the batch their own outcome."""
        try:
            await put(pool, remote_path, size, open_source, look_first=look_first)
        except DeliveryError as error:
            return error
        except Exception as error:
            if not isinstance(error, asyncssh.Error | OSError):
                logger.exception("unexpected error delivering %s", remote_path)
            return classify(error, pool.destination, f"delivering {remote_path}")
        return None

    async def probe(
        self, destination: Destination, *, write: bool = True, within: float | None = None
    ) -> list[ProbeStep]:
        """Test connection for an administrator: each step, until one fails (see
        :func:`~chatrec.delivery.sftp.probe.probe`)."""
        return await probe(destination, self, write=write, within=within)

    async def close(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.close()
