"""The private-address guard: loopback, private, link-local, multicast, reserved and
unspecified addresses are refused as ERROR unless the worker allows private targets —
judged on the resolved address and again on every redirect hop."""

import pytest

from probes.guard import AddressPolicy, forbidden_reason
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
        ("100.64.0.1", "reserved"),
    ],
)
def test_inside_addresses_are_forbidden(address, reason):
    assert forbidden_reason(address) == reason


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::6810:84e5", "1.1.1.1"])
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
