"""One request, one reply over UDP: the transport under the udp and dns probes."""

import asyncio
import socket
from collections.abc import Callable

from probes.timing import Trace

Accept = Callable[[bytes], bool]


class ReplyProtocol(asyncio.DatagramProtocol):
    """Keeps the first datagram whose ``accept`` predicate holds, or the first error."""

    def __init__(self, loop: asyncio.AbstractEventLoop, accept: Accept | None = None) -> None:
        self.reply: asyncio.Future[bytes] = loop.create_future()
        self.accept = accept

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if not self.reply.done() and (self.accept is None or self.accept(data)):
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable arrives as ConnectionRefusedError on a connected socket.
        if not self.reply.done():
            self.reply.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc or ConnectionResetError("socket closed"))


async def exchange(
    loop: asyncio.AbstractEventLoop,
    address: str,
    port: int,
    payload: bytes,
    trace: Trace,
    *,
    accept: Accept | None = None,
) -> bytes:
    """Send ``payload`` to (address, port) and return the first accepted reply.

    Records connect (socket set-up) and processing (send to first reply); the caller's
    deadline bounds the wait, since UDP has no other way to say "nobody is there".
    """
    trace.enter("connect")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: ReplyProtocol(loop, accept), remote_addr=(address, port), family=family
    )
    trace.remote_ip = address
    try:
        trace.enter("processing")
        transport.sendto(payload)
        return await protocol.reply
    finally:
        transport.close()
