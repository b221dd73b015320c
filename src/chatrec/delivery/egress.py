"""Where chatrec may connect to deliver recordings: the operator's egress policy (R16, R18).

A company administrator names the host and port of their recording platform; without a
policy, Test connection and the delivery worker would reach anything the server can,
the hosting network's databases and cloud metadata included.  So every connection to a
platform goes through :func:`open_platform_socket`: the name is resolved here, every
address it resolves to is checked, and the socket is connected to a checked address
and handed to SSH, so a second resolution (DNS rebinding) cannot swap it.

A connection to ``address:port`` is decided, first rule that applies:

1. an entry of ``CHATREC_EGRESS_DENY`` covers it: refused;
2. a cloud metadata address (:data:`METADATA`): allowed only by an allow entry naming
   exactly that address, so allowing a whole range never opens it by accident;
3. an entry of ``CHATREC_EGRESS_ALLOW`` covers it: allowed (on-premises platforms, the
   demo's platform on loopback);
4. a range refused by default (:data:`REFUSED_BY_DEFAULT`): refused;
5. anything else (the public internet): allowed.

An entry is a network with an optional port or port range: ``10.20.0.0/16``,
``192.0.2.7:22``, ``10.0.0.0/8:2200-2299``, ``fd12::/48``, ``[fd12::7]:22``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass
from typing import Any

from chatrec.errors import EgressRefusedError, PlatformUnreachableError

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ALL_PORTS = (1, 65535)

REFUSED_BY_DEFAULT: tuple[tuple[Network, str], ...] = tuple(
    (ipaddress.ip_network(network), why)
    for network, why in (
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private (RFC 1918)"),
        ("100.64.0.0/10", "shared carrier-grade NAT (RFC 6598)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private (RFC 1918)"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.168.0.0/16", "private (RFC 1918)"),
        ("198.18.0.0/15", "benchmarking"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved and broadcast"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("fc00::/7", "unique local (ULA)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
"""Ranges refused unless an allow entry covers them, and why, for the server log."""

METADATA: frozenset[Address] = frozenset(
    ipaddress.ip_address(address) for address in ("169.254.169.254", "fd00:ec2::254")
)
"""Cloud instance metadata services (AWS, Azure, GCP and others; AWS over IPv6): the
server's own credentials live there."""

# IPv6 forms that carry an IPv4 address on to the IPv4 network: checked as that address.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True, slots=True)
class EgressRule:
    """A network and the ports of it one entry of the policy covers."""

    network: Network
    ports: tuple[int, int] = ALL_PORTS

    def covers(self, address: Address, port: int) -> bool:
        return address in self.network and self.ports[0] <= port <= self.ports[1]

    @property
    def exact(self) -> bool:
        """Whether it names a single address rather than a range."""
        return self.network.num_addresses == 1

    def __str__(self) -> str:
        if self.ports == ALL_PORTS:
            return str(self.network)
        first, last = self.ports
        ports = str(first) if first == last else f"{first}-{last}"
        if self.network.version == 6:
            return f"[{self.network}]:{ports}"
        return f"{self.network}:{ports}"


def parse_rules(text: str, setting: str) -> tuple[EgressRule, ...]:
    """The comma-separated entries of ``setting``; a bad entry is refused with its form."""
    return tuple(_parse_rule(entry.strip(), setting) for entry in text.split(",") if entry.strip())


