"""DNS and ping checks per second: the Pharos probe path against a bare asyncio loop.

    .venv/bin/python bench/dns_ping_throughput.py [--checks 20000] [--pings 5000] [--rounds 3]

DNS: starts dnsmasq (Debian's dnsmasq-base, installed if missing and we may) on a spare
loopback port, answering ``bench.pharos.test A`` itself (no upstream, no cache), then
measures in this run:

  (a) the Pharos probe path as the region worker runs it: batches of 100 ``dns`` specs
      admitted to a probes.engine.Engine (one event loop thread, phases recorded, the
      query built and the answer parsed, outcomes built and handed to a publish callback);
  (a') the probe function alone (probes.dns.probe_dns with its trace) in a bounded loop:
      the protocol work of (a) without the engine's batching and outcomes;
  (b) a bare loop on the same kind of event loop: a fixed query packet sent over a fresh
      connected UDP endpoint per check, the first datagram carrying its id taken as the
      answer, nothing parsed: the network and the event loop alone;
  (c) for reference, dnspython's own ``dns.asyncquery.udp`` (a fresh socket per query)
      on the worker's loop: the library's way of asking, without our phases or guard.

Ping: ICMP echo to 127.0.0.1 (a raw socket as root, a datagram ICMP socket where
net.ipv4.ping_group_range allows it, else skipped), measured the same way: (a) the Pharos
probe path, (a') probes.icmp.probe_ping alone, (b) a bare loop (fixed echo packet, fresh
socket per check, reply matched on identifier and sequence) and (c) icmplib's
AsyncSocket with its ICMPRequest, when icmplib is installed (it is not a dependency:
``pip install icmplib`` to see that row).

Prints checks/s and CPU milliseconds per check (this process's CPU: the probing side
only; on a shared, busy machine it holds up far better than the rates); the variants alternate for ``--rounds`` rounds and the best round of each is
compared. Every loop is bounded in count and in time (60 s per run), and every packet goes
to 127.0.0.1. If dnsmasq cannot be had, a Python responder in a child process answers
instead and the output says so (the rates are then a floor set by that responder).
"""

import argparse
import asyncio
import os
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from probes.engine import Engine, new_event_loop  # noqa: E402
from probes.spec import CheckSpec, batch_message  # noqa: E402

BATCH = 100
TIME_LIMIT = 60.0  # seconds per measured run, whatever the count
NAME = "bench.pharos.test"
ADDRESS = "192.0.2.53"  # TEST-NET-1: the answer is data, never dialled

Result = tuple[int, int, float, float]  # checks done, checks up, wall seconds, CPU seconds
Figures = tuple[float, float]  # checks/s, CPU seconds per 1,000 checks
Variant = tuple[str, str, Callable[[], Result]]  # label, figure name, run


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def find_dnsmasq() -> str | None:
    for candidate in (shutil.which("dnsmasq"), "/usr/sbin/dnsmasq"):
        if candidate and os.path.exists(candidate):
            return candidate
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("dnsmasq missing: installing dnsmasq-base from Debian's packages", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        command = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "dnsmasq-base"]
        if subprocess.run(command, env=env, capture_output=True, timeout=300).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300)
            subprocess.run(command, env=env, capture_output=True, timeout=300)
        for candidate in (shutil.which("dnsmasq"), "/usr/sbin/dnsmasq"):
            if candidate and os.path.exists(candidate):
                return candidate
    return None


def query_packet(query_id: int, name: str = NAME) -> bytes:
    labels = b"".join(bytes([len(label)]) + label.encode() for label in name.split("."))
    return struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + labels + b"\x00\x00\x01\x00\x01"


