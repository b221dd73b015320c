"""API tokens on the real store, SQLite and PostgreSQL (R18, R19).

The clock is injected, so expiry and the once-a-minute note of use are reached without
waiting; what a client sees is in ``tests/integration/live/test_login_security.py``.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from chatrec.errors import (
    ActionError,
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ScopeError,
    TooManyTokensError,
)
from chatrec.services.access import Credential, Principal, Scope
from chatrec.services.admin import Administration
from chatrec.services.admin.users import UserChanges
from chatrec.services.auth import API_TOKEN_PREFIX
from chatrec.services.token_hash import hash_token
from chatrec.services.tokens import ApiTokens
from chatrec.store.records import ApiTokenRecord, UserRecord
from chatrec.store.store import Store
from tests.integration.services.logins import T0, Clock, company


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def admin(store: Store, clock: Clock) -> Administration:
    return Administration(store, clock)


@pytest.fixture
def tokens(store: Store, clock: Clock) -> ApiTokens:
    return ApiTokens(store, clock)


def test_R18_an_api_token_is_shown_once_kept_as_a_hash_and_acts_as_its_login(
    admin: Administration, tokens: ApiTokens, store: Store, clock: Clock
) -> None:
    _, carol = company(admin, "acme")
    token, plain = tokens.create(carol, "  nightly   export ", expires_in_days=30)
    assert plain.startswith(f"{API_TOKEN_PREFIX}{token.token_id}_")
    assert token.token_hash == hash_token(plain)
    assert token.name == "nightly export"
    assert token.expires_at == T0 + timedelta(days=30)
    assert plain not in repr(tokens.list_tokens(carol))
    assert asyncio.run(tokens.authenticate(plain))[0].user_id == carol.user_id
    created = [line for line in store.list_audit("acme") if line.action == "api_token.created"]
    assert [(line.actor, line.detail["target"]) for line in created] == [
        (carol.login, token.token_id)
    ]
    assert plain not in json.dumps([line.detail for line in store.list_audit("acme")])


def test_R18_a_tokens_use_is_noted_at_most_once_a_minute(
    admin: Administration, tokens: ApiTokens, store: Store, clock: Clock
) -> None:
    _, carol = company(admin, "acme")
    _, plain = tokens.create(carol, "bot")
    asyncio.run(tokens.authenticate(plain))
    clock.now += timedelta(seconds=30)
    asyncio.run(tokens.authenticate(plain))
    assert [t.last_used_at for t in tokens.list_tokens(carol)] == [T0]
    clock.now += timedelta(seconds=31)
    asyncio.run(tokens.authenticate(plain))
    assert [t.last_used_at for t in tokens.list_tokens(carol)] == [clock.now]


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("expired", r"expired on 2026-11-28 09:00 UTC; create a new one"),
        ("revoked", r"was revoked on 2026-11-27 09:00 UTC; create a new one"),
        ("disabled", r"login of API token \w+ is disabled"),
        ("unknown", r"this API token is unknown"),
    ],
)
def test_R19_a_token_that_no_longer_works_says_why(
    admin: Administration, tokens: ApiTokens, clock: Clock, what: str, message: str
) -> None:
    ada, carol = company(admin, "acme")
    token, plain = tokens.create(carol, "bot", expires_in_days=1)
    if what == "expired":
        clock.now += timedelta(days=1)
    elif what == "revoked":
        tokens.revoke(carol, token.token_id)
    elif what == "disabled":
        admin.users.update(ada, carol.user_id, UserChanges(disabled=True))
    else:
        plain = plain[:-1] + ("A" if plain[-1] != "A" else "B")
    with pytest.raises(AuthenticationError, match=message):
        asyncio.run(tokens.authenticate(plain))


def test_R18_who_may_revoke_a_token(admin: Administration, tokens: ApiTokens, store: Store) -> None:
    ada, carol = company(admin, "acme")
    globex_ada, globex_carol = company(admin, "globex")
    alice, _ = admin.users.create(ada, "alice@acme", "Alice", "agent")
    token, _ = tokens.create(carol, "bot")
    for stranger in (user_of(store, globex_ada), globex_carol):
        with pytest.raises(NotFoundError):
            tokens.revoke(stranger, token.token_id)
    with pytest.raises(PermissionDeniedError, match="administrator"):
        tokens.revoke(alice, token.token_id)
    with pytest.raises(NotFoundError):
        tokens.revoke(carol, "no-such-token")
    assert tokens.list_tokens(carol)[0].revoked_at is None
    revoked = tokens.revoke(user_of(store, ada), token.token_id)
    assert revoked.revoked_at == T0
    line = store.list_audit("acme")[-1]
    assert (line.action, line.actor, line.detail["target"]) == (
        "api_token.revoked",
        "ada@acme",
        token.token_id,
    )


def user_of(store: Store, actor: Principal) -> UserRecord:
    found = store.get_user(actor.user_id or "")
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("name", "days"), [("", None), ("x" * 101, None), ("bot", 0), ("bot", 3651)]
)
def test_R19_a_token_request_out_of_bounds_is_refused_and_makes_nothing(
    admin: Administration, tokens: ApiTokens, name: str, days: int | None
) -> None:
    _, carol = company(admin, "acme")
    with pytest.raises(ActionError):
        tokens.create(carol, name, expires_in_days=days)
    assert tokens.list_tokens(carol) == []


# -- scopes, lifetimes, parents and the cap (issue 16.7) ----------------------------------


def made_with(tokens: ApiTokens, token: ApiTokenRecord, plain: str) -> Credential:
    """The credential of a request made with ``plain``, as the guard finds it."""
    _, credential = asyncio.run(tokens.authenticate(plain))
    assert credential.credential_id == token.token_id
    return credential


def test_R18_a_token_without_a_lifetime_gets_the_longest_allowed(
    admin: Administration, store: Store, clock: Clock
) -> None:
    _, carol = company(admin, "acme")
    tokens = ApiTokens(store, clock, max_days=90)
    token, _ = tokens.create(carol, "bot")
    assert (token.expires_at, token.scope, token.parent_id) == (
        T0 + timedelta(days=90),
        "full",
        None,
    )
    with pytest.raises(InvalidRequestError, match=r"1 to 90 .*CHATREC_API_TOKEN_MAX_DAYS"):
        tokens.create(carol, "bot", expires_in_days=91)


def test_R18_a_token_made_with_a_token_never_outlives_it_nor_widens_its_scope(
    admin: Administration, tokens: ApiTokens, clock: Clock
) -> None:
    _, carol = company(admin, "acme")
    parent, plain = tokens.create(carol, "tomorrow", expires_in_days=1, scope=Scope.CHAT)
    credential = made_with(tokens, parent, plain)
    with pytest.raises(InvalidRequestError, match="may not outlive it: ask for at most 1 days"):
        tokens.create(carol, "forever", expires_in_days=365, made_with=credential)
    with pytest.raises(ScopeError, match="scope read or chat, not full"):
        tokens.create(carol, "wider", scope=Scope.FULL, made_with=credential)
    child, _ = tokens.create(carol, "child", made_with=credential)
    narrower, _ = tokens.create(carol, "reader", scope=Scope.READ, made_with=credential)
    assert (child.expires_at, child.scope, child.parent_id) == (
        parent.expires_at,
        "chat",
        parent.token_id,
    )
    assert (narrower.scope, narrower.parent_id) == ("read", parent.token_id)
    stored = {t.token_id: (t.scope, t.parent_id) for t in tokens.list_tokens(carol)}
    assert stored[narrower.token_id] == ("read", parent.token_id)


def test_R18_revoking_a_token_revokes_every_token_made_with_it(
    admin: Administration, tokens: ApiTokens, store: Store
) -> None:
    _, carol = company(admin, "acme")
    first, plain = tokens.create(carol, "first")
    second, second_plain = tokens.create(carol, "second", made_with=made_with(tokens, first, plain))
    third, _ = tokens.create(carol, "third", made_with=made_with(tokens, second, second_plain))
    other, _ = tokens.create(carol, "unrelated")
    tokens.revoke(carol, first.token_id)
    revoked = {t.token_id: t.revoked_at for t in tokens.list_tokens(carol)}
    assert revoked == {
        first.token_id: T0,
        second.token_id: T0,
        third.token_id: T0,
        other.token_id: None,
    }


def test_R18_a_login_has_at_most_so_many_live_tokens(
    admin: Administration, store: Store, clock: Clock
) -> None:
    _, carol = company(admin, "acme")
    tokens = ApiTokens(store, clock, max_live=2)
    tokens.create(carol, "first", expires_in_days=1)
    tokens.create(carol, "second")
    with pytest.raises(TooManyTokensError, match=r"2 live API tokens.*revoke one"):
        tokens.create(carol, "third")
    clock.now += timedelta(days=1)  # the first expired: it no longer counts
    tokens.create(carol, "third")
    assert len(tokens.list_tokens(carol)) == 3
