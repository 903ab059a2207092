"""Real loopback servers for probe tests, all served by one background event loop.

Probes under test run in the test's own ``asyncio.run``; the servers live on another
thread's loop so both sides are real sockets with real timings.
"""

import asyncio
import socket
import struct
import threading
from dataclasses import dataclass, field, replace


class ServerLoop:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="probe-test-servers", daemon=True)
        self.thread.start()

    def call(self, coroutine, timeout=10):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def free_port(kind=socket.SOCK_STREAM, host="127.0.0.1"):
    """A port nobody listens on (bound then released: connecting to it is refused)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class StreamServer:
    """What every TCP server here shares: it listens on the server loop, and closes there."""

    def _listen(self, server_loop, host, port=0, ssl=None):
        self.server_loop = server_loop
        self.server = server_loop.call(asyncio.start_server(self._handle, host, port, ssl=ssl))
        self.port = self.server.sockets[0].getsockname()[1]

    def close(self):
        async def stop():
            self.server.close()

        self.server_loop.call(stop())


# --- HTTP ------------------------------------------------------------------------------


@dataclass
class Route:
    status: int = 200
    body: bytes = b"ok"
    headers: list = field(default_factory=list)
    delay: float = 0.0
    hang: bool = False  # accept, read the request, never answer
    chunked: bool = False
    close_without_answer: bool = False
    # Status by the X-Pharos-Region the probe sends: a target that answers one region badly.
    region_status: dict = field(default_factory=dict)


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict  # lower-cased names
    body: bytes


REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    307: "Temporary Redirect",
    404: "Not Found",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class HttpServer(StreamServer):
    """An HTTP/1.1 server answering each path as scripted with ``route``.

    Unknown paths answer 404. Every request received is kept in ``requests``;
    ``open_connections`` / ``most_open_connections`` count concurrent connections.
    """

    def __init__(self, server_loop, *, ssl_context=None, host="127.0.0.1"):
        self.routes = {}
        self.requests = []
        self.open_connections = 0
        self.most_open_connections = 0
        self.host = host
        self._listen(server_loop, host, ssl=ssl_context)
        self.scheme = "https" if ssl_context else "http"

    def url(self, path="/"):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{path}"

    def route(self, path, **options):
        self.routes[path] = Route(**options)
        return self.url(path)

    async def _handle(self, reader, writer):
        self.open_connections += 1
        self.most_open_connections = max(self.most_open_connections, self.open_connections)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", 0)))
            path = target.split("?", 1)[0]
            self.requests.append(ReceivedRequest(method, target, headers, body))
            route = self.routes.get(path, Route(status=404, body=b"not found"))
            if route.hang:
                await reader.read()  # until the prober gives up and closes
                return
            if route.delay:
                await asyncio.sleep(route.delay)
            if route.close_without_answer:
                return
            region_status = route.region_status.get(headers.get("x-pharos-region", ""))
            if region_status is not None:
                route = replace(route, status=region_status)
            writer.write(self._answer(route, method))
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.open_connections -= 1
            writer.close()

    @staticmethod
    def _answer(route, method):
        lines = [f"HTTP/1.1 {route.status} {REASONS.get(route.status, 'Whatever')}"]
        lines += [f"{name}: {value}" for name, value in route.headers]
        body = b"" if method == "HEAD" else route.body
        if route.chunked:
            lines.append("Transfer-Encoding: chunked")
            half = len(body) // 2
            payload = (
                b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in (body[:half], body[half:]) if piece)
                + b"0\r\n\r\n"
            )
        else:
            lines.append(f"Content-Length: {len(route.body)}")
            payload = body
        lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


# --- TCP greeters (echo, POP, IMAP, a misbehaving SMTP) --------------------------------


class LineServer(StreamServer):
    """Writes ``greeting`` on connect (if any), then echoes what it reads."""

    def __init__(self, server_loop, *, greeting=b"", ssl_context=None, host="127.0.0.1"):
        self.greeting = greeting
        self.received = []
        self._listen(server_loop, host, ssl=ssl_context)

    async def _handle(self, reader, writer):
        try:
            if self.greeting:
                writer.write(self.greeting)
                await writer.drain()
            while data := await reader.read(4096):
                self.received.append(data)
                if not self.greeting:
                    writer.write(data)
                    await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


# --- UDP -------------------------------------------------------------------------------


class DatagramServer(asyncio.DatagramProtocol):
    """UDP server: ``answer(data) -> bytes | None`` (None: stay silent)."""

    def __init__(self, server_loop, answer, host="127.0.0.1", port=0):
        self.server_loop = server_loop
        self.answer = answer
        self.received = []

        async def start():
            transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: self, local_addr=(host, port)
            )
            return transport

        self.transport = server_loop.call(start())
        self.port = self.transport.get_extra_info("sockname")[1]

    def datagram_received(self, data, addr):
        self.received.append(data)
        reply = self.answer(data)
        if reply is not None:
            self.transport.sendto(reply, addr)

    def close(self):
        self.server_loop.loop.call_soon_threadsafe(self.transport.close)


# --- DNS -------------------------------------------------------------------------------

RCODE_NXDOMAIN, RCODE_SERVFAIL = 3, 2


def dns_name(name):
    return b"".join(bytes([len(label)]) + label.encode() for label in name.rstrip(".").split(".")) + b"\x00"


class DnsZone:
    """Answers for a small DNS responder. ``records[name] = [(type, rdata bytes)]``;
    ``rcodes[name] = rcode`` makes a name fail; other names are NXDOMAIN."""

    def __init__(self):
        self.records = {}
        self.rcodes = {}
        self.truncated = set()  # names answered over UDP with TC set and no records

    def answer(self, query, *, over_tcp=False):
        query_id = struct.unpack("!H", query[:2])[0]
        offset, labels = 12, []
        while query[offset]:
            length = query[offset]
            labels.append(query[offset + 1 : offset + 1 + length].decode())
            offset += 1 + length
        question_end = offset + 5
        qtype = struct.unpack("!H", query[offset + 1 : offset + 3])[0]
        name = ".".join(labels).lower()
        question = query[12:question_end]
        if name in self.rcodes:
            return self._message(query_id, self.rcodes[name], question, [])
        if name not in self.records:
            return self._message(query_id, RCODE_NXDOMAIN, question, [])
        if name in self.truncated and not over_tcp:
            return self._message(query_id, 0, question, [], truncated=True)
        answers = [(rtype, data) for rtype, data in self.records[name] if rtype == qtype]
        return self._message(query_id, 0, question, answers)

    @staticmethod
    def _message(query_id, rcode, question, answers, *, truncated=False):
        flags = 0x8180 | rcode | (0x0200 if truncated else 0)
        header = struct.pack("!HHHHHH", query_id, flags, 1, len(answers), 0, 0)
        body = b"".join(b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, 60, len(data)) + data for rtype, data in answers)
        return header + question + body


class TcpDnsServer(StreamServer):
    """DNS over TCP (two-byte length prefix) for ``zone``, on ``port`` (0: a free one).

    Start it before the UDP side and give that its ``port``: a free UDP port number may
    be a busy TCP one on a machine full of loopback connections."""

    def __init__(self, server_loop, zone, port=0, host="127.0.0.1"):
        self.zone = zone
        self.queries = 0
        self._listen(server_loop, host, port)

    async def _handle(self, reader, writer):
        try:
            size = struct.unpack("!H", await reader.readexactly(2))[0]
            query = await reader.readexactly(size)
            self.queries += 1
            answer = self.zone.answer(query, over_tcp=True)
            writer.write(struct.pack("!H", len(answer)) + answer)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


# --- HTTPS with keep-alive, for the pinned-connection tests --------------------------


class TlsReceiver(StreamServer):
    """A keep-alive HTTPS server on one address (and, if given, one port) answering 200 to
    everything. It records the server name (SNI) of every handshake and the Host header of
    every request, so a test sees which name a client verified and which address it reached."""

    def __init__(self, server_loop, certificate, *, host="127.0.0.1", port=0):
        self.server_names = []
        self.hosts = []
        self.connections = 0
        context = certificate.server_context()
        context.sni_callback = lambda _socket, name, _context: self.server_names.append(name)
        self._listen(server_loop, host, port, ssl=context)

    async def _handle(self, reader, writer):
        self.connections += 1
        try:
            while True:  # keep-alive: one connection may carry several requests
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, separator, value = line.partition(":")
                    if separator:
                        headers[name.strip().lower()] = value.strip()
                await reader.readexactly(int(headers.get("content-length", 0)))
                self.hosts.append(headers.get("host"))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            writer.close()
