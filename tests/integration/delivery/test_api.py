"""The outbox over HTTP, its metrics, and the worker the server runs (R16, R17, R18)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncssh
import httpx
import pytest
from fastapi import FastAPI

from chatrec.bootstrap import build
from chatrec.config import Config
from chatrec.delivery.sftp import classify
from chatrec.delivery.worker import destination_of
from chatrec.store.records import DeliveryState, ServiceRecord
from chatrec.store.store import Store
from chatrec.web.app import create_app
from chatrec.web.container import Container
from tests.integration.delivery.world import HOST_KEY_REASON, NOW, PASSWORD, build_world
from tests.integration.store.factories import (
    GLOBEX,
    destination,
    ended_chat,
    file_bytes,
    produced,
)
from tests.keys import SECRETS
from tests.unit.delivery.fakes import FakeUploader

RECORD_AND_END = """
name: Record and end
steps:
  - id: hello
    type: say
    text: This chat is recorded for quality.
  - id: quality
    type: record
    reason: quality
  - id: bye
    type: end
"""
METRICS_TOKEN = "metrics-token-of-the-tests-0123456789"
SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
def uploader() -> FakeUploader:
    return FakeUploader()


@pytest.fixture
def container(database_url: str, tmp_path: Path, uploader: FakeUploader) -> Iterator[Container]:
    config = Config(
        data_dir=tmp_path / "data",
        database_url=database_url,
        delivery_poll_seconds=30,
        metrics_token=METRICS_TOKEN,
    )
    world = Store(database_url, secrets=SECRETS, clock=lambda: NOW)
    try:
        build_world(world, staff=True)
    finally:
        world.close()
    built = build(config, uploader=uploader)
    try:
        yield built
    finally:
        built.store.close()


class Client:
    """Requests to the app in process, without its lifespan: no worker runs."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://chatrec") as http:
                return await http.request(method, url, **options)

        return asyncio.run(send())

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self.request("GET", url, **options)

    def post(self, url: str, **options: Any) -> httpx.Response:
        return self.request("POST", url, **options)


@pytest.fixture
def client(container: Container) -> Client:
    return Client(create_app(container))


