"""Real Celery worker processes on the ``alerts`` queue, against the real database and Redis."""

from collections import Counter

import pytest
from django.utils import timezone

from alerts.delivery import enqueue
from alerts.incidents import resolve_incident
from alerts.models import Channel, Notification, NotificationStatus
from tests.alerts.conftest import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_two_workers_draining_the_outbox_deliver_each_notification_once(team, open_down, http_receiver, alert_workers):
    receiver = http_receiver()
    Channel.objects.create(team=team, kind="webhook", config={"url": receiver.url + "/hook"})
    now = timezone.now()
    incidents = [open_down(now, email=False) for _ in range(30)]
    ids = list(Notification.objects.filter(incident__in=incidents).values_list("pk", flat=True))
    assert len(ids) == 30
    # Every row is enqueued three times in all (as after broker redeliveries and sweeps)
    # before the workers start, so both workers race for the same rows.
    enqueue(ids)
    enqueue(ids)
    alert_workers(2)
    done = wait_until(
        lambda: Notification.objects.filter(pk__in=ids, status=NotificationStatus.DELIVERED).count() == 30, timeout=60
    )
    assert done, Counter(Notification.objects.filter(pk__in=ids).values_list("status", flat=True))
    per_delivery = Counter(request.headers["x-pharos-delivery"] for request in receiver.requests)
    assert sorted(per_delivery) == sorted(str(pk) for pk in ids)
    assert set(per_delivery.values()) == {1}


def test_an_incident_reaches_smtp_and_the_webhook_once_each_and_announces_recovery(
    team, member, open_down, http_receiver, smtp_server, alert_workers, settings
):
    receiver = http_receiver()
    member("ana", on_call=True)
    Channel.objects.create(team=team, kind="webhook", config={"url": receiver.url + "/hook"})
    alert_workers(1, env={"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(settings.EMAIL_PORT)})
    incident = open_down(timezone.now(), cause="Status 502")
    assert wait_until(lambda: len(smtp_server.messages) >= 1 and len(receiver.requests) >= 1, timeout=60)
    resolve_incident(incident.pk, by="auto", now=timezone.now())
    assert wait_until(lambda: len(smtp_server.messages) >= 2 and len(receiver.requests) >= 2, timeout=60)
    assert [r.json()["event"] for r in receiver.requests] == ["incident.started", "incident.resolved"]
    assert b"Status 502" in smtp_server.messages[0].content
    assert len(smtp_server.messages) == 2


def test_the_beat_escalation_task_on_a_worker_alerts_the_team_after_team_wait(
    team, member, open_down, smtp_server, alert_workers, settings
):
    from datetime import timedelta

    from alerts.tasks import escalate

    member("ana", on_call=True)
    member("bo")
    # Escalation planning runs on the scheduler's queue; this worker takes it too.
    alert_workers(1, env={"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(settings.EMAIL_PORT)}, queues="alerts,schedule")
    # Opened two minutes ago with a one-minute team_wait: the team step is overdue.
    incident = open_down(timezone.now() - timedelta(minutes=2), team_wait=60)
    assert wait_until(lambda: len(smtp_server.messages) >= 1, timeout=60)
    escalate.delay()
    assert wait_until(lambda: len(smtp_server.messages) >= 3, timeout=60)
    recipients = sorted(rcpt for envelope in smtp_server.messages for rcpt in envelope.rcpt_tos)
    assert recipients == ["ana@example.com", "ana@example.com", "bo@example.com"]
    # The SMTP server has the message a moment before the worker records it as delivered.
    assert wait_until(
        lambda: (
            Notification.objects.filter(incident=incident, step="team", status=NotificationStatus.DELIVERED).count()
            == 2
        ),
        timeout=10,
    )


@pytest.mark.django_db(transaction=True)
def test_two_workers_tell_the_operators_once_that_a_teams_incidents_reach_nobody(
    team, open_down, smtp_server, alert_workers, settings
):
    from alerts.models import ReachedNobodyNotice
    from alerts.reached_nobody import _enqueue

    env = {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(settings.EMAIL_PORT),
        "PHAROS_OPERATOR_EMAIL": "ops@example.com",
    }
    # The operators' mail is housekeeping's task (config.celery), so two housekeeping workers race.
    alert_workers(2, env=env, queues="housekeeping")
    open_down(timezone.now())  # the team has no member and no channel
    open_down(timezone.now())
    _enqueue([team.pk, team.pk, team.pk])  # as a sweep racing the commit's own enqueue would

    assert wait_until(lambda: ReachedNobodyNotice.objects.filter(told_at__isnull=False).exists(), timeout=60)
    [envelope] = smtp_server.messages
    assert envelope.rcpt_tos == ["ops@example.com"]


def test_an_incident_alerting_five_channels_reaches_the_alert_worker_as_one_message(
    team, open_down, http_receiver, clean_redis, alert_workers
):
    """A burst of incidents costs the alert worker one message per transition, not one per row."""
    import base64
    import json

    receivers = [http_receiver() for _ in range(5)]
    for number, receiver in enumerate(receivers):
        Channel.objects.create(team=team, kind="webhook", name=f"hook {number}", config={"url": receiver.url + "/"})
    incident = open_down(timezone.now(), email=False)
    ids = sorted(Notification.objects.filter(incident=incident).values_list("pk", flat=True))
    assert len(ids) == 5

    [message] = clean_redis.lrange("alerts", 0, -1)  # published after commit, not yet taken
    args, _kwargs, _embed = json.loads(base64.b64decode(json.loads(message)["body"]))
    assert sorted(args) == ids

    alert_workers(1)
    delivered = Notification.objects.filter(pk__in=ids, status=NotificationStatus.DELIVERED)
    assert wait_until(lambda: delivered.count() == 5, timeout=60)
    assert [len(receiver.requests) for receiver in receivers] == [1] * 5
