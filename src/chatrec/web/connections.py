"""How many WebSocket connections one node holds, in all and per client address (R19).

A connection costs a task, buffers and a frame budget before it has said who it is, so
the count is taken when it opens, for customers and staff alike.  Per process, like the
token buckets: each node of a cluster counts its own.
"""

from __future__ import annotations

from collections import Counter

from chatrec.web.ratelimit import client_key


class ConnectionLimiter:
    """Admits a connection while the node and its client address are under their limits."""

    def __init__(self, total: int, per_address: int) -> None:
        self.total, self.per_address = total, per_address
        self._open: Counter[str] = Counter()
        self._count = 0

    def admit(self, address: str | None) -> str | None:
        """Count the connection in: ``None`` if admitted, else why not (it is not counted).

        An admitted connection is :meth:`release`\\ d once, when it ends.
        """
        if self._count >= self.total:
            return f"this server holds as many connections as it may ({self.total})"
        key = client_key(address)
        if self._open[key] >= self.per_address:
            return f"your address holds as many connections as it may ({self.per_address})"
        self._open[key] += 1
        self._count += 1
        return None

    def release(self, address: str | None) -> None:
        key = client_key(address)
        self._open[key] -= 1
        if self._open[key] <= 0:
            del self._open[key]
        self._count -= 1

    @property
    def count(self) -> int:
        return self._count