def login(client: Client, name: str) -> dict[str, str]:
    answer = client.post("/api/login", json={"login": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_R18_overseers_see_their_own_company_deliveries_only(client: Client) -> None:
    ada, sam, gus, al = (login(client, name) for name in ("ada", "sam", "gus", "al"))
    acme = client.get("/api/deliveries", headers=ada).json()
    assert [d["remote_path"] for d in acme] == [
        "C1/R-C1.meta.json",
        "C1/R-C1.1.json",
        "C1/R-C1.0.json",
    ]
    assert {(d["state"], d["last_error"]) for d in acme} == {("blocked", HOST_KEY_REASON)}
    assert client.get("/api/deliveries", headers=sam).json() == acme
    globex = client.get("/api/deliveries?state=pending", headers=gus).json()
    assert [d["chat_id"] for d in globex] == ["G1", "G1"]
    assert client.get("/api/deliveries?state=blocked", headers=gus).json() == []
    assert client.get("/api/deliveries", headers=al).status_code == 403
    assert client.get("/api/deliveries").status_code == 401
    assert client.get("/api/deliveries?state=lost", headers=ada).status_code == 422


def test_R16_a_delivery_shows_its_destination_but_never_a_secret(client: Client) -> None:
    ada, gus = login(client, "ada"), login(client, "gus")
    first = min(d["delivery_id"] for d in client.get("/api/deliveries", headers=ada).json())
    shown = client.get(f"/api/deliveries/{first}", headers=ada).json()
    assert (shown["attempts"], shown["kind"], shown["size"]) == (
        1,
        "data",
        len(file_bytes("C1", "R-C1", "C1/R-C1.0.json")),
    )
    assert len(shown["sha256"]) == 64
    assert shown["destination"] == {
        "host": "127.0.0.1",
        "port": 2222,
        "username": "recordings",
        "folder": "/upload",
        "blocked_reason": HOST_KEY_REASON,
        "blocked_at": shown["destination"]["blocked_at"],
    }
    assert "PRIVATE KEY" not in str(shown)
    assert client.get(f"/api/deliveries/{first}", headers=gus).status_code == 404
    assert client.get("/api/deliveries/999", headers=ada).status_code == 404


def test_R18_supervisors_follow_deliveries_without_learning_where_they_go(
    client: Client, container: Container
) -> None:
    """Host, port, user and folder are left out for supervisors, in the destination and in
    every error; administrators see them (they set them)."""
    store = container.store
    acme = destination("acme")
    refused = classify(
        asyncssh.PermissionDenied("Permission denied"), destination_of(acme), "connect"
    )
    reason = f"{refused}; the folder '/upload/2026' is missing on 127.0.0.1"
    store.retry_deliveries(None, company_id="acme")
    store.block_destination("acme", reason, NOW)
    ada, sam = login(client, "ada"), login(client, "sam")
    first = min(d["delivery_id"] for d in client.get("/api/deliveries", headers=ada).json())
    paths = [
        "/api/admin/deliveries",
        "/api/admin/deliveries/R-C1",
        "/api/deliveries",
        f"/api/deliveries/{first}",
    ]
    for path in paths:
        assert (
            "127.0.0.1:2222 refused to log in user 'recordings'"
            in client.get(path, headers=ada).text
        )
        shown = client.get(path, headers=sam)
        assert shown.status_code == 200
        for where in ("127.0.0.1", "2222", "recordings", "/upload"):
            assert where not in shown.text, (path, where)
        assert "the platform refused to log in user (its user)" in shown.text, path
    detail = client.get("/api/admin/deliveries/R-C1", headers=sam).json()["destination"]
    assert detail == {
        "host": None,
        "port": None,
        "username": None,
        "folder": None,
        "blocked_reason": "the platform refused to log in user (its user) (Permission denied); "
        "the folder '(its folder)/2026' is missing on the platform",
        "blocked_at": detail["blocked_at"],
    }
    assert (
        client.get("/api/admin/deliveries/R-C1", headers=ada).json()["destination"]["folder"]
        == "/upload"
    )


def test_R16_an_administrator_retries_and_the_platform_is_unblocked(
    client: Client, container: Container
) -> None:
    ada, gus = login(client, "ada"), login(client, "gus")
    first = min(d["delivery_id"] for d in client.get("/api/deliveries", headers=ada).json())
    refused = client.post("/api/deliveries/retry", json={"ids": [first]}, headers=gus)
    assert refused.status_code == 404
    assert client.get(f"/api/deliveries/{first}", headers=ada).json()["state"] == "blocked"
    for wrong in ({}, {"ids": [first], "all": True}, {"ids": []}, {"every": True}):
        assert client.post("/api/deliveries/retry", json=wrong, headers=ada).status_code == 422
    retried = client.post("/api/deliveries/retry", json={"ids": [first]}, headers=ada)
    assert retried.json() == {"retried": 1}
    states = {d["state"] for d in client.get("/api/deliveries", headers=ada).json()}
    assert states == {"pending"}
    unblocked = container.store.get_destination("acme")
    assert unblocked is not None
    assert unblocked.blocked_reason is None
    everything = client.post("/api/deliveries/retry", json={"all": True}, headers=gus)
    assert everything.json() == {"retried": 2}


def deliver_one_more(store: Store) -> datetime:
    """Globex's second recording, delivered now (returned); its first waits as before."""
    recording = produced("R-G2", "G2", data=1, company_id="globex")
    assert store.apply([ended_chat("G2", (recording,), company_id="globex")]) == [None]
    now = datetime.now(UTC)
    claimed = store.claim_deliveries("w2", now, 60, 10)
    mine = [d.delivery_id for d in claimed if d.recording_id == "R-G2"]
    assert len(store.mark_delivered(mine, "w2", now)) == 2
    due = now + timedelta(hours=1)
    plan = [(d.delivery_id, "no platform", due) for d in claimed if d.recording_id != "R-G2"]
    store.mark_retries("w2", plan)
    return now


def test_R16_a_delivery_is_a_recording_with_its_files_inside(
    client: Client, container: Container
) -> None:
    delivered_at = deliver_one_more(container.store)
    ada, gus = login(client, "ada"), login(client, "gus")
    acme = client.get("/api/admin/deliveries", headers=ada).json()
    assert acme["next_cursor"] is None
    [blocked] = acme["items"]
    assert (blocked["recording_id"], blocked["state"], blocked["delivered_at"]) == (
        "R-C1",
        "blocked",
        None,
    )
    assert blocked["next_attempt_at"] is not None
    assert [f["remote_path"] for f in blocked["files"]] == [
        "C1/R-C1.0.json",
        "C1/R-C1.1.json",
        "C1/R-C1.meta.json",
    ]
    assert blocked["last_error"] == HOST_KEY_REASON
    globex = client.get("/api/admin/deliveries", headers=gus).json()["items"]
    assert [(d["recording_id"], d["state"]) for d in globex] == [
        ("R-G2", "delivered"),
        ("R-G1", "pending"),
    ]
    delivered = globex[0]
    assert delivered["next_attempt_at"] is None  # nothing more to try once delivered
    assert datetime.fromisoformat(delivered["delivered_at"]) == delivered_at
    assert {f["state"] for f in delivered["files"]} == {"delivered"}
    assert {f["next_attempt_at"] for f in delivered["files"]} == {None}
    only = client.get("/api/admin/deliveries?state=delivered", headers=gus).json()["items"]
    assert [d["recording_id"] for d in only] == ["R-G2"]
    shown = client.get("/api/admin/deliveries/R-G2", headers=gus).json()
    assert (shown["recording_id"], shown["destination"]) == ("R-G2", None)
    assert client.get("/api/admin/deliveries/R-G2", headers=ada).status_code == 404
    retried = client.post(
        "/api/admin/deliveries/retry", json={"recording_ids": ["R-G1", "R-G2"]}, headers=gus
    )
    assert retried.json() == {"retried": 2}  # R-G1's two files; delivered ones stay
    refused = client.post(
        "/api/admin/deliveries/retry", json={"recording_ids": ["R-C1"]}, headers=gus
    )
    assert refused.status_code == 404


def test_R16_deliveries_come_a_page_at_a_time_and_a_bad_cursor_is_refused(
    client: Client, container: Container
) -> None:
    deliver_one_more(container.store)
    gus = login(client, "gus")
    first = client.get("/api/admin/deliveries?limit=1", headers=gus).json()
    assert [d["recording_id"] for d in first["items"]] == ["R-G2"]
    cursor = first["next_cursor"]
    second = client.get(f"/api/admin/deliveries?limit=1&cursor={cursor}", headers=gus).json()
    assert ([d["recording_id"] for d in second["items"]], second["next_cursor"]) == (["R-G1"], None)
    audit = client.get("/api/admin/audit-entries?limit=1", headers=gus).json()
    for wrong in ("not-a-cursor", "e30", audit["next_cursor"]):
        refused = client.get(f"/api/admin/deliveries?cursor={wrong}", headers=gus)
        assert refused.status_code == 422, wrong
        assert refused.json()["error"]["code"] == "invalid"
        assert refused.json()["error"]["message"].startswith("query.cursor: ")


def test_R16_metrics_count_deliveries_by_state_and_age_the_oldest(client: Client) -> None:
    # The outbox was made at NOW, whenever this module was imported: age it from there.
    earliest = (datetime.now(UTC) - NOW).total_seconds()
    answer = client.get("/metrics", headers=SCRAPER)
    latest = (datetime.now(UTC) - NOW).total_seconds()
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in answer.text.splitlines()
        if line and not line.startswith("#")
    }
    assert samples['chatrec_deliveries{state="blocked"}'] == 3
    assert samples['chatrec_deliveries{state="pending"}'] == 2
    assert samples['chatrec_deliveries{state="delivered"}'] == 0
    assert samples["chatrec_deliveries_delivered_total"] == 0
    assert samples["chatrec_deliveries_failed_total"] == 0
    assert samples["chatrec_destinations_blocked_total"] == 0
    age = samples["chatrec_deliveries_oldest_pending_age_seconds"]
    assert earliest - 1 <= age <= latest + 1


def test_metrics_say_how_late_the_event_loop_ran(client: Client, container: Container) -> None:
    """The wait every frame had behind other work (issue 13): a histogram and the longest."""
    container.loop_watch.note(0.003)
    container.loop_watch.note(0.3)
    answer = client.get("/metrics", headers=SCRAPER)
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in answer.text.splitlines()
        if line and not line.startswith("#")
    }
    assert samples["chatrec_event_loop_longest_stall_seconds"] >= 0.3
    le = 'chatrec_event_loop_lateness_seconds_bucket{{le="{}"}}'
    assert samples[le.format("0.5")] - samples[le.format("0.25")] >= 1
    assert samples[le.format("+Inf")] == samples["chatrec_event_loop_lateness_seconds_count"]
    assert samples["chatrec_event_loop_lateness_seconds_sum"] >= 0.303


