"""Subscribers hear of the team's own reports: a manual report's start, each status update
and its resolution; planned maintenance when it is announced, when its window opens and
when it ends — one outbox row per mail and subscriber, written with the report, never twice."""

import email
import email.policy
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.delivery import deliver
from alerts.models import Notification
from monitors.models import Monitor
from status import report_mail
from status.models import StatusPage, StatusPageResource, StatusReport, Subscriber
from tests.api.conftest import ApiClient


@pytest.fixture
def api(api_token, settings):
    settings.PHAROS_API_RATE_LIMIT = 0
    return ApiClient(api_token)


def subscriber(page, address, *, confirmed=True):
    return Subscriber.objects.create(
        status_page=page,
        email=address,
        unsubscribe_token=address.split("@")[0],
        confirmed_at=timezone.now() if confirmed else None,
    )


@pytest.fixture
def page(team, other_team):
    page = StatusPage.objects.create(team=team, company_name="Eleva Care", subdomain="eleva", subscribable=True)
    monitor = Monitor.objects.create(team=team, url="https://checkout.internal.example.com", status="up")
    page.checkout = StatusPageResource.objects.create(
        status_page=page, resource_type="Monitor", resource_id=monitor.pk, public_name="Checkout"
    )
    page.ana = subscriber(page, "ana@example.com")
    subscriber(page, "bo@example.com", confirmed=False)
    elsewhere = StatusPage.objects.create(team=team, company_name="Other", subdomain="other", subscribable=True)
    subscriber(elsewhere, "cy@example.com")
    return page


def rows():
    return list(Notification.objects.order_by("id").values_list("address", "event", "step"))


def post_report(api, page, **attributes):
    response = api.post(f"/api/v2/status-pages/{page.pk}/status-reports", attributes)
    assert response.status_code == 201, response.content
    return StatusReport.objects.get(pk=response.json()["data"]["id"])


def post_update(api, page, report, message, status):
    response = api.post(
        f"/api/v2/status-pages/{page.pk}/status-reports/{report.pk}/status-updates",
        {"message": message, "affected_resources": affected(page, status)},
    )
    assert response.status_code == 201, response.content
    return response.json()["data"]["id"]


def post_slow_checkout(api, page):
    """An incident report on the page's checkout, with a first message."""
    return post_report(
        api,
        page,
        title="Slow checkout",
        message="We are looking into it",
        affected_resources=affected(page, "degraded"),
    )


def affected(page, status):
    return [{"status_page_resource_id": str(page.checkout.pk), "status": status}]


def test_a_report_its_updates_and_its_resolution_each_owe_each_confirmed_subscriber_one_mail(api, page):
    report = post_slow_checkout(api, page)
    assert rows() == [("ana@example.com", "reported", "reported")]  # not an update too for its first message

    update_id = post_update(api, page, report, "A fix is rolling out", "degraded")
    post_update(api, page, report, "Fixed: checkout is fast again", "resolved")

    assert rows() == [
        ("ana@example.com", "reported", "reported"),
        ("ana@example.com", "updated", f"update-{update_id}"),
        ("ana@example.com", "ended", "ended"),  # the resolving update is the resolution, once
    ]
    report.refresh_from_db()
    report_mail.report_written(report, created=False)  # a retried request writes nothing twice
    report_mail.tell_scheduled(now=timezone.now())
    assert len(rows()) == 3


def test_a_patch_that_ends_a_report_is_its_resolution_and_a_patch_of_its_title_says_nothing(api, page):
    report = post_report(api, page, title="Checkout errors", affected_resources=affected(page, "downtime"))
    path = f"/api/v2/status-pages/{page.pk}/status-reports/{report.pk}"

    assert api.patch(path, {"title": "Checkout errors (EU)"}).status_code == 200
    assert [step for _, _, step in rows()] == ["reported"]
    assert api.patch(path, {"ends_at": timezone.now().isoformat()}).status_code == 200
    assert [step for _, _, step in rows()] == ["reported", "ended"]


def test_maintenance_is_mailed_when_announced_when_its_window_opens_and_when_it_ends(api, page):
    now = timezone.now()
    starts, ends = now + timedelta(hours=2), now + timedelta(hours=3)
    report = post_report(
        api,
        page,
        title="Database upgrade",
        report_type="maintenance",
        starts_at=starts.isoformat(),
        ends_at=ends.isoformat(),
        message="Checkout will be read-only for an hour",
        affected_resources=affected(page, "maintenance"),
    )
    assert rows() == [("ana@example.com", "reported", "reported")]

    assert report_mail.tell_scheduled(now=now + timedelta(hours=1)) == 0
    assert report_mail.tell_scheduled(now=starts + timedelta(seconds=20)) == 1
    assert report_mail.tell_scheduled(now=starts + timedelta(seconds=50)) == 0  # the next tick: nothing twice
    assert report_mail.tell_scheduled(now=ends + timedelta(seconds=10)) == 1
    assert report_mail.tell_scheduled(now=ends + timedelta(seconds=40)) == 0

    assert [(event, step) for _, event, step in rows()] == [
        ("reported", "reported"),
        ("started", "started"),
        ("ended", "ended"),
    ]
    assert Notification.objects.filter(status_report=report).count() == 3


