"""Putting one file on a platform so that it is never seen half-written (R16).

Each file is written as ``.<name>.part`` beside its final name, checked (size, and the
SHA-256 recorded when it was rendered), fsynced where the server can, and renamed into
place with ``posix-rename@openssh.com``, so the platform never sees a final name holding
half a file.  Its size on the platform is checked once: under the final name after the
rename (``verify_after_rename``, the default), else under the temporary name before it.
A final name that already holds the right number of bytes is a delivery made before:
retries are safe.  ``.part`` files a crashed upload left are removed once they are old.
Which files go in which order (data, sidecar, done-marker) is the uploader's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import posixpath
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import BinaryIO, cast

import asyncssh
from asyncssh.constants import FILEXFER_TYPE_DIRECTORY, FILEXFER_TYPE_REGULAR

from chatrec.delivery.model import UploadItem
from chatrec.delivery.sftp.errors import CONNECTION_ERRORS
from chatrec.delivery.sftp.pool import Pool, Session
from chatrec.errors import FileDeliveryError, RemoteFolderMissingError

logger = logging.getLogger(__name__)

CHUNK = 1 << 20  # taken from the source at a time
WRITE_BLOCK = 256 * 1024  # bytes per SFTP write request, at most (OpenSSH takes 255 KiB)
MIN_WRITE_BLOCK = 32 * 1024  # every SFTP server must take this much
WRITES_IN_FLIGHT = 8  # write requests pipelined per file


@dataclass(frozen=True, slots=True)
class Source:
    """Bytes to put: a recording file's (checked against its item) or a few of our own."""

    stream: BinaryIO
    size: int
    sha256: str
    label: str

    @classmethod
    def open_item(cls, item: UploadItem) -> Source:
        label = f"{item.remote_path} (delivery {item.delivery_id})"
        if item.content is None:
            raise FileDeliveryError(
                f"the bytes of recording file {label} are missing from the database (a "
                "file queued by an older chatrec whose spool file was gone when the "
                "database was migrated, or one another worker delivered meanwhile)"
            )
        if len(item.content) != item.size:
            raise FileDeliveryError(
                f"recording file {label} holds {len(item.content)} bytes in the database, "
                f"{item.size} were rendered"
            )
        return cls(io.BytesIO(item.content), item.size, item.sha256, label)

    @classmethod
    def of_bytes(cls, data: bytes, label: str) -> Source:
        return cls(io.BytesIO(data), len(data), hashlib.sha256(data).hexdigest(), label)

    async def read(self) -> bytes:
        return self.stream.read(CHUNK)


def _target_of(pool: Pool, remote_path: str) -> tuple[str, tuple[str, ...]]:
    """The absolute remote name and the sub-folders under the root it needs."""
    parts = tuple(remote_path.split("/"))
    if remote_path.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise FileDeliveryError(f"{remote_path!r} is not a safe relative path on a platform")
    return posixpath.join(pool.root, *parts), parts[:-1]


async def put(
    pool: Pool,
    remote_path: str,
    size: int,
    open_source: Callable[[], Source],
    *,
    look_first: bool = True,
) -> None:
    """Deliver one file of ``size`` bytes; the source is opened only if needed.

    ``look_first``: an earlier attempt may have put it in place; if it is there with
    ``size`` bytes, it is not written again.
    """
    target, folders = _target_of(pool, remote_path)
    async with pool.files:
        for attempt in (1, 2):
            session = await pool.acquire()
            reused = session.served > 0
            session.served += 1
            failure: BaseException | None = None
            try:
                # The first try on a dropped connection may have renamed it into place.
                look = look_first or attempt > 1
                await _put(pool, session, target, folders, size, open_source, look=look)
                return
            except CONNECTION_ERRORS as error:
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
                await pool.release(session, failure)


async def _put(
    pool: Pool,
    session: Session,
    target: str,
    folders: tuple[str, ...],
    size: int,
    open_source: Callable[[], Source],
    *,
    look: bool,
) -> None:
    existing = await _stat_or_none(pool, session, target) if look else None
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
    directory = await _ensure_folders(pool, session, folders)
    part = posixpath.join(directory, f".{posixpath.basename(target)}.part")
    source = open_source()
    with contextlib.closing(source.stream):
        try:
            # Checked here only if not after the rename: one stat per file, not two.
            check = not pool.destination.verify_after_rename
            await write_part(pool, session, part, source, check=check)
            await rename(pool, session, part, target)
        except Exception as error:
            if not isinstance(error, CONNECTION_ERRORS):
                with contextlib.suppress(asyncssh.SFTPError):
                    await pool.call(session.sftp.remove(part))
            raise
    if pool.destination.verify_after_rename:
        await _verify(pool, session, target, size)


async def _stat_or_none(pool: Pool, session: Session, path: str) -> asyncssh.SFTPAttrs | None:
    try:
        return await pool.call(session.sftp.stat(path))
    except (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath):
        return None


