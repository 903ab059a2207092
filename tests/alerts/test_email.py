"""Email over real SMTP (aiosmtpd on loopback) and the one-click acknowledge link."""

import email
import re
from email import policy as email_policy

from django.core import signing

from alerts.delivery import deliver
from alerts.escalation import escalate_due
from alerts.messages import ACK_SALT
from alerts.models import Incident, IncidentStatus, Notification, NotificationStatus
from tests.alerts.conftest import T0


def parse(envelope):
    return email.message_from_bytes(envelope.content, policy=email_policy.default)


def deliver_all(incident, now=T0):
    for pk in Notification.objects.filter(incident=incident, status="pending").values_list("pk", flat=True):
        deliver(pk, now=now)


def ack_link(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"http://testserver(/alerts/ack/\S+)", text).group(1)


def test_the_alert_email_reaches_the_smtp_server_with_the_cause_in_text_and_html(
    smtp_server, base_url, member, open_down
):
    member("ana", on_call=True)
    incident = open_down(cause="Status 503")
    deliver_all(incident)
    [envelope] = smtp_server.messages
    assert envelope.rcpt_tos == ["ana@example.com"]
    message = parse(envelope)
    assert message["Subject"] == "[Pharos] Down: api.example.com"
    assert "Cause: Status 503" in message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Status 503" in html and "Acknowledge</a>" in html
    assert Notification.objects.get(incident=incident).status == NotificationStatus.DELIVERED


def test_following_the_acknowledge_link_acknowledges_the_incident_and_stops_escalation(
    smtp_server, base_url, member, open_down, client
):
    member("ana", on_call=True)
    member("bo")
    incident = open_down(team_wait=300)
    deliver_all(incident)
    link = ack_link(parse(smtp_server.messages[0]))

    page = client.get(link)
    assert page.status_code == 200 and b'method="post"' in page.content
    assert Incident.objects.get(pk=incident.pk).acknowledged_at is None  # a link preview must not acknowledge

    answer = client.post(link)
    assert answer.status_code == 200
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.ACKNOWLEDGED
    assert incident.acknowledged_by == "ana@example.com"
    escalate_due(now=T0.replace(hour=7))
    assert not Notification.objects.filter(incident=incident, step="team").exists()


def test_a_second_click_on_the_link_changes_nothing(smtp_server, base_url, member, open_down, client):
    member("ana", on_call=True)
    incident = open_down()
    deliver_all(incident)
    link = ack_link(parse(smtp_server.messages[0]))
    client.post(link)
    assert client.post(link).status_code == 409


def test_an_expired_acknowledge_link_is_refused(base_url, member, open_down, client, settings):
    member("ana", on_call=True)
    incident = open_down()
    token = signing.TimestampSigner(salt=ACK_SALT).sign_object({"i": incident.pk, "a": "ana@example.com"})
    settings.PHAROS_ACK_LINK_MAX_AGE = -1
    assert client.post(f"/alerts/ack/{token}").status_code == 410
    assert Incident.objects.get(pk=incident.pk).acknowledged_at is None


def test_a_tampered_acknowledge_link_is_refused(base_url, member, open_down, client):
    member("ana", on_call=True)
    incident = open_down()
    token = signing.TimestampSigner(salt=ACK_SALT).sign_object({"i": incident.pk, "a": "ana@example.com"})
    forged = token.replace(
        token.split(":")[0],
        signing.TimestampSigner(salt=ACK_SALT).sign_object({"i": incident.pk + 1, "a": "x"}).split(":")[0],
    )
    assert client.post(f"/alerts/ack/{forged}").status_code == 404
    assert client.post("/alerts/ack/not-a-token").status_code == 404


def test_a_rejected_address_fails_permanently_and_is_not_retried(smtp_server, member, open_down):
    member("ana", on_call=True, email="ana@rejected.example")
    incident = open_down()
    row = Notification.objects.get(incident=incident)
    assert deliver(row.pk, now=T0) == NotificationStatus.FAILED
    row.refresh_from_db()
    assert row.attempts == 1 and "550" in row.last_error
    assert smtp_server.messages == []


def test_recovery_email_reaches_whoever_got_the_alert(smtp_server, base_url, member, open_down):
    from alerts.incidents import resolve_incident

    member("ana", on_call=True)
    incident = open_down()
    deliver_all(incident)
    resolve_incident(incident.pk, by="auto", now=T0.replace(minute=5))
    deliver_all(incident, now=T0.replace(minute=5))
    subjects = [parse(e)["Subject"] for e in smtp_server.messages]
    assert subjects == ["[Pharos] Down: api.example.com", "[Pharos] Recovered: api.example.com"]
    assert "ack/" not in parse(smtp_server.messages[1]).get_body(preferencelist=("plain",)).get_content()
