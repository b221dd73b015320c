"""Every operation of the published OpenAPI schema, fuzzed against the application (R19).

Schemathesis reads ``/openapi.json`` from the demo's application, built as ``chatrec demo``
builds it (the demo company seeded, its lifespan started), and sends each operation
generated requests, valid and invalid, through its ASGI interface in this process: what
is fuzzed is the application's answers, not the network, which the live tests meet; a
``chatrec demo`` child and an HTTP round trip per case cost a quarter of this file's
time.  Whatever it sends, the application must answer without a 5xx, with a status
code the schema documents, in the documented content type and body shape.  The
operations come from the live schema, so an endpoint added later is fuzzed without
touching this file.

It runs twice: anonymously, where nearly everything must be refused cleanly, and as the
demo administrator (ada), which reaches the handlers behind authentication.

Each operation is a subtest driven by schemathesis's strategies rather than by
``schemathesis.pytest.from_fixture``: that loader reads ``Function._nodeid``, which
pytest 9.2 no longer has, and a schema loaded at import would need the server at
collection time.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest
import requests
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok
from schemathesis.python import asgi

from chatrec.bootstrap import build_app
from chatrec.config import Config
from chatrec.demo.company import LOGINS_FILE
from tests.integration.server import SeededDemo

pytestmark = pytest.mark.long  # tens of seconds: handed out first (tests/conftest.py)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# Bounded so the file runs in well under two minutes; derandomized so CI sees the same cases.
FUZZ = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@dataclass(frozen=True)
class DemoApp:
    """The demo's application and the folder ``chatrec demo`` wrote its logins to."""

    app: FastAPI
    data_dir: Path

    def get(self, path: str, headers: dict[str, str]) -> requests.Response:
        """A request as schemathesis sends its cases: on its event loop, lifespan started."""
        with asgi.get_client(cast(asgi.ASGIApp, self.app)) as client:
            return client.get(path, headers=headers)

    def token(self, login: str) -> str:
        entries = json.loads((self.data_dir / LOGINS_FILE).read_text())
        password = {entry["login"]: entry["password"] for entry in entries}[login]
        with asgi.get_client(cast(asgi.ASGIApp, self.app)) as client:
            response = client.post("/api/login", json={"login": login, "password": password})
        response.raise_for_status()
        token: str = response.json()["token"]
        return token


@pytest.fixture
def server(tmp_path: Path, seeded_demo: SeededDemo) -> Iterator[DemoApp]:
    """The demo's application as ``chatrec demo`` serves it, on a copy of the seeded demo;
    its lifespan runs on schemathesis's event loop from the first request to the end of
    the test (schemathesis's plugin ends it then: one application per test)."""
    base = tmp_path
    config = Config(
        data_dir=base / "data",
        database_url=seeded_demo.copy_to(base / "data", base / "chatrec.db"),
        # The demo's /metrics asks for a token, a new one at each start.
        metrics_token=SecretStr(secrets.token_urlsafe(32)),
        # Test connection to the demo's platform, not started here, answers only when its
        # time is up (issue 16.3).
        connection_test_seconds=2,
    )
    try:
        yield DemoApp(build_app(config), config.data_dir)
    finally:
        asgi.shutdown_lifespans()


@pytest.fixture
def administrator(server: DemoApp) -> dict[str, str]:
    """ada's bearer header, taken before any fuzzing: the anonymous run's many tries at
    /api/login would have the login limiter refuse her afterwards."""
    return {"Authorization": f"Bearer {server.token('ada')}"}


def live_operations(schema: schemathesis.BaseSchema) -> list[schemathesis.APIOperation]:
    """The schema's operations; one schemathesis cannot read fails the run."""
    operations = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            pytest.fail(f"unreadable operation in /openapi.json: {result.err()}")
        operations.append(result.ok())
    assert operations, "/openapi.json lists no operations"
    return operations


def fuzz(
    subtests: pytest.Subtests, schema: schemathesis.BaseSchema, headers: dict[str, str]
) -> None:
    """Valid and invalid requests to each operation, each in its own subtest."""
    for operation in live_operations(schema):
        cases = st.one_of(
            operation.as_strategy(generation_mode=mode) for mode in schemathesis.GenerationMode
        )

        @FUZZ
        @given(case=cases)
        def answers_as_documented(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        with subtests.test(msg=operation.label):
            answers_as_documented()


def load_schema(server: DemoApp) -> schemathesis.BaseSchema:
    # An explicit, empty config: no schemathesis.toml or environment changes what CI runs.
    return schemathesis.openapi.from_asgi("/openapi.json", server.app, config=schemathesis.Config())


@pytest.mark.usefixtures("administrator")  # ada logs in first, while the limiter lets her
def test_R19_anonymous_requests_get_documented_answers(
    server: DemoApp, subtests: pytest.Subtests
) -> None:
    fuzz(subtests, load_schema(server), headers={})


def test_R19_administrator_requests_get_documented_answers(
    server: DemoApp, administrator: dict[str, str], subtests: pytest.Subtests
) -> None:
    # Logging out and revoking a token end the very credential every case sends, so
    # the cases after them would run anonymously; the anonymous run covers them.
    schema = (
        load_schema(server)
        .exclude(method="POST", path="/api/logout")
        .exclude(method="POST", path="/api/logout-everywhere")
        .exclude(method="DELETE", path_regex=r"^/api/tokens(/|$)")
    )
    fuzz(subtests, schema, headers=administrator)
    # Nothing the generator draws can name ada's own id (it sees only the schema), so
    # no other case may end her session either; this says so if one ever does.
    me = server.get("/api/me", headers=administrator)
    assert me.status_code == 200, "a fuzzed request ended the administrator's session"
