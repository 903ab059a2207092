"""Probe throughput with fresh connections: the Pharos probe path against a bare asyncio loop.

    .venv/bin/python bench/probe_throughput.py [--checks 10000] [--tls-checks 2500] [--rounds 2]

Starts nginx (installing Debian's nginx-light if it is missing and we may) on a spare
loopback port with a throwaway config and an ECDSA certificate from a throwaway CA, then
for plain HTTP and for HTTPS (a fresh TLS handshake per check) measures, in this run:

  (a) the Pharos probe path as the region worker runs it: batches of 100 specs admitted
      to a probes.engine.Engine (one event loop thread, PHAROS_PROBE_CONCURRENCY bound,
      phases recorded, outcomes built and handed to a publish callback);
  (b) a bare asyncio-streams loop: hand-written HTTP/1.1 GET on asyncio.open_connection
      (with ssl for HTTPS), head then Content-Length bytes, same concurrency, on asyncio's
      own event loop;
  (b') the same bare loop on the event loop the worker uses (uvloop when installed), so
      the share of the rate lost to the probe's own work is visible too;
  (c) for reference, plain HTTP only: httpx's own AsyncClient (httpcore + h11), no
      keep-alive, on the worker's loop: the client the probe transport replaces.

and prints checks/s and CPU seconds per 1,000 checks (this process's CPU: the probing
side only). The variants alternate for ``--rounds`` rounds and the best round of each is
compared. Every loop is bounded in count and time (60 s per run). If nginx cannot be had, a small
in-process-free Python server is used instead and the output says so.
"""

import argparse
import asyncio
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from probes.engine import Engine, new_event_loop  # noqa: E402
from probes.spec import CheckSpec, batch_message  # noqa: E402
from tests.probes.certificates import TestAuthority  # noqa: E402

BATCH = 100
TIME_LIMIT = 60.0  # seconds per measured run, whatever the count


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_nginx():
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.path.exists(candidate):
            return candidate
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("nginx missing: installing nginx-light from Debian's packages", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        result = subprocess.run(
            ["apt-get", "install", "-y", "-qq", "nginx-light"], env=env, capture_output=True, timeout=300
        )
        if result.returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300)
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "nginx-light"], env=env, capture_output=True, timeout=300
            )
        for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
            if candidate and os.path.exists(candidate):
                return candidate
    return None


NGINX_CONFIG = """
worker_processes {workers};
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
daemon off;
events {{ worker_connections 4096; multi_accept on; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    keepalive_timeout 0;
    server {{
        listen 127.0.0.1:{http_port} backlog=4096;
        listen 127.0.0.1:{https_port} ssl backlog=4096;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_session_cache off;
        ssl_session_tickets off;
        location / {{ default_type text/plain; return 200 "ok pharos\\n"; }}
    }}
}}
"""


class Nginx:
    def __init__(self, binary, folder, certificate):
        self.http_port, self.https_port = free_port(), free_port()
        config = Path(folder) / "nginx.conf"
        config.write_text(
            NGINX_CONFIG.format(
                workers=1,
                folder=folder,
                http_port=self.http_port,
                https_port=self.https_port,
                cert=certificate.cert_file,
                key=certificate.key_file,
            )
        )
        self.process = subprocess.Popen([binary, "-c", str(config), "-p", str(folder)], stderr=subprocess.PIPE)
        wait_for_port(self.http_port)
        wait_for_port(self.https_port)
        self.name = f"nginx ({binary}, 1 worker process)"

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class FallbackServer:
    """Used only when nginx cannot be had: a separate Python process, so it does not
    share this process's CPU accounting. Much slower than nginx: figures are then a floor."""

    SCRIPT = r"""
import asyncio, ssl, sys
async def handle(reader, writer):
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nok pharos\n")
    await writer.drain(); writer.close()
async def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    a = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=4096)
    b = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[2]), ssl=ctx, backlog=4096)
    await asyncio.Event().wait()
asyncio.run(main())
"""

    def __init__(self, certificate):
        self.http_port, self.https_port = free_port(), free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                self.SCRIPT,
                str(self.http_port),
                str(self.https_port),
                str(certificate.cert_file),
                str(certificate.key_file),
            ]
        )
        wait_for_port(self.http_port)
        wait_for_port(self.https_port)
        self.name = "FALLBACK Python asyncio server (nginx could not be had)"

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def wait_for_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen on port {port}")


