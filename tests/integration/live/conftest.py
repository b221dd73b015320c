"""Real servers on each database (SQLite and PostgreSQL).

``server`` (``fresh_server``) is a server of the test's own; on SQLite it starts from
the demo seeded once per worker (the database is still the test's own copy).
``tenant`` is a demo-like company of the test's own on ``shared_server``, one server per
module and database: a module whose tests need no fresh server binds ``server`` to it
(see :mod:`tests.integration.tenant`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatrec.store.store import Store
from tests.integration.server import SeededDemo, ServerProcess
from tests.integration.tenant import SHARED_LIMITS, Tenant
from tests.keys import SECRETS


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


@pytest.fixture(scope="module")
def shared_server(
    module_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    seeded_demo: SeededDemo,
) -> Iterator[ServerProcess]:
    """One server for a module's tests on one database; each test seeds its own company."""
    folder = tmp_path_factory.mktemp("shared-server")
    database_url = module_database_url
    if database_url.startswith("sqlite"):
        database_url = seeded_demo.copy_to(folder / "data", folder / "chatrec.db")
    process = ServerProcess(folder / "data", database_url, env=SHARED_LIMITS)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def _tenant_store(shared_server: ServerProcess) -> Iterator[Store]:
    opened = Store(shared_server.database_url, secrets=SECRETS)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def tenant(shared_server: ServerProcess, _tenant_store: Store) -> Tenant:
    """A demo-like company of this test's own on the module's shared server."""
    return Tenant.seed(shared_server, _tenant_store)
