"""Each HTTP channel kind sends its provider's request shape to a real local receiver."""

import base64
from urllib.parse import parse_qs

import pytest

from alerts.channels.webhook import verify_signature
from alerts.delivery import deliver
from alerts.incidents import resolve_incident
from alerts.models import Channel, Notification, NotificationStatus
from tests.alerts.conftest import T0


def deliver_pending(incident, now=T0):
    return [
        deliver(pk, now=now)
        for pk in Notification.objects.filter(incident=incident, status="pending").values_list("pk", flat=True)
    ]


def only_request(receiver):
    [request] = receiver.wait_for(1)
    return request


def test_the_webhook_posts_the_incident_with_custom_headers_and_a_verifiable_signature(team, open_down, http_receiver):
    receiver = http_receiver()
    Channel.objects.create(
        team=team,
        kind="webhook",
        config={"url": receiver.url + "/hook", "headers": {"X-Team": "ops"}},
        secrets={"signing_secret": "s3cret", "headers": {"Authorization": "Bearer abc"}},
    )
    incident = open_down(email=False, cause="Timeout")
    assert deliver_pending(incident) == [NotificationStatus.DELIVERED]
    request = only_request(receiver)
    assert request.path == "/hook"
    assert request.headers["x-team"] == "ops" and request.headers["authorization"] == "Bearer abc"
    assert verify_signature(
        "s3cret", request.headers["x-pharos-timestamp"], request.body, request.headers["x-pharos-signature"]
    )
    assert not verify_signature(
        "wrong", request.headers["x-pharos-timestamp"], request.body, request.headers["x-pharos-signature"]
    )
    payload = request.json()
    assert payload["event"] == "incident.started"
    assert payload["data"]["id"] == str(incident.pk)
    assert payload["data"]["attributes"]["cause"] == "Timeout"
    assert request.headers["x-pharos-delivery"] == str(Notification.objects.get(incident=incident).pk)


def test_slack_gets_a_message_with_the_cause_and_an_acknowledge_link(team, open_down, http_receiver, base_url):
    receiver = http_receiver()
    Channel.objects.create(team=team, kind="slack", secrets={"webhook_url": receiver.url + "/services/T/B/X"})
    incident = open_down(email=False)
    deliver_pending(incident)
    body = only_request(receiver).json()
    assert "Down: api.example.com" in body["text"] and "Status 503" in body["text"]
    assert "/alerts/ack/" in body["text"]


def test_teams_gets_an_adaptive_card(team, open_down, http_receiver):
    receiver = http_receiver()
    Channel.objects.create(team=team, kind="teams", secrets={"webhook_url": receiver.url + "/workflows/1"})
    incident = open_down(email=False)
    deliver_pending(incident)
    body = only_request(receiver).json()
    card = body["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["body"][0]["text"] == "Down: api.example.com"


def test_pagerduty_triggers_then_resolves_under_one_dedup_key(team, open_down, http_receiver, settings):
    receiver = http_receiver()
    settings.PHAROS_PAGERDUTY_URL = receiver.url + "/v2/enqueue"
    Channel.objects.create(team=team, kind="pagerduty", secrets={"routing_key": "R0UTING"})
    incident = open_down(email=False, critical_alert=True)
    deliver_pending(incident)
    resolve_incident(incident.pk, by="auto", now=T0.replace(minute=9))
    deliver_pending(incident, now=T0.replace(minute=9))
    trigger, resolve = (r.json() for r in receiver.wait_for(2))
    assert trigger["event_action"] == "trigger" and trigger["routing_key"] == "R0UTING"
    assert trigger["payload"]["severity"] == "critical" and trigger["payload"]["summary"] == "Down: api.example.com"
    assert resolve["event_action"] == "resolve" and resolve["dedup_key"] == trigger["dedup_key"]


TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_telegram_calls_send_message_with_the_bot_token_in_the_path(team, open_down, http_receiver, settings):
    receiver = http_receiver()
    settings.PHAROS_TELEGRAM_API_URL = receiver.url
    Channel.objects.create(team=team, kind="telegram", config={"chat_id": "-100123"}, secrets={"bot_token": TOKEN})
    incident = open_down(email=False)
    deliver_pending(incident)
    request = only_request(receiver)
    assert request.path == f"/bot{TOKEN}/sendMessage"
    assert request.json()["chat_id"] == "-100123" and request.json()["parse_mode"] == "HTML"


def test_ntfy_publishes_an_urgent_push_for_a_critical_alert(team, member, open_down, http_receiver):
    receiver = http_receiver()
    ana = member("ana", on_call=True)
    Channel.objects.create(
        team=team,
        user=ana,
        kind="ntfy",
        config={"server_url": receiver.url, "topic": "ana-pager"},
        secrets={"token": "tk_1"},
    )
    incident = open_down(email=False, critical_alert=True)
    deliver_pending(incident)
    request = only_request(receiver)
    body = request.json()
    assert body["topic"] == "ana-pager" and body["priority"] == 5
    assert request.headers["authorization"] == "Bearer tk_1"
    assert body["actions"][0]["label"] == "Acknowledge"


@pytest.mark.parametrize("kind, resource", [("sms", "Messages.json"), ("call", "Calls.json")])
def test_sms_and_calls_go_to_the_twilio_shaped_api(
    member, open_down, http_receiver, settings, sms_account, kind, resource
):
    receiver = http_receiver()
    settings.PHAROS_SMS_API_URL = receiver.url
    member("ana", on_call=True, phone="+15550101")
    incident = open_down(email=False, **{kind: True})
    assert deliver_pending(incident) == [NotificationStatus.DELIVERED]
    request = only_request(receiver)
    assert request.path == f"/2010-04-01/Accounts/AC0123456789/{resource}"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"AC0123456789:twilio-token").decode()
    form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    assert form["To"] == "+15550101" and form["From"] == "+15550000000"
    assert "api.example.com" in (form.get("Body") or form.get("Twiml"))


def test_sms_without_an_account_fails_permanently_with_a_clear_error(member, open_down):
    member("ana", on_call=True, phone="+15550101")
    incident = open_down(email=False, sms=True)
    assert deliver_pending(incident) == [NotificationStatus.FAILED]
    assert "PHAROS_SMS_ACCOUNT_SID" in Notification.objects.get(incident=incident).last_error


def test_a_webhook_to_a_private_address_is_refused_unless_allowed(team, open_down, http_receiver, settings):
    receiver = http_receiver()
    settings.PHAROS_ALLOW_PRIVATE_TARGETS = False
    Channel.objects.create(team=team, kind="webhook", config={"url": receiver.url + "/hook"})
    incident = open_down(email=False)
    assert deliver_pending(incident) == [NotificationStatus.FAILED]
    assert "PHAROS_ALLOW_PRIVATE_TARGETS" in Notification.objects.get(incident=incident).last_error
    assert receiver.requests == []


def test_a_telegram_token_saved_unchecked_never_reaches_a_url(team, open_down, http_receiver, settings):
    receiver = http_receiver()
    settings.PHAROS_TELEGRAM_API_URL = receiver.url
    Channel.objects.create(
        team=team, kind="telegram", config={"chat_id": "1"}, secrets={"bot_token": "1:x/../../admin?"}
    )
    incident = open_down(email=False)
    assert deliver_pending(incident) == [NotificationStatus.FAILED]
    assert receiver.requests == []
