"""The HTTP API's contract as its schema states it, and the lists that come a page at a time.

In process (httpx over ASGI, no lifespan: no worker runs) on the delivery tests' world:
Acme and Globex with their staff, and a few ended chats.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
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
from chatrec.services.admin.audit import audit_view, csv_chunks
from chatrec.store.records import AuditRecord
from chatrec.store.store import Store
from chatrec.web.app import create_app
from tests.integration.delivery.world import NOW, PASSWORD, build_world
from tests.integration.store.factories import ended_chat
from tests.keys import SECRETS
from tests.unit.domain.builders import T0

pytestmark = pytest.mark.long  # tens of seconds: handed out first (tests/conftest.py)

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
            headers = dict(options.pop("headers", {}))
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
    assert set(paths["/api/health"]["get"]["responses"]) == {"200", "503"}
    assert set(paths["/api/me"]["get"]["responses"]) == {"200", "401", "503"}
    assert "security" not in paths["/api/chats"]["post"]
    assert set(paths["/api/chats"]["post"]["responses"]) == {
        "201",
        "400",
        "404",
        "409",
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


def test_R18_the_api_documentation_has_the_pages_security_headers(app: FastAPI) -> None:
    """The schema, Swagger UI's files and the absent ReDoc page, as every other page."""
    page = call(app, "GET", "/login")
    for path, status in [
        ("/docs", 200),
        ("/openapi.json", 200),
        ("/docs/assets/swagger-ui-bundle.js", 200),
        ("/docs/assets/swagger-ui.css", 200),
        ("/redoc", 404),
    ]:
        answer = call(app, "GET", path)
        assert answer.status_code == status, path
        for name in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"):
            assert answer.headers.get(name) == page.headers[name], (path, name)


