"""A worker started with another secrets key than the servers' (R18, R20).

Every node and worker of one database must load the same key: a worker on a data folder
of its own, without ``CHATREC_SECRET_KEY``, makes a key file there that opens none of the
platforms' secrets.  It must end at once saying what to set, not with a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chatrec.store.secrets import KEY_VARIABLE
from chatrec.store.store import Store
from tests.harness import run_chatrec
from tests.integration.store.factories import destination, seed


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_R18_R20_a_worker_with_another_key_than_the_servers_ends_saying_what_to_set(
    store: Store, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(store)
    store.set_destination(destination())  # saved with the run's key, as a server does
    monkeypatch.delenv(KEY_VARIABLE)
    assert KEY_VARIABLE not in os.environ
    refused = run_chatrec(
        *("worker", "--once", "--database-url", database_url, "--data-dir", str(tmp_path))
    )
    assert refused.returncode == 1
    assert any(line.startswith("error: ") for line in refused.stderr.splitlines()), refused.stderr
    assert KEY_VARIABLE in refused.stderr
    assert "Traceback" not in refused.stderr
    assert "╭" not in refused.stderr  # no rich traceback either
