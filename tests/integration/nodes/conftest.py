"""One rig of several nodes per module (tests/cluster.py): three ``chatrec serve``, two
``chatrec worker``, PostgreSQL, Redis and nginx, started once for the module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster import Cluster, cluster


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster(tmp_path_factory.mktemp("cluster")) as started:
        yield started


@pytest.fixture
def nodes(rig: Cluster) -> Iterator[Cluster]:
    """The module's rig with every node running, before and after the test."""
    rig.ensure_all_running()
    yield rig
    rig.ensure_all_running()
