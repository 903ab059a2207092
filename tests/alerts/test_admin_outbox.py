"""Admin: channels keep their secrets hidden; failed notifications are one filter away."""

import pytest

from alerts.models import Channel, Notification, NotificationStatus


@pytest.fixture
def failed_and_delivered(member, open_down):
    member("ana", on_call=True, phone="+15550101")
    incident = open_down(sms=True)
    Notification.objects.filter(incident=incident, kind="sms").update(
        status=NotificationStatus.FAILED, last_error="HTTP 400: invalid To"
    )
    Notification.objects.filter(incident=incident, kind="email").update(status=NotificationStatus.DELIVERED)
    return incident


def test_the_failed_filter_lists_only_failed_notifications_with_their_error(operator_client, failed_and_delivered):
    page = operator_client.get("/admin/alerts/notification/?delivery=failed")
    assert page.status_code == 200
    assert b"HTTP 400: invalid To" in page.content
    assert page.context["cl"].result_count == 1


def test_failed_notifications_can_be_sent_again(operator_client, failed_and_delivered):
    row = Notification.objects.get(status=NotificationStatus.FAILED)
    answer = operator_client.post(
        "/admin/alerts/notification/", {"action": "send_again", "_selected_action": [row.pk]}, follow=True
    )
    assert answer.status_code == 200
    row.refresh_from_db()
    assert row.status == NotificationStatus.PENDING and row.attempts == 0


def test_the_channel_page_never_shows_a_stored_secret(operator_client, team):
    channel = Channel.objects.create(
        team=team, kind="slack", secrets={"webhook_url": "https://hooks.slack.com/T/B/SECRET"}
    )
    page = operator_client.get(f"/admin/alerts/channel/{channel.pk}/change/")
    assert page.status_code == 200
    assert b"SECRET" not in page.content and b"webhook_url" in page.content


def test_saving_a_channel_without_new_secrets_keeps_the_old_ones(operator_client, team):
    channel = Channel.objects.create(
        team=team, kind="slack", secrets={"webhook_url": "https://hooks.slack.com/T/B/SECRET"}
    )
    answer = operator_client.post(
        f"/admin/alerts/channel/{channel.pk}/change/",
        {"team": team.pk, "kind": "slack", "name": "renamed", "enabled": "on", "config": "{}", "new_secrets": ""},
    )
    assert answer.status_code == 302, answer.content[:2000]
    channel.refresh_from_db()
    assert channel.name == "renamed" and channel.secrets == {"webhook_url": "https://hooks.slack.com/T/B/SECRET"}


def test_the_channel_form_rejects_a_config_its_kind_cannot_send(operator_client, team):
    answer = operator_client.post(
        "/admin/alerts/channel/add/",
        {
            "team": team.pk,
            "kind": "webhook",
            "name": "x",
            "enabled": "on",
            "config": '{"url": "ftp://x"}',
            "new_secrets": "",
        },
    )
    assert answer.status_code == 200 and b"must be an http(s) URL" in answer.content
    assert not Channel.objects.exists()
