"""Real servers on each database (SQLite and PostgreSQL).

``server`` (``fresh_server``) is a server of the test's own; on SQLite it starts from
the demo seeded once per worker (the database is still the test's own copy).
``tenant`` is a demo-like company of the test's own on ``shared_server``, one server per
database for the whole run (per xdist worker): a module whose tests need no fresh server
binds ``server`` to it (see :mod:`tests.integration.tenant`).  Tenants never meet, so
what one module leaves on the shared server is another company's, as within a module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatrec.store.migrations import migrate
from tests.conftest import _postgres_schema_url
from tests.integration.server import SeededDemo, ServerProcess, start_together
from tests.integration.tenant import SHARED_LIMITS, SHARED_METRICS_TOKEN


@pytest.fixture
def server(fresh_server: ServerProcess) -> ServerProcess:
    """A server of the test's own (a module that shares one binds ``server`` to ``tenant``)."""
    return fresh_server


@pytest.fixture
def fresh_server(
    database_url: str, tmp_path: Path, seeded_demo: SeededDemo
) -> Iterator[ServerProcess]:
    if database_url.startswith("sqlite"):
        database_url = seeded_demo.copy_to(tmp_path / "data", tmp_path / "chatrec.db")
    process = ServerProcess(tmp_path / "data", database_url)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def _shared_servers(
    tmp_path_factory: pytest.TempPathFactory, seeded_demo: SeededDemo
) -> Iterator[dict[str, ServerProcess]]:
    """The two shared servers, started side by side the first time a module needs one:
    every module of this tree uses both."""
    sqlite = tmp_path_factory.mktemp("shared-server-sqlite")
    postgresql = tmp_path_factory.mktemp("shared-server-postgresql")
    with _postgres_schema_url() as database_url:
        migrate(database_url)
        env = SHARED_LIMITS | {"CHATREC_METRICS_TOKEN": SHARED_METRICS_TOKEN}
        servers = {
            "sqlite": ServerProcess(
                sqlite / "data",
                seeded_demo.copy_to(sqlite / "data", sqlite / "chatrec.db"),
                env=env,
            ),
            "postgresql": ServerProcess(postgresql / "data", database_url, env=env),
        }
        try:
            start_together(*servers.values())
            yield servers
        finally:
            for server in servers.values():
                server.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_server(request: pytest.FixtureRequest) -> ServerProcess:
    """One server per database for every module's tests; each test seeds its own company.
    A start costs seconds: once per run (per worker), not once per module.  One session
    fixture holding both, not one parametrized by database: pytest keeps one value of a
    fixture at a time, and a module's tests switch databases."""
    servers: dict[str, ServerProcess] = request.getfixturevalue("_shared_servers")
    return servers[request.param]
