"""A service's business hours over HTTP, on SQLite and PostgreSQL (issue 15): outside
them the widget is told, with the company's words, and no chat starts (so none waits in
a queue); hours that cannot be read are refused and change nothing (R19)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from chatrec.domain.hours import DAYS
from tests.integration.tenant import Tenant


@pytest.fixture
def server(tenant: Tenant) -> Tenant:
    """A company of the test's own on the module's server (one per database)."""
    return tenant


def test_outside_its_hours_a_service_says_so_and_starts_no_chat(server: Tenant) -> None:
    service_id = server.id("demo-support")
    admin = {"Authorization": f"Bearer {server.token('ada')}"}
    url = f"{server.url}/api/admin/services/{service_id}"
    other_day = DAYS[(datetime.now(UTC).weekday() + 1) % 7].capitalize()  # never today
    message = "We answer Mon to Fri, 9 to 5. Write to help@example.com meanwhile."

    refused = httpx.patch(url, json={"hours": "Mon-Fry 09:00-17:00"}, headers=admin)
    assert refused.status_code == 422, refused.text
    assert "line 1: days are Mon" in refused.json()["error"]["message"]
    unknown = httpx.patch(url, json={"hours": "Mon 09:00-10:00", "timezone": "X/Y"}, headers=admin)
    assert unknown.status_code == 422, unknown.text
    assert httpx.get(f"{server.url}/api/services/{service_id}").json()["open"] is True

    hours = {"hours": f"{other_day} 00:00-24:00", "timezone": "UTC", "closed_message": message}
    saved = httpx.patch(url, json=hours, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json()["hours"] == hours["hours"]
    shown = httpx.get(f"{server.url}/api/services/{service_id}").json()
    assert (shown["open"], shown["closed_message"]) == (False, message)
    started = httpx.post(f"{server.url}/api/chats", json={"service_id": service_id})
    assert started.status_code == 409, started.text
    assert started.json()["error"] == {"code": "closed", "message": message}

    reopened = httpx.patch(url, json={"hours": ""}, headers=admin)
    assert reopened.status_code == 200, reopened.text
    assert httpx.get(f"{server.url}/api/services/{service_id}").json()["open"] is True
    assert httpx.post(f"{server.url}/api/chats", json={"service_id": service_id}).status_code == 201
