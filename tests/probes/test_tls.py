"""HTTPS checks against a loopback TLS server whose certificate the test generated with a
known expiry, issued by a test CA the probe context trusts."""

from datetime import datetime

import pytest

from probes.runner import ProbeContext
from probes.spec import DOWN, UP
from tests.probes.conftest import make_spec, run_probe


def test_a_valid_certificate_is_up_and_its_expiry_and_issuer_are_reported(check, https_server, certificates, authority):
    server = https_server("valid")
    outcome = check(target=server.route("/"))
    assert outcome.status == UP
    assert datetime.fromisoformat(outcome.tls_expires_at) == certificates["valid"].not_after
    assert outcome.tls_issuer == authority.issuer
    assert outcome.phases["tls_handshake"] > 0


def test_https_phases_add_up_to_the_response_time(check, https_server):
    outcome = check(target=https_server("valid").route("/"))
    assert outcome.response_time == pytest.approx(sum(outcome.phases.values()), abs=1e-5)


def test_an_expired_certificate_is_down(check, https_server):
    outcome = check(target=https_server("expired").route("/"))
    assert (outcome.status, outcome.cause) == (DOWN, "TLS certificate expired")


def test_a_certificate_expiring_within_the_warning_is_down_naming_the_days(check, https_server):
    outcome = check(target=https_server("expiring").route("/"), ssl_expiration_days=7)
    assert (outcome.status, outcome.cause) == (DOWN, "TLS certificate expires in 3 days")
    assert outcome.status_code == 200


def test_a_certificate_expiring_after_the_warning_is_up(check, https_server):
    assert check(target=https_server("expiring").route("/"), ssl_expiration_days=2).status == UP


def test_without_an_expiry_warning_a_soon_expiring_certificate_is_up(check, https_server, certificates):
    outcome = check(target=https_server("expiring").route("/"))
    assert outcome.status == UP
    assert datetime.fromisoformat(outcome.tls_expires_at) == certificates["expiring"].not_after


def test_a_certificate_from_an_unknown_authority_is_down(https_server):
    public_only = ProbeContext(region="eu", allow_private_targets=True)  # the public CA bundle
    outcome = run_probe(public_only, make_spec(target=https_server("valid").route("/")))
    assert outcome.status == DOWN
    assert outcome.cause.startswith("TLS certificate invalid:")


def test_with_verify_ssl_off_an_untrusted_certificate_is_up_and_still_reported(https_server, certificates):
    public_only = ProbeContext(region="eu", allow_private_targets=True)
    outcome = run_probe(public_only, make_spec(target=https_server("valid").route("/"), verify_ssl=False))
    assert outcome.status == UP
    assert datetime.fromisoformat(outcome.tls_expires_at) == certificates["valid"].not_after


def test_with_verify_ssl_off_an_expired_certificate_still_fails_the_expiry_warning(check, https_server):
    outcome = check(target=https_server("expired").route("/"), verify_ssl=False, ssl_expiration_days=14)
    assert (outcome.status, outcome.cause) == (DOWN, "TLS certificate expired")


def test_a_plain_text_server_on_an_https_url_is_a_failed_handshake(check, line_server):
    server = line_server(greeting=b"HTTP/1.1 400 Bad Request\r\n\r\n")
    outcome = check(target=f"https://127.0.0.1:{server.port}/")
    assert outcome.status == DOWN
    assert outcome.cause.startswith("TLS handshake failed")
