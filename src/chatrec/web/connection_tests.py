"""Test connection as company administrators may run it: so often, so many at once (R16).

Each Test connection makes the server open connections to an address an administrator
chose; unbounded, that is a port scanner and a password tester with the hosting
network's address.  Per company, a token bucket bounds how many start a minute and a
counter how many run at once; over either, the request is answered ``429`` with
``Retry-After``.  In memory and per process, like the login limiter: each node of a
cluster limits on its own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

from chatrec.errors import RateLimitedError
from chatrec.web.ratelimit import Clock, TokenBucket


class ConnectionTestLimiter:
    """At most ``per_minute`` Test connections a minute per company (in bursts of as
    many), ``at_once`` of them running; ``seconds`` is how long one may run."""

    def __init__(
        self, per_minute: float, at_once: int, seconds: float, clock: Clock = time.monotonic
    ) -> None:
        self.rate = per_minute / 60
        self.burst = max(1, math.floor(per_minute))
        self.at_once = at_once
        self.seconds = seconds
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._running: dict[str, int] = {}

    @contextmanager
    def slot(self, company_id: str) -> Iterator[None]:
        """Hold one of the company's Test connections for the block, or refuse."""
        running = self._running.get(company_id, 0)
        if running >= self.at_once:
            raise RateLimitedError(
                f"{running} Test connection(s) of this company are running, the most at once; "
                "try again when it has finished",
                retry_after=max(1, math.ceil(self.seconds)),
            )
        bucket = self._buckets.get(company_id)
        if bucket is None:
            bucket = self._buckets[company_id] = TokenBucket(self.rate, self.burst, self._clock)
        if not bucket.take():
            wait = max(1, math.ceil(bucket.wait()))
            raise RateLimitedError(
                f"this company has run its {self.burst} Test connection(s) for now; try "
                f"again in {wait} s",
                retry_after=wait,
            )
        self._running[company_id] = running + 1
        try:
            yield
        finally:
            left = self._running[company_id] - 1
            if left:
                self._running[company_id] = left
            else:
                del self._running[company_id]
