"""DNS monitors: ask the server in ``target`` (host[:port], default 53) for a name.

The name comes from ``spec.body`` (the monitor's ``request_body``), falling back to
``spec.keyword`` when the body is empty; ``"example.com AAAA"`` asks for another record
type (A by default; any data type dnspython knows, e.g. MX, TXT, SRV, CAA, HTTPS). When
both body and keyword are set, the keyword must appear in the text of one of the answers
(e.g. an expected address). One question, recursion desired, over UDP, asked again over
TCP when the answer comes back truncated; down on no answer, SERVFAIL, NXDOMAIN, REFUSED.

dnspython writes the query and reads the answer (names, compression, record data,
rcodes, whether a message answers our question). The bytes travel on our own sockets
(probes.datagram, probes.connection), to the one address guard.resolve vetted, rather
than through ``dns.asyncquery``: its calls do connect, send and receive in one, so the
phases could not be cut; its UDP socket is unconnected, so an ICMP port-unreachable
would wait out the deadline instead of reading "Connection refused"; it either fails on
the first stray datagram or ignores even a malformed answer to our id, where we ignore
the first and judge the second; and, doing the same dnspython work, it cost about 1.3x
this probe's CPU per check in bench/dns_ping_throughput.py (row c against row a').
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import socket
import struct
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdatatype
from dns.rdtypes.txtbase import TXTBase

from probes.connection import open_connection
from probes.datagram import exchange
from probes.failures import ProbeError, TargetDown
from probes.guard import resolve
from probes.spec import CheckSpec, Outcome
from probes.targets import split_host_port
from probes.timing import Trace

if TYPE_CHECKING:
    from probes.runner import ProbeContext

DEFAULT_PORT = 53

RCODE_CAUSES = {
    dns.rcode.FORMERR: "DNS server could not parse the query (FORMERR)",
    dns.rcode.SERVFAIL: "DNS server failure (SERVFAIL)",
    dns.rcode.NXDOMAIN: "DNS name does not exist (NXDOMAIN)",
    dns.rcode.NOTIMP: "DNS query not implemented (NOTIMP)",
    dns.rcode.REFUSED: "DNS query refused (REFUSED)",
}

# Names typed by people: UTS 46 maps case and width the way browsers do before IDNA 2008
# encodes them, so "Bücher.example" asks for xn--bcher-kva.example.
IDNA = dns.name.IDNA_2008_Practical


@dataclass(frozen=True)
class Question:
    text: str  # the name as the monitor spells it, for causes
    name: dns.name.Name
    rdtype: dns.rdatatype.RdataType


def question_of(text: str) -> Question:
    """The question a monitor's body spells ("name [TYPE]"); ProbeError when it cannot
    be asked (a setup mistake, not the server's fault)."""
    words = text.split()
    if not words:
        raise ProbeError("No name to look up: set request_body to the name")
    name_text, type_text = words[0], (words[1].upper() if len(words) > 1 else "A")
    try:
        rdtype = dns.rdatatype.from_text(type_text)
    except dns.rdatatype.UnknownRdatatype:
        raise ProbeError(f"Unknown DNS record type {type_text!r}") from None
    if rdtype == dns.rdatatype.NONE or dns.rdatatype.is_metatype(rdtype):
        # ANY, AXFR, OPT…: query mechanics, not records a server holds for a name.
        raise ProbeError(f"DNS record type {type_text!r} cannot be monitored")
    try:
        name = dns.name.from_text(name_text, idna_codec=IDNA)
    except (dns.exception.DNSException, UnicodeError, ValueError):
        raise ProbeError(f"Invalid DNS name {name_text!r}") from None
    return Question(text=name_text, name=name, rdtype=rdtype)


@lru_cache(maxsize=4096)
def prepared_query(text: str) -> tuple[Question, dns.message.Message, bytes]:
    """The question of ``text``, its query (id 0) and the query's wire form.

    Built by dnspython once per distinct question: a worker asks the same few questions
    again and again, and building one cost a third of the probe's CPU (parsing the name,
    rendering the message; bench/dns_ping_throughput.py).
    """
    question = question_of(text)
    # RD set and no EDNS: the question a stub resolver asks.
    query = dns.message.make_query(question.name, question.rdtype, id=0)
    return question, query, query.to_wire()


def fresh_query(text: str) -> tuple[Question, dns.message.Message, bytes]:
    """The prepared query of ``text`` under a new random id, as a message and as bytes.

    The id is the first two bytes of the header (RFC 1035 §4.1.1) and nothing else in
    the message depends on it, so the bytes are the prepared ones behind the new id;
    tests/probes/test_dns.py checks them against dnspython's own rendering.
    """
    question, prepared, wire = prepared_query(text)
    query = copy.copy(prepared)  # shares the (never mutated) sections; only the id differs
    query.id = secrets.randbits(16)
    return question, query, query.id.to_bytes(2, "big") + wire[2:]


def record_text(rdata: dns.rdata.Rdata) -> str:
    """An answer as the keyword is matched against: presentation format, except that a
    TXT record's strings are joined as one text (SPF and DKIM records are split into
    255-byte strings that mean one value)."""
    if isinstance(rdata, TXTBase):
        return b"".join(rdata.strings).decode("utf-8", "replace")
    return rdata.to_text()


def answer_texts(response: dns.message.Message) -> list[str]:
    """Every record of the answer section as "TYPE text", e.g. "A 192.0.2.10"."""
    return [
        f"{dns.rdatatype.to_text(rrset.rdtype)} {record_text(rdata)}" for rrset in response.answer for rdata in rrset
    ]


def rcode_cause(rcode: dns.rcode.Rcode) -> str:
    if rcode in RCODE_CAUSES:
        return RCODE_CAUSES[rcode]
    name = dns.rcode.to_text(rcode)
    return f"DNS error (rcode {int(rcode)})" if name.isdigit() else f"DNS error ({name}, rcode {int(rcode)})"


def read_response(query: dns.message.Message, wire: bytes) -> dns.message.Message:
    """The server's answer to ``query``; TargetDown for a malformed message or one that
    answers another question. Raises dns.message.Truncated when the TC bit is set."""
    try:
        response = dns.message.from_wire(wire, raise_on_truncation=True)
    except dns.message.Truncated:
        raise
    # Whatever the bytes: a hostile or broken server must not turn into a probe crash.
    except (dns.exception.DNSException, ValueError, IndexError, UnicodeError, struct.error):
        raise TargetDown("Invalid DNS response", excerpt=wire) from None
    if not query.is_response(response):
        raise TargetDown("Invalid DNS response: it does not answer the question asked", excerpt=wire)
    return response


async def exchange_over_tcp(
    loop: asyncio.AbstractEventLoop, address: str, port: int, wire: bytes, trace: Trace
) -> bytes:
    """One query over a fresh TCP connection (RFC 7766: two-byte length prefix)."""
    connection = await open_connection(loop, [address], port, trace)
    try:
        trace.enter("processing")
        connection.write(struct.pack("!H", len(wire)) + wire)
        size = struct.unpack("!H", await connection.read_exactly(2, what="DNS answer"))[0]
        trace.enter("transfer")
        return await connection.read_exactly(size, what="DNS answer")
    finally:
        connection.close()


async def probe_dns(spec: CheckSpec, context: ProbeContext, trace: Trace, outcome: Outcome) -> None:
    question, query, wire = fresh_query(spec.body or spec.keyword)
    host, port = split_host_port(spec.target)
    port = port or DEFAULT_PORT
    loop = asyncio.get_running_loop()
    trace.enter("name_lookup")
    # The server's own name is resolved once, here, and judged by the guard; every byte
    # below goes to that vetted address and nowhere else.
    addresses: list[str] = await resolve(
        loop,
        host,
        port,
        ip_version=spec.ip_version,
        policy=context.address_policy,
        kind=socket.SOCK_DGRAM,
    )
    # Only a datagram carrying our query id is the answer; anything else on the socket
    # (a late answer to someone else, noise) is ignored rather than misread.
    reply = await exchange(
        loop, addresses[0], port, wire, trace, accept=lambda data: len(data) >= 12 and data[:2] == wire[:2]
    )
    try:
        response = read_response(query, reply)
    except dns.message.Truncated:
        # The answer did not fit a datagram: ask again over TCP (RFC 7766), or a large
        # answer would read as a partial or empty one.
        reply = await exchange_over_tcp(loop, addresses[0], port, wire, trace)
        try:
            response = read_response(query, reply)
        except dns.message.Truncated:
            raise TargetDown("Invalid DNS response: truncated over TCP", excerpt=reply) from None
    rcode = response.rcode()
    if rcode != dns.rcode.NOERROR:
        raise TargetDown(rcode_cause(rcode))
    answers = answer_texts(response)
    if not answers:
        raise TargetDown(f"DNS server returned no answer for {question.text}")
    if spec.body and spec.keyword and not any(spec.keyword in text for text in answers):
        raise TargetDown(f'Keyword "{spec.keyword}" not found', excerpt="\n".join(answers).encode())
