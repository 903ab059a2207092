"""A fresh TCP connection (optionally TLS) for one check, with the phases recorded.

A bare ``asyncio.Protocol`` with a byte buffer rather than asyncio streams: the probe
path runs thousands of times a second and the streams' extra layers cost more CPU than
everything a probe does with the bytes. The connection is never reused, so the connect
and handshake phases a check reports are real.
"""

import asyncio
import socket

from probes.failures import TargetDown
from probes.tls import record_certificate


class Connection(asyncio.Protocol):
    def __init__(self, loop):
        self.loop = loop
        self.transport = None
        self.buffer = bytearray()
        self.closed = False
        self.waiter = None

    # asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        self._wake()

    def eof_received(self):
        self.closed = True
        self._wake()

    def connection_lost(self, exc):
        self.closed = True
        self._wake()

    def _wake(self):
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # reading ------------------------------------------------------------------------
    async def wait_for_data(self):
        """Wait until unread bytes are buffered; False when the peer closed first."""
        while not self.buffer:
            if self.closed:
                return False
            self.waiter = self.loop.create_future()
            await self.waiter
        return True

    async def _fill(self):
        if self.closed:
            return False
        self.waiter = self.loop.create_future()
        await self.waiter
        return True

    async def read_until(self, separator, *, limit, what="response"):
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

    async def read_exactly(self, count, *, what="response"):
        while len(self.buffer) < count:
            if not await self._fill():
                raise TargetDown(f"Connection closed before the {what} was complete", excerpt=bytes(self.buffer))
        chunk = bytes(self.buffer[:count])
        del self.buffer[:count]
        return chunk

    async def read_to_end(self, *, limit):
        """Everything until the peer closes, or the first ``limit`` bytes; (bytes, truncated)."""
        while len(self.buffer) < limit and await self._fill():
            pass
        truncated = len(self.buffer) > limit
        chunk = bytes(self.buffer[:limit])
        del self.buffer[:limit]
        return chunk, truncated

    # writing and closing ------------------------------------------------------------
    def write(self, data):
        self.transport.write(data)

    def close(self):
        # abort(), not close(): the check has what it needs, and a graceful TLS shutdown
        # would keep the socket (and CPU) busy for a close_notify exchange nobody reads.
        if self.transport is not None:
            self.transport.abort()


async def open_connection(loop, addresses, port, trace, *, ssl_context=None, server_hostname=None):
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
    last_error = None
    sock = None
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
        raise last_error
    connection = Connection(loop)
    trace.enter("tls_handshake")
    try:
        await loop.create_connection(lambda: connection, sock=sock, ssl=ssl_context, server_hostname=server_hostname)
    except BaseException:
        sock.close()
        raise
    record_certificate(trace, connection.transport.get_extra_info("ssl_object"))
    return connection


async def _connect_plain(loop, addresses, port, trace):
    # Without TLS the event loop may create and connect the socket itself (in C, for
    # uvloop): a Python socket object per check costs more than the rest of the connect.
    last_error = None
    for address in addresses:
        connection = Connection(loop)
        try:
            await loop.create_connection(lambda connection=connection: connection, address, port)
        except OSError as exc:
            last_error = exc
            continue
        trace.remote_ip = address
        return connection
    raise last_error
