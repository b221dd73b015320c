"""The rest of SPEC's seed cases through the live server, with logins added by the test.

Extra logins, flows and a company are written to the server's own database through
the store (as an administrator's console will in issue 5); the server reads them live.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from chatrec.cli import app
from chatrec.services.passwords import hash_password
from chatrec.store.records import CompanyRecord, QueueRecord, ServiceRecord, UserRecord
from chatrec.store.store import Store
from tests.integration.clients import Client, run
from tests.integration.live.test_live_recording import (
    available,
    explanation,
    queued_to,
    recorded,
)
from tests.integration.server import ServerProcess
from tests.integration.tenant import Tenant
from tests.keys import SECRETS

PASSWORD = "correct horse battery"
FIVE_RECORDS = (
    """
name: Five recordings
steps:
"""
    + "".join(
        f"""  - id: r{n}
    type: record
    reason: same
    template: "flows/{{reason}}"
"""
        for n in range(5)
    )
    + """  - id: go
    type: route
    queue: General
"""
)


def login(user_id: str, role: str, company: str = "demo", **settings: object) -> UserRecord:
    return UserRecord(
        user_id=user_id,
        company_id=company,
        login=user_id,
        name=user_id.capitalize(),
        role=role,
        password_hash=hash_password(PASSWORD),
        **settings,  # type: ignore[arg-type]
    )


class Logins:
    """Adds logins to the server's database and tells the server fixture their password."""

    def __init__(self, server: ServerProcess, store: Store) -> None:
        self.server, self.store = server, store

    def add(self, user_id: str, role: str, company: str | None = None, **settings: object) -> None:
        company = company or self.server.company_id
        self.store.create_user(login(user_id, role, company, **settings))
        self.server.extra_logins[user_id] = PASSWORD


@pytest.fixture
def server(tenant: Tenant) -> Tenant:
    """A company of the test's own on the module's server (one per database)."""
    return tenant


@pytest.fixture
def store(server: ServerProcess) -> Iterator[Store]:
    opened = Store(server.database_url, secrets=SECRETS)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def logins(server: ServerProcess, store: Store) -> Logins:
    return Logins(server, store)


def rules(server: ServerProcess, chat_id: str) -> set[str]:
    recordings = explanation(server, chat_id)["recordings"]
    assert isinstance(recordings, list)
    return {r["rule"] for r in recordings}


def test_R12a_a_supervisor_without_permit_joins_and_nothing_is_produced(
    server: ServerProcess, logins: Logins
) -> None:
    logins.add("sue", "supervisor", permit_recordings=False)
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, _, chat_id = await queued_to(server, "alice")
        chat["id"] = chat_id
        sue = await Client.staff(server, "sue")
        await sue.ok({"type": "join", "chat_id": chat_id})
        await customer.ok({"type": "end"})
        await sue.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    assert recorded(server, chat["id"]) == []
    assert rules(server, chat["id"]) == {"R12a"}


def test_R4_agent_recording_off_gives_only_the_flow_recording(
    server: ServerProcess, logins: Logins
) -> None:
    logins.add("dan", "agent", record_chats=False)
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, _, chat_id = await queued_to(server, "dan")
        chat["id"] = chat_id
        await customer.ok({"type": "end"})
        await customer.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    body = explanation(server, chat["id"])
    recordings = body["recordings"]
    assert isinstance(recordings, list)
    assert [(r["origin"], r["outcome"]) for r in recordings] == [("flow", "produced")]
    assert any(
        s.startswith("Record chats switch (R4): no recording: record chats was off for agent Dan")
        for s in body["sentences"]  # type: ignore[union-attr]
    )


