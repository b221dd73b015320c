"""Opening an SSH connection to a platform: egress-checked, host key pinned, logged in.

Every connection, the pool's and Test connection's, goes to an address the operator's
egress policy allows (:mod:`chatrec.delivery.egress`), and every failure before SSH
speaks reads the same (:func:`~chatrec.delivery.sftp.errors.unreachable`).
"""

from __future__ import annotations

import socket

import asyncssh

from chatrec.delivery.egress import EgressPolicy, open_platform_socket
from chatrec.delivery.model import Destination
from chatrec.delivery.sftp.coalesce import CoalescingTunnel
from chatrec.delivery.sftp.errors import unreachable
from chatrec.delivery.sftp.keys import credentials, pinned_known_hosts

# AES-GCM first, then asyncssh's defaults: asyncssh's ChaCha20-Poly1305 builds a cipher
# object per packet, and was a quarter of the delivery worker's time on loopback; AES-GCM
# (AES-NI) cost about a quarter less CPU per file (issue 13).  Both are OpenSSH defaults.
PREFERRED_CIPHERS = "^aes128-gcm@openssh.com,aes256-gcm@openssh.com"


async def open_socket(destination: Destination, egress: EgressPolicy) -> socket.socket:
    """A TCP connection to the destination on an address the policy allows."""
    return await open_platform_socket(
        destination.host, destination.port, egress, destination.timeout_seconds
    )


async def connect(
    destination: Destination,
    egress: EgressPolicy,
    *,
    keepalive_interval: float,
    keepalive_count_max: int,
) -> asyncssh.SSHClientConnection:
    """A logged-in connection to the destination, the pinned host key verified, on an
    address the egress policy allows.  No user or system SSH configuration is read."""
    known_hosts = pinned_known_hosts(destination.host_key)
    login = credentials(destination)
    sock = await open_socket(destination, egress)
    try:
        return await asyncssh.connect(
            destination.host,
            destination.port,
            tunnel=CoalescingTunnel(sock),  # over the checked socket, writes gathered
            encryption_algs=PREFERRED_CIPHERS,
            username=destination.username,
            known_hosts=known_hosts,
            config=None,
            agent_path=None,
            gss_host=None,
            connect_timeout=destination.timeout_seconds,
            keepalive_interval=keepalive_interval,
            keepalive_count_max=keepalive_count_max,
            **login,
        )
    except Exception as error:
        sock.close()
        raise unreachable(error, destination) from error
    except BaseException:
        sock.close()
        raise
