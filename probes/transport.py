"""An httpx transport for probes: one fresh HTTP/1.1 connection per request, phases recorded.

httpx stays the client API (``httpx.Request`` in, ``httpx.Response`` out, usable as
``httpx.AsyncClient(transport=ProbeTransport(...))``), but its default transport
(httpcore + h11 + a keep-alive pool) spends ~4x the CPU of a bare asyncio loop per fresh
connection and cannot tell where the time went. This one resolves through the
private-address guard, connects, handshakes with a shared SSL context, writes the
request, and reads the whole response (body capped) before returning, so name lookup,
connect, TLS, processing (first byte) and transfer are measured on the wire.

Per-request options travel in ``request.extensions[OPTIONS]`` (a ``RequestOptions``):
the ``Trace`` to record into, whether to verify TLS, and the IP version to use.
"""

import asyncio
import ssl

import httpx

from probes.connection import Connection, open_connection
from probes.failures import TargetDown
from probes.guard import AddressPolicy, resolve
from probes.timing import Trace

OPTIONS = "pharos.probe"
BODY_LIMIT = 1024 * 1024  # bytes of a response body kept for keyword checks
HEAD_LIMIT = 64 * 1024  # bytes of status line + headers
NO_BODY_STATUSES = {204, 304}


class RequestOptions:
    __slots__ = ("trace", "verify_ssl", "ip_version")

    def __init__(self, trace: Trace | None = None, *, verify_ssl: bool = True, ip_version: str = "") -> None:
        self.trace = trace or Trace()
        self.verify_ssl = verify_ssl
        self.ip_version = ip_version


class ProbeTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        *,
        verified_context: ssl.SSLContext,
        unverified_context: ssl.SSLContext,
        address_policy: AddressPolicy,
        body_limit: int = BODY_LIMIT,
    ) -> None:
        self.verified_context = verified_context
        self.unverified_context = unverified_context
        self.address_policy = address_policy
        self.body_limit = body_limit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        options: RequestOptions = request.extensions.get(OPTIONS) or RequestOptions()
        trace = options.trace
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"Unsupported URL scheme {scheme!r}", request=request)
        secure = scheme == "https"
        host = url.host
        port = url.port or (443 if secure else 80)
        loop = asyncio.get_running_loop()

        trace.enter("name_lookup")
        addresses = await resolve(loop, host, port, ip_version=options.ip_version, policy=self.address_policy)
        context = None
        if secure:
            context = self.verified_context if options.verify_ssl else self.unverified_context
        connection = await open_connection(
            loop, addresses, port, trace, ssl_context=context, server_hostname=host if secure else None
        )
        try:
            if request.stream is not None and not hasattr(request, "_content"):
                await request.aread()
            trace.enter("processing")
            connection.write(serialize_request(request))
            if not await connection.wait_for_data():
                raise TargetDown("Connection closed without a response")
            trace.enter("transfer")
            status, reason, headers = await read_head(connection)
            while 100 <= status < 200 and status != 101:
                # Interim answers (100 Continue, 103 Early Hints) precede the real one.
                status, reason, headers = await read_head(connection)
            body, truncated = await read_body(connection, request.method, status, headers, self.body_limit)
        finally:
            connection.close()
        return httpx.Response(
            status,
            headers=headers,
            stream=httpx.ByteStream(body),
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": reason,
                "pharos.truncated": truncated,
                "pharos.remote_ip": trace.remote_ip,
            },
        )


def serialize_request(request: httpx.Request) -> bytes:
    url = request.url
    lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), url.raw_path)]
    has_connection = False
    for name, value in request.headers.raw:
        if name.lower() == b"connection":
            has_connection = True
        lines.append(name + b": " + value)
    if not has_connection:
        # Each check owns its connection: tell the server not to hold it open for us.
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + request.content


Headers = list[tuple[bytes, bytes]]


async def read_head(connection: Connection) -> tuple[int, bytes, Headers]:
    head = await connection.read_until(b"\r\n\r\n", limit=HEAD_LIMIT)
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise TargetDown("Invalid HTTP response", excerpt=head)
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else b""
    headers: Headers = []
    for line in lines[1:]:
        name, separator, value = line.partition(b":")
        if not separator or not name or name != name.strip():
            raise TargetDown("Invalid HTTP response header", excerpt=head)
        headers.append((name, value.strip()))
    return status, reason, headers


def header_value(headers: Headers, wanted: bytes) -> bytes | None:
    for name, value in headers:
        if name.lower() == wanted:
            return value
    return None


async def read_body(
    connection: Connection, method: str, status: int, headers: Headers, limit: int
) -> tuple[bytes, bool]:
    """(body, truncated): at most ``limit`` bytes of the body, framing per RFC 9112 §6."""
    if method == "HEAD" or status in NO_BODY_STATUSES or 100 <= status < 200:
        return b"", False
    encoding = header_value(headers, b"transfer-encoding")
    if encoding is not None and encoding.lower().endswith(b"chunked"):
        return await read_chunked(connection, limit)
    length = header_value(headers, b"content-length")
    if length is not None:
        if not length.strip().isdigit():
            raise TargetDown("Invalid HTTP response: bad Content-Length")
        size = int(length)
        if size <= limit:
            return await connection.read_exactly(size), False
        return await connection.read_exactly(limit), True
    return await connection.read_to_end(limit=limit)


async def read_chunked(connection: Connection, limit: int) -> tuple[bytes, bool]:
    parts: list[bytes] = []
    size_read = 0
    while True:
        line = await connection.read_until(b"\r\n", limit=1024)
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise TargetDown("Invalid HTTP response: bad chunk size", excerpt=b"".join(parts)) from None
        if size == 0:
            # Trailers are not read: the connection is ours alone and is closed next.
            return b"".join(parts), False
        if size_read + size > limit:
            parts.append(await connection.read_exactly(limit - size_read))
            return b"".join(parts), True
        parts.append(await connection.read_exactly(size))
        await connection.read_exactly(2)
        size_read += size
