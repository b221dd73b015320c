"""Fixtures shared by every test tree: a migrated, empty database on SQLite and PostgreSQL.

A test that takes ``database_url`` (or ``store``) runs once per database.  PostgreSQL
comes from ``CHATREC_TEST_DATABASE_URL``; when it cannot be reached the test fails,
it is never skipped, so a green run always means both databases were exercised.  Each
test gets a schema (found through ``search_path``) that no other test uses meanwhile,
as a fresh migration leaves it: migrated once, emptied between tests
(``tests.postgres_schemas``); on SQLite, its own copy of a file migrated once per worker.

Every test runs with the run's key of the SFTP secrets in ``CHATREC_SECRET_KEY``
(:mod:`tests.keys`), so stores opened by tests and the chatrec processes they start
read each other's secrets; with passwords hashed at the lowest cost the settings
accept, in this process and in those it starts, so the suite's thousands of hashes stay
quick; and with ``CHATREC_EGRESS_ALLOW=127.0.0.1``, the narrowest egress policy that lets
them deliver to the test platforms (all on 127.0.0.1, on free ports).  A test of the
default policy sets its own.
"""

from __future__ import annotations

import functools
import os
import shutil
import ssl
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import httpx
import httpx._transports.default as httpx_transports
import pytest
import typer.main
import typer.testing
from hypothesis import settings
from sqlalchemy import URL, make_url
from sqlalchemy.exc import OperationalError

from chatrec.demo.sshd import LOOPBACK
from chatrec.services import passwords
from chatrec.services.passwords import HashingCost
from chatrec.store.migrations import migrate
from chatrec.store.secrets import KEY_VARIABLE
from chatrec.store.store import Store
from tests import harness
from tests.forking import Forker
from tests.integration.server import SeededDemo, ServerProcess
from tests.integration.tenant import Tenant
from tests.keys import SECRET_KEY, SECRETS
from tests.postgres_schemas import SchemaPool

# Speed is measured by the benchmarks, never by a test (this machine is shared): no
# example of a property fails for taking long, as Hypothesis's 200 ms deadline would.
settings.register_profile("chatrec", deadline=None)
settings.load_profile("chatrec")

POSTGRES_URL_VARIABLE = "CHATREC_TEST_DATABASE_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
E2E = Path(__file__).parent / "e2e"


@pytest.fixture(autouse=True, scope="session")
def _secret_key() -> Iterator[None]:
    """The run's key in the environment, before any server or worker fixture starts;
    and the test platforms' address allowed (loopback is refused by default)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_VARIABLE, SECRET_KEY)
        patch.setenv("CHATREC_EGRESS_ALLOW", LOOPBACK)
        yield


TEST_PASSWORD_COST = HashingCost(memory_kib=7168, time_cost=1, parallelism=1)
"""The lowest cost the settings accept (``CHATREC_PASSWORD_MEMORY_KIB`` ≥ 7168, one pass):
3.5 ms a hash here against 23 ms at OWASP's minimum (19 MiB, 2 passes), and the suite
computes some three thousand (its CPU, integration and browser tests: 436 → 416 s).
The tests check that hashes follow the configured cost, never which cost protects a
real login: the product's default stays argon2's (64 MiB, 3 passes, 4 lanes)."""
TEST_COST_PARAMETERS = (
    f"m={TEST_PASSWORD_COST.memory_kib},t={TEST_PASSWORD_COST.time_cost},"
    f"p={TEST_PASSWORD_COST.parallelism}"
)
"""How a hash at :data:`TEST_PASSWORD_COST` states its parameters."""


@pytest.fixture(autouse=True, scope="session")
def _password_cost() -> Iterator[None]:
    """The test cost for the run: in the settings (``CHATREC_PASSWORD_*``, read by every
    ``Config`` and child process) and in this process's hasher."""
    before = passwords.current()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHATREC_PASSWORD_MEMORY_KIB", str(TEST_PASSWORD_COST.memory_kib))
        patch.setenv("CHATREC_PASSWORD_TIME_COST", str(TEST_PASSWORD_COST.time_cost))
        patch.setenv("CHATREC_PASSWORD_PARALLELISM", str(TEST_PASSWORD_COST.parallelism))
        passwords.configure(TEST_PASSWORD_COST)
        try:
            yield
        finally:
            passwords.configure(before.cost, concurrency=before.concurrency)


def _unreachable(server: URL, error: OperationalError) -> NoReturn:
    pytest.fail(
        f"PostgreSQL at {server!r} is unreachable ({error.orig}); start it or set "
        f"{POSTGRES_URL_VARIABLE}",
        pytrace=False,
    )


