"""SPEC's seed cases again, each participant on another of three servers (R20).

The cases of ``test_live_recording`` and ``test_seed_cases`` run here unchanged, with
their ``server`` a company on three servers sharing PostgreSQL and Redis, whose every
address names the next server in turn: a customer's chat is started on one server and
its socket opened on the next, the agent who takes it is on a third, a supervisor
joins from whichever comes.  What each case asserts (what is produced, suppressed and
explained) must not depend on where anyone was connected.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from chatrec.store.migrations import migrate
from chatrec.store.store import Store
from tests.conftest import _postgres_schema_url
from tests.integration.live.test_live_recording import (
    test_R5_R8_chat_is_recorded_without_the_paused_text,
    test_R9_R12b_customer_asks_agent_deletes_then_R13_abusive_overrides,
    test_R10_R12c_consent_no_discards_but_the_customer_still_reaches_an_agent,
    test_R12a_supervisor_join_is_involvement,
    test_R12a_transfer_to_an_agent_without_permit_produces_nothing,
)
from tests.integration.live.test_seed_cases import (
    logins,
    store,
    test_R5a_transfer_A_B_A_gives_one_agent_recording_per_account,
    test_R6_five_flow_recordings_with_one_template_get_five_names,
    test_R12a_a_supervisor_without_permit_joins_and_nothing_is_produced,
)
from tests.integration.server import ServerProcess, nodes_sharing_redis
from tests.integration.tenant import SHARED_LIMITS, Tenant
from tests.keys import SECRETS

pytestmark = pytest.mark.long  # tens of seconds: handed out first (tests/conftest.py)

__all__ = [  # fixtures and cases collected again here, with this module's ``server``
    "logins",
    "store",
    "test_R5_R8_chat_is_recorded_without_the_paused_text",
    "test_R5a_transfer_A_B_A_gives_one_agent_recording_per_account",
    "test_R6_five_flow_recordings_with_one_template_get_five_names",
    "test_R9_R12b_customer_asks_agent_deletes_then_R13_abusive_overrides",
    "test_R10_R12c_consent_no_discards_but_the_customer_still_reaches_an_agent",
    "test_R12a_a_supervisor_without_permit_joins_and_nothing_is_produced",
    "test_R12a_supervisor_join_is_involvement",
    "test_R12a_transfer_to_an_agent_without_permit_produces_nothing",
]


@dataclass
class SpreadTenant(Tenant):
    """A tenant whose every address is the next server's: nobody stays on one."""

    ports: tuple[int, ...] = ()
    _turns: Iterator[int] = field(default=iter(()), repr=False)

    def _next(self) -> int:
        return next(self._turns)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._next()}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self._next()}"


@pytest.fixture(scope="module")
def _three_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ServerProcess]]:
    """Three servers on a PostgreSQL database and a Redis of the module's own; one data
    folder, as one machine's servers may share."""
    folder = tmp_path_factory.mktemp("seed-nodes")
    with _postgres_schema_url() as database_url:
        migrate(database_url)
        with nodes_sharing_redis(3, database_url, folder, SHARED_LIMITS) as nodes:
            yield nodes


@pytest.fixture
def server(_three_nodes: list[ServerProcess]) -> SpreadTenant:
    """A company of the test's own, whose participants are spread over the servers."""
    first = _three_nodes[0]
    store = Store(first.database_url, secrets=SECRETS)
    try:
        tenant = Tenant.seed(first, store)
    finally:
        store.close()
    ports = tuple(node.port for node in _three_nodes)
    return SpreadTenant(
        data_dir=tenant.data_dir,
        database_url=tenant.database_url,
        port=tenant.port,
        env=tenant.env,
        prefix=tenant.prefix,
        password=tenant.password,
        ports=ports,
        _turns=itertools.cycle(ports),
    )


def test_R20_the_servers_take_turns(server: SpreadTenant) -> None:
    assert {server.url for _ in range(3)} == {f"http://127.0.0.1:{p}" for p in server.ports}
