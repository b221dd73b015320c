"""Each destination's bounded pool of SSH connections, reused across calls and kept alive.

A :class:`Pool` opens up to ``max_connections`` sessions for one destination and spreads
its uploads (at most ``concurrency`` at a time) over them; a session whose connection
failed, or went unused for ``idle_timeout``, is dropped and another opened when needed.
Every network step runs under the destination's timeout (:meth:`Pool.call`).  What is
done on a session, file by file, is :mod:`~chatrec.delivery.sftp.transfer`'s.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import asyncssh
from asyncssh.constants import FILEXFER_TYPE_DIRECTORY

from chatrec.delivery.egress import EgressPolicy
from chatrec.delivery.model import Destination
from chatrec.delivery.sftp.connect import connect
from chatrec.delivery.sftp.errors import CONNECTION_ERRORS, classify
from chatrec.errors import DeliveryError, RemoteFolderMissingError

T = TypeVar("T")


class PoolSettings(Protocol):
    """What a pool and its transfers read from their uploader, live: the uploader's
    settings, and the count of files a platform took away on arrival."""

    egress: EgressPolicy
    keepalive_interval: float
    keepalive_count_max: int
    idle_timeout: float
    stale_part_age: float
    stale_scan_limit: int
    clock: Callable[[], float]
    taken_on_arrival: int


@dataclass(eq=False)
class Session:
    """One SSH connection and its SFTP channel, shared by concurrent uploads."""

    connection: asyncssh.SSHClientConnection
    sftp: asyncssh.SFTPClient
    users: int = 0
    served: int = 0
    idle_since: float = field(default_factory=time.monotonic)
    folders: set[str] = field(default_factory=set)
    cleaned: set[str] = field(default_factory=set)
    folder_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def close(self) -> None:
        self.sftp.exit()
        self.connection.close()
        await self.connection.wait_closed()


class Pool:
    """One destination's connections and the uploads that run on them."""

    def __init__(self, destination: Destination, settings: PoolSettings) -> None:
        self.destination = destination
        self.settings = settings
        self.root = destination.folder.rstrip("/") or ("/" if destination.folder else ".")
        self.files = asyncio.Semaphore(max(1, destination.concurrency))
        self.sessions: list[Session] = []
        self.opening = asyncio.Lock()
        self.opened = 0
        # Uploads one connection carries before another is opened (up to the bound).
        self.per_session = max(
            1, math.ceil(destination.concurrency / max(1, destination.max_connections))
        )

    async def call(self, awaitable: Awaitable[T]) -> T:
        async with asyncio.timeout(self.destination.timeout_seconds):
            return await awaitable

    async def open_session(self, *, check_root: bool = True) -> Session:
        connection = await connect(
            self.destination,
            self.settings.egress,
            keepalive_interval=self.settings.keepalive_interval,
            keepalive_count_max=self.settings.keepalive_count_max,
        )
        try:
            sftp = await self.call(connection.start_sftp_client())
            session = Session(connection, sftp)
            if check_root:
                await self.check_root(session)
        except BaseException as error:
            connection.close()
            await connection.wait_closed()
            if isinstance(error, Exception):
                raise classify(error, self.destination, "opening SFTP") from error
            raise
        self.opened += 1
        return session

    async def check_root(self, session: Session) -> None:
        where = f"{self.destination.host}:{self.destination.port}"
        try:
            attrs = await self.call(session.sftp.stat(self.root))
        except (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath) as error:
            raise RemoteFolderMissingError(
                f"the folder {self.root!r} does not exist on {where}; create it there or "
                "correct the destination's folder"
            ) from error
        if attrs.type != FILEXFER_TYPE_DIRECTORY:
            raise RemoteFolderMissingError(f"{self.root!r} on {where} is not a folder")
        session.folders.add(self.root)

    async def ready(self) -> None:
        """Connect unless a live connection is pooled: the destination's own failures
        (unreachable, host key, login, root folder) are raised before any file."""
        async with self.opening:
            await self._drop_unusable()
            if not self.sessions:
                self.sessions.append(await self.open_session())

    async def acquire(self) -> Session:
        """The least busy live session, or a new one while the bound allows."""
        async with self.opening:
            await self._drop_unusable()
            best = min(self.sessions, key=lambda session: session.users, default=None)
            full = len(self.sessions) >= max(1, self.destination.max_connections)
            if best is None or (best.users >= self.per_session and not full):
                try:
                    session = await self.open_session()
                except DeliveryError:
                    if best is None:
                        raise
                    session = best
                else:
                    self.sessions.append(session)
            else:
                session = best
            session.users += 1
            return session

    async def release(self, session: Session, error: BaseException | None) -> None:
        session.users -= 1
        session.idle_since = time.monotonic()
        # A connection error, or a cancel mid-request, leaves the session in doubt.
        doubtful = isinstance(error, (*CONNECTION_ERRORS, asyncio.CancelledError))
        if doubtful and session in self.sessions:
            self.sessions.remove(session)
            await session.close()

    async def _drop_unusable(self) -> None:
        now = time.monotonic()
        for session in list(self.sessions):
            idle = session.users == 0 and now - session.idle_since > self.settings.idle_timeout
            if session.connection.is_closed() or idle:
                self.sessions.remove(session)
                await session.close()

    async def close(self) -> None:
        sessions, self.sessions = self.sessions, []
        for session in sessions:
            await session.close()
