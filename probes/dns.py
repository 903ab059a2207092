"""DNS monitors: ask the server in ``target`` (host[:port], default 53) for a name.

The name comes from ``spec.body`` (the monitor's ``request_body``), falling back to
``spec.keyword`` when the body is empty; ``"example.com AAAA"`` asks for another record
type (A by default). When both body and keyword are set, the keyword must appear in the
text of one of the answers (e.g. an expected address). A minimal RFC 1035 client over UDP:
one question, recursion desired, retried over TCP when the answer comes back truncated;
fail on no answer, SERVFAIL, NXDOMAIN or REFUSED.
"""

import asyncio
import ipaddress
import secrets
import socket
import struct

from probes.connection import open_connection
from probes.datagram import exchange
from probes.failures import ProbeError, TargetDown
from probes.guard import resolve
from probes.targets import split_host_port

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33, "CAA": 257}
TYPE_NAMES = {number: name for name, number in TYPES.items()}
RCODE_CAUSES = {
    1: "DNS server could not parse the query (FORMERR)",
    2: "DNS server failure (SERVFAIL)",
    3: "DNS name does not exist (NXDOMAIN)",
    4: "DNS query not implemented (NOTIMP)",
    5: "DNS query refused (REFUSED)",
}
CLASS_IN = 1
TRUNCATED = 0x02  # the TC bit, in the third byte of the header


def question_of(spec):
    text = (spec.body or spec.keyword).strip()
    words = text.split()
    if not words:
        raise ProbeError("No name to look up: set request_body to the name")
    name, record_type = words[0], (words[1].upper() if len(words) > 1 else "A")
    if record_type not in TYPES:
        raise ProbeError(f"Unknown DNS record type {record_type!r}")
    return name, TYPES[record_type]


def encode_name(name):
    out = bytearray()
    for label in name.rstrip(".").split("."):
        raw = label.encode("idna")
        if not 0 < len(raw) <= 63:
            raise ProbeError(f"Invalid DNS name {name!r}")
        out += bytes([len(raw)]) + raw
    return bytes(out + b"\x00")


def build_query(query_id, name, record_type):
    header = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0)  # RD set, one question
    return header + encode_name(name) + struct.pack("!HH", record_type, CLASS_IN)


def read_name(message, offset):
    """(dotted name, offset after it), following compression pointers (RFC 1035 §4.1.4)."""
    labels = []
    end = None
    for _ in range(128):  # a loop of pointers must not spin forever
        length = message[offset]
        if length & 0xC0 == 0xC0:
            if end is None:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | message[offset + 1]
            continue
        if length == 0:
            return ".".join(labels), (end if end is not None else offset + 1)
        labels.append(message[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    raise ValueError("DNS name compression loop")


def record_text(message, record_type, start, length):
    data = message[start : start + length]
    if record_type == 1 and length == 4:
        return str(ipaddress.IPv4Address(data))
    if record_type == 28 and length == 16:
        return str(ipaddress.IPv6Address(data))
    if record_type in (2, 5, 12):
        return read_name(message, start)[0]
    if record_type == 15:
        return f"{struct.unpack('!H', data[:2])[0]} {read_name(message, start + 2)[0]}"
    if record_type == 16:
        parts, index = [], 0
        while index < len(data):
            size = data[index]
            parts.append(data[index + 1 : index + 1 + size].decode("utf-8", "replace"))
            index += 1 + size
        return "".join(parts)
    return data.hex()


def parse_response(message, query_id):
    """(rcode, [answer texts]); raises ValueError for a malformed message."""
    query, flags, questions, answers, _, _ = struct.unpack("!HHHHHH", message[:12])
    if query != query_id or not flags & 0x8000:
        raise ValueError("not an answer to our query")
    offset = 12
    for _ in range(questions):
        offset = read_name(message, offset)[1] + 4
    texts = []
    for _ in range(answers):
        offset = read_name(message, offset)[1]
        record_type, _, _, length = struct.unpack("!HHIH", message[offset : offset + 10])
        offset += 10
        texts.append(f"{TYPE_NAMES.get(record_type, record_type)} {record_text(message, record_type, offset, length)}")
        offset += length
    return flags & 0x000F, texts


async def exchange_over_tcp(loop, address, port, query, trace):
    connection = await open_connection(loop, [address], port, trace)
    try:
        trace.enter("processing")
        connection.write(struct.pack("!H", len(query)) + query)
        size = struct.unpack("!H", await connection.read_exactly(2, what="DNS answer"))[0]
        trace.enter("transfer")
        return await connection.read_exactly(size, what="DNS answer")
    finally:
        connection.close()


async def probe_dns(spec, context, trace, outcome):
    name, record_type = question_of(spec)
    host, port = split_host_port(spec.target)
    port = port or 53
    loop = asyncio.get_running_loop()
    trace.enter("name_lookup")
    addresses = await resolve(
        loop,
        host,
        port,
        ip_version=spec.ip_version,
        policy=context.address_policy,
        kind=socket.SOCK_DGRAM,
    )
    query_id = secrets.randbits(16)
    query = build_query(query_id, name, record_type)
    # Only a datagram carrying our query id is the answer; anything else on the socket
    # (a late answer to someone else, noise) is ignored rather than misread.
    reply = await exchange(
        loop,
        addresses[0],
        port,
        query,
        trace,
        accept=lambda data: len(data) >= 12 and data[:2] == struct.pack("!H", query_id),
    )
    if len(reply) >= 4 and reply[2] & TRUNCATED:
        # The answer did not fit a datagram: ask again over TCP (RFC 7766), or a large
        # answer would read as a partial or empty one.
        reply = await exchange_over_tcp(loop, addresses[0], port, query, trace)
    try:
        rcode, answers = parse_response(reply, query_id)
    except (ValueError, IndexError, struct.error):
        raise TargetDown("Invalid DNS response", excerpt=reply) from None
    if rcode:
        raise TargetDown(RCODE_CAUSES.get(rcode, f"DNS error (rcode {rcode})"))
    if not answers:
        raise TargetDown(f"DNS server returned no answer for {name}")
    if spec.body and spec.keyword and not any(spec.keyword in text for text in answers):
        raise TargetDown(f'Keyword "{spec.keyword}" not found', excerpt="\n".join(answers).encode())
