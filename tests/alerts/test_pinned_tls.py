"""A webhook over HTTPS goes to the one address the guard vetted, and its certificate is
still checked against the channel's host name.

The names below stand for a receiver's DNS zone, which lives outside this machine: the
system resolver is replaced for them alone (every other name resolves for real) by one
that answers 127.0.0.1 on the first lookup and 127.0.0.3 on every later one. A real TLS
server listens on 127.0.0.1 with a certificate for ``hooks.pinned.test`` only, issued by a
test CA the client is told to trust (``SSL_CERT_FILE``, which httpx honours); a second one
on 127.0.0.3, same port, holds a certificate for both names, so a request that followed a
second lookup would succeed there and be seen. Private addresses are allowed for the test.
"""

import socket
from datetime import UTC, datetime, timedelta

import pytest

from alerts.delivery import deliver
from alerts.models import Channel, Notification, NotificationStatus
from tests.alerts.conftest import T0, wait_until
from tests.probes.certificates import TestAuthority
from tests.probes.rebinding import vetted_and_rebound, zone_resolver
from tests.probes.servers import ServerLoop, TlsReceiver

NAME = "hooks.pinned.test"
OTHER = "other.pinned.test"  # resolves like NAME; no certificate of the first server names it
VETTED, REBOUND = "127.0.0.1", "127.0.0.3"


@pytest.fixture
def server_loop():
    loop = ServerLoop()
    yield loop
    loop.stop()


@pytest.fixture
def receivers(tmp_path, server_loop, monkeypatch, settings):
    """``(vetted, rebound)``: the receiver at the vetted address and the one a second lookup would reach."""
    authority = TestAuthority(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.ca_file))
    settings.PHAROS_ALLOW_PRIVATE_TARGETS = True
    with vetted_and_rebound(server_loop, authority, name=NAME, other=OTHER, vetted=VETTED, rebound=REBOUND) as pair:
        yield pair


@pytest.fixture
def lookups(monkeypatch):
    """The resolver for NAME and OTHER: 127.0.0.1 first, 127.0.0.3 on every later lookup."""
    return zone_resolver(monkeypatch, (NAME, OTHER), first=VETTED, later=REBOUND)


def alert_row(team, open_down, url):
    channel = Channel.objects.create(team=team, kind="webhook", config={"url": url})
    open_down(email=False)
    return Notification.objects.get(channel=channel)


@pytest.mark.django_db
def test_a_webhook_over_tls_reaches_the_vetted_address_with_the_certificate_checked_for_its_name(
    team, open_down, receivers, lookups
):
    vetted, rebound = receivers
    row = alert_row(team, open_down, f"https://{NAME}:{vetted.port}/hook")

    assert deliver(row.pk, now=T0) == NotificationStatus.DELIVERED
    # SNI and the Host header carry the name; the handshake verified the certificate for it.
    assert vetted.server_names == [NAME]
    assert vetted.hosts == [f"{NAME}:{vetted.port}"]
    # One lookup; the address a second one would have given was never connected to.
    assert lookups == [NAME]
    assert rebound.connections == 0 and rebound.hosts == []


@pytest.mark.django_db
def test_a_webhook_whose_receiver_shows_a_certificate_for_another_name_is_not_delivered(
    team, open_down, receivers, lookups
):
    vetted, rebound = receivers
    row = alert_row(team, open_down, f"https://{OTHER}:{vetted.port}/hook")

    deliver(row.pk, now=T0)

    row.refresh_from_db()
    assert row.status == NotificationStatus.PENDING  # a retry later; nothing was sent
    assert "certificate" in row.last_error.lower()
    assert vetted.server_names == [OTHER] and vetted.hosts == []
    assert lookups == [OTHER]
    assert rebound.connections == 0


@pytest.mark.django_db(transaction=True)
def test_the_sender_does_not_reuse_a_connection_verified_for_one_name_for_another_name_at_that_address(
    team, open_down, receivers, monkeypatch
):
    """The alert worker keeps connections alive between deliveries. A connection whose
    certificate was checked for NAME must not carry a delivery to OTHER just because both
    names resolved to the same address: OTHER gets its own handshake, which fails."""
    from alerts.sender import Sender

    vetted, rebound = receivers
    zone_resolver(monkeypatch, (NAME, OTHER), first=VETTED)
    first = alert_row(team, open_down, f"https://{NAME}:{vetted.port}/hook")
    second = alert_row(team, open_down, f"https://{OTHER}:{vetted.port}/hook")
    sender = Sender().start()
    try:
        sender.submit(first.pk)
        assert wait_until(lambda: Notification.objects.get(pk=first.pk).status == NotificationStatus.DELIVERED)
        sender.submit(second.pk)
        assert wait_until(lambda: Notification.objects.get(pk=second.pk).attempts == 1 and not sender.busy())
    finally:
        sender.stop(grace=5)

    second.refresh_from_db()
    assert second.status == NotificationStatus.PENDING
    assert "certificate" in second.last_error.lower()
    assert vetted.hosts == [f"{NAME}:{vetted.port}"]
    assert vetted.server_names == [NAME, OTHER]


@pytest.mark.django_db
def test_a_webhook_to_an_internationalised_name_is_resolved_and_verified_in_its_idna_form(
    team, open_down, tmp_path, server_loop, monkeypatch, settings
):
    unicode_name, idna_name = "bücher.pinned.test", "xn--bcher-kva.pinned.test"
    authority = TestAuthority(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.ca_file))
    settings.PHAROS_ALLOW_PRIVATE_TARGETS = True
    certificate = authority.issue(not_after=datetime.now(UTC) + timedelta(days=30), hosts=(idna_name,))
    receiver = TlsReceiver(server_loop, certificate, host=VETTED)
    real = socket.getaddrinfo
    asked = []

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        return real(VETTED if host == idna_name else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    try:
        row = alert_row(team, open_down, f"https://{unicode_name}:{receiver.port}/hook")
        assert deliver(row.pk, now=T0) == NotificationStatus.DELIVERED
    finally:
        receiver.close()
    assert asked == [idna_name]
    assert receiver.server_names == [idna_name]
    assert receiver.hosts == [f"{idna_name}:{receiver.port}"]


@pytest.mark.django_db
def test_a_proxy_named_in_the_environment_does_not_take_the_delivery_around_the_pinned_connection(
    team, open_down, receivers, lookups, monkeypatch
):
    """A proxy would resolve the name again itself; here the variables name a port where
    nothing listens, so a delivery that went through it would fail."""
    vetted, rebound = receivers
    for variable in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    row = alert_row(team, open_down, f"https://{NAME}:{vetted.port}/hook")

    assert deliver(row.pk, now=T0) == NotificationStatus.DELIVERED
    assert vetted.hosts == [f"{NAME}:{vetted.port}"]
    assert lookups == [NAME] and rebound.connections == 0