@pytest.fixture(autouse=True, scope="session")
def _commands_built_once() -> Iterator[None]:
    """Typer's test runner builds an app's whole command tree at every ``invoke``: about
    0.2 s here, every command's type hints evaluated, against milliseconds for most
    commands' own work. The tree does not change while the tests run: built once."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typer.testing, "_get_command", functools.cache(typer.main.get_command))
        yield


@pytest.fixture(autouse=True, scope="session")
def _chatrec_forked() -> Iterator[None]:
    """Servers and workers the tests start are forks of one interpreter per test process
    that imported chatrec once (:mod:`tests.forking`): about 1.2 s of CPU saved per start,
    some hundred starts in the suite."""
    forker = Forker()
    harness.fork_chatrec_from(forker)
    try:
        yield
    finally:
        harness.fork_chatrec_from(None)
        forker.close()


@pytest.fixture(autouse=True, scope="session")
def _one_tls_context() -> Iterator[None]:
    """httpx builds a TLS context, certifi's CA bundle loaded, for every client it makes,
    each ``httpx.get`` included: 23 ms of CPU here, and 7-9 % of the suite's samples in
    py-spy (health checks polled every 0.1 s, tokens, customers), for requests that all
    go to plain http on the loopback.  One context for httpx's defaults, shared as httpx
    recommends; any other ``verify`` or ``cert`` is made as httpx makes it."""
    shared = httpx.create_ssl_context()

    def create_ssl_context(
        verify: ssl.SSLContext | str | bool = True, cert: Any = None, trust_env: bool = True
    ) -> ssl.SSLContext:
        if verify is True and cert is None and trust_env:
            return shared
        return httpx.create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx_transports, "create_ssl_context", create_ssl_context)
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files marked ``long`` first, then files by their number of tests, most first; each
    file's tests kept together and in order.  pytest-xdist hands out whole files in this
    order (``make test`` turns its own reordering, by number of tests alone, off): left to
    that, the few-test files that run longest (the fuzzers, the 200-chat load, the killed
    workers) went out last, and one worker ran them alone at the end."""
    tests = Counter(item.path for item in items)
    long = {item.path for item in items if item.get_closest_marker("long") is not None}
    items.sort(key=lambda item: (item.path not in long, -tests[item.path]))


def _postgres_server() -> URL:
    return make_url(os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL))


@contextmanager
def _postgres_schema_url() -> Iterator[str]:
    """A schema of the caller's own, migrated by the caller, dropped after."""
    pool = SchemaPool(_postgres_server())
    try:
        try:
            schema = pool.created()
        except OperationalError as error:
            _unreachable(pool.server, error)
        yield pool.url(schema)
    finally:
        pool.close()


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per worker; each test gets a copy of its own."""
    path = tmp_path_factory.mktemp("migrated") / "chatrec.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def seeded_demo(_migrated_sqlite: Path, tmp_path_factory: pytest.TempPathFactory) -> SeededDemo:
    """The demo company seeded once per worker, for servers on SQLite to start from."""
    return SeededDemo.create(tmp_path_factory.mktemp("seeded") / "demo", _migrated_sqlite)


@pytest.fixture(scope="session")
def _postgres_schemas() -> Iterator[SchemaPool]:
    """Migrated schemas of this test process, emptied between tests rather than migrated
    for each (``tests.postgres_schemas``)."""
    pool = SchemaPool(_postgres_server())
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    _migrated_sqlite: Path,
    _postgres_schemas: SchemaPool,
) -> Iterator[str]:
    """The URL of a migrated, empty database of the parametrized kind."""
    if request.param == "sqlite":
        path = tmp_path / "chatrec.db"
        shutil.copyfile(_migrated_sqlite, path)
        yield f"sqlite:///{path}"
        return
    try:
        schema = _postgres_schemas.take()
    except OperationalError as error:
        _unreachable(_postgres_schemas.server, error)
    yield _postgres_schemas.url(schema)
    _postgres_schemas.give_back(schema)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A :class:`Store` on the migrated, empty database; closed (engine disposed) after."""
    opened = Store(database_url, secrets=SECRETS)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="module")
def _tenant_store(shared_server: ServerProcess) -> Iterator[Store]:
    """The store of the shared server a directory's conftest provides (e2e, live)."""
    opened = Store(shared_server.database_url, secrets=SECRETS)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def tenant(shared_server: ServerProcess, _tenant_store: Store) -> Tenant:
    """A demo-like company of this test's own on the module's shared server."""
    return Tenant.seed(shared_server, _tenant_store)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before a test outside tests/e2e, stop the browser tests' Chromium if it runs: its
    Playwright loop, marked as running in this thread, would break ``asyncio.run``."""
    chromium = sys.modules.get("tests.e2e.chromium")
    if chromium is not None and E2E not in item.path.parents:
        chromium.WORKER_CHROMIUM.stop()
