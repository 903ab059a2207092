"""Delivery outcomes: retries with backoff, permanent failures, claims, the sweeper."""

import json
from datetime import timedelta

from alerts.delivery import LOST_AFTER, backoff, claim, deliver, due_for_sweep
from alerts.incidents import acknowledge_incident
from alerts.models import Channel, Notification, NotificationStatus
from alerts.tasks import deliver as deliver_task
from tests.alerts.conftest import T0


def webhook_incident(team, open_down, receiver):
    Channel.objects.create(team=team, kind="webhook", config={"url": receiver.url + "/hook"})
    incident = open_down(email=False)
    return incident, Notification.objects.get(incident=incident)


def test_a_receiver_failing_twice_then_succeeding_gets_exactly_one_successful_delivery(team, open_down, http_receiver):
    receiver = http_receiver()
    receiver.statuses = [500, 500, 200]
    incident, row = webhook_incident(team, open_down, receiver)
    now = T0
    assert deliver(row.pk, now=now) == NotificationStatus.PENDING
    for attempt, expected in ((1, NotificationStatus.PENDING), (2, NotificationStatus.DELIVERED)):
        now += backoff(attempt)
        assert due_for_sweep(now=now) == [row.pk]  # the escalation tick's sweeper finds the retry
        assert deliver(row.pk, now=now) == expected
    assert due_for_sweep(now=now + timedelta(days=1)) == []
    assert deliver(row.pk, now=now + timedelta(days=1)) is None
    assert len(receiver.requests) == 3
    row.refresh_from_db()
    assert row.status == NotificationStatus.DELIVERED and row.attempts == 3 and row.last_error == ""


def test_retries_back_off_exponentially(settings):
    settings.PHAROS_ALERT_RETRY_SECONDS = 10
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [10, 30, 90]
    assert backoff(20) == timedelta(hours=1)


def test_a_400_is_a_permanent_failure_and_is_not_retried(team, open_down, http_receiver):
    receiver = http_receiver()
    receiver.statuses = [400]
    incident, row = webhook_incident(team, open_down, receiver)
    assert deliver(row.pk, now=T0) == NotificationStatus.FAILED
    row.refresh_from_db()
    assert row.attempts == 1 and row.last_error.startswith("HTTP 400")
    assert due_for_sweep(now=T0 + timedelta(days=1)) == []
    assert deliver(row.pk, now=T0 + timedelta(days=1)) is None
    assert len(receiver.requests) == 1


def test_after_the_last_attempt_a_notification_fails_for_good(team, open_down, http_receiver, settings):
    settings.PHAROS_ALERT_MAX_ATTEMPTS = 2
    receiver = http_receiver()
    receiver.statuses = [503, 503, 503]
    incident, row = webhook_incident(team, open_down, receiver)
    assert deliver(row.pk, now=T0) == NotificationStatus.PENDING
    assert deliver(row.pk, now=T0 + timedelta(hours=1)) == NotificationStatus.FAILED
    row.refresh_from_db()
    assert "gave up after 2 attempts" in row.last_error


def test_a_retry_is_not_sent_before_its_backoff_has_passed(team, open_down, http_receiver):
    receiver = http_receiver()
    receiver.statuses = [500]
    incident, row = webhook_incident(team, open_down, receiver)
    deliver(row.pk, now=T0)
    assert deliver(row.pk, now=T0 + timedelta(seconds=1)) is None
    assert len(receiver.requests) == 1


def test_only_one_of_two_claims_on_a_row_wins(team, open_down, http_receiver):
    incident, row = webhook_incident(team, open_down, http_receiver())
    assert claim(row.pk, now=T0) == 1
    assert claim(row.pk, now=T0) is None


def test_a_claim_abandoned_by_a_dead_worker_is_swept_and_taken_over(team, open_down, http_receiver):
    receiver = http_receiver()
    incident, row = webhook_incident(team, open_down, receiver)
    claim(row.pk, now=T0)  # the worker dies here, before sending
    assert due_for_sweep(now=T0 + timedelta(seconds=5)) == []
    later = T0 + timedelta(minutes=5)
    assert due_for_sweep(now=later) == [row.pk]
    assert deliver(row.pk, now=later) == NotificationStatus.DELIVERED
    assert len(receiver.requests) == 1


def test_the_sweeper_picks_up_a_row_whose_enqueue_was_lost(team, open_down, http_receiver):
    incident, row = webhook_incident(team, open_down, http_receiver())
    assert due_for_sweep(now=T0) == []  # just written: its own enqueue is on the way
    assert due_for_sweep(now=T0 + LOST_AFTER) == [row.pk]


def test_an_alert_for_an_incident_acknowledged_before_it_went_out_is_skipped(team, open_down, http_receiver):
    receiver = http_receiver()
    incident, row = webhook_incident(team, open_down, receiver)
    acknowledge_incident(incident.pk, by="ana", now=T0)
    assert deliver(row.pk, now=T0) == NotificationStatus.SKIPPED
    assert receiver.requests == []


def test_a_delivery_task_payload_survives_a_json_round_trip():
    message = deliver_task.s(42)
    assert json.loads(json.dumps(message.args)) == [42]
    assert deliver_task.name == "alerts.deliver"


def test_the_incident_timeline_records_a_failed_delivery_with_its_error(team, open_down, http_receiver):
    from alerts.models import IncidentEvent

    receiver = http_receiver()
    receiver.statuses = [404]
    incident, row = webhook_incident(team, open_down, receiver)
    deliver(row.pk, now=T0)
    [event] = IncidentEvent.objects.filter(incident=incident, kind="notified")
    assert "failed" in event.message and "HTTP 404" in event.message
