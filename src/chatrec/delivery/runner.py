"""The delivery worker run in the background of an event loop, for ``chatrec serve`` (in
its lifespan) and ``chatrec worker`` alike (R16)."""

from __future__ import annotations

import asyncio
import contextlib

from chatrec.delivery.readiness import Prober, destination_warnings, warn_unreachable
from chatrec.delivery.worker import DeliveryWorker, stop_worker
from chatrec.store.store import Store


class DeliveryRunner:
    """Runs the worker's loop in the background, and stops it giving a round in flight time.

    ``prober`` is told to connect to every platform as the loop starts, so the log says
    which cannot be reached before any recording waits for them.
    """

    def __init__(
        self, worker: DeliveryWorker, store: Store, *, prober: Prober | None = None
    ) -> None:
        self.worker = worker
        self.store = store  # the whole store: the warnings read companies and destinations
        self.prober = prober
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def warnings(self) -> list[str]:
        """One sentence per recording company whose deliveries cannot go out now, for the
        log of the process that starts the loop."""
        return await asyncio.to_thread(destination_warnings, self.store)

    def start(self) -> asyncio.Task[None]:
        """Run the loop until :meth:`stop` (or until it fails); the loop's task."""
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(
            self._run_until_stopped(self._stop), name="chatrec-delivery"
        )
        return self._task

    async def _run_until_stopped(self, stop: asyncio.Event) -> None:
        """The worker's loop, with the prober warning of unreachable platforms beside it."""
        probing = None
        if self.prober is not None:
            probing = asyncio.create_task(warn_unreachable(self.store, self.prober))
        try:
            await self.worker.run_forever(stop)
        finally:
            if probing is not None:
                probing.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await probing

    async def stop(self) -> None:
        """Stop the loop (when started) and close the uploader."""
        if self._stop is None or self._task is None:
            return
        await stop_worker(self.worker, self._stop, self._task)
        self._stop = self._task = None
