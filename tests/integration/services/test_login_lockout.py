"""Password logins on the real store, SQLite and PostgreSQL: the lockout (R18, R19).

The clock is injected, so a lock's end is reached without waiting; what a client sees
is in ``tests/integration/live/test_login_security.py``.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from chatrec.errors import AuthenticationError, LoginLockedError, NotFoundError
from chatrec.services.admin import Administration
from chatrec.services.auth import AuthService
from chatrec.store.store import Store
from tests.integration.services.logins import PASSWORD, T0, Clock, company


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def admin(store: Store, clock: Clock) -> Administration:
    return Administration(store, clock)


@pytest.fixture
def auth(store: Store, clock: Clock) -> AuthService:
    return AuthService(
        store,
        session_length=timedelta(hours=1),
        max_failures=3,
        lockout=timedelta(minutes=15),
        clock=clock,
    )


def login(auth: AuthService, name: str, password: str) -> None:
    asyncio.run(auth.login(name, password))


def test_R18_wrong_passwords_in_a_row_lock_a_login_until_the_period_ends(
    admin: Administration, auth: AuthService, store: Store, clock: Clock
) -> None:
    _, carol = company(admin, "acme")
    for _ in range(2):
        with pytest.raises(AuthenticationError) as wrong:
            login(auth, carol.login, "wrong-password")
        assert type(wrong.value) is AuthenticationError
    with pytest.raises(LoginLockedError, match=r"until 2026-11-27 09:15 UTC \(in 15 minutes\)"):
        login(auth, carol.login, "wrong-password")
    clock.now += timedelta(minutes=5)
    with pytest.raises(LoginLockedError, match=r"in 10 minutes.*administrator to reset"):
        login(auth, carol.login, PASSWORD)
    clock.now += timedelta(minutes=10)
    login(auth, carol.login, PASSWORD)
    stored = store.get_user(carol.user_id)
    assert stored is not None
    assert (stored.failed_logins, stored.locked_until) == (0, None)
    locks = [line for line in store.list_audit("acme") if line.action == "login_locked"]
    assert [(line.actor, line.detail["target"]) for line in locks] == [(carol.login, carol.user_id)]
    assert locks[0].detail["locked_until"] == (T0 + timedelta(minutes=15)).isoformat()
    assert "wrong-password" not in json.dumps([line.detail for line in store.list_audit("acme")])


def test_R18_a_right_password_starts_the_count_again(
    admin: Administration, auth: AuthService, store: Store
) -> None:
    _, carol = company(admin, "acme")
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            login(auth, carol.login, "wrong-password")
    login(auth, carol.login, PASSWORD)
    for _ in range(2):
        with pytest.raises(AuthenticationError) as wrong:
            login(auth, carol.login, "wrong-password")
        assert type(wrong.value) is AuthenticationError
    assert store.get_user(carol.user_id).failed_logins == 2  # type: ignore[union-attr]


def test_R18_unlock_and_a_password_reset_lift_the_lock(
    admin: Administration, auth: AuthService
) -> None:
    ada, carol = company(admin, "acme")
    for attempt in (
        lambda: asyncio.run(auth.unlock(carol.user_id)),
        lambda: admin.users.reset_password(ada, carol.user_id, PASSWORD),
    ):
        for _ in range(3):
            with pytest.raises(AuthenticationError):
                login(auth, carol.login, "wrong-password")
        with pytest.raises(LoginLockedError):
            login(auth, carol.login, PASSWORD)
        attempt()
        login(auth, carol.login, PASSWORD)


def test_R19_unknown_logins_are_refused_like_wrong_passwords_and_lock_nothing(
    admin: Administration, auth: AuthService, store: Store
) -> None:
    company(admin, "acme")
    before = store.list_audit("acme")
    for _ in range(5):
        with pytest.raises(AuthenticationError, match=r"^wrong login or password$") as refused:
            login(auth, "nobody@acme", "wrong-password")
        assert type(refused.value) is AuthenticationError
    assert store.list_audit("acme") == before
    with pytest.raises(NotFoundError):
        store.unlock("nobody")
