"""An HTTPS check connects to the one address the guard vetted, and verifies the target's
certificate against the monitor's host name (SNI and hostname check) on that connection.

The names stand for a target's DNS zone, outside this machine: the system resolver is
replaced for them alone by one that answers 127.0.0.1 on the first lookup and 127.0.0.3 on
every later one. The probe runs on asyncio's own loop here, whose resolver is
``socket.getaddrinfo`` (uvloop resolves in C, where nothing can stand in for a zone).
A TLS server on 127.0.0.1 has a certificate for ``www.pinned.test`` only; one on
127.0.0.3, same port, has a certificate for both names, so a check that followed a
second lookup would come out UP there, and be seen.
"""

import asyncio

import pytest

from probes.runner import Runner
from probes.spec import DOWN, UP
from tests.probes.conftest import make_spec
from tests.probes.rebinding import vetted_and_rebound, zone_resolver

NAME = "www.pinned.test"
OTHER = "other.pinned.test"
VETTED, REBOUND = "127.0.0.1", "127.0.0.3"


@pytest.fixture
def targets(server_loop, authority):
    """``(vetted, rebound)``: the server at the first answer's address and at the later one's."""
    with vetted_and_rebound(server_loop, authority, name=NAME, other=OTHER, vetted=VETTED, rebound=REBOUND) as pair:
        yield pair


@pytest.fixture
def lookups(monkeypatch):
    return zone_resolver(monkeypatch, (NAME, OTHER), first=VETTED, later=REBOUND)


def check(probe_context, url):
    async def main():
        return await Runner(probe_context, concurrency=1).run_check(make_spec(target=url))

    return asyncio.run(main())


def test_an_https_check_of_a_name_reaches_the_vetted_address_with_the_certificate_checked_for_the_name(
    probe_context, targets, lookups
):
    vetted, rebound = targets
    outcome = check(probe_context, f"https://{NAME}:{vetted.port}/health")

    assert outcome.status == UP, outcome.cause
    assert vetted.server_names == [NAME]
    assert vetted.hosts == [f"{NAME}:{vetted.port}"]
    assert outcome.remote_ip == VETTED
    assert lookups == [NAME]
    assert rebound.connections == 0


def test_an_https_check_of_a_name_the_certificate_does_not_carry_is_down(probe_context, targets, lookups):
    vetted, rebound = targets
    outcome = check(probe_context, f"https://{OTHER}:{vetted.port}/health")

    assert outcome.status == DOWN
    assert outcome.cause.startswith("TLS certificate invalid:")
    assert vetted.server_names == [OTHER] and vetted.hosts == []
    assert lookups == [OTHER]
    assert rebound.connections == 0
