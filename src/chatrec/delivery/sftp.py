"""Putting recording files on a company's SFTP platform, on asyncssh (R16).

Each file is written as ``.<name>.part`` beside its final name, checked (size, and the
spool's SHA-256 as it was read), and renamed into place with ``posix-rename@openssh.com``,
so the platform never sees a final name holding half a file.  A final name that already
holds the right number of bytes is a delivery made before: retries are safe.  The
sidecar follows the recording's data files, and the optional done-marker the sidecar.

The server's key must be the pinned one; there is no "accept new key".  Every connection
goes to an address the operator's egress policy allows (``delivery/egress.py``), and
every failure before SSH speaks reads the same.  Every network step has a timeout;
each destination has a bounded pool of connections, reused across calls and kept
alive, on which its uploads run concurrently.  Failures come back as the
typed errors of :mod:`chatrec.errors`, decided by the type of what asyncssh or the OS
raised, never by its text.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import math
import os
import posixpath
import secrets
import socket
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TypeVar, cast

import asyncssh
from asyncssh.constants import FILEXFER_TYPE_DIRECTORY, FILEXFER_TYPE_REGULAR

from chatrec.delivery.egress import EgressPolicy, open_platform_socket
from chatrec.delivery.model import Destination, RecordingUpload, UploadItem
from chatrec.delivery.platform import known_hosts_line
from chatrec.errors import (
    AuthenticationFailedError,
    DeliveryError,
    FileDeliveryError,
    HostKeyError,
    PlatformUnreachableError,
    RemoteFolderMissingError,
    RemotePermissionError,
    TransientDeliveryError,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

NO_PIN = "no host key is pinned for this destination; run Test connection and pin the key it shows"
CHUNK = 1 << 20  # read from the spool at a time
WRITE_BLOCK = 256 * 1024  # bytes per SFTP write request, at most (OpenSSH takes 255 KiB)
MIN_WRITE_BLOCK = 32 * 1024  # every SFTP server must take this much
WRITES_IN_FLIGHT = 8  # write requests pipelined per file

# The steps of Test connection after logging in, in order.
_FILE_STEPS = ("folder", "write", "rename", "delete")

# What a connection attempt raises when no SSH server answered: the port is closed,
# filtered or not SSH.  Told apart only in the log (issue 16.3).
_NOT_SSH: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncssh.ConnectionLost,
    asyncssh.ProtocolError,
)

# What ends a connection rather than one request: the session is dropped from the pool.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes ConnectionRefusedError and TimeoutError
    asyncssh.DisconnectError,
    asyncssh.ChannelOpenError,
    asyncssh.SFTPConnectionLost,
    asyncssh.SFTPNoConnection,
)


@dataclass(frozen=True, slots=True)
class ProbeStep:
    """One step of Test connection: what was tried, whether it worked, and why not.

    ``host_key`` is set on the ``connect`` step: the key the server showed, in the
    known_hosts form an administrator pins once they have checked it out of band.
    """

    name: str
    ok: bool
    detail: str
    error: DeliveryError | None = None
    host_key: str | None = None


def pinned_known_hosts(pin: str) -> asyncssh.SSHKnownHosts:
    """The only keys trusted for a destination: those pinned on it.

    Each line is a public key, optionally preceded by host patterns as in a known_hosts
    file; the patterns are ignored, since a pin belongs to one destination anyway.
    """
    lines = [line.strip() for line in pin.splitlines()]
    keys = [_pinned_key(line) for line in lines if line and not line.startswith("#")]
    if not keys:
        raise HostKeyError(NO_PIN)
    trusted = [f"* {_public_line(key)}\n" for key in keys]
    return asyncssh.import_known_hosts("".join(trusted))


def _pinned_key(line: str) -> asyncssh.SSHKey:
    fields = line.split()
    for start in (0, 1):
        with contextlib.suppress(asyncssh.KeyImportError, ValueError):
            return asyncssh.import_public_key(" ".join(fields[start : start + 2]))
    raise HostKeyError(
        f"the pinned host key cannot be read ({line[:40]!r}…); run Test connection and pin "
        "the key it shows"
    )


def _public_line(key: asyncssh.SSHKey) -> str:
    algorithm, blob = key.export_public_key("openssh").decode().split()[:2]
    return f"{algorithm} {blob}"


def _credentials(destination: Destination) -> dict[str, Any]:
    if destination.private_key:
        try:
            key = asyncssh.import_private_key(destination.private_key)
        except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError, ValueError) as error:
            raise AuthenticationFailedError(
                f"the destination's private key cannot be read ({error}); paste an "
                "unencrypted OpenSSH or PEM private key"
            ) from error
        return {"client_keys": [key], "password": destination.password}
    if destination.password:
        return {"client_keys": None, "password": destination.password}
    raise AuthenticationFailedError("the destination has neither a password nor a private key")


def unreachable(error: BaseException, destination: Destination) -> DeliveryError:
    """A failed connection attempt as an administrator reads it: one plain sentence for
    every failure before SSH speaks, the specific error after (host key, log in)."""
    if isinstance(error, DeliveryError):
        return error
    if isinstance(error, _NOT_SSH):
        logger.info(
            "could not reach an SFTP server at %s:%d: %r",
            destination.host,
            destination.port,
            error,
        )
        mapped: DeliveryError = PlatformUnreachableError(destination.host, destination.port)
        mapped.__cause__ = error
        return mapped
    return classify(error, destination, "connecting")


def classify(error: BaseException, destination: Destination, doing: str) -> DeliveryError:
    """The delivery error an asyncssh or OS error means, by its type alone."""
    if isinstance(error, DeliveryError):
        return error
    where = f"{destination.host}:{destination.port}"
    reason = getattr(error, "reason", "") or str(error) or type(error).__name__
    mapped: DeliveryError
    if isinstance(error, asyncssh.HostKeyNotVerifiable):
        mapped = HostKeyError(
            f"the host key of {where} is not the pinned one ({reason}); if the platform "
            "changed its key on purpose, run Test connection and pin the new key"
        )
    elif isinstance(error, asyncssh.PermissionDenied):
        mapped = AuthenticationFailedError(
            f"{where} refused to log in user {destination.username!r} ({reason})"
        )
    elif isinstance(error, TimeoutError):
        mapped = TransientDeliveryError(
            f"{doing}: {where} did not answer within {destination.timeout_seconds:g} s"
        )
    elif isinstance(error, asyncssh.SFTPPermissionDenied | asyncssh.SFTPWriteProtect):
        mapped = RemotePermissionError(f"{doing}: {where} denied permission ({reason})")
    elif isinstance(
        error,
        asyncssh.SFTPConnectionLost
        | asyncssh.SFTPNoConnection
        | asyncssh.SFTPNoSpaceOnFilesystem
        | asyncssh.SFTPQuotaExceeded,
    ):
        mapped = TransientDeliveryError(f"{doing}: {reason}")
    elif isinstance(error, asyncssh.SFTPError):
        mapped = FileDeliveryError(f"{doing}: {type(error).__name__}: {reason}")
    elif isinstance(error, OSError | asyncssh.DisconnectError | asyncssh.ChannelOpenError):
        mapped = TransientDeliveryError(f"{doing}: {where}: {reason}")
    else:
        mapped = FileDeliveryError(f"{doing}: unexpected {type(error).__name__}: {reason}")
    mapped.__cause__ = error
    return mapped


@dataclass(frozen=True, slots=True)
class _Source:
    """Bytes to put: a spool file (checked against its item) or a few bytes of our own."""

    stream: BinaryIO
    size: int
    sha256: str
    label: str

    @classmethod
    def open_item(cls, item: UploadItem) -> _Source:
        try:
            stream = item.local_path.open("rb")
        except OSError as error:
            raise FileDeliveryError(
                f"spool file {item.local_path} cannot be read ({error.strerror or error})"
            ) from error
        actual = os.fstat(stream.fileno()).st_size
        if actual != item.size:
            stream.close()
            raise FileDeliveryError(
                f"spool file {item.local_path} changed since it was queued: {actual} bytes, "
                f"{item.size} expected"
            )
        return cls(stream, item.size, item.sha256, str(item.local_path))

    @classmethod
    def of_bytes(cls, data: bytes, label: str) -> _Source:
        return cls(io.BytesIO(data), len(data), hashlib.sha256(data).hexdigest(), label)

    async def read(self) -> bytes:
        try:
            return await asyncio.to_thread(self.stream.read, CHUNK)
        except OSError as error:
            raise FileDeliveryError(f"spool file {self.label} cannot be read ({error})") from error


@dataclass(eq=False)
class _Session:
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


class _Pool:
    """One destination's connections and the uploads that run on them."""

    def __init__(self, destination: Destination, uploader: SftpUploader) -> None:
        self.destination = destination
        self.uploader = uploader
        self.root = destination.folder.rstrip("/") or ("/" if destination.folder else ".")
        self.files = asyncio.Semaphore(max(1, destination.concurrency))
        self.sessions: list[_Session] = []
        self.opening = asyncio.Lock()
        self.opened = 0
        # Uploads one connection carries before another is opened (up to the bound).
        self.per_session = max(
            1, math.ceil(destination.concurrency / max(1, destination.max_connections))
        )

    async def call(self, awaitable: Awaitable[T]) -> T:
        async with asyncio.timeout(self.destination.timeout_seconds):
            return await awaitable

    # -- connections ---------------------------------------------------------------

    async def connect(self) -> asyncssh.SSHClientConnection:
        """A logged-in connection to the destination, the pinned host key verified, on
        an address the egress policy allows."""
        destination = self.destination
        known_hosts = pinned_known_hosts(destination.host_key)
        credentials = _credentials(destination)
        sock = await self.uploader.open_socket(destination)
        try:
            return await asyncssh.connect(
                destination.host,
                destination.port,
                sock=sock,
                username=destination.username,
                known_hosts=known_hosts,
                config=None,
                agent_path=None,
                gss_host=None,
                connect_timeout=destination.timeout_seconds,
                keepalive_interval=self.uploader.keepalive_interval,
                keepalive_count_max=self.uploader.keepalive_count_max,
                **credentials,
            )
        except Exception as error:
            sock.close()
            raise unreachable(error, destination) from error
        except BaseException:
            sock.close()
            raise

    async def open_session(self, *, check_root: bool = True) -> _Session:
        connection = await self.connect()
        try:
            sftp = await self.call(connection.start_sftp_client())
            session = _Session(connection, sftp)
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

    async def check_root(self, session: _Session) -> None:
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

    async def acquire(self) -> _Session:
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

    async def release(self, session: _Session, error: BaseException | None) -> None:
        session.users -= 1
        session.idle_since = time.monotonic()
        # A connection error, or a cancel mid-request, leaves the session in doubt.
        doubtful = isinstance(error, (*_CONNECTION_ERRORS, asyncio.CancelledError))
        if doubtful and session in self.sessions:
            self.sessions.remove(session)
            await session.close()

    async def _drop_unusable(self) -> None:
        now = time.monotonic()
        for session in list(self.sessions):
            idle = session.users == 0 and now - session.idle_since > self.uploader.idle_timeout
            if session.connection.is_closed() or idle:
                self.sessions.remove(session)
                await session.close()

    async def close(self) -> None:
        sessions, self.sessions = self.sessions, []
        for session in sessions:
            await session.close()

    # -- files ---------------------------------------------------------------------

    def target_of(self, remote_path: str) -> tuple[str, tuple[str, ...]]:
        """The absolute remote name and the sub-folders under the root it needs."""
        parts = tuple(remote_path.split("/"))
        if remote_path.startswith("/") or any(part in ("", ".", "..") for part in parts):
            raise FileDeliveryError(f"{remote_path!r} is not a safe relative path on a platform")
        return posixpath.join(self.root, *parts), parts[:-1]

    async def put(
        self,
        remote_path: str,
        size: int,
        open_source: Callable[[], _Source],
        *,
        look_first: bool = True,
    ) -> None:
        """Deliver one file of ``size`` bytes; the source is opened only if needed.

        ``look_first``: an earlier attempt may have put it in place; if it is there with
        ``size`` bytes, it is not written again.
        """
        target, folders = self.target_of(remote_path)
        async with self.files:
            for attempt in (1, 2):
                session = await self.acquire()
                reused = session.served > 0
                session.served += 1
                failure: BaseException | None = None
                try:
                    # The first try on a dropped connection may have renamed it into place.
                    look = look_first or attempt > 1
                    await self._put(session, target, folders, size, open_source, look=look)
                    return
                except _CONNECTION_ERRORS as error:
                    failure = error
                    # A pooled connection the platform dropped while idle fails at once;
                    # that is no reason to wait for the next retry.
                    if attempt == 2 or not reused or isinstance(error, TimeoutError):
                        raise
                    logger.info("a pooled connection had gone (%s); trying a new one", error)
                except BaseException as error:
                    failure = error
                    raise
                finally:
                    await self.release(session, failure)

    async def _put(
        self,
        session: _Session,
        target: str,
        folders: tuple[str, ...],
        size: int,
        open_source: Callable[[], _Source],
        *,
        look: bool,
    ) -> None:
        existing = await self.stat_or_none(session, target) if look else None
        if existing is not None and existing.size == size:
            # Delivered before (the acknowledgement was lost): nothing to read or write.
            logger.info("%s is already on the platform with %d bytes", target, size)
            return
        if existing is not None:
            logger.warning(
                "%s is on the platform with %s bytes, not %d: replacing it",
                target,
                existing.size,
                size,
            )
        directory = await self.ensure_folders(session, folders)
        part = posixpath.join(directory, f".{posixpath.basename(target)}.part")
        source = open_source()
        with contextlib.closing(source.stream):
            try:
                await self.write_part(session, part, source)
                await self.rename(session, part, target)
            except Exception as error:
                if not isinstance(error, _CONNECTION_ERRORS):
                    with contextlib.suppress(asyncssh.SFTPError):
                        await self.call(session.sftp.remove(part))
                raise
        if self.destination.verify_after_rename:
            await self.verify(session, target, size)

    async def stat_or_none(self, session: _Session, path: str) -> asyncssh.SFTPAttrs | None:
        try:
            return await self.call(session.sftp.stat(path))
        except (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath):
            return None

    async def ensure_folders(self, session: _Session, folders: tuple[str, ...]) -> str:
        """Create the sub-folders a path needs under the root (never the root itself)."""
        path = self.root
        for name in folders:
            parent, path = path, posixpath.join(path, name)
            if path in session.folders:
                continue
            async with session.folder_lock:
                if path not in session.folders:
                    await self._make_folder(session, parent, path)
                    session.folders.add(path)
        await self.remove_stale_parts(session, path)
        return path

    async def _make_folder(self, session: _Session, parent: str, path: str) -> None:
        attrs = await self.stat_or_none(session, path)
        if attrs is None:
            try:
                await self.call(session.sftp.mkdir(path))
                return
            except (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath) as error:
                session.folders.clear()
                if parent == self.root:
                    raise RemoteFolderMissingError(
                        f"the folder {self.root!r} vanished from the platform"
                    ) from error
                raise FileDeliveryError(f"the folder {parent!r} vanished while in use") from error
            except (asyncssh.SFTPFailure, asyncssh.SFTPFileAlreadyExists):
                # Another upload made it first; it must be a folder now.
                attrs = await self.stat_or_none(session, path)
        if attrs is None or attrs.type != FILEXFER_TYPE_DIRECTORY:
            raise FileDeliveryError(f"{path!r} exists on the platform and is not a folder")

    async def remove_stale_parts(self, session: _Session, directory: str) -> None:
        """Remove ``.*.part`` files a crashed upload left here, once per connection.

        Only those not written to for ``stale_part_age`` seconds: a concurrent
        uploader's fresh ``.part`` is never touched.  Listing stops after
        ``stale_scan_limit`` entries, so a folder the platform never empties costs a
        bounded time; problems only delay the clean-up, never the upload.
        """
        if directory in session.cleaned:
            return
        session.cleaned.add(directory)
        cutoff = self.uploader.clock() - self.uploader.stale_part_age
        entries = cast(AsyncGenerator[asyncssh.SFTPName, None], session.sftp.scandir(directory))
        stale: list[str] = []
        try:
            async with contextlib.aclosing(entries):
                for _ in range(self.uploader.stale_scan_limit):
                    try:
                        entry = await self.call(anext(entries))
                    except StopAsyncIteration:
                        break
                    name = cast(str, entry.filename)
                    attrs = entry.attrs
                    if (
                        name.startswith(".")
                        and name.endswith(".part")
                        and attrs.type == FILEXFER_TYPE_REGULAR
                        and attrs.mtime is not None
                        and attrs.mtime < cutoff
                    ):
                        stale.append(posixpath.join(directory, name))
            for path in stale:
                with contextlib.suppress(asyncssh.SFTPNoSuchFile):  # another cleaner's
                    await self.call(session.sftp.remove(path))
                    logger.info("removed %s, left by an upload that did not finish", path)
        except asyncssh.SFTPError as error:
            if isinstance(error, _CONNECTION_ERRORS):
                raise
            logger.warning("could not clean stale .part files in %s: %s", directory, error)

    async def write_part(self, session: _Session, part: str, source: _Source) -> None:
        """Write the bytes under the temporary name, checked before anyone renames it."""
        sftp = session.sftp
        try:
            # block_size 0: each write is one request; the pipelining is ours, below.
            remote = await self.call(sftp.open(part, "wb", block_size=0))
        except (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath) as error:
            session.folders.clear()
            raise FileDeliveryError(f"the folder of {part!r} vanished while in use") from error
        digest = hashlib.sha256()
        offset = 0
        block = min(sftp.limits.max_write_len or MIN_WRITE_BLOCK, WRITE_BLOCK)
        try:
            # asyncssh's own parallel writer leaves its requests running when a timeout
            # cancels it; a TaskGroup cancels and awaits them, and stops at the first error.
            try:
                async with asyncio.TaskGroup() as writes:
                    window = asyncio.Semaphore(WRITES_IN_FLIGHT)
                    while chunk := await source.read():
                        digest.update(chunk)
                        for start in range(0, len(chunk), block):
                            await window.acquire()
                            piece = chunk[start : start + block]
                            writes.create_task(self._write(remote, piece, offset + start, window))
                        offset += len(chunk)
            except BaseExceptionGroup as failed:
                raise failed.exceptions[0] from None
            if offset != source.size or digest.hexdigest() != source.sha256:
                raise FileDeliveryError(
                    f"spool file {source.label} changed since it was queued: {offset} bytes "
                    f"with sha256 {digest.hexdigest()}, expected {source.size} bytes with "
                    f"sha256 {source.sha256}"
                )
            with contextlib.suppress(asyncssh.SFTPOpUnsupported):
                await self.call(remote.fsync())
        except Exception as error:
            if not isinstance(error, _CONNECTION_ERRORS):
                with contextlib.suppress(Exception):
                    await self.call(remote.close())
            raise
        await self.call(remote.close())
        attrs = await self.call(session.sftp.stat(part))
        if attrs.size != source.size:
            raise FileDeliveryError(
                f"{part!r} holds {attrs.size} bytes on the platform after upload, "
                f"{source.size} were sent"
            )

    async def _write(
        self, remote: asyncssh.SFTPClientFile, data: bytes, offset: int, window: asyncio.Semaphore
    ) -> None:
        try:
            await self.call(remote.write(data, offset))
        finally:
            window.release()

    async def rename(self, session: _Session, part: str, target: str) -> None:
        sftp = session.sftp
        try:
            await self.call(sftp.posix_rename(part, target))
        except asyncssh.SFTPOpUnsupported:
            # Only a server without posix-rename: plain SFTP rename will not replace.
            with contextlib.suppress(asyncssh.SFTPNoSuchFile):
                await self.call(sftp.remove(target))
            await self.call(sftp.rename(part, target))

    async def verify(self, session: _Session, target: str, size: int) -> None:
        attrs = await self.stat_or_none(session, target)
        if attrs is None:
            # Some platforms take each file away as it arrives; it was there, in full,
            # under its final name.  Counted, not retried (that would never end).
            self.uploader.taken_on_arrival += 1
            logger.info("%s was taken away by the platform on arrival; delivered", target)
            return
        if attrs.size != size:
            raise FileDeliveryError(
                f"{target!r} holds {attrs.size} bytes on the platform after the rename, "
                f"{size} were sent"
            )


