"""A real chatrec server in a child process, for tests that talk to it over the network.

It runs ``chatrec demo`` (migrate, seed, serve) on a free loopback port, so tests meet
the product as a user does, and can kill it with SIGKILL and start it again (through
:class:`tests.harness.ChildServer`, the benchmarks' launcher too).  On SQLite
a test may start it from :class:`SeededDemo`, what a first ``chatrec demo`` leaves: the
demo then starts as it does the second time, without migrating or hashing passwords.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from chatrec.demo.company import COMPANY_ID, LOGINS_FILE, seed_demo
from chatrec.demo.sshd import free_port
from chatrec.files import private_dir
from chatrec.store.store import Store
from tests.harness import ChildServer, Running
from tests.keys import SECRETS

DATABASE_FILE = "chatrec.db"


@dataclass(frozen=True)
class SeededDemo:
    """A folder holding a migrated SQLite database with the demo seeded, and its logins."""

    folder: Path

    @classmethod
    def create(cls, folder: Path, migrated: Path) -> SeededDemo:
        """Seed a copy of the ``migrated`` database as ``chatrec demo`` does."""
        private_dir(folder)
        shutil.copyfile(migrated, folder / DATABASE_FILE)
        store = Store(f"sqlite:///{folder / DATABASE_FILE}", secrets=SECRETS)
        try:
            seed_demo(store, folder)
        finally:
            store.close()
        return cls(folder)

    def copy_to(self, data_dir: Path, database: Path) -> str:
        """The demo's database copied to ``database`` and its logins into ``data_dir``;
        returns the database's URL."""
        private_dir(data_dir)
        shutil.copyfile(self.folder / DATABASE_FILE, database)
        shutil.copy(self.folder / LOGINS_FILE, data_dir / LOGINS_FILE)
        return f"sqlite:///{database}"


def start_together(*servers: ServerProcess, timeout: float = 30) -> None:
    """Start ``servers`` side by side and wait until each is ready: a start is mostly the
    child's own work (imports, migrations), so several overlap instead of adding up.
    A server started before one that fails is left running: its owner stops it."""
    children = [server._spawn() for server in servers]
    for child in children:
        child.wait_ready(timeout)


@dataclass
class ServerProcess:
    data_dir: Path
    database_url: str
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    extra_logins: dict[str, str] = field(default_factory=dict)
    platform: bool = False
    umask: int = -1  # -1: the test run's own
    process: Running | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def _child(self) -> ChildServer:
        """The launcher, around this server's process (if it was started)."""
        command = [
            sys.executable,
            "-m",
            "chatrec",
            "demo",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--database-url",
            self.database_url,
            "--platform" if self.platform else "--no-platform",
        ]
        return ChildServer(
            command,
            self.log_path,
            env=self.env,
            umask=self.umask,
            process=self.process,
            port=self.port,
        )

    def start(self, timeout: float = 30) -> None:
        start_together(self, timeout=timeout)

    def _spawn(self) -> ChildServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        child = self._child()
        try:
            child.spawn()
        finally:
            self.process = child.process
        return child

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as in a crash (the platform's sshd is kept)."""
        self._child().kill()

    def stop_platform(self) -> None:
        """Stop a demo platform's sshd that a killed server left behind."""
        pid_file = self.data_dir / "platform-run" / "sshd.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within 15 s."""
        self._child().stop()

    @property
    def company_id(self) -> str:
        """The demo company's id here (see ``Tenant``)."""
        return COMPANY_ID

    def id(self, demo_id: str) -> str:
        """The id of the demo's ``demo_id`` here: the demo's own (see ``Tenant.id``)."""
        return demo_id

    def sign_in(self, login: str) -> tuple[str, str | None]:
        """What a person with the demo's ``login`` types to sign in here: their login and
        the company to name, if any (see ``Tenant``)."""
        return login, None

    def logins(self) -> dict[str, str]:
        """Login -> password: the demo's, as ``chatrec demo`` wrote them, and tests' own."""
        entries = json.loads((self.data_dir / "demo-logins.json").read_text())
        return {entry["login"]: entry["password"] for entry in entries} | self.extra_logins

    def token(self, login: str) -> str:
        response = httpx.post(
            f"{self.url}/api/login", json={"login": login, "password": self.logins()[login]}
        )
        response.raise_for_status()
        token: str = response.json()["token"]
        return token


@contextlib.contextmanager
def nodes_sharing_redis(
    count: int, database_url: str, folder: Path, env: dict[str, str] | None = None
) -> Iterator[list[ServerProcess]]:
    """``count`` servers on one PostgreSQL database and a ``redis-server`` of the
    caller's own (R20); one data folder, so that the demo's logins are every node's."""
    from tests.redis_server import RedisServer

    with RedisServer(folder) as redis:
        shared = {"CHATREC_REDIS_URL": redis.url, **(env or {})}
        nodes = [ServerProcess(folder / "data", database_url, env=shared) for _ in range(count)]
        try:
            for node in nodes:
                node.start()
            yield nodes
        finally:
            for node in nodes:
                node.stop()
