"""The event loop's lateness, as /metrics gives it (issue 13)."""

from __future__ import annotations

import asyncio
import contextlib
import time

from chatrec.live.loop_watch import LoopWatch


def test_each_lateness_counts_in_the_bucket_of_its_bound() -> None:
    watch = LoopWatch(bounds=(0.001, 0.01))
    for late in (0.0, 0.001, 0.002, 0.01, 0.5, -0.001):
        watch.note(late)
    assert watch.counts == [3, 2, 1]
    assert watch.longest == 0.5
    assert abs(watch.total - 0.513) < 1e-9


def test_a_blocking_call_on_the_loop_is_seen_as_a_stall() -> None:
    async def scenario() -> LoopWatch:
        watch = LoopWatch(interval=0.005)
        task = asyncio.create_task(watch.run())
        await asyncio.sleep(0.02)
        time.sleep(0.1)  # what a synchronous fsync or render on the loop would do
        await asyncio.sleep(0.02)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return watch

    watch = asyncio.run(scenario())
    assert watch.longest >= 0.09
    assert sum(watch.counts) >= 2
