"""Staff passwords at rest: argon2id at the operator's cost, a bounded number at once (R18).

A hash takes ``memory_kib`` of memory (64 MiB by default) and a core for a while, so a
burst of sign-ins, wrong ones included, must not exhaust the server: at most
``concurrency`` hashes are computed at once in the process, on worker threads.  Callers
on the event loop wait their turn on the loop, holding no thread, and the loop never
computes a hash itself.

A hash made at another cost still verifies; :meth:`Passwords.verify` says so, and sign-in
stores it again at the configured cost, so a raised cost reaches every login at its next
sign-in.  The process's :class:`Passwords` is set once at start-up (``bootstrap``), for
the server and every command that hashes (the demo's seed, ``chatrec admin``).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

if TYPE_CHECKING:
    from chatrec.config import Config


@dataclass(frozen=True, slots=True)
class HashingCost:
    """argon2id's parameters; the defaults are argon2-cffi's (RFC 9106's second choice),
    above OWASP's minimum of 19 MiB, 2 passes, 1 lane."""

    memory_kib: int = 65536
    time_cost: int = 3
    parallelism: int = 4


DEFAULT_CONCURRENCY = 4


class Passwords:
    """Hashes and checks passwords at ``cost``, ``concurrency`` at a time.

    ``hasher`` replaces argon2's (tests count what it computes); it must hash at ``cost``.
    """

    def __init__(
        self,
        cost: HashingCost = HashingCost(),
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        hasher: PasswordHasher | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.cost = cost
        self.concurrency = concurrency
        self._hasher = hasher or PasswordHasher(
            time_cost=cost.time_cost, memory_cost=cost.memory_kib, parallelism=cost.parallelism
        )
        self._slots = threading.BoundedSemaphore(concurrency)
        # Waiting on the loop rather than on a thread: one semaphore per event loop.
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._turns = weakref.WeakKeyDictionary()

    def hash(self, password: str) -> str:
        with self._slots:
            return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> tuple[bool, bool]:
        """Whether ``password`` is the hashed one, and if so whether its hash was made at
        another cost than this one's (then store :meth:`hash` of it instead)."""
        with self._slots:
            try:
                self._hasher.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False, False
        return True, self._hasher.check_needs_rehash(password_hash)

    async def hash_async(self, password: str) -> str:
        async with self._turn():
            return await asyncio.to_thread(self.hash, password)

    async def verify_async(self, password_hash: str, password: str) -> tuple[bool, bool]:
        async with self._turn():
            return await asyncio.to_thread(self.verify, password_hash, password)

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        turns = self._turns.get(loop)
        if turns is None:
            turns = self._turns[loop] = asyncio.Semaphore(self.concurrency)
        async with turns:
            yield


_current = Passwords()


def configure(cost: HashingCost, *, concurrency: int = DEFAULT_CONCURRENCY) -> None:
    """Hash this process's passwords at ``cost``, ``concurrency`` at a time, from now on."""
    global _current
    _current = Passwords(cost, concurrency=concurrency)


def configure_from(config: Config) -> None:
    """:func:`configure` as the settings say (``CHATREC_PASSWORD_*``)."""
    cost = HashingCost(
        config.password_memory_kib, config.password_time_cost, config.password_parallelism
    )
    configure(cost, concurrency=config.password_hash_concurrency)


def current() -> Passwords:
    """The process's passwords, as :func:`configure` last set them."""
    return _current


def hash_password(password: str) -> str:
    return _current.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    return _current.verify(password_hash, password)[0]


class PasswordHashes(Protocol):
    """What a rehash needs of the store (:meth:`chatrec.store.store.Store`)."""

    def replace_password_hash(self, user_id: str, old_hash: str, new_hash: str) -> bool: ...


async def rehash(store: PasswordHashes, user_id: str, old_hash: str, password: str) -> None:
    """Store ``password`` hashed at the configured cost in place of ``old_hash``; a hash
    changed meanwhile (a reset) is kept."""
    new_hash = await _current.hash_async(password)
    await asyncio.to_thread(store.replace_password_hash, user_id, old_hash, new_hash)
