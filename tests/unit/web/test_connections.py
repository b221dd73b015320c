"""WebSocket connections counted per node and per client address (R19)."""

from __future__ import annotations

from chatrec.web.connections import ConnectionLimiter

ADDRESS_FULL = "your address holds as many connections as it may (2)"
NODE_FULL = "this server holds as many connections as it may (3)"


def test_R19_a_node_and_an_address_hold_so_many_connections_and_free_them_on_release() -> None:
    limiter = ConnectionLimiter(total=3, per_address=2)
    assert [limiter.admit("10.0.0.1") for _ in range(3)] == [None, None, ADDRESS_FULL]
    assert limiter.admit("2001:db8::1") is None
    assert limiter.admit("198.51.100.7") == NODE_FULL
    assert limiter.count == 3  # a refusal is not counted
    limiter.release("10.0.0.1")
    # One IPv6 host is its /64: another address of it is the same client.
    assert limiter.admit("2001:db8::2") is None
    assert limiter.admit("198.51.100.7") == NODE_FULL
    limiter.release("2001:db8::1")
    limiter.release("2001:db8::2")
    assert limiter.admit("2001:db8::3") is None
    assert limiter.count == 2
