"""The customer's details (R23; issue 15) over HTTP and WebSockets, on SQLite and
PostgreSQL: a service's pre-chat form, refused answers that start no chat, the details
in the recording's metadata (and a filename only through its token), the customer panel
with the company's earlier chats of the same e-mail, and the purge that empties them."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from chatrec.domain.chain import check_chain
from chatrec.store.records import ChatStatus
from chatrec.store.store import Store
from tests.integration.clients import run
from tests.integration.live.test_live_recording import CARD, queued_to, recorded
from tests.integration.tenant import Tenant
from tests.keys import SECRETS

FORM = [
    {"key": "name", "label": "Your name", "type": "text", "required": True},
    {"key": "email", "label": "E-mail", "type": "email", "required": True},
    {"key": "order", "label": "Order number", "type": "text", "required": False},
    {"key": "topic", "label": "Topic", "type": "select", "options": ["Sales", "Billing"]},
]
PAGE = "https://shop.example/checkout?step=2"


@pytest.fixture
def server(tenant: Tenant) -> Tenant:
    """A company of the test's own on the module's server (one per database)."""
    return tenant


def set_form(server: Tenant, form: list[dict[str, Any]]) -> httpx.Response:
    return httpx.patch(
        f"{server.url}/api/admin/services/{server.id('demo-support')}",
        json={"pre_chat_form": form},
        headers={"Authorization": f"Bearer {server.token('ada')}"},
    )


def customer_of(server: Tenant, login: str, chat_id: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}/api/chats/{chat_id}/customer",
        headers={"Authorization": f"Bearer {server.token(login)}"},
    )


def chat_count(server: Tenant) -> int:
    store = Store(server.database_url, secrets=SECRETS)
    try:
        return len(store.list_chats(server.company_id, limit=1000))
    finally:
        store.close()


def test_R23_the_server_refuses_answers_the_form_does_not_accept_and_starts_no_chat(
    server: Tenant,
) -> None:
    bad = set_form(server, [{"key": "email", "label": "E-mail", "type": "text"}])
    assert bad.status_code == 422, bad.text
    assert "field 'email' is always of type email" in bad.json()["error"]["message"]
    saved = set_form(server, FORM)
    assert saved.status_code == 200, saved.text
    assert [f["key"] for f in saved.json()["pre_chat_form"]] == ["name", "email", "order", "topic"]
    shown = httpx.get(f"{server.url}/api/services/{server.id('demo-support')}").json()
    assert shown["pre_chat_form"] == saved.json()["pre_chat_form"]  # what the widget asks

    before = chat_count(server)
    start = {"service_id": server.id("demo-support")}
    for details, page, problem in [
        ({}, "", "'name' (Your name) is required"),
        ({"name": "Kim", "email": "kim(at)example"}, "", "'email' (E-mail) must be an e-mail"),
        ({"name": "Kim", "email": "kim@example.com", "topic": "Other"}, "", "must be one of"),
        ({"name": "Kim", "email": "kim@example.com"}, "ftp://shop.example/", "http or https"),
    ]:
        refused = httpx.post(
            f"{server.url}/api/chats", json={**start, "details": details, "page": page}
        )
        assert refused.status_code == 422, refused.text
        assert problem in refused.json()["error"]["message"]
    assert chat_count(server) == before  # nothing started, nothing queued
    answers = {"name": "Kim", "email": "kim@example.com"}
    started = httpx.post(f"{server.url}/api/chats", json={**start, "details": answers})
    assert started.status_code == 201, started.text

    assert set_form(server, []).status_code == 200  # no form: chats start as before
    assert httpx.post(f"{server.url}/api/chats", json=start).status_code == 201


def test_R23_R22_details_are_in_the_metadata_and_a_filename_only_through_its_token(
    server: Tenant,
) -> None:
    assert set_form(server, FORM).status_code == 200
    server.set_company(default_template="{customer_email}/{customer_name}_{recording_id}")
    details = {"name": "Kim Lee", "email": "Kim@Example.com", "order": f"card {CARD}"}
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice", details=details, page=PAGE)
        chat["id"] = chat_id
        await customer.ok({"type": "end"})
        await alice.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    files = recorded(server, chat["id"])
    assert files
    names = [f.path for f in files if f.is_transcript]
    agents = [name for name in names if not name.startswith("flows/")]
    assert len(agents) == 4, names  # the agent's recording, named by the company's template
    assert all(name.startswith("kim_example.com/Kim_Lee_") for name in agents)
    assert not any("kim" in name.lower() for name in names if name not in agents)  # flow's own
    document = json.loads(next(f.content for f in files if f.path.endswith(".json")))
    assert document["customer"] == {
        "name": "Kim Lee",
        "email": "kim@example.com",
        "fields": [{"key": "order", "label": "Order number", "value": "card **** **** **** 1111"}],
        "page": PAGE,
    }
    for file in files:
        assert b"4111 1111" not in file.content, file.path  # R22
        if file.path.endswith(".meta.json"):  # the sidecar QA platforms index: no details
            assert b"kim@example.com" not in file.content
    text = next(f.content.decode() for f in files if f.path.endswith(".txt"))
    assert "kim@example.com" in text
    assert PAGE in text


def _chat(server: Tenant, email: str, *, end: bool = True) -> str:
    chat: dict[str, str] = {}
    details = {"name": "Kim", "email": email}

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice", details=details, page=PAGE)
        chat["id"] = chat_id
        if end:
            await customer.ok({"type": "end"})
            await alice.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    return chat["id"]


def test_R23_R18_R17_the_panel_shows_the_same_customers_earlier_chats_of_this_company_only(
    server: Tenant,
) -> None:
    store = Store(server.database_url, secrets=SECRETS)
    try:
        other = Tenant.seed(server, store)  # another company on the same server
    finally:
        store.close()
    for company in (server, other):
        assert set_form(company, FORM).status_code == 200
    earlier = _chat(server, "kim@example.com")
    _chat(server, "someone@example.com")
    _chat(other, "kim@example.com")  # the same address at another company: never shown
    now = _chat(server, "KIM@example.com", end=False)

    panel = customer_of(server, "alice", now)
    assert panel.status_code == 200, panel.text
    shown = panel.json()
    assert (shown["name"], shown["email"], shown["page"]) == ("Kim", "kim@example.com", PAGE)
    assert [c["chat_id"] for c in shown["earlier_chats"]] == [earlier]
    assert shown["earlier_chats"][0]["agent"] == "Alice Martin"
    assert customer_of(server, "sam", now).status_code == 200  # the company's supervisor
    for login, chat_id in (("bob", now), ("bob", earlier), ("ada", now)):  # not in it
        assert customer_of(server, login, chat_id).status_code == 404, login
    assert customer_of(server, "alice", earlier).json()["email"] == "kim@example.com"  # ended
    assert customer_of(other, "sam", now).status_code == 404  # another company's (R18)

    store = Store(server.database_url, secrets=SECRETS)
    try:
        store.purge_message_bodies(earlier)
        assert store.get_chat(earlier).status is ChatStatus.ENDED  # type: ignore[union-attr]
        assert check_chain(earlier, store.journal_chain(earlier)).verifies  # R21 after purge
        audit = store.list_audit(server.company_id)
    finally:
        store.close()
    assert customer_of(server, "alice", now).json()["earlier_chats"] == []  # as far as kept
    assert all("kim@example.com" not in json.dumps(a.detail) for a in audit)  # none kept
    assert any(a.action == "message_bodies_purged" and a.chat_id == earlier for a in audit)
