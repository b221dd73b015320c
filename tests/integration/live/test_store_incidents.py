"""A failure of the database tells callers an incident id, and the log no data (R18, R19).

A group commit's error holds the statement and parameters of its whole batch, which mixes
companies' data: callers (anonymous ones included) get fixed words and an incident id; the
log gets the id and what failed, never a value.  Failures are real: a table renamed away
behind the running application's back, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatrec.web.ws import CustomerConnection
from tests.integration.clients import Client, run
from tests.integration.inprocess import demo_server
from tests.integration.live.test_protocol_errors import table_away

SECRET_TEXT = "my policy number is Zanzibar-7731"
INCIDENT = re.compile(r"[0-9a-f]{12}")
FIXED = (
    "the database failed; nothing was applied; try again later, and if it keeps failing "
    "give the operator incident {}"
)


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{record.getMessage()}\n{record.exc_text or ''}" for record in caplog.records)


def test_R18_R19_a_failed_commit_answers_an_incident_id_and_logs_no_data(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with demo_server(tmp_path / "data", database_url) as server:

        async def scenario() -> None:
            async with httpx.AsyncClient(base_url=server.url) as http:
                started = await http.post("/api/chats", json={"service_id": "demo-support"})
                token = started.json()["token"]
                customer = await Client.open(f"{server.ws_url}/ws/customer", {"token": token})
                with table_away(database_url, "chat_events"):
                    frame = await customer.send({"type": "message", "text": SECRET_TEXT})
                    answer = await http.post("/api/chats", json={"service_id": "demo-support"})
                with table_away(database_url, "chats"):
                    refused = await Client.open(f"{server.ws_url}/ws/customer", {"token": token})
                    await refused.ws.wait_closed()

            incident = frame.get("incident", "")
            assert INCIDENT.fullmatch(incident), frame
            assert frame == {
                "type": "error",
                "code": "store_unavailable",
                "message": FIXED.format(incident),
                "ref": frame["ref"],
                "retryable": True,
                "incident": incident,
            }
            assert answer.status_code == 503
            body = answer.json()["error"]
            assert INCIDENT.fullmatch(body.get("incident", "")), body
            assert body == {
                "code": "store_unavailable",
                "message": FIXED.format(body["incident"]),
                "incident": body["incident"],
            }
            hello = refused.frames[-1]
            assert hello["message"] == FIXED.format(hello["incident"])
            assert refused.ws.close_code == 1013

            log = logged(caplog)
            for case in (incident, body["incident"], hello["incident"]):
                line = next(line for line in log.splitlines() if f"incident {case}:" in line)
                assert "failed in the database" in line
                assert "chat_events" in line or "chats" in line, line  # the statement
            assert SECRET_TEXT not in log
            assert token not in log
            assert "parameters" not in log

        run(scenario)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_R19_R20_a_fault_sending_a_notice_closes_the_socket_and_the_client_resumes(
    database_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A connection whose writer failed must not stay open and silent: the client would
    wait for events for ever.  It is logged and closed (1011), and a new connection
    resumes by sequence with nothing lost (docs/protocol.md)."""
    caplog.set_level(logging.INFO)
    armed = asyncio.Event()
    on_notice = CustomerConnection.on_notice

    async def faulty(self: CustomerConnection, topic: str, notice: dict[str, Any]) -> None:
        if armed.is_set() and "seq" in notice:
            raise ValueError("a fault of the server's")
        await on_notice(self, topic, notice)

    monkeypatch.setattr(CustomerConnection, "on_notice", faulty)
    with demo_server(tmp_path / "data", database_url) as server:

        async def scenario() -> None:
            customer, _, token = await Client.customer(server, "demo-support")
            armed.set()  # set on the test's loop, read on the server's: a flag, no waiting
            # The notice of the committed message reaches the writer before its ack does.
            message = {"type": "message", "text": "Where is my order?", "ref": "m1"}
            await customer.ws.send(json.dumps(message))
            await asyncio.wait_for(customer.ws.wait_closed(), 10)
            assert customer.ws.close_code == 1011
            armed.clear()

            again = await Client.open(f"{server.ws_url}/ws/customer", {"token": token})
            await again.wait_for(lambda f: f["type"] == "chat")  # the replay is complete
            assert again.texts().count(message["text"]) == 1  # committed once, not lost

        run(scenario)
    assert "a notice could not be sent on; closing the connection" in logged(caplog)
