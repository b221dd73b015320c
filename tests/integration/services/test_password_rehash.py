"""A password hashed at an older cost is hashed again at sign-in, on SQLite and PostgreSQL
(R18): raising the cost reaches every login without a reset."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from chatrec.errors import AuthenticationError
from chatrec.services import passwords
from chatrec.services.admin import Administration
from chatrec.services.auth import AuthService
from chatrec.services.passwords import HashingCost
from chatrec.store.records import UserRecord
from chatrec.store.store import Store
from tests.conftest import TEST_COST_PARAMETERS, TEST_PASSWORD_COST
from tests.integration.services.logins import PASSWORD, Clock, company

STRONGER = HashingCost(memory_kib=19456, time_cost=3, parallelism=1)


@contextmanager
def raised_cost() -> Iterator[None]:
    """The operator raises the cost (and restarts): hashes are ``STRONGER`` meanwhile."""
    before = passwords.current()
    passwords.configure(STRONGER)
    try:
        yield
    finally:
        passwords.configure(before.cost, concurrency=before.concurrency)


def parameters(password_hash: str) -> str:
    return password_hash.split("$")[3]


def test_R18_sign_in_stores_the_password_again_at_the_configured_cost(store: Store) -> None:
    clock = Clock()
    _, carol = company(Administration(store, clock), "acme")
    assert parameters(carol.password_hash) == TEST_COST_PARAMETERS
    assert TEST_PASSWORD_COST != STRONGER
    auth = AuthService(store, session_length=timedelta(hours=1), clock=clock)
    with raised_cost():
        rehashed, again = signed_in(auth, store, carol)
    assert parameters(rehashed) == "m=19456,t=3,p=1"
    assert again == rehashed  # at the current cost: kept as it is


def signed_in(auth: AuthService, store: Store, carol: UserRecord) -> tuple[str, str]:
    """Carol's hash after a wrong password, a sign-in, and another sign-in."""
    with pytest.raises(AuthenticationError):
        asyncio.run(auth.login(carol.login, "a wrong password"))
    unchanged = store.get_user(carol.user_id)
    assert unchanged is not None
    assert unchanged.password_hash == carol.password_hash  # only the right password rehashes

    asyncio.run(auth.login(carol.login, PASSWORD))
    rehashed = store.get_user(carol.user_id)
    assert rehashed is not None
    assert passwords.current().verify(rehashed.password_hash, PASSWORD) == (True, False)
    asyncio.run(auth.login(carol.login, PASSWORD))
    again = store.get_user(carol.user_id)
    assert again is not None
    return rehashed.password_hash, again.password_hash


def test_R18_a_rehash_never_undoes_a_password_reset(store: Store) -> None:
    _, carol = company(Administration(store, Clock()), "acme")
    reset = passwords.hash_password("the reset password")
    assert store.replace_password_hash(carol.user_id, carol.password_hash, reset)
    late = passwords.hash_password(PASSWORD)  # a sign-in that read the old hash
    assert not store.replace_password_hash(carol.user_id, carol.password_hash, late)
    stored = store.get_user(carol.user_id)
    assert stored is not None
    assert stored.password_hash == reset
