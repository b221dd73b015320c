"""Token buckets: a WebSocket connection's frames, and logins per client address (R19).

In memory and per process: a limit guards one node against a flood, it is not a quota.
Several nodes given Redis share the per-address limits instead
(``live.redis_limits``); both are an :class:`AttemptLimit`.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from typing import Protocol

Clock = Callable[[], float]


class TokenBucket:
    """``rate`` takes a second, in bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: int, clock: Clock = time.monotonic):
        self.rate, self.burst, self._clock = rate, burst, clock
        self.tokens, self.stamp = float(burst), clock()

    def _refill(self) -> None:
        now = self._clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self) -> bool:
        self._refill()
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def wait(self) -> float:
        """Seconds until :meth:`take` succeeds again (0 when it would now)."""
        self._refill()
        return max(0.0, (1 - self.tokens) / self.rate)

    @property
    def full(self) -> bool:
        self._refill()
        return self.tokens >= self.burst


class AddressLimiter:
    """One bucket per client address; an IPv6 client is its /64, which one host holds.

    Buckets that have filled up again are forgotten once more than ``max_addresses``
    are kept, so a flood from many addresses cannot grow memory without bound.
    """

    def __init__(
        self,
        per_minute: float,
        *,
        max_addresses: int = 10_000,
        clock: Clock = time.monotonic,
    ) -> None:
        self.rate = per_minute / 60
        self.burst = max(1, math.floor(per_minute))
        self.max_addresses = max_addresses
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, address: str | None) -> float:
        """Take one attempt for ``address``: 0 if allowed, else seconds to wait."""
        key = client_key(address)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_addresses:
                self._forget_idle()
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self._clock)
        return 0.0 if bucket.take() else bucket.wait()

    def _forget_idle(self) -> None:
        self._buckets = {key: b for key, b in self._buckets.items() if not b.full}
        if len(self._buckets) >= self.max_addresses:
            # Every bucket is in use: an attack from very many addresses.  Forgetting
            # them lets those through once more; the per-login lockout still holds.
            self._buckets.clear()


class AttemptLimit(Protocol):
    """So many attempts a minute per client address, on this node or on all of them."""

    async def take(self, key: str) -> float:
        """Take one attempt for the address ``key`` (:func:`client_key`): 0 if allowed,
        else seconds to wait."""
        ...

    async def close(self) -> None: ...


class NodeAttemptLimit:
    """An :class:`AddressLimiter` of this node alone, as an :class:`AttemptLimit`."""

    def __init__(self, limiter: AddressLimiter) -> None:
        self.limiter = limiter

    async def take(self, key: str) -> float:
        return self.limiter.take(key)

    async def close(self) -> None:
        """Nothing to close: the buckets are in memory."""


def client_key(address: str | None) -> str:
    """Whom a limit counts: the address, or its /64 for IPv6, which one host holds."""
    if address is None:
        return "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