def test_R5a_transfer_A_B_A_gives_one_agent_recording_per_account(server: ServerProcess) -> None:
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        chat["id"] = chat_id
        carol = await available(server, "carol")
        await alice.ok(
            {"type": "transfer", "chat_id": chat_id, "to_agent": server.id("demo-carol")}
        )
        await carol.state(chat_id, lambda c: c["status"] == "active")
        await carol.ok(
            {"type": "transfer", "chat_id": chat_id, "to_agent": server.id("demo-alice")}
        )
        await alice.state(
            chat_id,
            lambda c: [p["user_id"] for p in c["participants"]] == [server.id("demo-alice")],
        )
        await customer.ok({"type": "end"})
        await alice.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    recordings = explanation(server, chat["id"])["recordings"]
    assert isinstance(recordings, list)
    agents = [r for r in recordings if r["origin"] == "agent"]
    # Alice once (not per leg); Carol only if her 50 % draw sampled her in (R7).
    assert [r["recording_id"] for r in agents].count(agents[0]["recording_id"]) == 1
    assert 1 <= len(agents) <= 2


def test_R6_five_flow_recordings_with_one_template_get_five_names(
    server: ServerProcess, store: Store
) -> None:
    store.save_flow(server.company_id, "five", "five", FIVE_RECORDS)
    store.create_service(ServiceRecord("five", server.company_id, "Five", "five"))
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, chat_id, _ = await Client.customer(server, "five")
        chat["id"] = chat_id
        await customer.state(chat_id, lambda c: c["status"] == "queued")
        await customer.ok({"type": "end"})

    run(scenario)
    sidecars = [p for p in recorded(server, chat["id"]) if p.name.endswith(".meta.json")]
    assert len(sidecars) == 5
    assert len({p.name.casefold() for p in sidecars}) == 5


def test_R1_a_company_without_call_recording_records_nothing_and_says_so(
    server: ServerProcess, store: Store, logins: Logins
) -> None:
    store.create_company(
        CompanyRecord(
            company_id="plain",
            name="Plain Chat Ltd",
            products=frozenset({"webchat"}),
            default_template="{chat_id}",
            formats=frozenset({"json"}),
            sampling_key=b"k",
        )
    )
    store.create_queue(QueueRecord("plain-q", "plain", "General"))
    store.create_service(ServiceRecord("plain-s", "plain", "Help", None))
    logins.add("pat", "agent", company="plain")
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, chat_id, _ = await Client.customer(server, "plain-s")
        chat["id"] = chat_id
        state = await customer.state(chat_id, lambda c: c["status"] == "queued")
        assert state["recording"] == "not_recorded"  # R11a: said to the customer too
        pat = await available(server, "pat")
        await pat.state(chat_id, lambda c: c["status"] == "active")
        await pat.ok({"type": "flag_abusive", "chat_id": chat_id})
        await pat.ok({"type": "end", "chat_id": chat_id})

    run(scenario)
    assert recorded(server, chat["id"]) == []
    # In process: the installed command line is tested as a process elsewhere
    # (tests/integration/cli); a start-up here would cost more than the whole test.
    result = CliRunner().invoke(app, ["explain", chat["id"], "--database-url", server.database_url])
    assert result.exit_code == 0, result.output
    # The rule in plain words first, its id as a tag (R14).
    assert (
        "\n  Company provisioned to record (R1): no recording: "
        "company Plain Chat Ltd is not provisioned with call_recording." in result.stdout
    )


def test_R18_an_agent_cannot_reach_another_agents_chat(server: ServerProcess) -> None:
    async def scenario() -> None:
        _, _, chat_id = await queued_to(server, "alice")
        bob = await Client.staff(server, "bob")
        for frame in (
            {"type": "sync", "chat_id": chat_id},
            {"type": "message", "chat_id": chat_id, "text": "hi"},
            {"type": "pause", "chat_id": chat_id},
        ):
            answer = await bob.send(frame)
            assert answer["code"] == "not_found", answer

    run(scenario)


def test_R19_explain_an_unknown_chat_is_a_clear_error(server: ServerProcess) -> None:
    result = CliRunner().invoke(app, ["explain", "nope", "--database-url", server.database_url])
    assert result.exit_code == 1
    assert "no chat 'nope'" in result.stderr
