"""Group commit: many chat changes share one transaction and one fsync.

A message is acknowledged to its sender only once it is committed, so every change
waits for a commit; under load one thread commits whatever has queued meanwhile in a
single :meth:`~chatrec.store.store.Store.apply`, and each waiter learns its own
outcome (a clash in one change fails that change alone).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Sequence
from typing import Protocol

from chatrec.errors import StoreError
from chatrec.store.failures import store_failure
from chatrec.store.records import ChatChange

DEFAULT_MAX_BATCH = 256


class ChangeApplier(Protocol):
    """What the committer needs of the store (:meth:`chatrec.store.store.Store.apply`)."""

    def apply(self, changes: Sequence[ChatChange]) -> list[BaseException | None]: ...

    def committed(self, changes: Sequence[ChatChange]) -> list[bool]: ...


_Waiter = tuple[ChatChange, "asyncio.Future[None]"]
_Settled = tuple["asyncio.Future[None]", BaseException | None]


class GroupCommitter:
    """Commits the changes awaited by :meth:`commit` in batches, on one background thread.

    :meth:`start` before the first commit; :meth:`stop` commits everything already
    queued, then ends the thread.  Cancelling a waiting :meth:`commit` does not
    withdraw its change: it may still be committed.
    """

    def __init__(self, store: ChangeApplier, *, max_batch: int = DEFAULT_MAX_BATCH) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self._store = store
        self._max_batch = max_batch
        self._pending: deque[_Waiter] = deque()
        self._wake = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._wake:
            if self._thread is not None:
                raise RuntimeError("the group committer was already started")
            self._thread = threading.Thread(
                target=self._run, name="chatrec-group-commit", daemon=True
            )
            self._thread.start()

    async def commit(self, change: ChatChange) -> None:
        """Return once ``change`` is committed; raise its error if it was refused."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._wake:
            if self._thread is None or self._stopping:
                raise StoreError("the store is not accepting changes (not started or stopping)")
            self._pending.append((change, future))
            self._wake.notify()
        await future

    async def stop(self) -> None:
        """Commit what is queued, then stop; later :meth:`commit` calls are refused."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            await asyncio.to_thread(thread.join)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._stopping:
                    self._wake.wait()
                if not self._pending:
                    return
                size = min(len(self._pending), self._max_batch)
                batch = [self._pending.popleft() for _ in range(size)]
            outcomes = self._commit(batch)
            # One wake-up per event loop for the whole batch, not one per waiter.
            by_loop: dict[asyncio.AbstractEventLoop, list[_Settled]] = {}
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                by_loop.setdefault(future.get_loop(), []).append((future, outcome))
            for loop, settled in by_loop.items():
                loop.call_soon_threadsafe(_settle_all, settled)

    def _commit(self, batch: list[_Waiter]) -> list[BaseException | None]:
        changes = [change for change, _ in batch]
        try:
            return self._store.apply(changes)
        except Exception as error:  # the database failed: every waiter of the batch learns it
            # The connection may have died after the database committed, before it said
            # so: a change found stored is acknowledged, or "try again" would store it
            # twice.  Not chained to ``error``: it carries the whole batch, other
            # companies' data included, which a logged traceback would print (R18).  Its
            # description without the data goes along for the operator's log.
            stored = self._committed_after_all(changes)
            return [
                None
                if found
                else store_failure("the commit failed; nothing of it was stored; try again", error)
                for found in stored
            ]

    def _committed_after_all(self, changes: Sequence[ChatChange]) -> list[bool]:
        """Which changes of a batch whose commit failed were stored anyway (asked on a
        fresh connection); none when that cannot be known."""
        try:
            return self._store.committed(changes)
        except Exception:
            return [False] * len(changes)


def _settle_all(settled: list[_Settled]) -> None:
    for future, outcome in settled:
        if future.done():  # the waiter was cancelled
            continue
        if outcome is None:
            future.set_result(None)
        else:
            future.set_exception(outcome)