class SftpUploader:
    """The :class:`~chatrec.delivery.model.Uploader` that talks to real SFTP servers.

    ``egress`` is the operator's policy every connection is checked against (Test
    connection's too).  ``stale_part_age`` (seconds) is how long a ``.part`` must be
    untouched before a new connection removes it; ``idle_timeout`` closes pooled
    connections unused that long when next looked at; ``clock`` (epoch seconds) is
    injectable for tests.
    """

    def __init__(
        self,
        *,
        egress: EgressPolicy,
        keepalive_interval: float = 15.0,
        keepalive_count_max: int = 3,
        idle_timeout: float = 120.0,
        stale_part_age: float = 600.0,
        stale_scan_limit: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.egress = egress
        self.keepalive_interval = keepalive_interval
        self.keepalive_count_max = keepalive_count_max
        self.idle_timeout = idle_timeout
        self.stale_part_age = stale_part_age
        self.stale_scan_limit = stale_scan_limit
        self.clock = clock
        self.taken_on_arrival = 0
        self._pools: dict[str, _Pool] = {}

    async def open_socket(self, destination: Destination) -> socket.socket:
        """A TCP connection to the destination on an address the policy allows."""
        return await open_platform_socket(
            destination.host, destination.port, self.egress, destination.timeout_seconds
        )

    def connections_opened(self, destination: Destination) -> int:
        """How many connections were opened to the destination since it was configured."""
        pool = self._pools.get(destination.company_id)
        return pool.opened if pool is not None and pool.destination == destination else 0

    async def _pool(self, destination: Destination) -> _Pool:
        pool = self._pools.get(destination.company_id)
        if pool is not None and pool.destination != destination:
            # The administrator changed the destination: its old connections are void.
            await pool.close()
            pool = None
        if pool is None:
            pool = self._pools[destination.company_id] = _Pool(destination, self)
        return pool

    async def upload(
        self, destination: Destination, recordings: Sequence[RecordingUpload]
    ) -> dict[int, BaseException | None]:
        """Deliver the recordings; per delivery id ``None`` or the error (see model).

        Raises when the destination as a whole cannot be used (unreachable, host key,
        login, root folder); after that every file's outcome is in its slot.
        """
        if not recordings:
            return {}
        pool = await self._pool(destination)
        await pool.ready()
        results: dict[int, BaseException | None] = {}
        await asyncio.gather(*(self._put_recording(pool, item, results) for item in recordings))
        return results

    async def _put_recording(
        self, pool: _Pool, recording: RecordingUpload, results: dict[int, BaseException | None]
    ) -> None:
        outcomes = await asyncio.gather(*(self._put_item(pool, item) for item in recording.files))
        for item, outcome in zip(recording.files, outcomes, strict=True):
            results[item.delivery_id] = outcome
        sidecar = recording.sidecar
        if any(outcome is not None for outcome in outcomes):
            if sidecar is not None:
                results[sidecar.delivery_id] = FileDeliveryError(
                    f"not attempted: recording {recording.recording_id} has data files not "
                    "delivered yet, and its sidecar goes only after all of them"
                )
            return
        if sidecar is not None:
            results[sidecar.delivery_id] = outcome = await self._put_item(pool, sidecar)
            if outcome is not None:
                return
        if pool.destination.done_marker and recording.done_marker_path is not None:
            marker = await self._deliver(
                pool, recording.done_marker_path, 0, lambda: _Source.of_bytes(b"", "done-marker")
            )
            if marker is not None:
                # The marker has no delivery of its own: the file it follows is retried.
                for item in (sidecar,) if sidecar is not None else recording.files:
                    results[item.delivery_id] = marker

    async def _put_item(self, pool: _Pool, item: UploadItem) -> BaseException | None:
        return await self._deliver(
            pool,
            item.remote_path,
            item.size,
            lambda: _Source.open_item(item),
            look_first=not item.first_attempt,
        )

    async def _deliver(
        self,
        pool: _Pool,
        remote_path: str,
        size: int,
        open_source: Callable[[], _Source],
        *,
        look_first: bool = True,
    ) -> BaseException | None:
        try:
            await pool.put(remote_path, size, open_source, look_first=look_first)
        except DeliveryError as error:
            return error
        except Exception as error:
            if not isinstance(error, asyncssh.Error | OSError):
                logger.exception("unexpected error delivering %s", remote_path)
            return classify(error, pool.destination, f"delivering {remote_path}")
        return None

    async def probe(
        self, destination: Destination, *, write: bool = True, within: float | None = None
    ) -> list[ProbeStep]:
        """Test connection for an administrator: each step, until one fails.

        ``write=False`` stops after the folder check, leaving the platform untouched (the
        reachability check at start).  ``within`` bounds the whole test in seconds: a
        step still running then fails, saying so.
        """
        steps: list[ProbeStep] = []
        try:
            async with asyncio.timeout(within):
                await self._probe(destination, steps, write=write)
        except TimeoutError:
            done = len(steps)
            stopped: DeliveryError
            if done == 0:  # no SSH server answered in time: as any other such failure
                stopped = PlatformUnreachableError(destination.host, destination.port)
            else:
                stopped = TransientDeliveryError(f"Test connection stopped after {within:g} s")
            doing = "connect" if done == 0 else "log in" if done < 3 else _FILE_STEPS[done - 3]
            steps.append(ProbeStep(doing, False, stopped.reason, stopped))
        return steps

    async def _probe(
        self, destination: Destination, steps: list[ProbeStep], *, write: bool
    ) -> None:
        pool = _Pool(destination, self)
        try:
            sock = await self.open_socket(destination)
        except DeliveryError as error:
            steps.append(ProbeStep("connect", False, error.reason, error))
            return
        try:
            key = await pool.call(
                asyncssh.get_server_host_key(
                    destination.host, destination.port, sock=sock, config=None
                )
            )
        except Exception as error:
            failed = unreachable(error, destination)
            steps.append(ProbeStep("connect", False, failed.reason, failed))
            return
        finally:
            sock.close()
        shown = (
            known_hosts_line(destination.host, destination.port, _public_line(key))
            if key is not None
            else None
        )
        steps.append(
            ProbeStep("connect", True, f"the server's host key is {shown}", host_key=shown)
        )
        try:
            session = await pool.open_session(check_root=False)
        except HostKeyError as error:
            detail = f"{error.reason}; the server shows: {shown}"
            steps.append(ProbeStep("host key", False, detail, error))
            return
        except AuthenticationFailedError as error:
            steps.append(ProbeStep("host key", True, "the server's key is the pinned one"))
            steps.append(ProbeStep("log in", False, error.reason, error))
            return
        except DeliveryError as error:
            steps.append(ProbeStep("log in", False, error.reason, error))
            return
        steps.append(ProbeStep("host key", True, "the server's key is the pinned one"))
        steps.append(ProbeStep("log in", True, f"logged in as {destination.username!r}"))
        try:
            await self._probe_files(pool, session, steps, write=write)
        finally:
            await session.close()

    async def _probe_files(
        self, pool: _Pool, session: _Session, steps: list[ProbeStep], *, write: bool
    ) -> None:
        name = f".chatrec-probe-{secrets.token_hex(6)}"
        final = posixpath.join(pool.root, name)
        part = f"{final}.part"

        async def folder() -> str:
            await pool.check_root(session)
            return f"{pool.root!r} exists"

        async def write_probe() -> str:
            await pool.write_part(session, part, _Source.of_bytes(b"chatrec probe\n", "probe"))
            return f"wrote {part!r}"

        async def rename() -> str:
            await pool.rename(session, part, final)
            return f"renamed it to {final!r}"

        async def delete() -> str:
            try:
                await pool.call(session.sftp.remove(final))
            except asyncssh.SFTPNoSuchFile:
                return "the platform had already taken the file away"
            return "deleted it"

        actions: list[tuple[str, Callable[[], Awaitable[str]]]] = list(
            zip(_FILE_STEPS, (folder, write_probe, rename, delete), strict=True)
        )
        if not write:
            actions = actions[:1]
        for step, action in actions:
            try:
                detail = await action()
            except Exception as error:
                failed = classify(error, pool.destination, step)
                steps.append(ProbeStep(step, False, failed.reason, failed))
                if step in ("write", "rename"):
                    with contextlib.suppress(Exception):
                        await pool.call(session.sftp.remove(part))
                return
            steps.append(ProbeStep(step, True, detail))

    async def close(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.close()


def check_credentials(host_key: str, private_key: str | None) -> None:
    """Refuse, before saving, a pinned key or private key that could never be used (R19).

    An empty ``host_key`` is allowed: Test connection shows the server's key to pin.
    """
    if host_key.strip():
        pinned_known_hosts(host_key)
    if private_key is not None:
        try:
            asyncssh.import_private_key(private_key)
        except (asyncssh.KeyImportError, ValueError) as error:
            raise AuthenticationFailedError(
                f"the private key cannot be read ({error}); paste an unencrypted OpenSSH "
                "or PEM private key"
            ) from error
