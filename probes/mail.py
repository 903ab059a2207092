"""SMTP, POP3 and IMAP monitors: connect to each port and read the server's greeting.

Implicit TLS on the ports that speak it from the first byte (465 submissions, 993
IMAPS, 995 POP3S); the certificate is then recorded and judged like an HTTPS one. After
the greeting the probe says goodbye politely so the server does not log an abort.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from probes.connection import Connection, open_connection
from probes.failures import TargetDown, classify
from probes.guard import literal_address, resolve
from probes.spec import DOWN
from probes.targets import port_cause, ports_of
from probes.tls import check_expiry

if TYPE_CHECKING:
    from probes.runner import ProbeContext
    from probes.spec import CheckSpec, Outcome
    from probes.timing import Trace

IMPLICIT_TLS_PORTS = frozenset({465, 993, 995})
GREETING_LIMIT = 4096


class Protocol:
    def __init__(self, name: str, default_port: int, goodbye: bytes) -> None:
        self.name = name
        self.default_port = default_port
        self.goodbye = goodbye

    def greeted(self, line: bytes) -> bool:
        raise NotImplementedError

    async def read_greeting(self, connection: Connection) -> bytes:
        return await connection.read_until(b"\n", limit=GREETING_LIMIT, what="greeting")


class Smtp(Protocol):
    def greeted(self, line: bytes) -> bool:
        return line.startswith(b"220")

    async def read_greeting(self, connection: Connection) -> bytes:
        # A multi-line greeting is "220-…" lines closed by one "220 …" line (RFC 5321 §4.2).
        lines = [await super().read_greeting(connection)]
        while lines[-1][3:4] == b"-" and sum(map(len, lines)) < GREETING_LIMIT:
            lines.append(await super().read_greeting(connection))
        return b"".join(lines)


class Pop(Protocol):
    def greeted(self, line: bytes) -> bool:
        return line.startswith(b"+OK")


class Imap(Protocol):
    def greeted(self, line: bytes) -> bool:
        return line.startswith((b"* OK", b"* PREAUTH"))


PROTOCOLS: dict[str, Protocol] = {
    "smtp": Smtp("SMTP", 25, b"QUIT\r\n"),
    "pop": Pop("POP3", 110, b"QUIT\r\n"),
    "imap": Imap("IMAP", 143, b"a1 LOGOUT\r\n"),
}


async def probe_mail(spec: CheckSpec, context: ProbeContext, trace: Trace, outcome: Outcome) -> None:
    protocol = PROTOCOLS[spec.type]
    host, ports = ports_of(spec, default=protocol.default_port)
    loop = asyncio.get_running_loop()
    trace.enter("name_lookup")
    addresses = await resolve(loop, host, ports[0], ip_version=spec.ip_version, policy=context.address_policy)
    server_hostname = host if literal_address(host) is None else literal_address(host)
    for port in ports:
        ssl_context = context.ssl_context(verify=spec.verify_ssl) if port in context.implicit_tls_ports else None
        try:
            connection = await open_connection(
                loop, addresses, port, trace, ssl_context=ssl_context, server_hostname=server_hostname
            )
        except OSError as exc:
            status, cause = classify(exc)
            if status != DOWN or isinstance(exc, TimeoutError):
                raise
            raise TargetDown(port_cause(cause, port, ports)) from None
        try:
            trace.enter("processing")
            if not await connection.wait_for_data():
                raise TargetDown(port_cause(f"Connection closed without a {protocol.name} greeting", port, ports))
            trace.enter("transfer")
            greeting = await protocol.read_greeting(connection)
            if not protocol.greeted(greeting):
                first_line = greeting.split(b"\r\n", 1)[0].decode("utf-8", "replace")
                raise TargetDown(
                    port_cause(f"Unexpected {protocol.name} greeting: {first_line}", port, ports), excerpt=greeting
                )
            connection.write(protocol.goodbye)
        finally:
            connection.close()
        check_expiry(trace, spec.ssl_expiration_days)
