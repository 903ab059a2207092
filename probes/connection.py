"""A fresh TCP connection (optionally TLS) for one check, with the phases recorded.

A bare ``asyncio.Protocol`` with a byte buffer rather than asyncio streams: the probe
path runs thousands of times a second and the streams' extra layers cost more CPU than
everything a probe does with the bytes. The connection is never reused, so the connect
and handshake phases a check reports are real.
"""

import asyncio
import socket
import ssl
from collections.abc import Callable, Sequence
from typing import cast

from probes.failures import TargetDown
from probes.timing import Trace
from probes.tls import record_certificate


class Connection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed = False
        self.waiter: asyncio.Future[None] | None = None

    # asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a stream transport: create_connection made it

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> None:
        self.closed = True
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # reading ------------------------------------------------------------------------
    async def wait_for_data(self) -> bool:
        """Wait until unread bytes are buffered; False when the peer closed first."""
        while not self.buffer:
            if self.closed:
                return False
            self.waiter = self.loop.create_future()
            await self.waiter
        return True

    async def _fill(self) -> bool:
        if self.closed:
            return False
        self.waiter = self.loop.create_future()
        await self.waiter
        return True

    async def read_until(self, separator: bytes, *, limit: int, what: str = "response") -> bytes:
        """Bytes up to and including ``separator``, consumed from the buffer."""
        start = 0
        while True:
            index = self.buffer.find(separator, start)
            if index >= 0:
                end = index + len(separator)
                chunk = bytes(self.buffer[:end])
                del self.buffer[:end]
                return chunk
            if len(self.buffer) > limit:
                raise TargetDown(f"Invalid {what}: line longer than {limit} bytes", excerpt=bytes(self.buffer))
            start = max(0, len(self.buffer) - len(separator) + 1)
            if not await self._fill():
                raise TargetDown(f"Connection closed before the {what} was complete", excerpt=bytes(self.buffer))

    async def read_exactly(self, count: int, *, what: str = "response") -> bytes:
        while len(self.buffer) < count:
            if not await self._fill():
                raise TargetDown(f"Connection closed before the {what} was complete", excerpt=bytes(self.buffer))
        chunk = bytes(self.buffer[:count])
        del self.buffer[:count]
        return chunk

    async def read_to_end(self, *, limit: int) -> tuple[bytes, bool]:
        """Everything until the peer closes, or the first ``limit`` bytes; (bytes, truncated)."""
        while len(self.buffer) < limit and await self._fill():
            pass
        truncated = len(self.buffer) > limit
        chunk = bytes(self.buffer[:limit])
        del self.buffer[:limit]
        return chunk, truncated

    # writing and closing ------------------------------------------------------------
    def write(self, data: bytes) -> None:
        assert self.transport is not None, "write before the connection was made"
        self.transport.write(data)

    def close(self) -> None:
        # abort(), not close(): the check has what it needs, and a graceful TLS shutdown
        # would keep the socket (and CPU) busy for a close_notify exchange nobody reads.
        if self.transport is not None:
            self.transport.abort()


async def open_connection(
    loop: asyncio.AbstractEventLoop,
    addresses: Sequence[str],
    port: int,
    trace: Trace,
    *,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
) -> Connection:
    """Connect to the first of ``addresses`` that accepts, then handshake TLS if asked.

    ``addresses`` come from ``guard.resolve``, already judged; the probe never connects
    anywhere else. Records the connect and tls_handshake phases and the remote IP.

    The socket is connected first and only then wrapped (with TLS from its first byte),
    rather than connecting plain and upgrading with start_tls: a server that speaks
    first would otherwise have its bytes land outside the TLS layer and hang the handshake.
    """
    trace.enter("connect")
    if ssl_context is None:
        return await _connect_plain(loop, addresses, port, trace)
    last_error: OSError | None = None
    sock: socket.socket | None = None
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, (address, port))
        except OSError as exc:
            sock.close()
            sock, last_error = None, exc
            continue
        except BaseException:
            sock.close()
            raise
        trace.remote_ip = address
        break
    if sock is None:
        raise last_error or OSError("no address to connect to")
    connection = Connection(loop)
    trace.enter("tls_handshake")
    try:
        await loop.create_connection(lambda: connection, sock=sock, ssl=ssl_context, server_hostname=server_hostname)
    except BaseException:
        sock.close()
        raise
    assert connection.transport is not None  # set by create_connection before it returns
    record_certificate(trace, connection.transport.get_extra_info("ssl_object"))
    return connection


async def _connect_plain(
    loop: asyncio.AbstractEventLoop, addresses: Sequence[str], port: int, trace: Trace
) -> Connection:
    # Without TLS the event loop may create and connect the socket itself (in C, for
    # uvloop): a Python socket object per check costs more than the rest of the connect.
    last_error: OSError | None = None
    for address in addresses:
        connection = Connection(loop)
        try:
            await loop.create_connection(factory_of(connection), address, port)
        except OSError as exc:
            last_error = exc
            continue
        trace.remote_ip = address
        return connection
    raise last_error or OSError("no address to connect to")


def factory_of(connection: Connection) -> Callable[[], Connection]:
    """The protocol factory that hands asyncio this one, already built, connection."""
    return lambda: connection