def _parse_rule(entry: str, setting: str) -> EgressRule:
    network_text, ports_text = entry, ""
    if entry.startswith("["):
        network_text, bracket, rest = entry[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(_bad(entry, setting))
        ports_text = rest[1:]
    elif entry.count(":") == 1:  # IPv4 with a port; IPv6 has several colons
        network_text, _, ports_text = entry.partition(":")
    try:
        network = ipaddress.ip_network(network_text, strict=False)
        ports = _parse_ports(ports_text) if ports_text else ALL_PORTS
    except ValueError as error:
        raise ValueError(_bad(entry, setting)) from error
    return EgressRule(network, ports)


def _parse_ports(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    low, high = int(first), int(last or first)
    if not 1 <= low <= high <= 65535:
        raise ValueError(f"ports {text!r} out of range")
    return low, high


def _bad(entry: str, setting: str) -> str:
    return (
        f"{setting}: {entry!r} is not a network with an optional port, such as 10.20.0.0/16, "
        "192.0.2.7:22, 10.0.0.0/8:2200-2299, fd12::/48 or [fd12::7]:22"
    )


def _checked_form(address: Address) -> Address:
    """The address the packets finally go to: IPv4 inside IPv4-mapped or NAT64 IPv6."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """The operator's allowed and denied networks; see the module's docstring."""

    allow: tuple[EgressRule, ...] = ()
    deny: tuple[EgressRule, ...] = ()

    @classmethod
    def of(cls, allow: str = "", deny: str = "") -> EgressPolicy:
        """The policy of ``CHATREC_EGRESS_ALLOW`` and ``CHATREC_EGRESS_DENY`` values."""
        return cls(
            parse_rules(allow, "CHATREC_EGRESS_ALLOW"), parse_rules(deny, "CHATREC_EGRESS_DENY")
        )

    def refusal(self, address: str, port: int) -> str | None:
        """Why a connection to ``address:port`` is refused, for the server log; ``None``
        when it is allowed.  ``address`` is a literal, as a resolver returns it."""
        parsed = _checked_form(ipaddress.ip_address(address))
        for rule in self.deny:
            if rule.covers(parsed, port):
                return f"{address} port {port} is denied by CHATREC_EGRESS_DENY entry {rule}"
        allowed_by = [rule for rule in self.allow if rule.covers(parsed, port)]
        if parsed in METADATA:
            if any(rule.exact for rule in allowed_by):
                return None
            return (
                f"{address} is a cloud metadata address; only a CHATREC_EGRESS_ALLOW entry "
                "naming exactly this address allows it"
            )
        if allowed_by:
            return None
        for network, why in REFUSED_BY_DEFAULT:
            if parsed in network:
                return (
                    f"{address} is in {network} ({why}), refused unless CHATREC_EGRESS_ALLOW "
                    "covers it"
                )
        return None


async def open_platform_socket(
    host: str, port: int, policy: EgressPolicy, timeout: float
) -> socket.socket:
    """A TCP connection to ``host:port`` on an address the policy allows, for SSH to use.

    Every address the name resolves to must be allowed, else the connection is refused
    (:class:`EgressRefusedError`) before any packet goes to the platform.  The addresses
    are then tried in the resolver's order.  A name that does not resolve, a refused,
    filtered or unreachable port, or no connection within ``timeout`` seconds (all of
    it), raise the same :class:`PlatformUnreachableError`; the cause goes to the log.
    """
    loop = asyncio.get_running_loop()
    failure: BaseException | None = None
    try:
        async with asyncio.timeout(timeout):
            found = await loop.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
            targets = list(dict.fromkeys((family, addr) for family, _, _, _, addr in found))
            for _, sockaddr in targets:
                why = policy.refusal(str(sockaddr[0]), port)
                if why is not None:
                    logger.warning("refused a connection to %s:%d: %s", host, port, why)
                    raise EgressRefusedError(host, port)
            for family, sockaddr in targets:
                try:
                    return await _connected(loop, family, sockaddr)
                except OSError as error:
                    failure = error
    except (OSError, TimeoutError, ValueError) as error:  # ValueError: a name IDNA refuses
        failure = error
    logger.info("could not reach %s:%d: %r", host, port, failure)
    raise PlatformUnreachableError(host, port) from failure


async def _connected(
    loop: asyncio.AbstractEventLoop, family: int, sockaddr: tuple[Any, ...]
) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock
