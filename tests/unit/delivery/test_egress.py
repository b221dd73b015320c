"""The operator's egress policy: which addresses and ports platforms may be reached on
(issue 16.3).  A table per decision; the connections themselves are tested against
real servers in tests/integration/delivery/test_connection_test.py."""

from __future__ import annotations

import pytest

from chatrec.config import Config
from chatrec.delivery.egress import ALL_PORTS, EgressPolicy, parse_rules

DEFAULT = EgressPolicy()

REFUSED_BY_DEFAULT = [
    "127.0.0.1",
    "127.255.0.9",
    "::1",
    "0.0.0.0",
    "::",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.10",
    "100.64.0.1",
    "100.127.255.254",
    "169.254.10.1",
    "169.254.169.254",
    "fe80::1",
    "fe80::1%1",
    "fc00::1",
    "fd12:3456::1",
    "fd00:ec2::254",
    "224.0.0.1",
    "239.255.255.250",
    "ff02::1",
    "255.255.255.255",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
]

ALLOWED_BY_DEFAULT = [
    "93.184.215.14",
    "8.8.8.8",
    "172.32.0.1",
    "100.128.0.1",
    "2606:4700::1111",
    "::ffff:93.184.215.14",
    "64:ff9b::5db8:d70e",  # NAT64 of a public address
]


@pytest.mark.parametrize("address", REFUSED_BY_DEFAULT)
def test_the_default_policy_refuses_internal_addresses(address: str) -> None:
    assert DEFAULT.refusal(address, 22) is not None


@pytest.mark.parametrize("address", ALLOWED_BY_DEFAULT)
def test_the_default_policy_allows_public_addresses(address: str) -> None:
    assert DEFAULT.refusal(address, 22) is None


ON_PREMISES = EgressPolicy.of(
    allow="10.20.0.0/16, 192.168.5.7:22, [fd12::7]:2200-2299, 169.254.0.0/16, 127.0.0.1:8422",
    deny="10.20.99.0/24, 0.0.0.0/0:25",
)

DECISIONS = [
    # address, port, allowed, why
    ("10.20.1.1", 22, True, "in an allowed network, any port"),
    ("10.20.1.1", 2222, True, "in an allowed network, any port"),
    ("10.21.1.1", 22, False, "private, outside the allowed network"),
    ("10.20.99.5", 22, False, "denied inside an allowed network: deny wins"),
    ("192.168.5.7", 22, True, "the allowed address and port"),
    ("192.168.5.7", 23, False, "the allowed address, another port"),
    ("fd12::7", 2250, True, "in the allowed port range"),
    ("fd12::7", 2300, False, "past the allowed port range"),
    ("169.254.1.1", 22, True, "link-local allowed as a range"),
    ("169.254.169.254", 80, False, "metadata: a range does not allow it"),
    ("127.0.0.1", 8422, True, "the demo's platform, exactly"),
    ("127.0.0.1", 5432, False, "loopback, another port"),
    ("93.184.215.14", 25, False, "a public address on a denied port"),
    ("93.184.215.14", 22, True, "a public address"),
]


@pytest.mark.parametrize(("address", "port", "allowed", "why"), DECISIONS)
def test_allow_and_deny_entries_decide_in_order(
    address: str, port: int, allowed: bool, why: str
) -> None:
    assert (ON_PREMISES.refusal(address, port) is None) is allowed, why


def test_metadata_is_allowed_only_by_naming_it_exactly() -> None:
    named = EgressPolicy.of(allow="169.254.169.254:80")
    assert named.refusal("169.254.169.254", 80) is None
    assert named.refusal("169.254.169.254", 81) is not None
    assert EgressPolicy.of(allow="0.0.0.0/0").refusal("169.254.169.254", 80) is not None


def test_a_refusal_says_why_for_the_operator_s_log() -> None:
    assert DEFAULT.refusal("10.1.2.3", 22) == (
        "10.1.2.3 is in 10.0.0.0/8 (private (RFC 1918)), refused unless CHATREC_EGRESS_ALLOW "
        "covers it"
    )
    denied = ON_PREMISES.refusal("10.20.99.5", 22)
    assert denied == "10.20.99.5 port 22 is denied by CHATREC_EGRESS_DENY entry 10.20.99.0/24"


@pytest.mark.parametrize(
    ("entry", "network", "ports"),
    [
        ("10.20.0.0/16", "10.20.0.0/16", ALL_PORTS),
        ("192.0.2.7", "192.0.2.7/32", ALL_PORTS),
        ("192.0.2.7:22", "192.0.2.7/32", (22, 22)),
        ("10.0.0.0/8:2200-2299", "10.0.0.0/8", (2200, 2299)),
        ("fd12::/48", "fd12::/48", ALL_PORTS),
        ("[fd12::7]:22", "fd12::7/128", (22, 22)),
        ("[fd12::/48]", "fd12::/48", ALL_PORTS),
        ("10.1.2.3/8", "10.0.0.0/8", ALL_PORTS),
    ],
)
def test_entries_are_networks_with_optional_ports(
    entry: str, network: str, ports: tuple[int, int]
) -> None:
    (rule,) = parse_rules(entry, "CHATREC_EGRESS_ALLOW")
    assert (str(rule.network), rule.ports) == (network, ports)
    assert parse_rules(str(rule), "X") == (rule,)  # shown as it can be read back


@pytest.mark.parametrize(
    "entry",
    [
        "sftp.example",
        "10.0.0.0/33",
        "10.0.0.1:0",
        "10.0.0.1:70000",
        "10.0.0.1:30-20",
        "fd12::7:x",
        "[fd12::7",
        "[fd12::7]22",
        "10.0.0.1:22:23",
        "*",
    ],
)
def test_a_bad_entry_is_refused_at_start_up_with_its_form(entry: str) -> None:
    with pytest.raises(ValueError, match=r"CHATREC_EGRESS_DENY: .* is not a network"):
        Config(egress_deny=f"10.0.0.0/8, {entry}")


def test_empty_settings_leave_the_default_policy() -> None:
    assert Config(egress_allow="", egress_deny=" , ").egress_policy == DEFAULT
