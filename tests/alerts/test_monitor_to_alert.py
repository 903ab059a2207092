"""The whole path: a monitor's failing round opens an incident that reaches a real SMTP
server and a real webhook receiver once each, and its recovery is announced the same way."""

from datetime import timedelta

from alerts.delivery import deliver
from alerts.models import Channel, Notification
from monitors.aggregator import record_outcomes
from monitors.models import Monitor
from tests.monitors.conftest import T0, message_for, run_round


def play_round(monitor, at, votes):
    round_ = run_round(monitor, now=at)
    for region, status in votes.items():
        record_outcomes(message_for(round_, region, status), now=at + timedelta(seconds=2))


def deliver_owed(now):
    for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
        deliver(pk, now=now)


def test_a_monitor_outage_reaches_email_and_webhook_once_each_and_announces_recovery(
    team, member, smtp_server, http_receiver, base_url
):
    receiver = http_receiver()
    member("ana", on_call=True)
    Channel.objects.create(team=team, kind="webhook", config={"url": receiver.url + "/hook"})
    monitor = Monitor.objects.create(
        team=team,
        url="https://shop.example.com/health",
        regions=["us", "eu", "as"],
        check_frequency=30,
        confirmation_period=0,
        recovery_period=0,
        next_check_at=T0,
        email=True,
    )
    play_round(monitor, T0, {"us": "down", "eu": "down", "as": "up"})
    deliver_owed(T0 + timedelta(seconds=3))
    play_round(monitor, T0 + timedelta(seconds=30), {"us": "down", "eu": "down", "as": "up"})
    deliver_owed(T0 + timedelta(seconds=33))

    assert [e.rcpt_tos for e in smtp_server.messages] == [["ana@example.com"]]
    assert b"Status 503" in smtp_server.messages[0].content
    assert [r.json()["event"] for r in receiver.requests] == ["incident.started"]

    play_round(monitor, T0 + timedelta(seconds=60), {"us": "up", "eu": "up", "as": "up"})
    play_round(monitor, T0 + timedelta(seconds=90), {"us": "up", "eu": "up", "as": "up"})
    deliver_owed(T0 + timedelta(seconds=93))
    assert len(smtp_server.messages) == 2 and b"Recovered" in smtp_server.messages[1].content
    assert [r.json()["event"] for r in receiver.requests] == ["incident.started", "incident.resolved"]
