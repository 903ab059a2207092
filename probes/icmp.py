"""Ping monitors: one ICMP echo request, up when the matching echo reply comes back.

Unprivileged where the kernel allows it: a ``SOCK_DGRAM`` ICMP socket (Linux, for groups
in ``net.ipv4.ping_group_range``; the kernel then owns the identifier and filters
replies for us). Otherwise a raw socket, which needs root or CAP_NET_RAW, sees every ICMP
packet of the host, so replies are matched on identifier, sequence and payload.
"""

import asyncio
import os
import secrets
import socket
import struct

from probes.failures import ProbeError
from probes.guard import resolve
from probes.targets import split_host_port

ECHO_REQUEST = {socket.AF_INET: 8, socket.AF_INET6: 128}
ECHO_REPLY = {socket.AF_INET: 0, socket.AF_INET6: 129}
PROTOCOLS = {socket.AF_INET: socket.IPPROTO_ICMP, socket.AF_INET6: socket.IPPROTO_ICMPV6}


def checksum(data):
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_request(family, identifier, sequence, payload):
    kind = ECHO_REQUEST[family]
    header = struct.pack("!BBHHH", kind, 0, 0, identifier, sequence)
    # ICMPv6 checksums cover a pseudo-header only the kernel knows; it fills them in.
    value = checksum(header + payload) if family == socket.AF_INET else 0
    return struct.pack("!BBHHH", kind, 0, value, identifier, sequence) + payload


def open_icmp_socket(family):
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


def matching_reply(packet, family, *, is_raw, identifier, sequence, payload):
    if is_raw and family == socket.AF_INET:
        packet = packet[(packet[0] & 0x0F) * 4 :]  # raw IPv4 sockets hand us the IP header too
    if len(packet) < 8 or packet[0] != ECHO_REPLY[family]:
        return False
    _, _, _, reply_identifier, reply_sequence = struct.unpack("!BBHHH", packet[:8])
    if is_raw and reply_identifier != identifier:
        return False  # the kernel rewrote it for datagram sockets; raw ones see everyone's
    return reply_sequence == sequence and packet[8:] == payload


async def probe_ping(spec, context, trace, outcome):
    host, _ = split_host_port(spec.target)
    loop = asyncio.get_running_loop()
    trace.enter("name_lookup")
    addresses = await resolve(
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
