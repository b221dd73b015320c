"""How late the event loop runs what is due: every chat's frames wait behind a stall.

A task asks to wake every ``interval``; how much later than asked it wakes is the time
the loop spent on other callbacks meanwhile, a blocking call in one of them included.
Kept as a histogram and the longest since start, for ``/metrics``: an operator sees
whether recording work (rendering, fsyncs) or anything else holds up live chats
(issue 13: ``recording_overhead``'s stall).
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Sequence

BOUNDS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Upper bounds of the histogram's buckets, in seconds (the last bucket is +Inf)."""


class LoopWatch:
    """Lateness of the loop's wake-ups; :meth:`run` as a task for the server's life."""

    def __init__(self, interval: float = 0.01, bounds: Sequence[float] = BOUNDS) -> None:
        self.interval = interval
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0
        self.longest = 0.0
        self.implementation = ""
        """The loop's library ("uvloop" or "asyncio"), known once :meth:`run` runs."""

    def note(self, late: float) -> None:
        late = max(late, 0.0)
        self.counts[bisect.bisect_left(self.bounds, late)] += 1
        self.total += late
        self.longest = max(self.longest, late)

    async def run(self) -> None:
        self.implementation = type(asyncio.get_running_loop()).__module__.partition(".")[0]
        while True:
            asked = time.monotonic() + self.interval
            await asyncio.sleep(self.interval)
            self.note(time.monotonic() - asked)
