"""Per-address limits shared by every node through Redis (R19, R20).

On one node a limit lives in its memory (``web.ratelimit.AddressLimiter``); behind a
load balancer each node would then allow its own share and the effective limit would
grow with the nodes.  Here every node takes from one budget per address, kept in Redis
as the time the next attempt is due (GCRA, the token bucket's single-number form),
computed on Redis's clock inside one script, so nodes never race nor disagree on time.

While Redis cannot be reached the node falls back on its own limiter: an attacker
gains at most the nodes' sum, for as long as Redis is away, and nobody is locked out.
"""

from __future__ import annotations

import logging
from typing import Protocol

from redis import asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# KEYS[1]: the address's key; ARGV[1]: seconds per attempt; ARGV[2]: burst.
# Returns "0" when the attempt is allowed (and counted), else the seconds to wait.
GCRA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local due = tonumber(redis.call('GET', KEYS[1]) or '0')
if due < now then due = now end
local allowed_at = due - (burst - 1) * interval
if now < allowed_at then
  return tostring(allowed_at - now)
end
local next_due = due + interval
redis.call('SET', KEYS[1], tostring(next_due), 'PX', math.ceil((next_due - now) * 1000) + 1000)
return '0'
"""


class LocalLimiter(Protocol):
    def take(self, address: str | None) -> float: ...


class SharedAddressLimiter:
    """``per_minute`` attempts per client address across all nodes; ``fallback`` alone
    while Redis is away."""

    def __init__(
        self, url: str, name: str, per_minute: float, fallback: LocalLimiter, *, prefix: str
    ) -> None:
        self.key_prefix = f"{prefix}limit:{name}:"
        self.interval = 60 / per_minute
        self.burst = max(1, int(per_minute))
        self.fallback = fallback
        self._client = aioredis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script = self._client.register_script(GCRA)
        self._failing = False

    async def take(self, key: str) -> float:
        """Take one attempt for the address ``key`` (see ``web.ratelimit.client_key``):
        0 if allowed, else seconds to wait."""
        try:
            wait = await self._script(
                keys=[self.key_prefix + key], args=[self.interval, self.burst]
            )
        except (RedisError, OSError) as error:
            if not self._failing:
                log.warning(
                    "Redis unreachable for shared limits, this node limits alone: %s", error
                )
                self._failing = True
            return self.fallback.take(key)
        if self._failing:
            log.info("Redis reached again: limits are shared by every node")
            self._failing = False
        return float(wait)

    async def close(self) -> None:
        await self._client.aclose()
