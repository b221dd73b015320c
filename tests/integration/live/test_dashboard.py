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
    server.set_company(answer_target_seconds=3600)

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


def test_the_report_over_a_period_sums_the_chats_and_exports_them(server: Tenant) -> None:
    """On both databases: times, transfers, wrap-up codes, recordings by rule, CSV; a
    period the report cannot cover is refused with what to change (R19)."""
    server.set_company(wrap_up_codes=["Claim"])

    async def scenario() -> None:
        customer, alice, chat_id = await queued_to(server, "alice")
        await alice.ok({"type": "message", "chat_id": chat_id, "text": "Hello, Alice here."})
        await alice.ok({"type": "wrap_up", "chat_id": chat_id, "code": "Claim"})
        await alice.ok(
            {"type": "transfer", "chat_id": chat_id, "to_queue": server.id("demo-general")}
        )
        await customer.ok({"type": "end"})
        await customer.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    sam = {"Authorization": f"Bearer {server.token('sam')}"}
    answer = httpx.get(f"{server.url}/api/report", headers=sam)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["chats"]["started"] == 1
    assert report["chats"]["per_service"] == {"Support": 1}
    assert len(report["chats"]["per_day"]) == 7
    assert report["first_response_seconds"]["count"] == 1
    assert report["handle_seconds"]["count"] == 1
    assert report["transfers"] == {"count": 1, "chats_transferred": 1}
    assert report["wrap_up_codes"] == {"Claim": 1}
    assert {r["outcome"] for r in report["recordings"]} >= {"produced"}
    exported = httpx.get(f"{server.url}/api/report/export", headers=sam)
    assert exported.headers["content-type"].startswith("text/csv")
    header, row, *rest = exported.text.splitlines()
    assert header.startswith("chat_id,service,started_at,ended_at,first_response_seconds")
    assert row.endswith(",1,Claim")
    assert rest == []
    for query, message in (
        ("from=2026-12-05&to=2026-12-01", "starts (2026-12-05) after it ends"),
        ("from=2024-01-01&to=2026-01-01", "at most 366 days"),
    ):
        refused = httpx.get(f"{server.url}/api/report?{query}", headers=sam)
        assert refused.status_code == 422, refused.text
        assert message in refused.json()["error"]["message"]
