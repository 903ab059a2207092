"""DNS monitors: our own client asks a small loopback DNS responder."""

import socket

import pytest

from probes.spec import DOWN, ERROR, UP
from tests.probes.servers import RCODE_NXDOMAIN, RCODE_SERVFAIL


@pytest.fixture
def zone(dns_server):
    dns_server.zone.records["up.pharos.test"] = [
        (1, socket.inet_aton("192.0.2.10")),
        (28, socket.inet_pton(socket.AF_INET6, "2001:db8::10")),
    ]
    dns_server.zone.records["empty.pharos.test"] = []
    dns_server.zone.rcodes["broken.pharos.test"] = RCODE_SERVFAIL
    return dns_server


def ask(check, server, name, **fields):
    return check(type="dns", target=f"127.0.0.1:{server.port}", body=name, **fields)


def test_a_name_with_an_answer_is_up(check, zone):
    outcome = ask(check, zone, "up.pharos.test")
    assert outcome.status == UP
    assert outcome.remote_ip == "127.0.0.1"
    assert outcome.response_time == pytest.approx(sum(outcome.phases.values()), abs=1e-5)


def test_the_question_carries_the_name_and_type(check, zone):
    ask(check, zone, "up.pharos.test AAAA")
    assert b"\x02up\x06pharos\x04test\x00\x00\x1c\x00\x01" in zone.received[-1]


def test_an_expected_answer_in_the_keyword_must_match(check, zone):
    assert ask(check, zone, "up.pharos.test", keyword="192.0.2.10").status == UP
    outcome = ask(check, zone, "up.pharos.test", keyword="192.0.2.99")
    assert (outcome.status, outcome.cause) == (DOWN, 'Keyword "192.0.2.99" not found')


def test_the_keyword_names_the_host_when_the_body_is_empty(check, zone):
    assert check(type="dns", target=f"127.0.0.1:{zone.port}", keyword="up.pharos.test").status == UP


def test_nxdomain_is_down(check, zone):
    outcome = ask(check, zone, "missing.pharos.test")
    assert (outcome.status, outcome.cause) == (DOWN, "DNS name does not exist (NXDOMAIN)")
    assert RCODE_NXDOMAIN == 3


def test_servfail_is_down(check, zone):
    outcome = ask(check, zone, "broken.pharos.test")
    assert (outcome.status, outcome.cause) == (DOWN, "DNS server failure (SERVFAIL)")


def test_no_answer_is_down(check, zone):
    outcome = ask(check, zone, "empty.pharos.test")
    assert (outcome.status, outcome.cause) == (DOWN, "DNS server returned no answer for empty.pharos.test")


def test_a_silent_server_is_a_timeout(check, udp_server):
    server = udp_server(lambda data: None)
    outcome = check(type="dns", target=f"127.0.0.1:{server.port}", body="up.pharos.test", timeout=0.2)
    assert (outcome.status, outcome.cause) == (DOWN, "Timeout after 0.2 s")


def test_an_answer_to_another_query_is_ignored(check, udp_server):
    server = udp_server(lambda data: b"\x00\x00" + data[2:])  # wrong id: not our answer
    outcome = check(type="dns", target=f"127.0.0.1:{server.port}", body="up.pharos.test", timeout=0.2)
    assert outcome.cause == "Timeout after 0.2 s"


def test_a_dns_monitor_without_a_name_is_an_error(check, zone):
    outcome = check(type="dns", target=f"127.0.0.1:{zone.port}")
    assert outcome.status == ERROR and "No name" in outcome.cause


def test_a_truncated_answer_is_asked_again_over_tcp(check, zone, server_loop):
    from tests.probes.servers import TcpDnsServer

    zone.zone.records["big.pharos.test"] = [(16, b"\x05hello")]
    zone.zone.truncated.add("big.pharos.test")
    tcp = TcpDnsServer(server_loop, zone.zone, zone.port)
    try:
        outcome = ask(check, zone, "big.pharos.test TXT", keyword="hello")
    finally:
        tcp.close()
    assert outcome.status == UP
    assert tcp.queries == 1
