"""The private-address guard: loopback, private, link-local, multicast, reserved and
unspecified addresses are refused as ERROR unless the worker allows private targets —
judged on the resolved address and again on every redirect hop."""

import pytest

from probes.guard import AddressPolicy, forbidden_reason, numeric_host_form
from probes.runner import ProbeContext
from probes.spec import DOWN, ERROR, UP
from tests.probes.conftest import make_spec, run_probe


@pytest.fixture(scope="module")
def guarded():
    return ProbeContext(region="eu", allow_private_targets=False)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("fec0::1", "site-local"),
        ("feff::1", "site-local"),
        ("2002:7f00:1::", "loopback (6to4 for 127.0.0.1)"),
        ("2002:a9fe:a9fe::1", "link-local (6to4 for 169.254.169.254)"),
        ("2002:c0a8:0101::", "private (6to4 for 192.168.1.1)"),
        ("64:ff9b::7f00:1", "loopback (NAT64 for 127.0.0.1)"),
        ("64:ff9b::a00:7", "private (NAT64 for 10.0.0.7)"),
        ("64:ff9b:1::a00:7", "local-use NAT64"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ],
)
def test_inside_addresses_are_forbidden(address, reason):
    assert forbidden_reason(address) == reason


@pytest.mark.parametrize(
    "address",
    ["93.184.215.14", "2606:4700::6810:84e5", "1.1.1.1", "2002:5db8:d70e::1", "64:ff9b::5db8:d70e", "100.128.0.1"],
)
def test_public_addresses_are_allowed(address):
    assert forbidden_reason(address) is None


def test_a_loopback_target_is_refused_as_an_error_without_connecting(guarded, http_server):
    outcome = run_probe(guarded, make_spec(target=http_server.route("/")))
    assert outcome.status == ERROR
    assert outcome.cause == "Target address 127.0.0.1 is loopback: private targets are not allowed"
    assert http_server.requests == []


def test_a_name_resolving_inside_is_refused(guarded):
    # "localhost" comes from /etc/hosts: no DNS traffic, and it resolves to loopback.
    outcome = run_probe(guarded, make_spec(target="http://localhost:9/"))
    assert outcome.status == ERROR
    assert "loopback" in outcome.cause


def test_a_redirect_to_a_forbidden_address_is_refused(http_server):
    # The guard is on, with one exception: the test server's own address. The redirect
    # points at another loopback address, which must be refused before any connection.
    context = ProbeContext(region="eu", allow_private_targets=False, allowed_networks=["127.0.0.1/32"])
    url = http_server.route(
        "/go", status=302, headers=[("Location", f"http://127.0.0.2:{http_server.port}/")], body=b""
    )
    outcome = run_probe(context, make_spec(target=url))
    assert outcome.status == ERROR
    assert outcome.cause == "Target address 127.0.0.2 is loopback: private targets are not allowed"
    assert [r.path for r in http_server.requests] == ["/go"]


def test_allowed_networks_let_the_operator_reach_a_listed_address(http_server):
    context = ProbeContext(region="eu", allow_private_targets=False, allowed_networks=["127.0.0.1/32"])
    assert run_probe(context, make_spec(target=http_server.route("/"))).status == UP


@pytest.mark.parametrize(
    ("monitor_type", "fields"),
    [
        ("tcp", {"ports": (25,)}),
        ("udp", {"ports": (53,), "body": "x"}),
        ("ping", {}),
        ("dns", {"body": "example.com"}),
        ("smtp", {}),
        ("pop", {}),
        ("imap", {}),
    ],
)
def test_every_monitor_type_refuses_loopback(guarded, monitor_type, fields):
    outcome = run_probe(guarded, make_spec(type=monitor_type, target="127.0.0.1", **fields))
    assert (outcome.status, outcome.cause) == (
        ERROR,
        "Target address 127.0.0.1 is loopback: private targets are not allowed",
    )


def test_the_guard_follows_the_environment_by_default(monkeypatch):
    monkeypatch.setenv("PHAROS_ALLOW_PRIVATE_TARGETS", "1")
    assert AddressPolicy().allow_private is True
    monkeypatch.setenv("PHAROS_ALLOW_PRIVATE_TARGETS", "0")
    assert AddressPolicy().allow_private is False
    monkeypatch.delenv("PHAROS_ALLOW_PRIVATE_TARGETS")
    assert AddressPolicy().allow_private is False


def test_allowing_private_targets_reaches_loopback(check, http_server):
    assert check(target=http_server.route("/")).status == UP


def test_a_refused_check_is_an_error_not_a_down_vote(guarded):
    outcome = run_probe(guarded, make_spec(target="http://10.0.0.1/"))
    assert outcome.status == ERROR and outcome.status != DOWN


NUMERIC_FORMS_OF_LOOPBACK = ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.1", "127.0.0.01", "017700000001"]


@pytest.mark.parametrize("host", NUMERIC_FORMS_OF_LOOPBACK)
def test_every_numeric_spelling_of_an_address_is_a_numeric_host_form(host):
    assert numeric_host_form(host)


@pytest.mark.parametrize("host", ["127.0.0.1", "8.8.8.8", "::1", "example.com", "007.example.com", "1e100.net"])
def test_dotted_quads_ipv6_and_names_are_not_numeric_host_forms(host):
    assert not numeric_host_form(host)


@pytest.mark.parametrize("host", NUMERIC_FORMS_OF_LOOPBACK)
def test_a_numeric_host_form_is_refused_at_connect_time_without_connecting(guarded, http_server, host):
    # A tcp check: its target reaches the resolver as written (an HTTP URL parser may
    # already reject some of these spellings on its own).
    outcome = run_probe(guarded, make_spec(type="tcp", target=host, ports=(http_server.port,)))
    assert outcome.status == ERROR
    assert outcome.cause == f"Target host {host} is a numeric address form; write IPv4 addresses as a.b.c.d"
    assert http_server.requests == []


def test_a_numeric_host_form_is_refused_even_when_private_targets_are_allowed(check, http_server):
    # The resolver would read it as 127.0.0.1, but nothing else may judge it as that.
    outcome = check(target=f"http://2130706433:{http_server.port}/")
    assert outcome.status == ERROR
    assert http_server.requests == []
