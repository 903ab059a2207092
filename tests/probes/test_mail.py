"""SMTP (a real aiosmtpd server), POP3 and IMAP greeters on loopback; implicit TLS."""

from datetime import datetime

import pytest

from probes.runner import ProbeContext
from probes.spec import DOWN, UP
from tests.probes.conftest import make_spec, run_probe
from tests.probes.servers import free_port


def test_an_smtp_server_greeting_220_is_up(check, smtp_server):
    outcome = check(type="smtp", target="127.0.0.1", ports=(smtp_server(),))
    assert outcome.status == UP
    assert outcome.phases["processing"] > 0
    assert outcome.response_time == pytest.approx(sum(outcome.phases.values()), abs=1e-5)


def test_an_smtp_server_refusing_service_is_down_quoting_its_greeting(check, line_server):
    server = line_server(greeting=b"554 mx.pharos.test No SMTP service here\r\n")
    outcome = check(type="smtp", target="127.0.0.1", ports=(server.port,))
    assert (outcome.status, outcome.cause) == (
        DOWN,
        "Unexpected SMTP greeting: 554 mx.pharos.test No SMTP service here",
    )


def test_a_multi_line_smtp_greeting_is_read_to_its_last_line(check, line_server):
    server = line_server(greeting=b"220-mx.pharos.test first\r\n220-more\r\n220 ready\r\n")
    assert check(type="smtp", target="127.0.0.1", ports=(server.port,)).status == UP


def test_the_probe_says_goodbye_after_the_greeting(check, line_server):
    server = line_server(greeting=b"+OK POP3 ready\r\n")
    check(type="pop", target="127.0.0.1", ports=(server.port,))
    # The goodbye may land just after the check: poll briefly, bounded.
    import time

    deadline = time.monotonic() + 2
    while not server.received and time.monotonic() < deadline:
        time.sleep(0.01)
    assert b"".join(server.received) == b"QUIT\r\n"


def test_a_closed_smtp_port_is_connection_refused(check):
    outcome = check(type="smtp", target="127.0.0.1", ports=(free_port(),))
    assert (outcome.status, outcome.cause) == (DOWN, "Connection refused")


def test_a_silent_smtp_server_is_a_timeout(check, line_server):
    server = line_server()  # echo server: says nothing first
    outcome = check(type="smtp", target="127.0.0.1", ports=(server.port,), timeout=0.2)
    assert (outcome.status, outcome.cause) == (DOWN, "Timeout after 0.2 s")


def test_smtp_with_implicit_tls_reports_the_certificate(smtp_server, certificates, authority):
    port = smtp_server(ssl_context=certificates["valid"].server_context())
    context = ProbeContext(
        region="eu", allow_private_targets=True, ca_file=str(authority.ca_file), implicit_tls_ports={port}
    )
    outcome = run_probe(context, make_spec(type="smtp", target="127.0.0.1", ports=(port,)))
    assert outcome.status == UP
    assert outcome.phases["tls_handshake"] > 0
    assert datetime.fromisoformat(outcome.tls_expires_at) == certificates["valid"].not_after


def test_implicit_tls_with_an_expired_certificate_is_down(line_server, certificates, authority):
    server = line_server(greeting=b"* OK IMAP4rev1 ready\r\n", ssl_context=certificates["expired"].server_context())
    context = ProbeContext(
        region="eu", allow_private_targets=True, ca_file=str(authority.ca_file), implicit_tls_ports={server.port}
    )
    outcome = run_probe(context, make_spec(type="imap", target="127.0.0.1", ports=(server.port,)))
    assert (outcome.status, outcome.cause) == (DOWN, "TLS certificate expired")


@pytest.mark.parametrize(
    ("monitor_type", "greeting", "status"),
    [
        ("pop", b"+OK POP3 server ready\r\n", UP),
        ("pop", b"-ERR too many connections\r\n", DOWN),
        ("imap", b"* OK [CAPABILITY IMAP4rev1] ready\r\n", UP),
        ("imap", b"* PREAUTH welcome back\r\n", UP),
        ("imap", b"* BYE shutting down\r\n", DOWN),
    ],
)
def test_pop_and_imap_greetings(check, line_server, monitor_type, greeting, status):
    server = line_server(greeting=greeting)
    outcome = check(type=monitor_type, target="127.0.0.1", ports=(server.port,))
    assert outcome.status == status
    if status == DOWN:
        assert outcome.cause.startswith(f"Unexpected {'POP3' if monitor_type == 'pop' else 'IMAP'} greeting: ")
