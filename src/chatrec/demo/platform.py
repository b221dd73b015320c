"""A real SFTP recording platform on 127.0.0.1, for ``make run`` and for the tests (R16).

``start_demo_platform`` runs OpenSSH's ``sshd`` unprivileged when it is installed (the
same server a company's platform most likely runs, built by :mod:`chatrec.demo.sshd`),
else asyncssh's SFTP server, and stores what it receives under ``<data-dir>/platform/``.
Its keys live in ``<data-dir>/platform-keys/`` so a restart keeps the host key the demo
company pinned.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import os
import signal
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

import asyncssh

from chatrec.delivery.model import Destination
from chatrec.demo.sshd import (
    LOOPBACK,
    SSHD,
    SshdProcess,
    SshKeys,
    descendants,
    ensure_keys,
    free_port,
    loopback_destination,
    port_is_free,
    sshd_in,
)
from chatrec.files import PRIVATE_DIR, PRIVATE_FILE, private_dir

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEMO_PORT = 8422


def _stop_stale_sshd(pid_file: Path, config: Path) -> None:
    """End an sshd a killed demo left behind, recognised by its pid file and config."""
    try:
        pid = int(pid_file.read_text().strip())
        # sshd rewrites its title to "sshd: /usr/sbin/sshd -D -e -f <config> [listener]…"
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if f"-f {config}".encode() not in command:
        return
    for child in [pid, *descendants(pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    """Running, not merely a zombie its parent has yet to reap."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class _PrivateSftpServer(asyncssh.SFTPServer):
    """Stores owner-only whatever the umask or the client asks, as the OpenSSH platform
    does with ``-u 0077`` (R18): the demo's platform folder is in chatrec's data folder."""

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        attrs.permissions = PRIVATE_FILE
        return super().open(path, pflags, attrs)

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        attrs.permissions = PRIVATE_DIR
        super().mkdir(path, attrs)


class _AsyncSshPlatform:
    """asyncssh's SFTP server rooted at the platform folder, in a thread of its own, so
    the demo works without OpenSSH and whatever event loop (if any) the caller runs."""

    def __init__(self, keys: SshKeys, folder: Path, port: int) -> None:
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="demo-sftp", daemon=True
        )
        self._thread.start()
        try:
            self._acceptor = self._run(self._listen(keys, folder, port))
        except BaseException:
            self._end_loop()
            raise

    def _run(self, coroutine: Coroutine[object, object, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    async def _listen(self, keys: SshKeys, folder: Path, port: int) -> asyncssh.SSHAcceptor:
        root = str(folder).encode()
        connections = self._connections

        class Server(asyncssh.SSHServer):
            """Remembers its connection, for ``stop`` to close it: closing the
            listener alone leaves established sessions running."""

            def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
                self.conn = conn
                connections.add(conn)

            def connection_lost(self, exc: Exception | None) -> None:
                connections.discard(self.conn)

        return await asyncssh.listen(
            LOOPBACK,
            port,
            server_host_keys=[str(keys.host_key)],
            authorized_client_keys=str(keys.authorized_keys),
            server_factory=Server,
            sftp_factory=lambda channel: _PrivateSftpServer(channel, chroot=root),
            allow_scp=False,
            keepalive_interval=5,
        )

    def stop(self) -> None:
        async def close() -> None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            for conn in list(self._connections):
                conn.close()
                await conn.wait_closed()

        self._run(close())
        self._end_loop()

    def _end_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()


@dataclass
class DemoPlatform:
    """A running demo platform and the :class:`Destination` that delivers to it."""

    destination: Destination
    folder: Path
    backend: Literal["openssh", "asyncssh"]
    _server: SshdProcess | _AsyncSshPlatform = field(repr=False)

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> DemoPlatform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_demo_platform(
    data_dir: Path,
    *,
    company_id: str = "demo",
    port: int = DEMO_PORT,
    backend: Literal["auto", "openssh", "asyncssh"] = "auto",
) -> DemoPlatform:
    """Start the demo's SFTP platform storing into ``<data_dir>/platform/``.

    ``port`` is taken when free, else any free loopback port: the returned destination
    says which.  The host key is pinned in it, so delivery verifies it as it would a
    real platform's (R16).
    """
    data_dir = data_dir.resolve()
    folder = data_dir / "platform"
    private_dir(folder)
    keys = ensure_keys(data_dir / "platform-keys")
    run_dir = data_dir / "platform-run"
    private_dir(run_dir)
    config = run_dir / "sshd_config"
    pid_file = run_dir / "sshd.pid"
    chosen: Literal["openssh", "asyncssh"]
    chosen = ("openssh" if SSHD.exists() else "asyncssh") if backend == "auto" else backend
    if chosen == "openssh":
        _stop_stale_sshd(pid_file, config)
    if not port_is_free(port):
        port = free_port()
    user = getpass.getuser()
    server: SshdProcess | _AsyncSshPlatform
    if chosen == "openssh":
        server = sshd_in(run_dir, keys=keys, port=port, user=user)
        try:
            server.start()
        except RuntimeError:
            if port_is_free(port):
                raise
            # Another program took the port between the look and sshd's bind: any other.
            port = free_port()
            server = sshd_in(run_dir, keys=keys, port=port, user=user)
            server.start()
        remote_folder = str(folder)
    else:
        server = _AsyncSshPlatform(keys, folder, port)
        remote_folder = "/"
    destination = loopback_destination(
        keys, port=port, user=user, folder=remote_folder, company_id=company_id
    )
    logger.info(
        "demo recording platform (%s) on %s:%d stores into %s", chosen, LOOPBACK, port, folder
    )
    return DemoPlatform(destination=destination, folder=folder, backend=chosen, _server=server)
