"""Canned responses on the real store, SQLite and PostgreSQL (R18, R19, R23; issue 15).

The company's are changed by its administrators and audited; a login's own are seen and
changed by that login alone; a refused change changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chatrec.domain.canned import MAX_PERSONAL
from chatrec.errors import (
    CannedResponseError,
    DuplicateError,
    NotFoundError,
    PermissionDeniedError,
    TooManyCannedResponsesError,
)
from chatrec.services.access import Principal
from chatrec.services.admin import Administration
from chatrec.store.store import Store

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
OPERATOR = Principal.command_line("test")


@pytest.fixture
def admin(store: Store) -> Administration:
    return Administration(store, lambda: T0)


def staff(admin: Administration, company: str, login: str, role: str) -> Principal:
    user, _ = admin.users.create(OPERATOR, login, login.title(), role, company_id=company)
    return Principal.of(user)


@pytest.fixture
def acme(admin: Administration) -> dict[str, Principal]:
    for company in ("acme", "globex"):
        admin.companies.create(OPERATOR, company, company.title(), ["call_recording", "webchat"])
    return {
        "ada": staff(admin, "acme", "ada", "administrator"),
        "sam": staff(admin, "acme", "sam", "supervisor"),
        "alice": staff(admin, "acme", "alice", "agent"),
        "bob": staff(admin, "acme", "bob", "agent"),
        "gus": staff(admin, "globex", "gus", "administrator"),
    }


def test_R23_the_company_responses_are_the_administrators_and_audited(
    admin: Administration, store: Store, acme: dict[str, Principal]
) -> None:
    ada, alice = acme["ada"], acme["alice"]
    made = admin.canned.create(
        ada, "greet", "Hello {customer_name}, I'm {agent_name}.", personal=False
    )
    assert made.owner_id is None
    changed = admin.canned.update(ada, made.response_id, personal=False, text="Hi {customer_name}")
    assert (changed.name, changed.text) == ("greet", "Hi {customer_name}")
    assert admin.canned.list_company(acme["sam"]) == [changed]  # supervisors read them

    for principal, refusal in (
        (alice, PermissionDeniedError),
        (acme["sam"], PermissionDeniedError),
    ):
        with pytest.raises(refusal):
            admin.canned.create(principal, "mine", "x", personal=False)
        with pytest.raises(refusal):
            admin.canned.update(principal, made.response_id, personal=False, text="x")
    # An agent's own road does not reach the company's, nor another company's anything.
    with pytest.raises(NotFoundError):
        admin.canned.delete(alice, made.response_id, personal=True)
    with pytest.raises(NotFoundError):
        admin.canned.update(acme["gus"], made.response_id, personal=False, text="x")

    admin.canned.delete(ada, made.response_id, personal=False)
    assert admin.canned.list_company(ada) == []
    lines = [e for e in store.list_audit("acme") if e.action.startswith("canned_response.")]
    assert [e.action for e in lines] == [
        "canned_response.created",
        "canned_response.updated",
        "canned_response.removed",
    ]
    assert lines[1].detail["before"] == {"text": "Hello {customer_name}, I'm {agent_name}."}
    assert lines[1].detail["after"] == {"text": "Hi {customer_name}"}


def test_R18_a_personal_response_is_its_logins_alone(
    admin: Administration, store: Store, acme: dict[str, Principal]
) -> None:
    ada, alice, bob = acme["ada"], acme["alice"], acme["bob"]
    company = admin.canned.create(ada, "greet", "Hello from {company_name}", personal=False)
    own = admin.canned.create(alice, "bye", "Bye {customer_name}, {agent_name} here", personal=True)
    assert own.owner_id == alice.user_id

    offered = admin.canned.list_for(alice)
    assert [r.name for r in offered.responses] == ["bye", "greet"]
    assert offered.preview(own) == "Bye there, Alice here"
    assert offered.preview(company) == "Hello from Acme"
    assert [r.name for r in admin.canned.list_for(bob).responses] == ["greet"]
    assert [r.name for r in admin.canned.list_company(ada)] == ["greet"]  # not alice's

    for other in (bob, ada, acme["gus"]):
        with pytest.raises(NotFoundError):
            admin.canned.update(other, own.response_id, personal=True, text="mine now")
        with pytest.raises(NotFoundError):
            admin.canned.delete(other, own.response_id, personal=True)
    with pytest.raises(NotFoundError):  # nor by the administrators' road
        admin.canned.delete(ada, own.response_id, personal=False)
    assert store.get_canned_response(own.response_id) == own

    admin.canned.delete(alice, own.response_id, personal=True)
    assert store.get_canned_response(own.response_id) is None
    # One's own responses are no administration: the company's audit trail never has them.
    assert not [e for e in store.list_audit("acme") if e.detail.get("target") == own.response_id]


def test_R19_names_are_unique_per_owner_whatever_their_case_and_a_refusal_changes_nothing(
    admin: Administration, store: Store, acme: dict[str, Principal]
) -> None:
    ada, alice, bob = acme["ada"], acme["alice"], acme["bob"]
    admin.canned.create(ada, "Greet", "Hello", personal=False)
    with pytest.raises(DuplicateError, match="the company has a canned response named 'greet'"):
        admin.canned.create(ada, "greet", "Hi", personal=False)
    # Another owner, or another company, may use the name.
    admin.canned.create(alice, "GREET", "Hi, mine", personal=True)
    admin.canned.create(bob, "greet", "Hi, mine too", personal=True)
    admin.canned.create(acme["gus"], "greet", "Hi from Globex", personal=False)
    second = admin.canned.create(alice, "bye", "Bye", personal=True)
    with pytest.raises(DuplicateError):
        admin.canned.update(alice, second.response_id, personal=True, name="Greet")
    with pytest.raises(CannedResponseError, match=r"unknown placeholder \{name\}"):
        admin.canned.update(alice, second.response_id, personal=True, text="Bye {name}")
    assert store.get_canned_response(second.response_id) == second
    before = store.list_audit("acme")
    with pytest.raises(CannedResponseError):
        admin.canned.create(ada, "with space", "x", personal=False)
    assert store.list_audit("acme") == before


def test_R19_an_owner_holds_at_most_its_limit_saying_so(
    admin: Administration, store: Store, acme: dict[str, Principal]
) -> None:
    alice = acme["alice"]
    for n in range(MAX_PERSONAL):
        admin.canned.create(alice, f"r{n}", "text", personal=True)
    with pytest.raises(TooManyCannedResponsesError, match=f"you have {MAX_PERSONAL} canned"):
        admin.canned.create(alice, "one-more", "text", personal=True)
    # The company's, and another login's, are counted apart.
    admin.canned.create(acme["ada"], "company", "text", personal=False)
    admin.canned.create(acme["bob"], "bobs", "text", personal=True)
    assert len(admin.canned.list_for(alice).responses) == MAX_PERSONAL + 1


def test_the_command_line_has_no_responses_of_its_own(
    admin: Administration, acme: dict[str, Principal]
) -> None:
    made = admin.canned.create(OPERATOR, "greet", "Hello", personal=False, company_id="acme")
    assert admin.canned.list_company(OPERATOR, "acme") == [made]
    with pytest.raises(NotFoundError, match="belongs to a login"):
        admin.canned.create(OPERATOR, "mine", "Hello", personal=True)
