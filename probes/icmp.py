"""Ping monitors: one ICMP echo request, up when the matching echo reply comes back.

Unprivileged where the kernel allows it: a ``SOCK_DGRAM`` ICMP socket (Linux, for groups
in ``net.ipv4.ping_group_range``; the kernel then owns the identifier and filters
replies for us). Otherwise a raw socket, which needs root or CAP_NET_RAW, sees every ICMP
packet of the host, so replies are matched on identifier, sequence and payload.

Why not icmplib (3.0.4, weighed for issue 15): it would replace only the ~30 lines that
build and match packets, and do them less well for us. Its socket ``send`` calls the
blocking ``getaddrinfo`` on the event loop for every request (and resolves a name again,
behind the guard's back, if given one); its sockets are unconnected, so a raw socket
wakes for every ICMP packet of the host instead of only the target's, and replies are
matched on identifier and sequence but not on the payload; it has no datagram-to-raw
fallback (we would keep ours), no phases, and no type hints. In
bench/dns_ping_throughput.py its bare asyncio loop costs more CPU per ping than this
whole probe with its trace, guard and outcome. What it does better, reading ICMP errors
(unreachable, TTL exceeded) into causes, is not worth that trade: a target that does not
answer is down either way, and the deadline names it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import struct
from typing import TYPE_CHECKING

from probes.failures import ProbeError
from probes.guard import resolve
from probes.spec import CheckSpec, Outcome
from probes.targets import split_host_port
from probes.timing import Trace

if TYPE_CHECKING:
    from probes.runner import ProbeContext

ECHO_REQUEST = {socket.AF_INET: 8, socket.AF_INET6: 128}
ECHO_REPLY = {socket.AF_INET: 0, socket.AF_INET6: 129}
PROTOCOLS = {socket.AF_INET: socket.IPPROTO_ICMP, socket.AF_INET6: socket.IPPROTO_ICMPV6}


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_request(family: socket.AddressFamily, identifier: int, sequence: int, payload: bytes) -> bytes:
    kind = ECHO_REQUEST[family]
    header = struct.pack("!BBHHH", kind, 0, 0, identifier, sequence)
    # ICMPv6 checksums cover a pseudo-header only the kernel knows; it fills them in.
    value = checksum(header + payload) if family == socket.AF_INET else 0
    return struct.pack("!BBHHH", kind, 0, value, identifier, sequence) + payload


def open_icmp_socket(family: socket.AddressFamily) -> tuple[socket.socket, bool]:
    """(socket, is_raw). Datagram first: it needs no privilege where allowed."""
    protocol = PROTOCOLS[family]
    try:
        return socket.socket(family, socket.SOCK_DGRAM, protocol), False
    except PermissionError:
        pass
    try:
        return socket.socket(family, socket.SOCK_RAW, protocol), True
    except PermissionError:
        raise ProbeError(
            "ICMP not permitted: run the worker as root, with CAP_NET_RAW, or in a group of net.ipv4.ping_group_range"
        ) from None


def matching_reply(
    packet: bytes, family: socket.AddressFamily, *, is_raw: bool, identifier: int, sequence: int, payload: bytes
) -> bool:
    if is_raw and family == socket.AF_INET:
        packet = packet[(packet[0] & 0x0F) * 4 :]  # raw IPv4 sockets hand us the IP header too
    if len(packet) < 8 or packet[0] != ECHO_REPLY[family]:
        return False
    _, _, _, reply_identifier, reply_sequence = struct.unpack("!BBHHH", packet[:8])
    if is_raw and reply_identifier != identifier:
        return False  # the kernel rewrote it for datagram sockets; raw ones see everyone's
    return reply_sequence == sequence and packet[8:] == payload


async def probe_ping(spec: CheckSpec, context: ProbeContext, trace: Trace, outcome: Outcome) -> None:
    host, _ = split_host_port(spec.target)
    loop = asyncio.get_running_loop()
    trace.enter("name_lookup")
    addresses: list[str] = await resolve(
        loop,
        host,
        None,
        ip_version=spec.ip_version,
        policy=context.address_policy,
        kind=socket.SOCK_RAW,
    )
    address = addresses[0]
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    trace.enter("connect")
    sock, is_raw = open_icmp_socket(family)
    try:
        sock.setblocking(False)
        sock.connect((address, 0))
        trace.remote_ip = address
        identifier = os.getpid() & 0xFFFF
        sequence = secrets.randbits(16)
        payload = b"pharos" + secrets.token_bytes(26)
        trace.enter("processing")
        await loop.sock_sendall(sock, echo_request(family, identifier, sequence, payload))
        while True:
            packet = await loop.sock_recv(sock, 65535)
            if matching_reply(packet, family, is_raw=is_raw, identifier=identifier, sequence=sequence, payload=payload):
                return
    finally:
        sock.close()
