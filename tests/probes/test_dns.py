"""DNS monitors: dnspython writes the question and reads the answer, our sockets carry
them to a small loopback DNS responder (UDP, and TCP when the answer is truncated)."""

import socket
import struct

import dns.message
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probes.dns import fresh_query, prepared_query, read_response
from probes.failures import TargetDown
from probes.runner import ProbeContext
from probes.spec import DOWN, ERROR, UP
from tests.probes.conftest import make_spec, run_probe
from tests.probes.servers import RCODE_NXDOMAIN, RCODE_SERVFAIL, DnsZone, TcpDnsServer, dns_name


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


def test_a_truncated_answer_is_asked_again_over_tcp(check, udp_server, server_loop):
    zone = DnsZone()
    zone.records["big.pharos.test"] = [(16, b"\x05hello")]
    zone.truncated.add("big.pharos.test")
    tcp = TcpDnsServer(server_loop, zone)
    server = udp_server(zone.answer, port=tcp.port)
    try:
        outcome = check(type="dns", target=f"127.0.0.1:{server.port}", body="big.pharos.test TXT", keyword="hello")
    finally:
        tcp.close()
    assert outcome.status == UP
    assert tcp.queries == 1


# --- what dnspython reads for us -------------------------------------------------------


def test_mx_srv_and_caa_answers_read_as_presentation_text(check, zone):
    zone.zone.records["mail.pharos.test"] = [(15, b"\x00\x0a" + dns_name("mx1.pharos.test"))]
    zone.zone.records["_sip._udp.pharos.test"] = [(33, struct.pack("!HHH", 0, 5, 5060) + dns_name("sip.pharos.test"))]
    zone.zone.records["pharos.test"] = [(257, b"\x00\x05issueca.pharos.test")]
    assert ask(check, zone, "mail.pharos.test MX", keyword="10 mx1.pharos.test").status == UP
    assert ask(check, zone, "_sip._udp.pharos.test SRV", keyword="0 5 5060 sip.pharos.test").status == UP
    assert ask(check, zone, "pharos.test CAA", keyword='0 issue "ca.pharos.test"').status == UP


def test_a_failed_keyword_shows_every_answer_as_text(check, zone):
    zone.zone.records["mail.pharos.test"] = [(15, b"\x00\x0a" + dns_name("mx1.pharos.test"))]
    outcome = ask(check, zone, "mail.pharos.test MX", keyword="mx2")
    assert (outcome.status, outcome.cause) == (DOWN, 'Keyword "mx2" not found')
    assert outcome.response_excerpt == "MX 10 mx1.pharos.test."


def test_the_strings_of_a_txt_record_are_matched_as_one_text(check, zone):
    # Long SPF/DKIM values are split into several strings that mean one value.
    zone.zone.records["pharos.test"] = [(16, b"\x07v=spf1 \x04-all")]
    assert ask(check, zone, "pharos.test TXT", keyword="v=spf1 -all").status == UP


def test_any_record_type_dnspython_knows_can_be_asked(check, zone):
    ask(check, zone, "up.pharos.test HTTPS")
    assert b"\x02up\x06pharos\x04test\x00\x00\x41\x00\x01" in zone.received[-1]


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        ("up.pharos.test FOO", "Unknown DNS record type 'FOO'"),
        ("up.pharos.test ANY", "DNS record type 'ANY' cannot be monitored"),
        ("up.pharos.test AXFR", "DNS record type 'AXFR' cannot be monitored"),
        ("x" * 64 + ".pharos.test", f"Invalid DNS name '{'x' * 64}.pharos.test'"),
        ("a..pharos.test", "Invalid DNS name 'a..pharos.test'"),
    ],
)
def test_a_question_that_cannot_be_asked_is_an_error_without_traffic(check, zone, body, cause):
    outcome = ask(check, zone, body)
    assert (outcome.status, outcome.cause) == (ERROR, cause)
    assert zone.received == []


def test_an_international_name_is_asked_in_its_ascii_form(check, zone):
    zone.zone.records["xn--bcher-kva.pharos.test"] = [(1, socket.inet_aton("192.0.2.11"))]
    assert ask(check, zone, "Bücher.pharos.test", keyword="192.0.2.11").status == UP
    assert dns_name("xn--bcher-kva.pharos.test") in zone.received[-1]


def test_an_rcode_without_a_cause_of_its_own_is_named(check, zone):
    zone.zone.rcodes["notauth.pharos.test"] = 9
    outcome = ask(check, zone, "notauth.pharos.test")
    assert (outcome.status, outcome.cause) == (DOWN, "DNS error (NOTAUTH, rcode 9)")


def test_an_answer_to_another_question_is_down(check, udp_server):
    # Our id, but the question is not ours: a broken server (or a misrouted answer) is
    # not a healthy one, however good its records look.
    zone = DnsZone()
    zone.records["other.pharos.test"] = [(1, socket.inet_aton("192.0.2.10"))]

    def answer_another_question(query):
        other = dns_name("other.pharos.test") + b"\x00\x01\x00\x01"
        return zone.answer(query[:12] + other)

    server = udp_server(answer_another_question)
    outcome = check(type="dns", target=f"127.0.0.1:{server.port}", body="up.pharos.test")
    assert (outcome.status, outcome.cause) == (DOWN, "Invalid DNS response: it does not answer the question asked")


def test_a_malformed_answer_carrying_our_id_is_down_with_an_excerpt(check, udp_server):
    server = udp_server(lambda query: query[:2] + b"\x81\x80\x00\x01\x00\x05garbage")
    outcome = check(type="dns", target=f"127.0.0.1:{server.port}", body="up.pharos.test")
    assert (outcome.status, outcome.cause) == (DOWN, "Invalid DNS response")
    assert "garbage" in outcome.response_excerpt


