"""A destination's keys: the host keys it trusts and what it logs in with (R16, R19).

The server's key must be the pinned one; there is no "accept new key".  Kept apart from
connecting because an administrator's form checks the same keys before anything is
saved (:func:`check_credentials`), and the demo platform shows its key in the same
known_hosts form an administrator pins.
"""

from __future__ import annotations

import contextlib
from typing import Any

import asyncssh

from chatrec.delivery.model import Destination
from chatrec.errors import AuthenticationFailedError, HostKeyError

NO_PIN = "no host key is pinned for this destination; run Test connection and pin the key it shows"


def pinned_known_hosts(pin: str) -> asyncssh.SSHKnownHosts:
    """The only keys trusted for a destination: those pinned on it.

    Each line is a public key, optionally preceded by host patterns as in a known_hosts
    file; the patterns are ignored, since a pin belongs to one destination anyway.
    """
    lines = [line.strip() for line in pin.splitlines()]
    keys = [_pinned_key(line) for line in lines if line and not line.startswith("#")]
    if not keys:
        raise HostKeyError(NO_PIN)
    trusted = [f"* {public_line(key)}\n" for key in keys]
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


def public_line(key: asyncssh.SSHKey) -> str:
    """The public key as ``ssh-ed25519 AAAA…``, without a comment."""
    algorithm, blob = key.export_public_key("openssh").decode().split()[:2]
    return f"{algorithm} {blob}"


def known_hosts_line(host: str, port: int, public_key: str) -> str:
    """The known_hosts form an administrator pins: ``[host]:port ssh-ed25519 AAAA…``."""
    pattern = host if port == 22 else f"[{host}]:{port}"
    return f"{pattern} {public_key}"


def credentials(destination: Destination) -> dict[str, Any]:
    """asyncssh's log-in options for the destination: its private key, else its password."""
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
