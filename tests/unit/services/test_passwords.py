"""Password hashing: a bounded number at once, off the event loop, at the configured cost
(R18)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from argon2 import PasswordHasher

from chatrec.config import Config
from chatrec.services import passwords
from chatrec.services.passwords import HashingCost, Passwords
from tests.conftest import TEST_PASSWORD_COST

STRONGER = HashingCost(memory_kib=19456, time_cost=3, parallelism=1)


class CountingHasher(PasswordHasher):
    """argon2's hasher, counting how many of its hashes run at the same time."""

    def __init__(self, cost: HashingCost) -> None:
        super().__init__(cost.time_cost, cost.memory_kib, cost.parallelism)
        self._lock = threading.Lock()
        self.running = 0
        self.most = 0

    def _count(self, work: Any, *args: Any) -> Any:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            return work(*args)
        finally:
            with self._lock:
                self.running -= 1

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        return str(self._count(super().hash, password))

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        return bool(self._count(super().verify, hash, password))


def test_R18_no_more_hashes_run_at_once_than_configured_from_the_loop_or_threads() -> None:
    hasher = CountingHasher(TEST_PASSWORD_COST)
    bounded = Passwords(TEST_PASSWORD_COST, concurrency=2, hasher=hasher)
    stored = bounded.hash("the password")

    async def sign_ins() -> list[tuple[bool, bool]]:
        return await asyncio.gather(
            *(bounded.verify_async(stored, "the password") for _ in range(6)),
            *(bounded.verify_async(stored, "wrong") for _ in range(2)),
        )

    with ThreadPoolExecutor(4) as pool:  # administrators' resets meanwhile, on threads
        resets = [pool.submit(bounded.hash, f"new {n}") for n in range(4)]
        checked = asyncio.run(sign_ins())
        made = [reset.result() for reset in resets]
    assert checked == [(True, False)] * 6 + [(False, False)] * 2
    assert all(bounded.verify(hash, f"new {n}") == (True, False) for n, hash in enumerate(made))
    assert 1 <= hasher.most <= 2


def test_R18_the_event_loop_goes_on_while_passwords_are_hashed() -> None:
    bounded = Passwords(TEST_PASSWORD_COST, concurrency=1)

    async def scenario() -> int:
        hashing = asyncio.gather(*(bounded.hash_async(f"password {n}") for n in range(3)))
        turns = 0
        while not hashing.done():
            await asyncio.sleep(0)
            turns += 1
        await hashing
        return turns

    assert asyncio.run(scenario()) > 0  # computed on the loop, nothing else would have run


def test_R18_a_hash_at_another_cost_verifies_and_asks_to_be_made_again() -> None:
    old = Passwords(TEST_PASSWORD_COST).hash("the password")
    current = Passwords(STRONGER)
    assert current.verify(old, "the password") == (True, True)
    assert current.verify(old, "wrong") == (False, False)
    assert current.verify(current.hash("the password"), "the password") == (True, False)
    assert current.verify("not a hash", "the password") == (False, False)
    assert ",t=3,p=1$" in current.hash("x")


def test_R18_the_settings_set_the_processs_cost() -> None:
    before = passwords.current()
    try:
        passwords.configure_from(
            Config(password_time_cost=3, password_memory_kib=19456, password_hash_concurrency=7)
        )
        assert passwords.current().cost == STRONGER
        assert passwords.current().concurrency == 7
        assert "$m=19456,t=3,p=1$" in passwords.hash_password("x")
    finally:
        passwords.configure(before.cost, concurrency=before.concurrency)
