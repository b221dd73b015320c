"""The HTTP API's contract as its schema states it, and the lists that come a page at a time.

In process (httpx over ASGI, no lifespan: no worker runs) on the delivery tests' world:
Acme and Globex with their staff, and a few ended chats.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from chatrec.bootstrap import build
from chatrec.config import Config
from chatrec.store.store import Store
from chatrec.web.app import create_app
from tests.integration.delivery.world import NOW, PASSWORD, build_world
from tests.integration.store.factories import ended_chat
from tests.keys import SECRETS
from tests.unit.domain.builders import T0

OPERATION_ID = re.compile(r"[a-z][a-zA-Z]+")


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    config = Config(data_dir=tmp_path / "data", database_url=database_url)
    world = Store(database_url, secrets=SECRETS, clock=lambda: NOW)
    try:
        build_world(world, staff=True)
        # Three more chats of Acme's, a minute apart, after C1.
        starts = {f"C{n}": T0 + timedelta(minutes=n) for n in (2, 3, 4)}
        assert world.apply([ended_chat(c, start=at) for c, at in starts.items()]) == [None] * 3
    finally:
        world.close()
    container = build(config)
    try:
        yield create_app(container)
    finally:
        container.store.close()


def call(app: FastAPI, method: str, url: str, login: str | None = None, **options: Any) -> Any:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://chatrec") as http:
            headers = {}
            if login is not None:
                body = {"login": login, "password": PASSWORD}
                token = (await http.post("/api/login", json=body)).json()["token"]
                headers["Authorization"] = f"Bearer {token}"
            return await http.request(method, url, headers=headers, **options)

    return asyncio.run(send())


def pages(app: FastAPI, url: str, login: str) -> list[list[dict[str, Any]]]:
    """Every page of a list, two items a page, following ``next_cursor``."""
    found: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = call(app, "GET", url, login, params=params).json()
        assert len(page["items"]) <= 2
        found.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def test_chats_and_the_audit_trail_come_newest_first_a_page_at_a_time(app: FastAPI) -> None:
    chats = pages(app, "/api/chats/history", "sam")
    assert [[chat["chat_id"] for chat in page] for page in chats] == [["C4", "C3"], ["C2", "C1"]]
    names = [f"Acme {n}" for n in range(5)]
    for name in names:
        changed = call(app, "PATCH", "/api/admin/companies/acme", "ada", json={"name": name})
        assert changed.status_code == 200, changed.text
    lines = pages(app, "/api/admin/audit-entries", "ada")
    assert [len(page) for page in lines] == [2, 2, 1]
    renamed = [line["detail"]["after"]["name"] for page in lines for line in page]
    assert renamed == names[::-1]


def test_old_paths_answer_as_before_for_one_version(app: FastAPI) -> None:
    """Deprecated, in the schema as such, and with the answers they always gave."""
    old = call(app, "GET", "/api/admin/chats", "sam").json()
    assert [chat["chat_id"] for chat in old] == ["C4", "C3", "C2", "C1"]
    assert call(app, "GET", "/api/admin/company", "sam").json()["company_id"] == "acme"
    files = call(app, "GET", "/api/deliveries", "ada").json()
    assert [f["remote_path"] for f in files] == [
        "C1/R-C1.meta.json",
        "C1/R-C1.1.json",
        "C1/R-C1.0.json",
    ]
    audit = call(app, "GET", "/api/admin/audit", "ada").json()
    assert isinstance(audit, list)
    schema = call(app, "GET", "/openapi.json").json()
    deprecated = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if operation.get("deprecated")
    }
    assert deprecated == {
        ("GET", "/api/admin/chats"),
        ("GET", "/api/admin/chats/{chat_id}/journal"),
        ("GET", "/api/admin/company"),
        ("PATCH", "/api/admin/company"),
        ("GET", "/api/deliveries"),
        ("GET", "/api/deliveries/{delivery_id}"),
        ("POST", "/api/deliveries/retry"),
        ("GET", "/api/admin/audit"),
        ("GET", "/api/admin/audit/export"),
    }


def test_every_operation_is_named_tagged_secured_and_refuses_only_what_it_can(
    app: FastAPI,
) -> None:
    schema = call(app, "GET", "/openapi.json").json()
    assert set(schema["components"]["securitySchemes"]) == {"bearer", "session"}
    assert schema["components"]["securitySchemes"]["session"]["name"] == "chatrec_session"
    problems, names = [], []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            names.append(operation["operationId"])
            if not OPERATION_ID.fullmatch(operation["operationId"]):
                problems.append(f"{where}: operationId {operation['operationId']!r}")
            if not operation.get("tags"):
                problems.append(f"{where}: no tag")
            credentials = [
                p["name"]
                for p in operation.get("parameters", [])
                if p["name"].lower() in {"authorization", "chatrec_session"}
            ]
            if credentials:
                problems.append(f"{where}: credentials as parameters {credentials}")
            if "security" in operation and operation["security"] != [
                {"bearer": []},
                {"session": []},
            ]:
                problems.append(f"{where}: security {operation['security']}")
    assert sorted(names) == sorted(set(names)), "operationIds repeat"
    assert not problems, "\n".join(problems)
    paths = schema["paths"]
    assert set(paths["/api/health"]["get"]["responses"]) == {"200"}
    assert set(paths["/api/me"]["get"]["responses"]) == {"200", "401", "503"}
    assert "security" not in paths["/api/chats"]["post"]
    assert set(paths["/api/chats"]["post"]["responses"]) == {
        "201",
        "400",
        "404",
        "422",
        "429",
        "503",
    }
    components = schema["components"]["schemas"]
    assert components["Role"]["enum"] == ["operator", "administrator", "supervisor", "agent"]
    assert set(components["DeliveryState"]["enum"]) == {
        "pending",
        "delivering",
        "delivered",
        "blocked",
    }
    assert set(components["ChatStatus"]["enum"]) == {"flow", "queued", "active", "ended"}
