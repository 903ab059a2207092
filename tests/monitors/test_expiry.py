"""Certificate expiry: probes report a certificate inside the monitor's ``ssl_expiration``
window as DOWN ("TLS certificate expires in N days"); the quorum turns that into one
incident, and a renewed certificate (UP again) resolves it."""

from datetime import timedelta

import pytest

from alerts.models import Incident, IncidentKind
from monitors.aggregator import record_outcomes
from tests.monitors.conftest import T0, message_for, run_round

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
DAY = timedelta(days=1)
REGIONS = ("us", "eu", "as")


@pytest.fixture(autouse=True)
def three_regions(settings):
    settings.PHAROS_REGIONS = list(REGIONS)


def certificate_round(monitor, at, *, status, expires_at):
    round_ = run_round(monitor, now=at)
    cause = "TLS certificate expires in 6 days" if status == "down" else ""
    for region in REGIONS:
        message = message_for(
            round_, region, status, cause=cause, status_code=200, tls_expires_at=expires_at.isoformat()
        )
        record_outcomes(message, now=at + S)


def test_a_certificate_inside_the_warning_window_opens_an_incident(make_monitor):
    monitor = make_monitor(ssl_expiration=14)
    certificate_round(monitor, T0, status="down", expires_at=T0 + 6 * DAY)
    incident = Incident.objects.get()
    assert incident.cause == "TLS certificate expires in 6 days"
    assert incident.ssl_certificate_expires_at == T0 + 6 * DAY
    assert incident.kind == IncidentKind.CERTIFICATE


def test_a_failing_round_of_another_cause_opens_an_outage(make_monitor):
    monitor = make_monitor(ssl_expiration=14)
    round_ = run_round(monitor, now=T0)
    for region in REGIONS:
        record_outcomes(message_for(round_, region, "down", cause="Status 503"), now=T0 + S)
    assert Incident.objects.get().kind == IncidentKind.OUTAGE


def test_a_renewed_certificate_resolves_the_expiry_incident(make_monitor):
    monitor = make_monitor(ssl_expiration=14, recovery_period=0)
    certificate_round(monitor, T0, status="down", expires_at=T0 + 6 * DAY)
    certificate_round(monitor, T0 + 30 * S, status="down", expires_at=T0 + 6 * DAY)
    assert Incident.objects.count() == 1
    certificate_round(monitor, T0 + 60 * S, status="up", expires_at=T0 + 90 * DAY)
    assert Incident.objects.get().resolved_at == T0 + 61 * S
