"""A real server per test, on each database (SQLite and PostgreSQL); on SQLite it starts
from the demo seeded once per worker (the database is still the test's own copy)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.server import SeededDemo, ServerProcess


@pytest.fixture
def server(database_url: str, tmp_path: Path, seeded_demo: SeededDemo) -> Iterator[ServerProcess]:
    if database_url.startswith("sqlite"):
        database_url = seeded_demo.copy_to(tmp_path / "data", tmp_path / "chatrec.db")
    process = ServerProcess(tmp_path / "data", database_url)
    process.start()
    try:
        yield process
    finally:
        process.stop()
