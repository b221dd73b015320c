"""Settings changed through the administration API take effect on the next chat (R3, R4, R6,
R7, R12a, R15), through a real server on SQLite and PostgreSQL.

The administrator uses a bearer token, as automation would; the console uses the same API.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.clients import run
from tests.integration.live.test_live_recording import (
    Recorded,
    explanation,
    queued_to,
    recorded,
)
from tests.integration.server import ServerProcess
from tests.integration.tenant import Tenant


@pytest.fixture
def server(tenant: Tenant) -> Tenant:
    """A company of the test's own on the module's server (one per database)."""
    return tenant


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    """The administration API as the demo administrator."""
    token = server.token("ada")
    with httpx.Client(
        base_url=f"{server.url}/api/admin", headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


def one_chat(server: ServerProcess, agent: str = "alice") -> str:
    """A Support chat (the flow records for quality, R5b) that ``agent`` takes and ends."""
    chat: dict[str, str] = {}

    async def scenario() -> None:
        customer, staff, chat_id = await queued_to(server, agent)
        chat["id"] = chat_id
        await staff.ok({"type": "message", "chat_id": chat_id, "text": "Hello"})
        await staff.ok({"type": "end", "chat_id": chat_id})
        await customer.state(chat_id, lambda c: c["status"] == "ended")

    run(scenario)
    return chat["id"]


def recordings(server: ServerProcess, chat_id: str) -> list[dict[str, Any]]:
    found = explanation(server, chat_id)["recordings"]
    assert isinstance(found, list)
    return found


def names(files: list[Recorded]) -> list[str]:
    """The files' paths on the platform."""
    return sorted(file.path for file in files)


def test_R4_R6_R7_R12a_R15_recording_settings_apply_to_the_next_chat(
    server: ServerProcess, api: httpx.Client
) -> None:
    users = {u["login"]: u for u in api.get("/users").json()}
    alice = users["alice"]["user_id"]

    # R6, R15: a new default template and a single format shape the next files.
    response = api.patch(
        "/company", json={"default_template": "{service}/{agent}_{origin}", "formats": ["text"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["template_preview"] == "Sales/Jane_Doe_agent"
    chat_id = one_chat(server)
    files = names(recorded(server, chat_id))
    # The agent recording follows the default; the flow's record step has its own template.
    assert "Support/Alice_Martin_agent.txt" in files, files
    assert "Support/Alice_Martin_agent.meta.json" in files, files
    # Two recordings: a transcript, a sidecar and a signed manifest each, and the key (R21).
    assert len(files) == 8, files
    assert all(
        name.endswith((".txt", ".meta.json", ".manifest.json")) or name.startswith("keys/")
        for name in files
    ), files

    # R4: record chats off -> only the flow's recording.
    assert api.patch(f"/users/{alice}", json={"record_chats": False}).status_code == 200
    chat_id = one_chat(server)
    assert [r["origin"] for r in recordings(server, chat_id) if r["outcome"] == "produced"] == [
        "flow"
    ]

    # R7: back on, but sampled at 0 % -> still only the flow's recording, and the
    # explanation says the draw left her out.
    response = api.patch(f"/users/{alice}", json={"record_chats": True, "record_percentage": 0})
    assert response.json()["record_percentage"] == 0
    chat_id = one_chat(server)
    sentences = explanation(server, chat_id)["sentences"]
    assert isinstance(sentences, list)
    assert any("R7" in s for s in sentences), sentences

    # R12a: Permit Recordings off -> nothing at all, for chats joined after the change.
    assert api.patch(f"/users/{alice}", json={"permit_recordings": False}).status_code == 200
    chat_id = one_chat(server)
    assert recorded(server, chat_id) == []
    assert {r["rule"] for r in recordings(server, chat_id)} == {"R12a"}

    # Every one of those changes is in the audit trail, with before and after.
    trail = api.get("/audit", params={"limit": 50}).json()
    changes = [e["detail"]["after"] for e in trail if e["action"] == "user.updated"]
    assert {"permit_recordings": False} in changes
    assert any(e["action"] == "company.updated" for e in trail)


def test_R3_a_queue_request_with_recording_is_refused_whole(api: httpx.Client) -> None:
    before = api.get("/queues").json()
    response = api.post("/queues", json={"name": "Claims", "record": True})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "recording_on_queue"
    assert "Recording cannot be enabled on a queue (R3)" in error["message"]
    assert api.get("/queues").json() == before
    queue = before[0]["queue_id"]
    refused = api.patch(f"/queues/{queue}", json={"name": "Renamed", "recording_enabled": True})
    assert refused.status_code == 422
    assert api.get("/queues").json() == before
    assert api.post("/queues", json={"name": "Claims"}).status_code == 201


def test_R19_a_flow_with_an_error_is_refused_at_its_line_and_versions_are_kept(
    server: ServerProcess, api: httpx.Client
) -> None:
    support = server.id("demo-support")
    flow = next(f for f in api.get("/flows").json() if f["flow_id"] == support)
    broken = flow["source"].replace("type: route", "type: rout", 1)
    response = api.put(f"/flows/{support}", json={"source": broken})
    assert response.status_code == 422
    problems = response.json()["error"]["problems"]
    line = next(n for n, text in enumerate(broken.splitlines(), 1) if "type: rout" in text)
    assert any(p["line"] == line for p in problems), problems
    saved = api.put(f"/flows/{support}", json={"source": flow["source"] + "\n# v2\n"})
    assert saved.status_code == 200
    assert saved.json()["version"] == flow["version"] + 1
    versions = api.get(f"/flows/{support}/versions").json()
    assert [v["version"] for v in versions] == [flow["version"] + 1, flow["version"]]
    chat_id = one_chat(server)
    chats = {c["chat_id"]: c for c in api.get("/chats").json()}
    assert chats[chat_id]["flow_version"] == flow["version"] + 1
