"""Loopback servers and helpers for the probe tests.

Probes run against real servers on 127.0.0.1 / ::1. Loopback is exactly what the
private-address guard forbids, so every context here turns it off explicitly
(``allow_private_targets=True``) except in the tests of the guard itself.
"""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from probes.engine import new_event_loop
from probes.runner import ProbeContext, Runner
from probes.spec import CheckSpec
from tests.probes.certificates import TestAuthority
from tests.probes.servers import DatagramServer, DnsZone, HttpServer, LineServer, ServerLoop

SCHEDULED_AT = "2026-11-28T06:00:00+00:00"


@pytest.fixture(scope="session")
def server_loop():
    loop = ServerLoop()
    yield loop
    loop.stop()


@pytest.fixture(scope="session")
def authority(tmp_path_factory):
    return TestAuthority(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def certificates(authority):
    now = datetime.now(UTC)
    return {
        "valid": authority.issue(not_after=now + timedelta(days=90)),
        # A minute short of 3 days: whole days left, rounded up, is 3.
        "expiring": authority.issue(not_after=now + timedelta(days=3) - timedelta(minutes=1)),
        "expired": authority.issue(not_after=now - timedelta(days=1)),
    }


@pytest.fixture(scope="session")
def probe_context(authority):
    """A worker context that trusts the test CA and may reach loopback."""
    return ProbeContext(region="eu", allow_private_targets=True, ca_file=str(authority.ca_file))


def make_spec(**fields):
    fields.setdefault("monitor_id", 1)
    fields.setdefault("scheduled_at", SCHEDULED_AT)
    fields.setdefault("type", "status")
    fields.setdefault("timeout", 5.0)
    return CheckSpec(**fields)


def run_on_worker_loop(coroutine):
    """Run ``coroutine`` on the kind of event loop region workers use (uvloop if installed)."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(coroutine)


def run_probe(context, spec, *, concurrency=10):
    async def main():
        return await Runner(context, concurrency=concurrency).run_check(spec)

    return run_on_worker_loop(main())


@pytest.fixture
def check(probe_context):
    """check(**spec fields) -> Outcome, run through the Runner with ``probe_context``."""

    def run(context=None, **fields):
        return run_probe(context or probe_context, make_spec(**fields))

    return run


@pytest.fixture
def http_server(server_loop):
    server = HttpServer(server_loop)
    yield server
    server.close()


@pytest.fixture
def https_server(server_loop, certificates):
    """https_server(kind) -> HttpServer over TLS with the "valid", "expiring" or "expired" certificate."""
    started = []

    def start(kind="valid"):
        server = HttpServer(server_loop, ssl_context=certificates[kind].server_context())
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def line_server(server_loop):
    """line_server(greeting=b"", ssl_context=None, host="127.0.0.1") -> LineServer."""
    started = []

    def start(**options):
        server = LineServer(server_loop, **options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def udp_server(server_loop):
    """udp_server(answer, host=, port=0) -> DatagramServer; ``answer(data)`` returns the reply or None."""
    started = []

    def start(answer, host="127.0.0.1", port=0):
        server = DatagramServer(server_loop, answer, host=host, port=port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def dns_server(udp_server):
    zone = DnsZone()
    server = udp_server(zone.answer)
    server.zone = zone
    return server


@pytest.fixture
def smtp_server(server_loop):
    """smtp_server(ssl_context=None) -> port of a real aiosmtpd server on 127.0.0.1."""
    from aiosmtpd.handlers import Sink
    from aiosmtpd.smtp import SMTP

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    servers = []

    def start(ssl_context=None):
        async def serve():
            return await asyncio.get_running_loop().create_server(
                lambda: SMTP(Sink(), hostname="mx.pharos.test"), "127.0.0.1", 0, ssl=ssl_context
            )

        server = server_loop.call(serve())
        servers.append(server)
        return server.sockets[0].getsockname()[1]

    yield start

    async def stop(server):
        server.close()

    for server in servers:
        server_loop.call(stop(server))
