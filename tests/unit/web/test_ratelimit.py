"""Token buckets with an injected clock: frames per connection, logins per address (R19)."""

from __future__ import annotations

import pytest

from chatrec.web.ratelimit import AddressLimiter, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_R19_a_bucket_allows_its_burst_then_its_rate_and_says_how_long_to_wait() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    assert bucket.wait() == pytest.approx(0.5)
    clock.now += 0.5
    assert bucket.wait() == 0
    assert bucket.take()
    assert not bucket.full
    clock.now += 60
    assert bucket.full


def test_R19_login_attempts_are_counted_per_address_and_per_ipv6_64() -> None:
    clock = Clock()
    limiter = AddressLimiter(per_minute=2, clock=clock)
    assert [limiter.take("192.0.2.1") for _ in range(3)] == [0, 0, pytest.approx(30)]
    assert limiter.take("192.0.2.2") == 0
    assert limiter.take("2001:db8::1") == 0
    assert limiter.take("2001:db8::ffff") == 0
    assert limiter.take("2001:db8:0:0:1::1") == pytest.approx(30)
    assert limiter.take("2001:db8:0:1::1") == 0
    clock.now += 30
    assert limiter.take("192.0.2.1") == 0


def test_R19_idle_addresses_are_forgotten_so_a_flood_cannot_grow_memory() -> None:
    clock = Clock()
    limiter = AddressLimiter(per_minute=1, max_addresses=3, clock=clock)
    for host in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        limiter.take(host)
    limiter.take("192.0.2.4")  # every bucket busy: all forgotten, this one kept
    assert limiter.take("192.0.2.1") == 0
    clock.now += 60
    limiter.take("192.0.2.5")
    limiter.take("192.0.2.6")  # .4 and .1 have filled up again: forgotten; .5 is kept
    assert limiter.take("192.0.2.5") > 0
    assert limiter.take(None) == 0
    assert limiter.take("testclient") == 0
