"""Every operation of the published OpenAPI schema, fuzzed against a real server (R19).

Schemathesis reads ``/openapi.json`` from a running ``chatrec demo`` and sends each
operation generated requests, valid and invalid.  Whatever it sends, the server must
answer without a 5xx, with a status code the schema documents, in the documented
content type and body shape.  The operations come from the live schema, so an endpoint
added later is fuzzed without touching this file.

It runs twice: anonymously, where nearly everything must be refused cleanly, and as the
demo administrator (ada), which reaches the handlers behind authentication.

Each operation is a subtest driven by schemathesis's strategies rather than by
``schemathesis.pytest.from_fixture``: that loader reads ``Function._nodeid``, which
pytest 9.2 no longer has, and a schema loaded at import would need the server at
collection time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from tests.integration.server import SeededDemo, ServerProcess

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


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, seeded_demo: SeededDemo
) -> Iterator[ServerProcess]:
    base: Path = tmp_path_factory.mktemp("openapi-fuzz")
    # Test connection to the demo's platform, not started here, answers only when its
    # time is up (issue 16.3): well within schemathesis's 10 s read timeout.
    process = ServerProcess(
        base / "data",
        seeded_demo.copy_to(base / "data", base / "chatrec.db"),
        env={"CHATREC_CONNECTION_TEST_SECONDS": "2"},
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def administrator(server: ServerProcess) -> dict[str, str]:
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


def load_schema(server: ServerProcess) -> schemathesis.BaseSchema:
    # An explicit, empty config: no schemathesis.toml or environment changes what CI runs.
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=schemathesis.Config())


@pytest.mark.usefixtures("administrator")  # ada logs in first, while the limiter lets her
def test_R19_anonymous_requests_get_documented_answers(
    server: ServerProcess, subtests: pytest.Subtests
) -> None:
    fuzz(subtests, load_schema(server), headers={})


def test_R19_administrator_requests_get_documented_answers(
    server: ServerProcess, administrator: dict[str, str], subtests: pytest.Subtests
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
    me = httpx.get(f"{server.url}/api/me", headers=administrator)
    assert me.status_code == 200, "a fuzzed request ended the administrator's session"
