"""The public HTTP endpoints the widget uses, and their errors (R1, R11a, R18, R19)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from chatrec.bootstrap import build
from chatrec.config import Config
from chatrec.web.app import create_app
from tests.integration.clients import run
from tests.integration.inprocess import serving
from tests.integration.live.test_live_recording import available, queued_to
from tests.integration.server import ServerProcess
from tests.integration.tenant import SHARED_METRICS_TOKEN, Tenant


@pytest.fixture
def server(tenant: Tenant) -> Tenant:
    """A company of the test's own on the module's server (one per database)."""
    return tenant


def test_R10_R11a_a_service_says_whether_its_chats_are_recorded_and_ask_consent(
    server: ServerProcess,
) -> None:
    body = httpx.get(f"{server.url}/api/services/{server.id('demo-support')}").json()
    assert body == {
        "service_id": server.id("demo-support"),
        "name": "Support",
        "company": "Demo Insurance",
        "records": True,
        "asks_consent": False,
        "open": True,  # no business hours: always open
        "closed_message": None,
        "pre_chat_form": [],  # no form: the chat starts at once (R23)
    }
    sales = httpx.get(f"{server.url}/api/services/{server.id('demo-sales')}").json()
    assert sales["asks_consent"] is True  # its flow asks first: the widget promises nothing


def scrape(server: Tenant) -> str:
    scraper = {"Authorization": f"Bearer {SHARED_METRICS_TOKEN}"}
    metrics = httpx.get(f"{server.url}/metrics", headers=scraper, timeout=10)
    assert metrics.status_code == 200
    return metrics.text


def test_a_server_leaves_its_start_up_heap_out_of_full_collections(server: Tenant) -> None:
    # Walking the ~150,000 objects start-up built held the GIL 90-190 ms per full
    # collection: every chat's frames waited (issue 13, recording_overhead's stall).
    frozen = next(
        float(line.split()[1])
        for line in scrape(server).splitlines()
        if line.startswith("chatrec_gc_frozen_objects ")
    )
    assert frozen > 50_000


def test_a_server_serves_its_sockets_on_uvloop(server: Tenant) -> None:
    # uvicorn's own run takes uvloop: about a fifth less CPU a message than asyncio's
    # loop, on which ``asyncio.run`` of the server had served (issue 13).
    assert 'chatrec_event_loop_info{implementation="uvloop"} 1.0' in scrape(server)


def test_R19_unknown_ids_and_bad_bodies_get_clear_errors(server: ServerProcess) -> None:
    missing = httpx.get(f"{server.url}/api/services/nope")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "no service 'nope'"}}
    bad = httpx.post(
        f"{server.url}/api/chats", json={"service_id": server.id("demo-support"), "x": 1}
    )
    assert bad.status_code == 422
    wrong = httpx.post(f"{server.url}/api/login", json={"login": "alice", "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["message"].startswith("wrong login or password; ")


def test_R18_widget_origins_may_start_chats_but_get_no_credentials(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The application served in process, not a server of its own: the origins are read
    from the environment as ``chatrec demo`` reads them, and answered by its CORS layer."""
    monkeypatch.setenv("CHATREC_WIDGET_ORIGINS", '["https://shop.example"]')
    config = Config(data_dir=tmp_path / "data", database_url=database_url, delivery_in_server=False)
    container = build(config)
    try:
        with serving(create_app(container)) as port:
            url = f"http://127.0.0.1:{port}/api/chats"
            preflight = httpx.options(
                url,
                headers={
                    "Origin": "https://shop.example",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "Content-Type",
                },
            )
            assert preflight.headers["access-control-allow-origin"] == "https://shop.example"
            assert "access-control-allow-credentials" not in preflight.headers
            other = httpx.options(
                url,
                headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
            )
            assert "access-control-allow-origin" not in other.headers
    finally:
        container.store.close()


def test_R18_an_agent_who_transfers_away_gets_a_last_summary_without_them(
    server: ServerProcess,
) -> None:
    async def scenario() -> None:
        _, alice, chat_id = await queued_to(server, "alice")
        carol = await available(server, "carol")
        await alice.ok(
            {"type": "transfer", "chat_id": chat_id, "to_agent": server.id("demo-carol")}
        )
        final = await alice.state(
            chat_id,
            lambda c: server.id("demo-alice") not in [p["user_id"] for p in c["participants"]],
        )
        assert [p["user_id"] for p in final["participants"]] == [server.id("demo-carol")]
        await carol.ok({"type": "message", "chat_id": chat_id, "text": "Carol here."})
        await carol.event(chat_id, lambda e: e.get("text") == "Carol here.")
        assert "Carol here." not in alice.texts(chat_id)

    run(scenario)