def test_R18_metrics_need_the_metrics_token_and_are_off_without_one(
    client: Client, container: Container
) -> None:
    """Every company's volumes: not for anonymous callers, nor for any staff login."""
    ada = login(client, "ada")
    refusals = [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {METRICS_TOKEN}"},
        {"Authorization": f"Bearer {METRICS_TOKEN}x"},
        ada,
    ]
    for headers in refusals:
        answer = client.get("/metrics", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.json()["error"]["code"] == "unauthenticated"
        assert "chatrec_deliveries" not in answer.text
    assert client.get("/metrics", headers=SCRAPER).status_code == 200
    off = Client(create_app(build(container.config.model_copy(update={"metrics_token": None}))))
    try:
        for headers in ({}, SCRAPER):
            answer = off.get("/metrics", headers=headers)
            assert answer.status_code == 404
            assert answer.json() == off.get("/no-such-path").json()
    finally:
        off.app.state.container.store.close()


def test_R16_R17_the_server_warns_at_start_delivers_on_a_chat_end_and_purges(
    container: Container, uploader: FakeUploader, caplog: pytest.LogCaptureFixture
) -> None:
    store = container.store
    store.update_company(replace(GLOBEX, retention_seconds=0))
    store.set_destination(destination("globex", folder="/globex", done_marker=False))
    store.save_flow("globex", "record-end", "Record and end", RECORD_AND_END)
    store.create_service(ServiceRecord("g-record", "globex", "Recorded", "record-end"))
    app = create_app(container)

    async def serve_one_chat() -> str:
        async with app.router.lifespan_context(app):
            assert HOST_KEY_REASON in caplog.text  # Acme's platform is blocked: said at start
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://chatrec") as http:
                started = await http.post("/api/chats", json={"service_id": "g-record"})
            assert started.status_code == 201  # the flow records, then ends the chat at once
            chat_id: str = started.json()["chat_id"]
            deadline = time.monotonic() + 10  # the poll is 30 s: only the chat's end wakes it
            while not purged(store, chat_id) and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            return chat_id

    with caplog.at_level(logging.WARNING):
        chat_id = asyncio.run(serve_one_chat())
    mine = [d for d in store.list_deliveries(company_id="globex") if d.chat_id == chat_id]
    # The recording's file, its signed manifest and the company's key, then its sidecar.
    assert [d.kind.value for d in mine] == ["sidecar", "data", "data", "data", "data"]
    assert {d.state for d in mine} == {DeliveryState.DELIVERED}
    assert all(f"/globex/{d.remote_path}" in uploader.remote for d in mine)
    assert store.delivery_contents([d.delivery_id for d in mine]) == {}  # emptied (R16)
    assert purged(store, chat_id)
    assert uploader.closed


def purged(store: Store, chat_id: str) -> bool:
    chat = store.get_chat(chat_id)
    return chat is not None and chat.purged_at is not None


def test_R16_a_server_told_to_leave_delivery_to_workers_commits_and_delivers_nothing(
    database_url: str, tmp_path: Path, uploader: FakeUploader, caplog: pytest.LogCaptureFixture
) -> None:
    config = Config(data_dir=tmp_path / "data", database_url=database_url, delivery_in_server=False)
    world = Store(database_url, secrets=SECRETS, clock=lambda: NOW)
    try:
        build_world(world, staff=True)
        world.set_destination(destination("globex", folder="/globex", done_marker=False))
        world.save_flow("globex", "record-end", "Record and end", RECORD_AND_END)
        world.create_service(ServiceRecord("g-record", "globex", "Recorded", "record-end"))
    finally:
        world.close()
    container = build(config, uploader=uploader)
    app = create_app(container)

    async def serve_one_chat() -> str:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://chatrec") as http:
                started = await http.post("/api/chats", json={"service_id": "g-record"})
            assert started.status_code == 201
            await asyncio.sleep(0.3)  # an in-server worker, woken by the end, is done by now
            return str(started.json()["chat_id"])

    try:
        with caplog.at_level(logging.INFO):
            chat_id = asyncio.run(serve_one_chat())
        assert "delivered by `chatrec worker` processes" in caplog.text
        mine = [d for d in container.store.list_deliveries() if d.chat_id == chat_id]
        assert len(mine) == 5
        assert {d.state for d in mine} == {DeliveryState.PENDING}
        held = container.store.delivery_contents([d.delivery_id for d in mine])
        assert [len(held[d.delivery_id]) for d in mine] == [d.size for d in mine]
        assert uploader.remote == {}
        # What a `chatrec worker` process does with them (and the world's other waiting files).
        assert asyncio.run(container.worker.run_once()) >= 3
        delivered = [d for d in container.store.list_deliveries() if d.chat_id == chat_id]
        assert {d.state for d in delivered} == {DeliveryState.DELIVERED}
    finally:
        container.store.close()
