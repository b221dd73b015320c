"""A migrated SQLite database per test, copied from one migrated once per session.

The worker's tests run its real store (its claims and leases are what they test) on
SQLite only; the store's own tests cover PostgreSQL.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from chatrec.store.migrations import migrate
from chatrec.store.store import Store
from tests.integration.store.factories import ACME, GLOBEX, destination, seed_two_companies
from tests.keys import SECRETS
from tests.unit.delivery.fakes import FakeClock
from tests.unit.domain.builders import T0


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "chatrec.db"
    migrate(f"sqlite:///{path}")
    return path


def open_store(template: Path, folder: Path, clock: FakeClock) -> Store:
    """A store on a fresh copy of the template: Acme and Globex, retention 0, no platform."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "chatrec.db"
    shutil.copyfile(template, path)
    store = Store(f"sqlite:///{path}", secrets=SECRETS, clock=clock)
    seed_two_companies(store)
    store.update_company(replace(ACME, retention_seconds=0))
    store.update_company(replace(GLOBEX, retention_seconds=0))
    return store


@pytest.fixture
def clock() -> FakeClock:
    """An hour after the chats of the factories started: they have ended by now."""
    return FakeClock(T0 + timedelta(hours=1))


@pytest.fixture
def store(migrated_sqlite: Path, tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    opened = open_store(migrated_sqlite, tmp_path / "db", clock)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def with_platforms(store: Store) -> Store:
    """Both companies deliver, Acme with a done-marker."""
    store.set_destination(destination("acme", done_marker=True))
    store.set_destination(destination("globex", folder="/globex", done_marker=False))
    return store
