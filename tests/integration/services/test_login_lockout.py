"""Wrong sign-ins on the real store, SQLite and PostgreSQL: the wait per login and
address, growing with each failure (R18, R19).

The clock is injected, so a wait's end is reached without waiting; what a client sees
over HTTP is in ``tests/integration/web/test_sign_in.py``.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from chatrec.errors import AuthenticationError
from chatrec.services.access import Principal
from chatrec.services.admin import Administration
from chatrec.services.auth import AuthService, SignedIn
from chatrec.services.passwords import Passwords
from chatrec.store.store import Store
from tests.integration.services.logins import OPERATOR, PASSWORD, T0, Clock, company

ATTACKER, OWNER = "198.51.100.7", "192.0.2.10"


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
        lockout=timedelta(minutes=1),
        lockout_cap=timedelta(minutes=4),
        clock=clock,
    )


def login(
    auth: AuthService, name: str, password: str, address: str = ATTACKER, **more: str
) -> SignedIn:
    return asyncio.run(auth.login(name, password, address=address, **more))


def refusal(auth: AuthService, name: str, password: str, address: str = ATTACKER) -> str:
    """The refusal's code and message, which must never tell one case from another."""
    with pytest.raises(AuthenticationError) as refused:
        login(auth, name, password, address)
    assert type(refused.value) is AuthenticationError
    return f"{refused.value.code}: {refused.value}"


@pytest.fixture
def hashes_checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The password hashes sign-in checked, in order (the real check still runs)."""
    checked: list[str] = []
    real = Passwords.verify

    def counting(self: Passwords, password_hash: str, password: str) -> tuple[bool, bool]:
        checked.append(password_hash)
        return real(self, password_hash, password)

    monkeypatch.setattr(Passwords, "verify", counting)
    return checked


def test_R18_a_locked_login_answers_like_a_wrong_password_or_an_unknown_login_after_as_much_work(
    admin: Administration, auth: AuthService, hashes_checked: list[str]
) -> None:
    _, carol = company(admin, "acme")
    wrong = refusal(auth, carol.login, "wrong-password")
    unknown = refusal(auth, "nobody@acme", "wrong-password")
    for _ in range(3):
        refusal(auth, carol.login, "wrong-password")
        refusal(auth, "nobody@acme", "wrong-password")
    locked = refusal(auth, carol.login, PASSWORD)
    locked_unknown = refusal(auth, "nobody@acme", PASSWORD)
    assert wrong == unknown == locked == locked_unknown
    assert wrong.startswith("unauthenticated: wrong login or password")
    assert len(hashes_checked) == 10  # one hash a try, whatever the answer


def test_R18_wrong_passwords_from_one_address_never_lock_the_owner_out_from_another(
    admin: Administration, auth: AuthService, store: Store, clock: Clock
) -> None:
    _, carol = company(admin, "acme")
    for _ in range(10):
        refusal(auth, carol.login, "wrong-password", ATTACKER)
    assert login(auth, carol.login, PASSWORD, OWNER).user.user_id == carol.user_id
    lines = [line for line in store.list_audit("acme") if line.action == "login_locked"]
    assert [(line.actor, line.detail["address"]) for line in lines] == [(carol.login, ATTACKER)]
    assert "wrong-password" not in json.dumps([line.detail for line in store.list_audit("acme")])


def test_R18_the_wait_doubles_with_each_wrong_try_up_to_the_cap(
    admin: Administration, auth: AuthService, store: Store, clock: Clock
) -> None:
    _, carol = company(admin, "acme")
    for _ in range(3):
        refusal(auth, carol.login, "wrong-password")
    waits = []
    for _ in range(4):
        until = store.login_lock(carol.user_id, ATTACKER)
        assert until is not None
        waits.append(until - clock.now)
        clock.now = until - timedelta(seconds=1)
        refusal(auth, carol.login, PASSWORD)  # still waiting: the right password fails too
        clock.now = until
        refusal(auth, carol.login, "wrong-password")
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 4)]
    assert store.get_user(carol.user_id).locked_until == store.login_lock(  # type: ignore[union-attr]
        carol.user_id, ATTACKER
    )


def test_R18_a_success_from_the_address_or_an_administrators_reset_clears_the_count(
    admin: Administration, auth: AuthService, store: Store, clock: Clock
) -> None:
    ada, carol = company(admin, "acme")
    for _ in range(2):
        refusal(auth, carol.login, "wrong-password")
    login(auth, carol.login, PASSWORD)
    for _ in range(2):
        refusal(auth, carol.login, "wrong-password")
    assert store.login_lock(carol.user_id, ATTACKER) is None  # 2 in a row, not 4

    refusal(auth, carol.login, "wrong-password")
    assert store.login_lock(carol.user_id, ATTACKER) is not None
    admin.users.reset_password(ada, carol.user_id, "another-password")
    assert store.login_lock(carol.user_id, ATTACKER) is None
    assert login(auth, carol.login, "another-password").user.user_id == carol.user_id


def test_R18_a_login_two_companies_share_signs_in_only_with_its_company(
    admin: Administration, auth: AuthService, hashes_checked: list[str]
) -> None:
    _, acme_carol = company(admin, "acme")
    admin.companies.create(OPERATOR, "globex", "Globex", [])
    globex_carol, _ = admin.users.create(
        OPERATOR, acme_carol.login, "Carol G", "agent", company_id="globex", password="globex-pass"
    )
    wrong = refusal(auth, "nobody", "wrong-password")
    assert refusal(auth, acme_carol.login, PASSWORD) == wrong
    assert "give your company" in wrong
    assert login(auth, acme_carol.login, PASSWORD, company="acme").user == acme_carol
    assert login(auth, acme_carol.login, "globex-pass", company="globex").user == globex_carol
    assert refusal(auth, acme_carol.login, "globex-pass") == wrong
    assert len(hashes_checked) == 5
    operator, _ = admin.users.create_operator(OPERATOR, "olga", "Olga", password="olga-password")
    assert login(auth, "olga", "olga-password").user == operator
    assert login(auth, "olga", "olga-password", company="system").user == operator


def test_R18_an_administrator_creating_a_login_learns_nothing_of_other_companies(
    admin: Administration,
) -> None:
    company(admin, "acme")
    admin.companies.create(OPERATOR, "globex", "Globex", [])
    gina, _ = admin.users.create(OPERATOR, "gina", "Gina", "administrator", company_id="globex")
    made, _ = admin.users.create(Principal.of(gina), "carol@acme", "Carol of Globex", "agent")
    assert made.company_id == "globex"


def test_R19_unknown_logins_lock_like_known_ones_and_audit_nothing(
    admin: Administration, auth: AuthService, store: Store
) -> None:
    company(admin, "acme")
    before = store.list_audit("acme")
    for _ in range(3):
        refusal(auth, "nobody@acme", "wrong-password")
    assert store.login_lock("?/nobody@acme", ATTACKER) == T0 + timedelta(minutes=1)
    assert store.list_audit("acme") == before