def wait_for_dns(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                sock.sendto(query_packet(7), ("127.0.0.1", port))
                if sock.recv(512)[:2] == b"\x00\x07":
                    return
            except OSError:
                time.sleep(0.05)
    raise RuntimeError(f"no DNS server answered on port {port}")


class Dnsmasq:
    def __init__(self, binary: str) -> None:
        self.port = free_udp_port()
        self.process = subprocess.Popen(
            [
                binary,
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--pid-file=",
                "--bind-interfaces",
                "--listen-address=127.0.0.1",
                f"--port={self.port}",
                f"--address=/{NAME}/{ADDRESS}",
                "--user=nobody",
                "--group=nogroup",
            ],
            stderr=subprocess.PIPE,
        )
        wait_for_dns(self.port)
        self.name = f"dnsmasq ({binary})"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class FallbackResponder:
    """Used only when dnsmasq cannot be had: a child process (its CPU is not ours) that
    answers every query with one A record. Slower than dnsmasq: the rates are a floor."""

    SCRIPT = r"""
import asyncio, socket, sys
ANSWER = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + socket.inet_aton(sys.argv[2])
class Responder(asyncio.DatagramProtocol):
    def connection_made(self, transport): self.transport = transport
    def datagram_received(self, data, addr):
        end = data.index(b"\x00", 12) + 5
        header = data[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"
        self.transport.sendto(header + data[12:end] + ANSWER, addr)
async def main() -> None:
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(Responder, local_addr=("127.0.0.1", int(sys.argv[1])))
    await asyncio.Event().wait()
asyncio.run(main())
"""

    def __init__(self) -> None:
        self.port = free_udp_port()
        self.process = subprocess.Popen([sys.executable, "-c", self.SCRIPT, str(self.port), ADDRESS])
        wait_for_dns(self.port)
        self.name = "FALLBACK Python responder (dnsmasq could not be had)"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def measure(run: Callable[[], tuple[int, int]]) -> Result:
    cpu, wall = time.process_time(), time.perf_counter()
    done, ok = run()
    return done, ok, time.perf_counter() - wall, time.process_time() - cpu


def pharos_path(spec_fields: dict[str, Any], checks: int, concurrency: int) -> Result:
    """(a): batches admitted to the region worker's engine, outcomes published to a list."""
    published: list[dict[str, Any]] = []
    finished = threading.Event()
    counted = [0]

    def publish(message: dict[str, Any]) -> None:
        published.append(message)
        counted[0] += len(message["outcomes"])
        if counted[0] >= checks:
            finished.set()

    engine = Engine(region="bench", concurrency=concurrency, publish=publish, allow_private_targets=True)
    expires = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    specs = [
        CheckSpec(monitor_id=i, scheduled_at="2026-11-28T00:00:00+00:00", timeout=10.0, **spec_fields)
        for i in range(BATCH)
    ]
    message = batch_message(region="bench", specs=specs, expires_at=expires)

    def run() -> tuple[int, int]:
        deadline = time.monotonic() + TIME_LIMIT
        sent = 0
        while sent < checks and time.monotonic() < deadline:
            engine.submit(message)
            sent += BATCH
        finished.wait(timeout=max(0.0, deadline - time.monotonic()) + 15)
        outcomes = [o for m in published for o in m["outcomes"]]
        return counted[0], sum(o["status"] == "up" for o in outcomes)

    try:
        result = measure(run)
    finally:
        engine.close()
    causes = {o["cause"] for m in published for o in m["outcomes"] if o["status"] != "up"}
    if causes:
        print(f"  (a) failures seen: {sorted(causes)[:3]}", flush=True)
    return result


def probe_alone(spec_fields: dict[str, Any], checks: int, concurrency: int) -> Result:
    """(a'): the probe coroutine itself, with a fresh trace and outcome per check."""
    from probes.runner import PROBES, ProbeContext
    from probes.spec import UP, Outcome
    from probes.timing import Trace

    context = ProbeContext(region="bench", allow_private_targets=True)
    spec = CheckSpec(monitor_id=1, scheduled_at="2026-11-28T00:00:00+00:00", timeout=10.0, **spec_fields)
    probe = PROBES[spec.type]

    async def one() -> bool:
        trace = Trace()
        outcome = Outcome(monitor_id=1, scheduled_at=spec.scheduled_at, region="bench", status=UP)
        await probe(spec, context, trace, outcome)
        trace.stop()
        return True

    return bounded_loop(one, checks, concurrency)


def bounded_loop(one: Callable[[], Awaitable[bool]], checks: int, concurrency: int) -> Result:
    """Run ``one()`` ``checks`` times, ``concurrency`` at a time, on the worker's loop kind."""
    ok = [0]

    async def main() -> None:
        slots = asyncio.Semaphore(concurrency)
        deadline = time.monotonic() + TIME_LIMIT

        async def bounded() -> None:
            async with slots:
                if time.monotonic() < deadline and await asyncio.wait_for(one(), 10):
                    ok[0] += 1

        await asyncio.gather(*(bounded() for _ in range(checks)))

    def run() -> tuple[int, int]:
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            runner.run(main())
        return checks, ok[0]

    return measure(run)


class FirstReply(asyncio.DatagramProtocol):
    def __init__(self, waiter: asyncio.Future[bytes], query_id: bytes) -> None:
        self.waiter = waiter
        self.query_id = query_id

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if not self.waiter.done() and data[:2] == self.query_id:
            self.waiter.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.waiter.done():
            self.waiter.set_exception(exc)


def bare_dns(port: int, checks: int, concurrency: int) -> Result:
    """(b): a fixed query over a fresh connected UDP endpoint; the reply is not parsed."""

    async def one() -> bool:
        loop = asyncio.get_running_loop()
        query_id = secrets.randbits(16)
        waiter: asyncio.Future[bytes] = loop.create_future()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: FirstReply(waiter, struct.pack("!H", query_id)), remote_addr=("127.0.0.1", port)
        )
        try:
            transport.sendto(query_packet(query_id))
            reply = await waiter
        finally:
            transport.close()
        return reply[3] & 0x0F == 0

    return bounded_loop(one, checks, concurrency)