def test_a_truncated_answer_cut_mid_record_is_still_asked_again_over_tcp(check, udp_server, server_loop):
    zone = DnsZone()
    zone.records["big.pharos.test"] = [(16, b"\x05hello"), (16, b"\x05world")]
    tcp = TcpDnsServer(server_loop, zone)
    server = udp_server(lambda query: truncated(zone.answer(query, over_tcp=True), cut=4), port=tcp.port)
    try:
        outcome = check(type="dns", target=f"127.0.0.1:{server.port}", body="big.pharos.test TXT", keyword="world")
    finally:
        tcp.close()
    assert (outcome.status, tcp.queries) == (UP, 1)


def test_the_phases_of_a_udp_question_add_up_to_its_response_time(check, zone):
    outcome = ask(check, zone, "up.pharos.test")
    assert outcome.phases["connect"] > 0 and outcome.phases["processing"] > 0
    assert outcome.phases["transfer"] == 0 and outcome.phases["tls_handshake"] == 0
    assert outcome.response_time == pytest.approx(sum(outcome.phases.values()), abs=1e-5)


def test_a_server_on_ipv6_loopback_is_asked_there(check, udp_server):
    zone = DnsZone()
    zone.records["up.pharos.test"] = [(28, socket.inet_pton(socket.AF_INET6, "2001:db8::10"))]
    server = udp_server(zone.answer, host="::1")
    outcome = check(type="dns", target=f"[::1]:{server.port}", body="up.pharos.test AAAA", keyword="2001:db8::10")
    assert (outcome.status, outcome.remote_ip) == (UP, "::1")


def test_a_closed_port_is_refused_at_once_not_a_timeout(check):
    # Our connected UDP socket hears the ICMP port-unreachable; an unconnected one (as
    # dns.asyncquery uses) would wait out the whole deadline.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outcome = check(type="dns", target=f"127.0.0.1:{port}", body="up.pharos.test", timeout=5)
    assert (outcome.status, outcome.cause) == (DOWN, "Connection refused")


# --- the guard: the server's name is resolved once, and only the vetted address is asked


def test_a_server_named_by_host_is_asked_at_its_vetted_address(zone):
    context = ProbeContext(region="eu", allow_private_targets=False, allowed_networks=["127.0.0.1/32"])
    outcome = run_probe(
        context, make_spec(type="dns", target=f"localhost:{zone.port}", body="up.pharos.test", ip_version="ipv4")
    )
    assert (outcome.status, outcome.remote_ip) == (UP, "127.0.0.1")
    assert len(zone.received) == 1


def test_a_server_whose_name_resolves_inside_is_refused_before_any_query(zone):
    context = ProbeContext(region="eu", allow_private_targets=False)
    outcome = run_probe(
        context, make_spec(type="dns", target=f"localhost:{zone.port}", body="up.pharos.test", ip_version="ipv4")
    )
    assert outcome.status == ERROR
    assert outcome.cause == "Target address 127.0.0.1 is loopback: private targets are not allowed"
    assert zone.received == []


# --- the prepared query is dnspython's own query under a new id ------------------------

LABELS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=20)
TYPES = st.sampled_from(["", "A", "AAAA", "MX", "TXT", "SRV", "CAA", "HTTPS", "ns", "TYPE65534"])


@settings(max_examples=200, deadline=None)
@given(labels=st.lists(LABELS, min_size=1, max_size=5), record_type=TYPES)
def test_a_prepared_query_renders_as_dnspython_renders_it(labels, record_type):
    text = ".".join(labels) + (f" {record_type}" if record_type else "")
    question, query, wire = fresh_query(text)
    expected = dns.message.make_query(question.name, question.rdtype, id=query.id)
    assert wire == expected.to_wire() == query.to_wire()
    assert question.text == ".".join(labels)


def test_each_check_asks_under_its_own_id_and_leaves_the_prepared_query_alone():
    ids = {fresh_query("up.pharos.test")[1].id for _ in range(20)}
    assert len(ids) > 1
    assert prepared_query("up.pharos.test")[1].id == 0


# --- whatever the bytes, an answer is read or judged down, never a crash -----------------


def sample_query():
    return dns.message.make_query("up.pharos.test", "A")


def sample_answer(query):
    zone = DnsZone()
    zone.records["up.pharos.test"] = [(1, socket.inet_aton("192.0.2.10")), (5, dns_name("alias.pharos.test"))]
    return zone.answer(query.to_wire())


@settings(max_examples=300, deadline=None)
@given(tail=st.binary(max_size=300))
def test_any_bytes_after_our_id_are_read_or_judged_invalid(tail):
    query = sample_query()
    wire = query.to_wire()[:2] + tail
    try:
        read_response(query, wire)
    except (TargetDown, dns.message.Truncated):
        pass


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_damaged_answer_is_read_or_judged_invalid(data):
    query = sample_query()
    wire = bytearray(sample_answer(query))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        wire[data.draw(st.integers(min_value=2, max_value=len(wire) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(min_value=12, max_value=len(wire)))
    try:
        response = read_response(query, bytes(wire[:cut]))
    except (TargetDown, dns.message.Truncated):
        return
    assert query.is_response(response)


# --- helpers ---------------------------------------------------------------------------


def truncated(message, *, cut):
    """``message`` short of its last ``cut`` bytes, TC set: a server out of room mid-record."""
    flags = struct.unpack("!H", message[2:4])[0] | 0x0200
    return message[:2] + struct.pack("!H", flags) + message[4:-cut]