def test_the_audit_export_streams_what_the_whole_trail_gave(
    app: FastAPI, database_url: str
) -> None:
    """Over several pages (500 lines each), with lines sharing a time across a page's end,
    and values CSV and JSON must quote: the bytes of the whole trail written at once."""
    store = Store(database_url, secrets=SECRETS)
    try:
        detail = {"target": "x", "after": {"text": 'a, "b"\nc é'}, "before": None}
        lines = [
            AuditRecord("acme", T0 + timedelta(seconds=n // 7), "ada", "note", None, detail)
            for n in range(1201)
        ]
        acme = store.get_company("acme")
        assert acme is not None
        store.update_company(acme, audit=lines)
        whole = store.list_audit("acme")
    finally:
        store.close()
    assert len(whole) == 1201
    url = "/api/admin/audit-entries/export"
    as_json = call(app, "GET", url, "ada", params={"format": "json"})
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.text == json.dumps([audit_view(e) for e in whole], indent=2, default=str)
    as_csv = call(app, "GET", url, "ada", params={"format": "csv"})
    assert as_csv.headers["content-disposition"] == 'attachment; filename="chatrec-audit.csv"'
    assert as_csv.text == "".join(csv_chunks([whole]))
    assert len(list(csv.DictReader(io.StringIO(as_csv.text)))) == len(whole)
    since = {"format": "json", "since": "2999-01-01T00:00:00Z"}
    assert call(app, "GET", url, "ada", params=since).text == "[]"


def test_R22_masking_is_tried_before_it_is_saved_and_a_bad_pattern_changes_nothing(
    app: FastAPI,
) -> None:
    national = {"name": "National ID", "pattern": r"\b[A-Z]{2}\d{6}[A-D]\b"}
    tried = call(
        app,
        "POST",
        "/api/admin/masking-preview",
        "ada",
        json={"text": "4111 1111 1111 1111 / AB123456C", "masking_patterns": [national]},
    )
    assert tried.json() == {
        "text": "**** **** **** 1111 / *********",
        "masked_card_numbers": 1,
        "masked_other_values": 1,
    }
    before = call(app, "GET", "/api/admin/companies/acme", "ada").json()
    assert (before["mask_card_numbers"], before["masking_patterns"]) == (True, [])
    bad = {"name": "Repeat", "pattern": r"(\d)\1"}
    for method, url, body in [
        ("POST", "/api/admin/masking-preview", {"text": "x", "masking_patterns": [bad]}),
        (
            "PATCH",
            "/api/admin/companies/acme",
            {"name": "Renamed", "mask_card_numbers": False, "masking_patterns": [national, bad]},
        ),
    ]:
        refused = call(app, method, url, "ada", json=body)
        assert refused.status_code == 422, refused.text
        message = refused.json()["error"]["message"]
        assert message.startswith("masking pattern 'Repeat': invalid escape sequence: \\1. ")
    assert call(app, "GET", "/api/admin/companies/acme", "ada").json() == before
    saved = call(
        app,
        "PATCH",
        "/api/admin/companies/acme",
        "ada",
        json={"mask_card_numbers": False, "masking_patterns": [national]},
    ).json()
    assert (saved["mask_card_numbers"], saved["masking_patterns"]) == (False, [national])


def test_R23_canned_responses_the_companys_and_ones_own_each_where_it_belongs(
    app: FastAPI,
) -> None:
    """Administrators change the company's; every login is offered those and its own,
    filled for it; nobody else reaches one's own; a refusal says why (R18, R19)."""
    tokens = {}
    for login in ("ada", "sam", "al", "gus"):  # once each: sign-ins are rate limited
        signed_in = call(app, "POST", "/api/login", json={"login": login, "password": PASSWORD})
        tokens[login] = {"Authorization": f"Bearer {signed_in.json()['token']}"}

    def as_(login: str, method: str, url: str, **options: Any) -> httpx.Response:
        response: httpx.Response = call(app, method, url, headers=tokens[login], **options)
        return response

    company = {
        "name": "greet",
        "text": "Hello {customer_name}, this is {agent_name} of {company_name}.",
    }
    made = as_("ada", "POST", "/api/admin/canned-responses", json=company)
    assert made.status_code == 201, made.text
    greet = made.json()
    assert greet["scope"] == "company"
    own = as_("al", "POST", "/api/me/canned-responses", json={"name": "bye", "text": "Bye!"})
    assert own.status_code == 201, own.text

    offered = as_("al", "GET", "/api/canned-responses").json()
    assert [(r["name"], r["scope"]) for r in offered["responses"]] == [
        ("bye", "personal"),
        ("greet", "company"),
    ]
    assert offered["responses"][1]["preview"] == "Hello there, this is Al of Acme."
    assert offered["values"]["customer_name"] == "there"
    assert [r["name"] for r in as_("ada", "GET", "/api/canned-responses").json()["responses"]] == [
        "greet"
    ]
    assert [r["name"] for r in as_("sam", "GET", "/api/admin/canned-responses").json()] == ["greet"]

    target = f"/api/admin/canned-responses/{greet['response_id']}"
    mine = f"/api/me/canned-responses/{own.json()['response_id']}"
    refused = [
        (as_("al", "PATCH", target, json={"text": "mine"}), 403, "forbidden"),
        (as_("gus", "PATCH", target, json={"text": "ours"}), 404, "not_found"),
        (as_("ada", "DELETE", mine), 404, "not_found"),
        (
            as_("ada", "DELETE", f"/api/me/canned-responses/{greet['response_id']}"),
            404,
            "not_found",
        ),
        (
            as_("ada", "PATCH", target, json={"text": "Dear {customer}"}),
            422,
            "invalid",
        ),
        (as_("ada", "PATCH", target, json={"text": "x", "owner": "al"}), 422, "invalid"),
        (as_("ada", "PATCH", target, json={"name": "two words"}), 422, "invalid"),
    ]
    taken = as_("ada", "POST", "/api/admin/canned-responses", json=company)
    assert taken.json()["error"]["code"] == "conflict"  # a taken name, as a queue's
    assert taken.status_code == 409  # as documented: a conflict, not a bare 400
    for response, status, code in refused:
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), (
            response.text
        )
    assert "unknown placeholder {customer}" in refused[4][0].json()["error"]["message"]
    assert (
        "{customer_name}, {agent_name}, {company_name}" in refused[4][0].json()["error"]["message"]
    )
    kept = as_("ada", "GET", "/api/admin/canned-responses").json()
    assert kept[0]["text"] == company["text"]  # nothing refused changed it

    assert as_("al", "DELETE", mine).status_code == 204
    assert as_("ada", "DELETE", target).status_code == 204
    assert as_("al", "GET", "/api/canned-responses").json()["responses"] == []