def dnspython_query(port: int, checks: int, concurrency: int) -> Result:
    """(c): dnspython's asyncquery.udp, a fresh socket per query, parsed."""
    import dns.asyncquery
    import dns.message

    async def one() -> bool:
        query = dns.message.make_query(NAME, "A")
        answer = await dns.asyncquery.udp(query, "127.0.0.1", port=port, timeout=10)
        return bool(answer.answer)

    return bounded_loop(one, checks, concurrency)


def icmp_socket() -> tuple[socket.socket, bool] | None:
    """(socket, is_raw) for IPv4 echo, or None when this process may open neither kind."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_RAW):
        try:
            return socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP), kind == socket.SOCK_RAW
        except PermissionError:
            continue
    return None


def echo_packet(identifier: int, sequence: int, payload: bytes) -> bytes:
    header = struct.pack("!BBHHH", 8, 0, 0, identifier, sequence)
    data = header + payload
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return struct.pack("!BBHHH", 8, 0, ~total & 0xFFFF, identifier, sequence) + payload


def bare_ping(checks: int, concurrency: int) -> Result:
    """(b): a fixed echo request on a fresh ICMP socket, the reply matched on id and sequence."""
    identifier = os.getpid() & 0xFFFF

    async def one() -> bool:
        loop = asyncio.get_running_loop()
        opened = icmp_socket()
        assert opened is not None, "bench_ping checks for an ICMP socket first"
        sock, is_raw = opened
        try:
            sock.setblocking(False)
            sock.connect(("127.0.0.1", 0))
            sequence = secrets.randbits(16)
            await loop.sock_sendall(sock, echo_packet(identifier, sequence, b"pharos-bench-32-bytes-of-payload"))
            while True:
                packet = await loop.sock_recv(sock, 2048)
                if is_raw:
                    packet = packet[(packet[0] & 0x0F) * 4 :]
                if packet[0] == 0 and struct.unpack("!H", packet[6:8])[0] == sequence:
                    if not is_raw or struct.unpack("!H", packet[4:6])[0] == identifier:
                        return True
        finally:
            sock.close()

    return bounded_loop(one, checks, concurrency)


def icmplib_ping(checks: int, concurrency: int, *, privileged: bool) -> Result:
    """(c): icmplib's AsyncSocket and ICMPRequest, a fresh socket per check."""
    from icmplib import AsyncSocket, ICMPRequest, ICMPv4Socket

    identifier = os.getpid() & 0xFFFF

    async def one() -> bool:
        sock = AsyncSocket(ICMPv4Socket(privileged=privileged))
        try:
            request = ICMPRequest("127.0.0.1", id=identifier, sequence=secrets.randbits(16), payload_size=32)
            sock.send(request)
            reply = await sock.receive(request, timeout=10)
            return bool(reply.type == 0)
        finally:
            sock.close()

    return bounded_loop(one, checks, concurrency)


def report(label: str, result: Result) -> Figures:
    done, ok, wall, cpu = result
    rate = done / wall if wall else 0.0
    per_thousand = cpu / done * 1000 if done else float("nan")
    print(
        f"  {label:<44} {done:>6} checks ({ok} ok) in {wall:6.2f} s  {rate:8.0f} checks/s  {per_thousand:6.3f} CPU s/1000",
        flush=True,
    )
    return rate, per_thousand


def best(results: list[Figures]) -> Figures:
    """Highest rate and lowest CPU per check over the rounds (the least disturbed)."""
    return max(r[0] for r in results), min(r[1] for r in results)


