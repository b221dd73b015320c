"""The supervisors' dashboard over HTTP, on SQLite and PostgreSQL (issue 15): queues,
agents with their state and reason, open chats per service, today's share answered
within the company's target; the company's own only (R18)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.clients import Client, run
from tests.integration.live.test_live_recording import queued_to
from tests.integration.live.test_presence import waiting
from tests.integration.tenant import Tenant


@pytest.fixture
def server(tenant: Tenant) -> Tenant:
    """A company of the test's own on the module's server (one per database)."""
    return tenant


def dashboard(server: Tenant, login: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{server.url}/api/dashboard",
        headers={"Authorization": f"Bearer {server.token(login)}"},
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_supervisor_sees_queues_agents_services_and_the_share_answered_in_time(
    server: Tenant,
) -> None:
    settings = httpx.patch(
        f"{server.url}/api/admin/companies/{server.company_id}",
        json={"answer_target_seconds": 3600},
        headers={"Authorization": f"Bearer {server.token('ada')}"},
    )
    assert settings.status_code == 200, settings.text

    async def scenario() -> None:
        _, alice, _ = await queued_to(server, "alice")  # taken at once: in time
        await alice.ok({"type": "presence", "available": False, "reason": "meeting"})
        await waiting(server)  # nobody Available now: it waits
        bob = await Client.staff(server, "bob")  # online, never chose: Away
        now = dashboard(server, "sam")
        queues = {q["name"]: q for q in now["queues"]}
        assert queues["General"]["waiting"] == 1
        assert queues["General"]["longest_wait_seconds"] >= 0
        agents = {a["name"]: a for a in now["agents"]}
        alice_now = agents["Alice Martin"]
        assert (alice_now["state"], alice_now["away_reason"]) == ("away", "meeting")
        assert (alice_now["open_chats"], alice_now["capacity"]) == (1, 3)
        assert alice_now["state_seconds"] >= 0
        assert agents["Carol Diaz"]["state"] == "offline"
        assert agents["Bob Chen"]["state"] == "away"
        services = {s["name"]: s["open_chats"] for s in now["services"]}
        assert services["Support"] == 2
        level = now["service_level"]
        assert (level["target_seconds"], level["answered_in_time"], level["counted"]) == (
            3600,
            1,
            1,
        )
        assert level["share"] == 1.0
        await bob.close()

    run(scenario)
    refused = httpx.get(
        f"{server.url}/api/dashboard",
        headers={"Authorization": f"Bearer {server.token('alice')}"},
    )
    assert refused.status_code == 403  # agents have their own desk, not the dashboard
