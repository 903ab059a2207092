"""Ping monitors: ICMP echo to 127.0.0.1 and ::1 (datagram ICMP socket where the kernel
allows it, raw socket as root)."""

import os
import socket

import pytest

from probes.icmp import open_icmp_socket
from probes.spec import DOWN, UP


def icmp_available(family):
    try:
        sock, _ = open_icmp_socket(family)
    except Exception:
        return False
    sock.close()
    return True


needs_icmp = pytest.mark.skipif(
    not icmp_available(socket.AF_INET),
    reason=f"no ICMP socket for uid {os.getuid()}: not root and not in net.ipv4.ping_group_range",
)


@needs_icmp
def test_pinging_ipv4_loopback_is_up_with_a_round_trip_time(check):
    outcome = check(type="ping", target="127.0.0.1")
    assert (outcome.status, outcome.remote_ip) == (UP, "127.0.0.1")
    assert outcome.phases["processing"] > 0
    assert outcome.response_time == pytest.approx(sum(outcome.phases.values()), abs=1e-5)


@needs_icmp
def test_pinging_ipv6_loopback_is_up(check):
    outcome = check(type="ping", target="::1")
    assert (outcome.status, outcome.remote_ip) == (UP, "::1")


def test_pinging_a_name_that_cannot_resolve_is_down(check):
    outcome = check(type="ping", target="no-such-host." + "x" * 64)
    assert (outcome.status, outcome.cause) == (DOWN, "DNS lookup failed")
