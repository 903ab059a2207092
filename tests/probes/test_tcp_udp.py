"""TCP monitors (every port accepts) and UDP monitors (a reply carrying the keyword)
against real loopback echo servers."""

import pytest

from probes.spec import DOWN, ERROR, UP
from tests.probes.servers import free_port


def test_a_listening_port_is_up_with_connect_time(check, line_server):
    outcome = check(type="tcp", target="127.0.0.1", ports=(line_server().port,))
    assert outcome.status == UP
    assert outcome.phases["connect"] > 0 and outcome.remote_ip == "127.0.0.1"
    assert outcome.response_time == pytest.approx(sum(outcome.phases.values()), abs=1e-5)


def test_every_listed_port_must_accept(check, line_server):
    ports = (line_server().port, line_server().port)
    assert check(type="tcp", target="127.0.0.1", ports=ports).status == UP


def test_a_closed_port_is_connection_refused(check):
    outcome = check(type="tcp", target="127.0.0.1", ports=(free_port(),))
    assert (outcome.status, outcome.cause) == (DOWN, "Connection refused")


def test_with_several_ports_the_cause_names_the_failing_one(check, line_server):
    closed = free_port()
    outcome = check(type="tcp", target="127.0.0.1", ports=f"{line_server().port},{closed}".split(","))
    assert (outcome.status, outcome.cause) == (DOWN, f"Port {closed}: Connection refused")


def test_the_port_may_be_written_in_the_target(check, line_server):
    assert check(type="tcp", target=f"127.0.0.1:{line_server().port}").status == UP


def test_tcp_over_ipv6(check, line_server):
    outcome = check(type="tcp", target="::1", ports=(line_server(host="::1").port,))
    assert (outcome.status, outcome.remote_ip) == (UP, "::1")


def test_tcp_without_any_port_is_an_error_of_the_monitor(check):
    outcome = check(type="tcp", target="127.0.0.1")
    assert outcome.status == ERROR and "No port" in outcome.cause


def test_a_udp_reply_with_the_keyword_is_up(check, udp_server):
    server = udp_server(lambda data: b"PONG " + data)
    outcome = check(type="udp", target="127.0.0.1", ports=(server.port,), body="ping", keyword="PONG")
    assert outcome.status == UP
    assert server.received == [b"ping"]
    assert outcome.phases["processing"] > 0


def test_a_udp_reply_without_the_keyword_is_down(check, udp_server):
    server = udp_server(lambda data: b"NOPE")
    outcome = check(type="udp", target="127.0.0.1", ports=(server.port,), body="ping", keyword="PONG")
    assert (outcome.status, outcome.cause) == (DOWN, 'Keyword "PONG" not found')
    assert outcome.response_excerpt == "NOPE"


def test_a_silent_udp_server_is_a_timeout(check, udp_server):
    server = udp_server(lambda data: None)
    outcome = check(type="udp", target="127.0.0.1", ports=(server.port,), body="ping", keyword="PONG", timeout=0.2)
    assert (outcome.status, outcome.cause) == (DOWN, "Timeout after 0.2 s")


def test_a_closed_udp_port_is_connection_refused(check):
    # The kernel answers ICMP port-unreachable, which a connected UDP socket reports.
    port = free_port(kind=__import__("socket").SOCK_DGRAM)
    outcome = check(type="udp", target="127.0.0.1", ports=(port,), body="ping", keyword="PONG", timeout=2)
    assert (outcome.status, outcome.cause) == (DOWN, "Connection refused")
