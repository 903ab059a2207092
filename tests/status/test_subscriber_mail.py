"""End to end: a monitor's outage opens an incident, the page and index.json show it, a
confirmed subscriber is mailed the start and the resolution by a real alerts worker through
the outbox and a real SMTP server, and after unsubscribing gets nothing more."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Incident, IncidentEvent, Notification
from monitors.aggregator import record_outcomes
from monitors.models import Monitor
from status.models import StatusPage, StatusPageResource, Subscriber
from tests.alerts.conftest import wait_until
from tests.monitors.conftest import message_for, run_round
from tests.status.conftest import mails_to, start_subscriber_mailer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def play_round(monitor, at, status):
    round_ = run_round(monitor, now=at)
    for region in ("us", "eu", "as"):
        record_outcomes(message_for(round_, region, status), now=at + timedelta(seconds=2))


def test_a_subscriber_hears_of_an_outage_and_its_end_and_nothing_after_unsubscribing(
    client, team, smtp_server, alert_workers, settings
):
    monitor = Monitor.objects.create(
        team=team,
        url="https://checkout-backend.internal.example.com/health",
        pronounceable_name="checkout-prod-7",
        regions=["us", "eu", "as"],
        check_frequency=30,
        confirmation_period=0,
        recovery_period=0,
        next_check_at=timezone.now(),
        email=False,
    )
    page = StatusPage.objects.create(team=team, company_name="Eleva Care", subdomain="eleva", subscribable=True)
    StatusPageResource.objects.create(
        status_page=page, resource_type="Monitor", resource_id=monitor.pk, public_name="Checkout"
    )
    now = timezone.now()
    Subscriber.objects.create(status_page=page, email="ana@example.com", unsubscribe_token="ana", confirmed_at=now)
    Subscriber.objects.create(status_page=page, email="cy@example.com", unsubscribe_token="cy", confirmed_at=now)
    Subscriber.objects.create(status_page=page, email="bo@example.com", unsubscribe_token="bo")  # never confirmed
    start_subscriber_mailer(alert_workers, settings)
    start = now.replace(microsecond=0) - timedelta(minutes=5)

    play_round(monitor, start, "down")
    assert Incident.objects.filter(source_id=monitor.pk, resolved_at__isnull=True).exists()
    assert "Checkout went down" in client.get("/status/eleva/").content.decode()
    active = client.get("/status/eleva/index.json").json()["data"]["attributes"]
    assert active["aggregate_state"] == "downtime"

    # Each step waits for both subscribers' mail, so that the order they arrive in is the story's.
    assert wait_until(
        lambda: all(mails_to(smtp_server, who) for who in ("ana@example.com", "cy@example.com")), timeout=60
    )
    started = mails_to(smtp_server, "ana@example.com")[0]
    assert started["Subject"] == "Eleva Care status — Outage: Checkout"
    link = re.fullmatch(r"<(.+)>", started["List-Unsubscribe"]).group(1)
    assert link == "https://status.example.com/status/eleva/unsubscribe/ana/"
    assert started["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = started.get_body(preferencelist=("plain",)).get_content()
    assert "Checkout went down" in body and link in body
    for secret in ("checkout-backend", "checkout-prod-7", "503", "internal"):
        assert secret not in started.as_string(), secret

    play_round(monitor, start + timedelta(seconds=30), "up")
    assert Incident.objects.filter(source_id=monitor.pk, resolved_at__isnull=False).exists()
    assert wait_until(
        lambda: all(len(mails_to(smtp_server, who)) >= 2 for who in ("ana@example.com", "cy@example.com")), timeout=60
    )
    resolved = mails_to(smtp_server, "ana@example.com")[1]
    assert resolved["Subject"] == "Eleva Care status — Resolved: Checkout"

    assert client.post("/status/eleva/unsubscribe/ana/", {"List-Unsubscribe": "One-Click"}).status_code == 200
    play_round(monitor, start + timedelta(seconds=60), "down")
    assert wait_until(lambda: len(mails_to(smtp_server, "cy@example.com")) >= 3, timeout=60)

    assert [m["Subject"].split("— ")[1] for m in mails_to(smtp_server, "cy@example.com")] == [
        "Outage: Checkout",
        "Resolved: Checkout",
        "Outage: Checkout",
    ]
    assert len(mails_to(smtp_server, "ana@example.com")) == 2  # nothing after unsubscribing
    assert not mails_to(smtp_server, "bo@example.com")  # never confirmed
    # The incident's timeline is the team's: subscribers' deliveries are not written into it.
    delivered = Notification.objects.filter(recipient__startswith="subscriber:", status="delivered")
    assert wait_until(lambda: delivered.count() == 5, timeout=30)
    assert not IncidentEvent.objects.filter(message__contains="example.com").exists()
    # Nor do they count as the team having been reached, or get the team's recovery rows.
    assert not Notification.objects.exclude(recipient__startswith="subscriber:").exists()
