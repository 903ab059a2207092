"""Ping monitors: ICMP echo to 127.0.0.1 and ::1 (datagram ICMP socket where the kernel
allows it, raw socket as root)."""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

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


UNPRIVILEGED_PING = """
import asyncio, json, os, socket, sys
from probes.icmp import open_icmp_socket
from probes.runner import ProbeContext, Runner
from probes.spec import CheckSpec

sock, is_raw = open_icmp_socket(socket.AF_INET)
sock.close()

async def main():
    runner = Runner(ProbeContext(region="eu", allow_private_targets=True), concurrency=2)
    return [await runner.run_check(CheckSpec(1, "t", "ping", target, timeout=2)) for target in ("127.0.0.1", "::1")]

outcomes = asyncio.run(main())
print(json.dumps({"uid": os.getuid(), "raw": is_raw, "statuses": [o.status for o in outcomes]}))
"""


def private_network_namespaces_available():
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("unshare", "setpriv", "ip", "sysctl")):
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10).returncode == 0


@pytest.mark.skipif(
    not private_network_namespaces_available(),
    reason="needs root and a kernel that lets us build a private network namespace (unshare, setpriv, ip, sysctl)",
)
def test_an_unprivileged_worker_pings_through_a_datagram_icmp_socket():
    # A private network namespace (its own loopback and its own ping_group_range, so the
    # host's settings are untouched) and a worker running as nobody: the probe must then
    # use the unprivileged datagram socket and still get its echo replies.
    script = (
        'ip link set lo up && sysctl -qw net.ipv4.ping_group_range="0 2147483647" && '
        f'exec setpriv --reuid=65534 --regid=65534 --clear-groups "{sys.executable}" -c "$0"'
    )
    result = subprocess.run(
        ["unshare", "-n", "sh", "-c", script, UNPRIVILEGED_PING],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"uid": 65534, "raw": False, "statuses": ["up", "up"]}