def run_variants(tag: str, rounds: int, variants: list[Variant]) -> None:
    """Alternate the variants ``rounds`` times so drifting load hits them alike; print
    the best round of each as ``name: value unit`` figures for bench/run_all.py."""
    results: dict[str, list[Figures]] = {label: [] for label, _, _ in variants}
    for number in range(1, rounds + 1):
        for label, _, run in variants:
            results[label].append(report(f"{label}, round {number}", run()))
    figures = {label: best(rounds_of) for label, rounds_of in results.items()}
    ours = figures[variants[0][0]]
    alone = figures[variants[1][0]]
    bare = figures[variants[2][0]]
    for label, name, _ in variants:
        rate, cpu = figures[label]
        print(f"{tag} {name}: {rate:.0f} checks/s")
        print(f"{tag} {name} CPU: {cpu:.3f} ms/check")
    print(f"{tag} Pharos vs bare asyncio by rate: {100 * ours[0] / bare[0]:.0f} %")
    print(f"{tag} Pharos vs bare asyncio by CPU: {100 * bare[1] / ours[1]:.0f} %", flush=True)
    for label, name, _ in variants[3:]:
        rate, cpu = figures[label]
        print(f"{tag} {name} CPU vs the probe alone: {100 * cpu / alone[1]:.0f} %", flush=True)


def bench_dns(args: argparse.Namespace) -> None:
    binary = find_dnsmasq()
    server = Dnsmasq(binary) if binary else FallbackResponder()
    try:
        print(f"DNS server: {server.name} on 127.0.0.1:{server.port}; {args.concurrency} concurrent checks")
        spec = {"type": "dns", "target": f"127.0.0.1:{server.port}", "body": NAME, "keyword": ADDRESS}
        run_variants(
            "DNS",
            args.rounds,
            [
                (
                    "(a) Pharos probe path",
                    "Pharos probe path",
                    lambda: pharos_path(spec, args.checks, args.concurrency),
                ),
                ("(a') probe_dns alone", "probe alone", lambda: probe_alone(spec, args.checks, args.concurrency)),
                (
                    "(b) bare asyncio UDP",
                    "baseline bare asyncio",
                    lambda: bare_dns(server.port, args.checks, args.concurrency),
                ),
                (
                    "(c) dnspython asyncquery.udp",
                    "reference dnspython asyncquery",
                    lambda: dnspython_query(server.port, args.checks, args.concurrency),
                ),
            ],
        )
    finally:
        server.stop()


def bench_ping(args: argparse.Namespace) -> None:
    opened = icmp_socket()
    if opened is None:
        print(f"ping: skipped, no ICMP socket for uid {os.getuid()} (not root, not in net.ipv4.ping_group_range)")
        return
    sock, is_raw = opened
    sock.close()
    print(
        f"ping: {'raw' if is_raw else 'datagram'} ICMP sockets to 127.0.0.1; {args.ping_concurrency} concurrent checks"
    )
    variants: list[Variant] = [
        (
            "(a) Pharos probe path",
            "Pharos probe path",
            lambda: pharos_path({"type": "ping", "target": "127.0.0.1"}, args.pings, args.ping_concurrency),
        ),
        (
            "(a') probe_ping alone",
            "probe alone",
            lambda: probe_alone({"type": "ping", "target": "127.0.0.1"}, args.pings, args.ping_concurrency),
        ),
        ("(b) bare asyncio ICMP", "baseline bare asyncio", lambda: bare_ping(args.pings, args.ping_concurrency)),
    ]
    try:
        import icmplib  # noqa: F401
    except ImportError:
        print("  (c) icmplib is not installed: pip install icmplib to compare it")
    else:
        variants.append(
            (
                "(c) icmplib AsyncSocket",
                "reference icmplib",
                lambda: icmplib_ping(args.pings, args.ping_concurrency, privileged=is_raw),
            )
        )
    run_variants("ping", args.rounds, variants)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=20000, help="DNS checks per variant and round")
    parser.add_argument("--pings", type=int, default=5000, help="ping checks per variant and round")
    parser.add_argument("--concurrency", type=int, default=100)
    # Every raw ICMP socket sees every echo packet of the host: keep the fan-out modest.
    parser.add_argument("--ping-concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}; load average {load}")
    print(f"worker event loop: {type(new_event_loop()).__module__}; every variant runs on that loop kind")
    bench_dns(args)
    bench_ping(args)


if __name__ == "__main__":
    main()
