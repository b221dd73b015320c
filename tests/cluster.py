"""Several chatrec nodes behind a load balancer, with real parts, for the R20 tests.

One :class:`Cluster` is what issue 12 deploys, on one machine: a PostgreSQL database of
the test's own on the machine's server (created, then dropped ``WITH (FORCE)``), a
``redis-server`` of its own (:mod:`tests.redis_server`), N ``chatrec serve`` nodes,
each with its own data folder and the same database, Redis and secrets key, M
``chatrec worker`` processes, and nginx in front (:mod:`tests.balancer`).

The demo company is seeded by this process before any node starts, with the code
``chatrec demo`` runs (``seed_demo``, the demo's SFTP platform saved as the company's
destination): every node is then a plain ``chatrec serve``, alike, so any one can be
killed and started again.  The secrets key reaches every process in
``CHATREC_SECRET_KEY`` (:mod:`tests.keys`): left to the default, each node would make a
``secret.key`` of its own in its data folder and could not read the SFTP secrets the
others saved (R18).

Clients connect to one node directly (``cluster.nodes[i]``) or through the balancer
(``cluster.entry``); :meth:`Cluster.node_of` says which node a connection landed on.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import httpx
import psycopg
from psycopg import sql
from sqlalchemy import make_url

from chatrec.delivery.worker import stored_destination
from chatrec.demo.company import COMPANY_ID, LOGINS_FILE, seed_demo
from chatrec.demo.platform import DemoPlatform, start_demo_platform
from chatrec.demo.sshd import free_port
from chatrec.domain.journal import Event
from chatrec.store.migrations import migrate
from chatrec.store.secrets import KEY_VARIABLE
from chatrec.store.store import Store
from tests.balancer import UPSTREAM_HEADER, balancer
from tests.harness import ChildProcess, ChildServer
from tests.integration.clients import Client
from tests.keys import SECRET_KEY, SECRETS
from tests.redis_server import RedisServer

T = TypeVar("T")

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HEARTBEAT_SECONDS = 1
LEASE_SECONDS = 3
"""Short, so that a killed node leaves ``chatrec nodes`` within seconds."""


class TestDatabase:
    """``chatrec_<random>`` on the machine's PostgreSQL, this test's alone."""

    def __init__(self) -> None:
        server = make_url(os.environ.get("CHATREC_TEST_DATABASE_URL", DEFAULT_POSTGRES_URL))
        self.name = f"chatrec_{secrets.token_hex(6)}"
        self.admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
        self.url = server.set(database=self.name).render_as_string(hide_password=False)

    def _admin(self, statement: sql.Composed) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True, connect_timeout=5) as connection:
            connection.execute(statement)

    def create(self) -> None:
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def drop(self) -> None:
        self._admin(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
        )

    def allow_connections(self, allowed: bool) -> None:
        """Open or close the database to new connections (``ALLOW_CONNECTIONS``), as
        when its server is down: with :meth:`terminate_connections`, nobody reaches it."""
        self._admin(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                sql.Identifier(self.name), sql.SQL("true" if allowed else "false")
            )
        )

    def terminate_connections(self) -> int:
        """``pg_terminate_backend`` on every connection to this database: as when the
        server restarts or a network drops them.  How many were ended."""
        with psycopg.connect(self.admin_dsn, autocommit=True, connect_timeout=5) as connection:
            ended = connection.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.name,),
            ).fetchone()
        return int(ended[0]) if ended else 0


@dataclass
class Entry:
    """Where a client connects: one node, or the balancer in front of them all.

    It has what :class:`tests.integration.clients.Client` asks of a server: its URLs,
    the demo's ids, and a session token for a demo login.
    """

    child: ChildServer
    cluster: Cluster

    @property
    def url(self) -> str:
        return self.child.url

    @property
    def ws_url(self) -> str:
        return self.child.ws_url

    @property
    def port(self) -> int:
        return self.child.port

    def id(self, demo_id: str) -> str:
        return demo_id

    def token(self, login: str) -> str:
        return self.cluster.token(login)


@dataclass
class Node(Entry):
    """One ``chatrec serve``, with its own data folder."""

    data_dir: Path = Path()

    @property
    def pid(self) -> int:
        return self.child.pid

    def kill(self) -> None:
        """SIGKILL, as in a crash: no shutdown hook runs."""
        self.child.kill()

    def start(self) -> None:
        self.child.start(60)

    def health(self) -> dict[str, str]:
        answer: dict[str, str] = httpx.get(f"{self.url}/api/health", timeout=5).json()
        return answer


@dataclass
class Cluster:
    folder: Path
    database: TestDatabase
    redis: RedisServer
    nodes: list[Node] = field(default_factory=list)
    workers: list[ChildProcess] = field(default_factory=list)
    entry: Entry | None = None  # set by :func:`cluster`
    platform: DemoPlatform | None = None
    env: dict[str, str] = field(default_factory=dict)
    opened_on: dict[str, Node] = field(default_factory=dict)
    """Chat id -> the node that answered its ``POST /api/chats``."""
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def balancer(self) -> Entry:
        assert self.entry is not None
        return self.entry

    @property
    def database_url(self) -> str:
        return self.database.url

    def logins(self) -> dict[str, str]:
        entries = json.loads((self.folder / LOGINS_FILE).read_text())
        return {entry["login"]: entry["password"] for entry in entries}

    def token(self, login: str) -> str:
        """A session of ``login``, signed in once through the balancer: sessions are in
        the database, so it opens a socket on any node."""
        if login not in self._tokens:
            response = httpx.post(
                f"{self.balancer.url}/api/login",
                json={"login": login, "password": self.logins()[login]},
                timeout=20,
            )
            response.raise_for_status()
            self._tokens[login] = response.json()["token"]
        return self._tokens[login]

    def node_of(self, client: Client) -> Node:
        """The node a client's socket was answered by (through the balancer or not)."""
        assert client.ws.response is not None
        return self.node_at(client.ws.response.headers.get(UPSTREAM_HEADER) or "")

    def node_at(self, upstream: str) -> Node:
        # nginx lists every upstream it tried, the one that answered last.
        port = int(upstream.split(",")[-1].strip().rsplit(":", 1)[-1]) if upstream else -1
        for node in self.nodes:
            if node.port == port:
                return node
        raise AssertionError(f"{upstream!r} is no node's address")

    async def customer(
        self, via: Entry | None = None, service: str = "demo-support"
    ) -> tuple[Client, str]:
        """A customer starting a chat through ``via`` (default: the balancer), as the
        widget does: ``POST /api/chats``, then the socket, each wherever it lands.  The
        node that answered the POST is kept in ``opened_on``."""
        entry = via or self.balancer
        async with httpx.AsyncClient(base_url=entry.url, timeout=20) as http:
            response = await http.post("/api/chats", json={"service_id": service})
        response.raise_for_status()
        body = response.json()
        if UPSTREAM_HEADER in response.headers:
            self.opened_on[body["chat_id"]] = self.node_at(response.headers[UPSTREAM_HEADER])
        elif isinstance(entry, Node):
            self.opened_on[body["chat_id"]] = entry
        client = await Client.open(f"{entry.ws_url}/ws/customer", {"token": body["token"]})
        client.token = body["token"]
        return client, body["chat_id"]

    async def staff(self, login: str, via: Entry | None = None) -> Client:
        return await Client.staff(via or self.balancer, login)

    async def through_balancer(
        self, connect: Callable[[], Awaitable[Client]], avoid: set[int]
    ) -> Client:
        """Connect through the balancer until the socket lands on a node whose port is
        not in ``avoid`` (round robin gets there within a turn of the nodes)."""
        for _ in range(3 * len(self.nodes)):
            client = await connect()
            if self.node_of(client).port not in avoid:
                return client
            await client.close()
        raise AssertionError(f"the balancer never chose a node outside {avoid}")

    def journal(self, chat_id: str) -> list[tuple[int, Event]]:
        store = Store(self.database_url, secrets=SECRETS)
        try:
            return store.load_journal(chat_id, 0)
        finally:
            store.close()

    def chatrec_env(self) -> dict[str, str]:
        return dict(self.env)

    def until(self, condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"never: {what}"
            time.sleep(0.1)

    def ensure_all_running(self) -> None:
        """Start again any node a test killed, so the module's next test finds them all."""
        for node in self.nodes:
            if not node.child.running:
                node.start()


def _chatrec(command: str, data_dir: Path, database_url: str, *options: str) -> list[str]:
    """``chatrec serve`` or ``chatrec worker`` of the rig (Redis and the rest: ``env``)."""
    return [
        sys.executable, "-m", "chatrec", command,
        "--data-dir", str(data_dir),
        "--database-url", database_url,
        *options,
    ]  # fmt: skip


def _stop_all(nodes: list[Node]) -> None:
    """Stop the nodes at once, not one after the other."""
    with ThreadPoolExecutor(len(nodes) or 1) as pool:
        list(pool.map(lambda node: node.child.stop(), nodes))


def _seed(folder: Path, database_url: str) -> DemoPlatform:
    """Migrate, seed the demo company and start its SFTP platform, as ``chatrec demo``."""
    migrate(database_url)
    store = Store(database_url, secrets=SECRETS)
    try:
        seed_demo(store, folder)
        # Message bodies kept an hour after delivery (R17), so that tests read the
        # journals they check after the workers delivered.
        demo = store.get_company(COMPANY_ID)
        assert demo is not None
        store.update_company(replace(demo, retention_seconds=3600))
        platform = start_demo_platform(folder, port=free_port())
        store.set_destination(stored_destination(platform.destination))
    finally:
        store.close()
    return platform


@contextmanager
def cluster(folder: Path, nodes: int = 3, workers: int = 2) -> Iterator[Cluster]:
    """The rig, started; everything stopped and the database dropped at the end."""
    database = TestDatabase()
    with ExitStack() as stack:
        database.create()
        stack.callback(database.drop)
        redis = stack.enter_context(RedisServer(folder))
        rig = Cluster(folder, database, redis)
        rig.platform = _seed(folder, database.url)
        stack.callback(rig.platform.stop)
        rig.env = {
            KEY_VARIABLE: SECRET_KEY,
            "CHATREC_REDIS_URL": redis.url,
            "CHATREC_REDIS_PREFIX": f"{database.name}:",
            "CHATREC_NODE_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
            "CHATREC_NODE_LEASE_SECONDS": str(LEASE_SECONDS),
            # Workers deliver, as in a deployment of several nodes.
            "CHATREC_DELIVERY_IN_SERVER": "false",
            # One address (the loopback) for every client of every test.
            "CHATREC_LOGIN_ATTEMPTS_PER_MINUTE": "1000",
            "CHATREC_CHAT_STARTS_PER_MINUTE": "1000",
        }
        for i in range(nodes):
            data_dir = folder / f"node{i + 1}"
            child = ChildServer([], folder / "logs" / f"node{i + 1}.log", env=rig.env)
            child.command = _chatrec("serve", data_dir, database.url, "--port", str(child.port))
            rig.nodes.append(Node(child, rig, data_dir))
        for i in range(workers):
            data_dir = folder / f"worker{i + 1}"
            command = [*_chatrec("worker", data_dir, database.url)]
            log = folder / "logs" / f"worker{i + 1}.log"
            rig.workers.append(ChildProcess(command, log, env=rig.env))
        stack.callback(_stop_all, rig.nodes)
        for node in rig.nodes:
            node.child.spawn()  # all at once: each waits for the others' start no more
        for node in rig.nodes:
            node.child.wait_ready(60)
        for worker in rig.workers:
            stack.callback(worker.stop)
            worker.spawn()
        front = balancer(folder / "nginx", [node.port for node in rig.nodes])
        stack.callback(front.stop)
        front.start(10)
        rig.entry = Entry(front, rig)
        yield rig


def run_with(scenario: Callable[[], Awaitable[T]]) -> T:
    """Run an async scenario and close every client it opened, whatever happens."""

    async def main() -> T:
        try:
            return await scenario()
        finally:
            await Client.close_all()

    return asyncio.run(main())