async def _ensure_folders(pool: Pool, session: Session, folders: tuple[str, ...]) -> str:
    """Create the sub-folders a path needs under the root (never the root itself)."""
    path = pool.root
    for name in folders:
        parent, path = path, posixpath.join(path, name)
        if path in session.folders:
            continue
        async with session.folder_lock:
            if path not in session.folders:
                await _make_folder(pool, session, parent, path)
                session.folders.add(path)
    await _remove_stale_parts(pool, session, path)
    return path


async def _make_folder(pool: Pool, session: Session, parent: str, path: str) -> None:
    attrs = await _stat_or_none(pool, session, path)
    if attrs is None:
        try:
            await pool.call(session.sftp.mkdir(path))
            return
        except (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath) as error:
            session.folders.clear()
            if parent == pool.root:
                raise RemoteFolderMissingError(
                    f"the folder {pool.root!r} vanished from the platform"
                ) from error
            raise FileDeliveryError(f"the folder {parent!r} vanished while in use") from error
        except (asyncssh.SFTPFailure, asyncssh.SFTPFileAlreadyExists):
            # Another upload made it first; it must be a folder now.
            attrs = await _stat_or_none(pool, session, path)
    if attrs is None or attrs.type != FILEXFER_TYPE_DIRECTORY:
        raise FileDeliveryError(f"{path!r} exists on the platform and is not a folder")


async def _remove_stale_parts(pool: Pool, session: Session, directory: str) -> None:
    """Remove ``.*.part`` files a crashed upload left here, once per connection.

    Only those not written to for ``stale_part_age`` seconds: a concurrent
    uploader's fresh ``.part`` is never touched.  Listing stops after
    ``stale_scan_limit`` entries, so a folder the platform never empties costs a
    bounded time; problems only delay the clean-up, never the upload.
    """
    if directory in session.cleaned:
        return
    session.cleaned.add(directory)
    cutoff = pool.settings.clock() - pool.settings.stale_part_age
    entries = cast(AsyncGenerator[asyncssh.SFTPName, None], session.sftp.scandir(directory))
    stale: list[str] = []
    try:
        async with contextlib.aclosing(entries):
            for _ in range(pool.settings.stale_scan_limit):
                try:
                    entry = await pool.call(anext(entries))
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
                await pool.call(session.sftp.remove(path))
                logger.info("removed %s, left by an upload that did not finish", path)
    except asyncssh.SFTPError as error:
        if isinstance(error, CONNECTION_ERRORS):
            raise
        logger.warning("could not clean stale .part files in %s: %s", directory, error)


async def write_part(
    pool: Pool, session: Session, part: str, source: Source, *, check: bool = True
) -> None:
    """Write the bytes under the temporary name; each write, the fsync and the close
    acknowledged.  ``check``: then stat it too, for callers that check nothing after the
    rename."""
    sftp = session.sftp
    try:
        # block_size 0: each write is one request; the pipelining is ours, below.
        remote = await pool.call(sftp.open(part, "wb", block_size=0))
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
                        writes.create_task(_write(pool, remote, piece, offset + start, window))
                    offset += len(chunk)
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
        if offset != source.size or digest.hexdigest() != source.sha256:
            raise FileDeliveryError(
                f"recording file {source.label} is not what was rendered: {offset} bytes "
                f"with sha256 {digest.hexdigest()}, expected {source.size} bytes with "
                f"sha256 {source.sha256}"
            )
        with contextlib.suppress(asyncssh.SFTPOpUnsupported):
            await pool.call(remote.fsync())
    except Exception as error:
        if not isinstance(error, CONNECTION_ERRORS):
            with contextlib.suppress(Exception):
                await pool.call(remote.close())
        raise
    await pool.call(remote.close())
    if not check:
        return
    attrs = await pool.call(session.sftp.stat(part))
    if attrs.size != source.size:
        raise FileDeliveryError(
            f"{part!r} holds {attrs.size} bytes on the platform after upload, "
            f"{source.size} were sent"
        )


async def _write(
    pool: Pool, remote: asyncssh.SFTPClientFile, data: bytes, offset: int, window: asyncio.Semaphore
) -> None:
    try:
        await pool.call(remote.write(data, offset))
    finally:
        window.release()


async def rename(pool: Pool, session: Session, part: str, target: str) -> None:
    sftp = session.sftp
    try:
        await pool.call(sftp.posix_rename(part, target))
    except asyncssh.SFTPOpUnsupported:
        # Only a server without posix-rename: plain SFTP rename will not replace.
        with contextlib.suppress(asyncssh.SFTPNoSuchFile):
            await pool.call(sftp.remove(target))
        await pool.call(sftp.rename(part, target))


async def _verify(pool: Pool, session: Session, target: str, size: int) -> None:
    attrs = await _stat_or_none(pool, session, target)
    if attrs is None:
        # Some platforms take each file away as it arrives; it was there, in full,
        # under its final name.  Counted, not retried (that would never end).
        pool.settings.taken_on_arrival += 1
        logger.info("%s was taken away by the platform on arrival; delivered", target)
        return
    if attrs.size != size:
        raise FileDeliveryError(
            f"{target!r} holds {attrs.size} bytes on the platform after the rename, "
            f"{size} were sent"
        )