def test_maintenance_posted_while_under_way_is_one_start_mail_and_a_window_long_past_is_not_mailed_late(api, page):
    now = timezone.now()
    post_report(
        api,
        page,
        title="Network work",
        report_type="maintenance",
        starts_at=(now - timedelta(minutes=5)).isoformat(),
        affected_resources=affected(page, "maintenance"),
    )
    report_mail.tell_scheduled(now=now)
    assert [step for _, _, step in rows()] == ["started"]

    StatusReport.objects.create(
        status_page=page,
        title="Forgotten",
        report_type="maintenance",
        starts_at=now - timedelta(hours=5),
        ends_at=now - timedelta(hours=4),
        affected_resources=affected(page, "maintenance"),
    )
    assert report_mail.tell_scheduled(now=now) == 0  # written outside the API, hours ago: old news


def test_pages_that_are_not_subscribable_or_not_published_mail_nobody(api, page):
    StatusPage.objects.filter(pk=page.pk).update(subscribable=False)
    post_report(api, page, title="Slow checkout", affected_resources=affected(page, "degraded"))
    StatusPage.objects.filter(pk=page.pk).update(subscribable=True, published=False)
    post_report(api, page, title="Slow checkout again", affected_resources=affected(page, "degraded"))
    assert rows() == []


def test_a_subscriber_gets_the_reports_mail_with_a_one_click_unsubscribe_and_nothing_internal(api, page, smtp_server):
    report = post_slow_checkout(api, page)
    row = Notification.objects.get()

    assert deliver(row.pk, now=timezone.now()) == "delivered"

    [envelope] = smtp_server.messages
    assert envelope.rcpt_tos == ["ana@example.com"]
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert mail["Subject"] == "Eleva Care status — Incident: Slow checkout"
    assert mail["List-Unsubscribe"] == "<https://pharos.example.com/status/eleva/unsubscribe/ana/>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["References"] == f"<status-page-{page.pk}-report-{report.pk}@pharos>"
    assert mail["X-Pharos-Incident"] is None
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "We are looking into it" in body
    assert "Checkout: degraded performance" in body
    assert "https://pharos.example.com/status/eleva/unsubscribe/ana/" in body
    assert "internal" not in mail.as_string()


def test_a_report_row_written_before_unsubscribing_is_skipped_not_sent(api, page, smtp_server):
    post_report(api, page, title="Slow checkout", affected_resources=affected(page, "degraded"))
    row = Notification.objects.get()

    page.ana.delete()

    assert deliver(row.pk, now=timezone.now()) == "skipped"
    assert not smtp_server.messages


def test_an_outbox_row_is_about_an_incident_or_a_report_never_neither(page):
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            event="reported",
            step="reported",
            recipient=f"subscriber:{page.ana.pk}",
            kind="email",
            next_attempt_at=timezone.now(),
            created_at=timezone.now(),
        )


def test_the_outbox_admin_lists_a_reports_mail_under_its_report(api, page, client, django_user_model):
    report = post_report(api, page, title="Slow checkout", affected_resources=affected(page, "degraded"))
    client.force_login(django_user_model.objects.create_superuser("operator", "op@example.com", "correct horse"))

    listing = client.get("/admin/alerts/notification/")

    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 1
    assert "Slow checkout" in listing.content.decode()
    detail = client.get(f"/admin/alerts/notification/{Notification.objects.get(status_report=report).pk}/change/")
    assert detail.status_code == 200


def test_mail_about_a_deleted_update_is_skipped_and_a_deleted_report_takes_its_mail_with_it(api, page, smtp_server):
    report = post_report(api, page, title="Slow checkout", affected_resources=affected(page, "degraded"))
    update_id = post_update(api, page, report, "Posted on the wrong page", "degraded")
    row = Notification.objects.get(step=f"update-{update_id}")

    path = f"/api/v2/status-pages/{page.pk}/status-reports/{report.pk}"
    assert api.delete(f"{path}/status-updates/{update_id}").status_code == 204
    assert deliver(row.pk, now=timezone.now()) == "skipped"

    assert api.delete(path).status_code == 204
    assert not Notification.objects.exists()
    assert not smtp_server.messages