def measure(run):
    cpu, wall = time.process_time(), time.perf_counter()
    done = run()
    return done, time.perf_counter() - wall, time.process_time() - cpu


def pharos_path(url, checks, concurrency, ca_file):
    """(a): batches admitted to the region worker's engine, outcomes published to a list."""
    published = []
    finished = threading.Event()
    counted = [0]

    def publish(message):
        published.append(message)
        counted[0] += len(message["outcomes"])
        if counted[0] >= checks:
            finished.set()

    engine = Engine(
        region="bench", concurrency=concurrency, publish=publish, allow_private_targets=True, ca_file=ca_file
    )
    expires = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    specs = [
        CheckSpec(monitor_id=i, scheduled_at="2026-11-28T00:00:00+00:00", type="status", target=url, timeout=10.0)
        for i in range(BATCH)
    ]
    message = batch_message(region="bench", specs=specs, expires_at=expires)

    def run():
        deadline = time.monotonic() + TIME_LIMIT
        sent = 0
        while sent < checks and time.monotonic() < deadline:
            engine.submit(message)
            sent += BATCH
        finished.wait(timeout=max(0.0, deadline - time.monotonic()) + 15)
        return counted[0]

    try:
        done, wall, cpu = measure(run)
    finally:
        engine.close()
    outcomes = [o for m in published for o in m["outcomes"]]
    up = sum(o["status"] == "up" for o in outcomes)
    lag = max((m["loop_lag"] or 0.0) for m in published) if published else 0.0
    return done, wall, cpu, up, lag


def bare_loop(host, port, checks, concurrency, ssl_context, *, loop_factory=None):
    """(b): hand-written HTTP/1.1 GET on asyncio.open_connection, fresh connection each."""
    request = f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode()
    ok = [0]

    async def one():
        reader, writer = await asyncio.open_connection(
            host, port, ssl=ssl_context, server_hostname=host if ssl_context else None
        )
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await reader.readexactly(length)
        # Done once the body is in, as the probe is: waiting for the server's close (and a
        # TLS close_notify) would measure the server's shutdown, not the check.
        writer.transport.abort()
        if head.startswith(b"HTTP/1.1 200"):
            ok[0] += 1

    async def main():
        slots = asyncio.Semaphore(concurrency)
        deadline = time.monotonic() + TIME_LIMIT

        async def bounded():
            async with slots:
                if time.monotonic() < deadline:
                    await one()

        await asyncio.gather(*(bounded() for _ in range(checks)))

    def run():
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(main())
        return ok[0]

    done, wall, cpu = measure(run)
    return done, wall, cpu, ok[0], None


def httpx_default_client(url, checks, concurrency):
    """(c), for reference: httpx's own AsyncClient (httpcore + h11), fresh connections."""
    import httpx

    ok = [0]

    async def main():
        limits = httpx.Limits(max_keepalive_connections=0, max_connections=concurrency)
        async with httpx.AsyncClient(limits=limits) as client:
            slots = asyncio.Semaphore(concurrency)
            deadline = time.monotonic() + TIME_LIMIT

            async def one():
                async with slots:
                    if time.monotonic() < deadline and (await client.get(url)).status_code == 200:
                        ok[0] += 1

            await asyncio.gather(*(one() for _ in range(checks)))

    def run():
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            runner.run(main())
        return ok[0]

    done, wall, cpu = measure(run)
    return done, wall, cpu, ok[0], None


def report(label, result):
    done, wall, cpu, ok, lag = result
    rate = done / wall if wall else 0.0
    per_thousand = cpu / done * 1000 if done else float("nan")
    extra = f"  max loop lag {lag * 1000:.1f} ms" if lag is not None else ""
    print(
        f"  {label:<40} {done:>6} checks ({ok} ok) in {wall:6.2f} s  {rate:8.0f} checks/s  "
        f"{per_thousand:6.3f} CPU s/1000{extra}",
        flush=True,
    )
    return rate, per_thousand


def best(results):
    """The best round of a variant: highest rate, lowest CPU per check (each may come
    from a different round; on a shared machine the best is the least disturbed)."""
    return max(r[0] for r in results), min(r[1] for r in results)


