"""Which :mod:`chatrec.errors` an asyncssh or OS error means, decided by its type alone.

Never by its text: the worker retries a :class:`~chatrec.errors.TransientDeliveryError`
and blocks the destination on the others, so the type is the promise (R16, R18).  Kept
in one module because the pool, the transfer and Test connection all classify, and must
agree.
"""

from __future__ import annotations

import logging

import asyncssh

from chatrec.delivery.model import Destination
from chatrec.errors import (
    AuthenticationFailedError,
    DeliveryError,
    FileDeliveryError,
    HostKeyError,
    PlatformUnreachableError,
    RemotePermissionError,
    TransientDeliveryError,
)

logger = logging.getLogger(__name__)

# What a connection attempt raises when no SSH server answered: the port is closed,
# filtered or not SSH.  Told apart only in the log (issue 16.3).
_NOT_SSH: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncssh.ConnectionLost,
    asyncssh.ProtocolError,
)

# What ends a connection rather than one request: the session is dropped from the pool.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes ConnectionRefusedError and TimeoutError
    asyncssh.DisconnectError,
    asyncssh.ChannelOpenError,
    asyncssh.SFTPConnectionLost,
    asyncssh.SFTPNoConnection,
)


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
