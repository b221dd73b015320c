"""Test connection: each step an administrator can act on, in order, until one fails.

Connect (the server's host key shown, to pin), host key, log in, then on the folder:
exists, write, rename, delete (R19).  It opens a connection of its own, outside the
pools, with the same egress check, keys and classification as delivery, so what it says
is what delivery would meet.
"""

from __future__ import annotations

import asyncio
import contextlib
import posixpath
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncssh

from chatrec.delivery.model import Destination
from chatrec.delivery.sftp.connect import open_socket
from chatrec.delivery.sftp.errors import classify, unreachable
from chatrec.delivery.sftp.keys import known_hosts_line, public_line
from chatrec.delivery.sftp.pool import Pool, PoolSettings, Session
from chatrec.delivery.sftp.transfer import Source, rename, write_part
from chatrec.errors import (
    AuthenticationFailedError,
    DeliveryError,
    HostKeyError,
    PlatformUnreachableError,
    TransientDeliveryError,
)

# The steps of Test connection after logging in, in order.
_FILE_STEPS = ("folder", "write", "rename", "delete")


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


async def probe(
    destination: Destination,
    settings: PoolSettings,
    *,
    write: bool = True,
    within: float | None = None,
) -> list[ProbeStep]:
    """Test connection for an administrator: each step, until one fails.

    ``write=False`` stops after the folder check, leaving the platform untouched (the
    reachability check at start).  ``within`` bounds the whole test in seconds: a
    step still running then fails, saying so.
    """
    steps: list[ProbeStep] = []
    try:
        async with asyncio.timeout(within):
            await _probe(destination, settings, steps, write=write)
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
    destination: Destination, settings: PoolSettings, steps: list[ProbeStep], *, write: bool
) -> None:
    pool = Pool(destination, settings)
    try:
        sock = await open_socket(destination, settings.egress)
    except DeliveryError as error:
        steps.append(ProbeStep("connect", False, error.reason, error))
        return
    try:
        key = await pool.call(
            asyncssh.get_server_host_key(destination.host, destination.port, sock=sock, config=None)
        )
    except Exception as error:
        failed = unreachable(error, destination)
        steps.append(ProbeStep("connect", False, failed.reason, failed))
        return
    finally:
        sock.close()
    shown = (
        known_hosts_line(destination.host, destination.port, public_line(key))
        if key is not None
        else None
    )
    steps.append(ProbeStep("connect", True, f"the server's host key is {shown}", host_key=shown))
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
        await _probe_files(pool, session, steps, write=write)
    finally:
        await session.close()


async def _probe_files(
    pool: Pool, session: Session, steps: list[ProbeStep], *, write: bool
) -> None:
    name = f".chatrec-probe-{secrets.token_hex(6)}"
    final = posixpath.join(pool.root, name)
    part = f"{final}.part"

    async def folder() -> str:
        await pool.check_root(session)
        return f"{pool.root!r} exists"

    async def write_probe() -> str:
        await write_part(pool, session, part, Source.of_bytes(b"chatrec probe\n", "probe"))
        return f"wrote {part!r}"

    async def rename_probe() -> str:
        await rename(pool, session, part, final)
        return f"renamed it to {final!r}"

    async def delete() -> str:
        try:
            await pool.call(session.sftp.remove(final))
        except asyncssh.SFTPNoSuchFile:
            return "the platform had already taken the file away"
        return "deleted it"

    actions: list[tuple[str, Callable[[], Awaitable[str]]]] = list(
        zip(_FILE_STEPS, (folder, write_probe, rename_probe, delete), strict=True)
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
