"""End to end: a team posts a report through the API, updates it and resolves it; a real
alerts worker sends each confirmed subscriber one mail per step through the outbox and a
real SMTP server; an address that unsubscribed midway gets nothing more."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Notification
from monitors.models import Monitor
from status import report_mail
from status.models import StatusPage, StatusPageResource, Subscriber
from tests.alerts.conftest import wait_until
from tests.api.conftest import ApiClient
from tests.status.conftest import mails_to, start_subscriber_mailer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_subscribers_hear_each_step_of_a_report_once_and_nothing_after_unsubscribing(
    client, team, api_token, smtp_server, alert_workers, settings
):
    settings.PHAROS_API_RATE_LIMIT = 0
    api = ApiClient(api_token)
    monitor = Monitor.objects.create(team=team, url="https://checkout.internal.example.com", status="up")
    page = StatusPage.objects.create(team=team, company_name="Eleva Care", subdomain="eleva", subscribable=True)
    checkout = StatusPageResource.objects.create(
        status_page=page, resource_type="Monitor", resource_id=monitor.pk, public_name="Checkout"
    )
    now = timezone.now()
    for name in ("ana", "cy"):
        Subscriber.objects.create(
            status_page=page, email=f"{name}@example.com", unsubscribe_token=name, confirmed_at=now
        )
    Subscriber.objects.create(status_page=page, email="bo@example.com", unsubscribe_token="bo")  # never confirmed
    start_subscriber_mailer(alert_workers, settings)
    reports = f"/api/v2/status-pages/{page.pk}/status-reports"

    def affected(status):
        return [{"status_page_resource_id": str(checkout.pk), "status": status}]

    def everyone_has(count):
        return wait_until(
            lambda: all(len(mails_to(smtp_server, who)) >= count for who in ("ana@example.com", "cy@example.com")),
            timeout=60,
        )

    created = api.post(
        reports,
        {"title": "Slow checkout", "message": "We are looking into it", "affected_resources": affected("degraded")},
    )
    assert created.status_code == 201, created.content
    report_id = created.json()["data"]["id"]
    assert everyone_has(1)

    updated = api.post(
        f"{reports}/{report_id}/status-updates",
        {"message": "A fix is rolling out", "affected_resources": affected("degraded")},
    )
    assert updated.status_code == 201, updated.content
    assert everyone_has(2)

    assert client.post("/status/eleva/unsubscribe/ana/", {"List-Unsubscribe": "One-Click"}).status_code == 200
    resolved = api.post(
        f"{reports}/{report_id}/status-updates",
        {"message": "Checkout is fast again", "affected_resources": affected("resolved")},
    )
    assert resolved.status_code == 201, resolved.content
    assert wait_until(lambda: len(mails_to(smtp_server, "cy@example.com")) >= 3, timeout=60)
    # Nothing is left to say about a report that is over: a PATCH of its end, the tick.
    assert api.patch(f"{reports}/{report_id}", {"ends_at": timezone.now().isoformat()}).status_code == 200
    assert report_mail.tell_scheduled(now=timezone.now() + timedelta(seconds=1)) == 0

    told = mails_to(smtp_server, "cy@example.com")
    assert [mail["Subject"] for mail in told] == [
        "Eleva Care status — Incident: Slow checkout",
        "Eleva Care status — Update: Slow checkout",
        "Eleva Care status — Resolved: Slow checkout",
    ]
    assert all(mail["List-Unsubscribe"] == "<https://status.example.com/status/eleva/unsubscribe/cy/>" for mail in told)
    assert "Checkout is fast again" in told[2].get_body(preferencelist=("plain",)).get_content()
    assert len(mails_to(smtp_server, "ana@example.com")) == 2  # nothing after unsubscribing
    assert not mails_to(smtp_server, "bo@example.com")  # never confirmed
    delivered = Notification.objects.filter(status_report_id=report_id, status="delivered")
    assert wait_until(lambda: delivered.count() == 5, timeout=30)
    assert not Notification.objects.filter(status_report_id=report_id).exclude(status="delivered").exists()