def compare(tag, ours, bare, same, goal):
    """Ratios by wall-clock rate, and by CPU per check (which a busy machine distorts less)."""
    print(
        f"  best of rounds: (b) {bare[0]:,.0f}/s {bare[1]:.3f} CPU s/1000; (b') {same[0]:,.0f}/s {same[1]:.3f}; "
        f"(a) {ours[0]:,.0f}/s {ours[1]:.3f}"
    )
    print(
        f"  Pharos / bare: {ours[0] / bare[0]:.0%} by rate, {bare[1] / ours[1]:.0%} by CPU per check; "
        f"Pharos / bare on the worker's loop: {ours[0] / same[0]:.0%} by rate, {same[1] / ours[1]:.0%} by CPU"
        f"  (goal {goal})"
    )
    print(f"  one core's worth of the probe path: {1000 / ours[1]:,.0f} checks/s", flush=True)
    # Machine-readable figures for `make bench` (bench/run_all.py reads "name: value unit").
    print(f"{tag} Pharos probe path: {ours[0]:.0f} checks/s")
    print(f"{tag} Pharos probe path CPU: {ours[1]:.3f} s/1000 checks")
    print(f"{tag} baseline bare asyncio: {bare[0]:.0f} checks/s")
    print(f"{tag} baseline bare asyncio CPU: {bare[1]:.3f} s/1000 checks")
    print(f"{tag} Pharos vs bare asyncio by rate: {100 * ours[0] / bare[0]:.0f} %")
    print(f"{tag} Pharos vs bare asyncio by CPU: {100 * bare[1] / ours[1]:.0f} %", flush=True)


def run_variants(label, rounds, bare_run, same_run, ours_run, goal):
    """Alternate the three variants ``rounds`` times so drifting load hits them alike."""
    print(label)
    bare, same, ours = [], [], []
    for number in range(1, rounds + 1):
        bare.append(report(f"(b) bare, asyncio loop, round {number}", bare_run()))
        same.append(report(f"(b') bare, worker's loop, round {number}", same_run()))
        ours.append(report(f"(a) Pharos probe path, round {number}", ours_run()))
    compare(label.split()[0].rstrip(","), best(ours), best(bare), best(same), goal)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=10000, help="HTTP checks per variant and round")
    parser.add_argument("--tls-checks", type=int, default=2500, help="HTTPS checks per variant and round")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--tls-concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pharos-bench-") as folder:
        authority = TestAuthority(folder)
        ca_file = str(authority.ca_file)
        certificate = authority.issue(not_after=datetime.now(UTC) + timedelta(days=90))
        binary = find_nginx()
        server = Nginx(binary, folder, certificate) if binary else FallbackServer(certificate)
        try:
            load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
            print(f"server: {server.name}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}; load average {load}")
            if os.getloadavg()[0] > (os.cpu_count() or 1):
                print(
                    "  (the machine is busy with other work: wall-clock rates are low and noisy, CPU per check holds up better)"
                )
            print(
                f"worker event loop: {type(new_event_loop()).__module__}; (b') is the bare loop on that same loop kind"
            )
            http_url = f"http://127.0.0.1:{server.http_port}/"
            https_url = f"https://127.0.0.1:{server.https_port}/"
            bare_context = ssl.create_default_context(cafile=ca_file)
            host, checks, tls_checks = "127.0.0.1", args.checks, args.tls_checks

            run_variants(
                f"HTTP, fresh connection per check, {args.concurrency} concurrent:",
                args.rounds,
                lambda: bare_loop(host, server.http_port, checks, args.concurrency, None),
                lambda: bare_loop(host, server.http_port, checks, args.concurrency, None, loop_factory=new_event_loop),
                lambda: pharos_path(http_url, checks, args.concurrency, ca_file),
                ">= 35 % and >= 3,000 checks/s",
            )
            report(
                "(c) httpx.AsyncClient, default transport",
                httpx_default_client(http_url, min(checks, 3000), args.concurrency),
            )
            run_variants(
                f"HTTPS, fresh TLS handshake per check, {args.tls_concurrency} concurrent:",
                args.rounds,
                lambda: bare_loop(host, server.https_port, tls_checks, args.tls_concurrency, bare_context),
                lambda: bare_loop(
                    host, server.https_port, tls_checks, args.tls_concurrency, bare_context, loop_factory=new_event_loop
                ),
                lambda: pharos_path(https_url, tls_checks, args.tls_concurrency, ca_file),
                ">= 70 %",
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
