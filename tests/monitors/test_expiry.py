"""Certificate expiry opens an incident inside the warning window and resolves on renewal."""

from datetime import timedelta

import pytest

from alerts.models import Incident
from monitors.aggregator import record_outcomes
from tests.monitors.conftest import T0, message_for, run_round

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def three_regions(settings):
    settings.PHAROS_REGIONS = ["us", "eu", "as"]


def up_round(monitor, at, expires):
    round_ = run_round(monitor, now=at)
    for region in ("us", "eu", "as"):
        record_outcomes(message_for(round_, region, "up", tls_expires_at=expires[region].isoformat()), now=at + S)


def test_a_certificate_inside_the_warning_window_opens_an_incident(make_monitor):
    monitor = make_monitor(ssl_expiration=14)
    up_round(monitor, T0, {"us": T0 + 90 * DAY, "eu": T0 + 6 * DAY + 3600 * S, "as": T0 + 90 * DAY})
    incident = Incident.objects.get()
    assert incident.cause == "TLS certificate expires in 6 days"
    assert incident.ssl_certificate_expires_at == T0 + 6 * DAY + 3600 * S
    assert incident.metadata["kind"] == "ssl_expiration"


def test_a_renewed_certificate_resolves_the_expiry_incident(make_monitor):
    monitor = make_monitor(ssl_expiration=14)
    up_round(monitor, T0, dict.fromkeys(("us", "eu", "as"), T0 + 3 * DAY))
    up_round(monitor, T0 + 30 * S, dict.fromkeys(("us", "eu", "as"), T0 + 3 * DAY))
    assert Incident.objects.count() == 1
    up_round(monitor, T0 + 60 * S, dict.fromkeys(("us", "eu", "as"), T0 + 90 * DAY))
    assert Incident.objects.get().resolved_at is not None


def test_a_monitor_without_ssl_expiration_never_warns(make_monitor):
    monitor = make_monitor(ssl_expiration=None)
    up_round(monitor, T0, dict.fromkeys(("us", "eu", "as"), T0 + DAY))
    assert not Incident.objects.exists()


def test_an_outage_supersedes_an_open_expiry_warning_and_the_warning_returns_after_recovery(make_monitor):
    from tests.monitors.conftest import DOWN_TWICE, play

    monitor = make_monitor(ssl_expiration=14, recovery_period=0)
    expiring = dict.fromkeys(("us", "eu", "as"), T0 + 3 * DAY)
    up_round(monitor, T0, expiring)
    play(monitor, T0 + 30 * S, DOWN_TWICE)
    outage = Incident.objects.get(resolved_at__isnull=True)
    assert outage.cause == "Status 503"
    up_round(monitor, T0 + 60 * S, expiring)
    assert Incident.objects.get(pk=outage.pk).resolved_at is not None
    assert Incident.objects.get(resolved_at__isnull=True).metadata["kind"] == "ssl_expiration"
