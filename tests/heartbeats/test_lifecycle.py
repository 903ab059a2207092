"""A heartbeat's life: pending → up → down after period + grace → up, failures, runs, pauses."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Incident
from heartbeats.models import Heartbeat, Ping
from heartbeats.sweep import sweep
from tests.heartbeats.conftest import ping_path

pytestmark = pytest.mark.django_db


def reload(heartbeat):
    return Heartbeat.objects.get(pk=heartbeat.pk)


def incidents_of(heartbeat):
    return Incident.objects.filter(source_type="heartbeat", source_id=heartbeat.pk)


def test_a_new_heartbeat_is_pending_and_never_swept(heartbeat):
    sweep(now=timezone.now() + timedelta(days=365))

    assert reload(heartbeat).status == "pending"
    assert not incidents_of(heartbeat).exists()


def test_the_first_ping_makes_it_up_with_a_deadline_of_period_plus_grace(client, heartbeat):
    before = timezone.now()
    client.get(ping_path(heartbeat))

    heartbeat = reload(heartbeat)
    assert heartbeat.status == "up"
    assert heartbeat.last_ping_at >= before
    assert heartbeat.alert_after == heartbeat.last_ping_at + timedelta(seconds=60 + 30)


def test_it_stays_up_until_period_plus_grace_has_passed(client, heartbeat):
    client.get(ping_path(heartbeat))
    deadline = reload(heartbeat).alert_after

    report = sweep(now=deadline - timedelta(seconds=1))

    assert report.went_down == 0
    assert reload(heartbeat).status == "up"


def test_a_missed_ping_takes_it_down_with_one_incident_naming_the_last_ping(client, heartbeat):
    client.get(ping_path(heartbeat))
    last_ping_at = reload(heartbeat).last_ping_at

    report = sweep(now=last_ping_at + timedelta(seconds=91))

    heartbeat = reload(heartbeat)
    assert (report.went_down, heartbeat.status, heartbeat.alert_after) == (1, "down", None)
    incident = incidents_of(heartbeat).get()
    assert incident.cause == "Missed heartbeat"
    assert incident.name == "nightly backup"
    assert last_ping_at.isoformat(timespec="milliseconds").replace("+00:00", "Z") in incident.summary
    assert incident.metadata["last_ping_at"] is not None


def test_a_second_sweep_opens_no_second_incident(client, heartbeat):
    client.get(ping_path(heartbeat))
    later = timezone.now() + timedelta(seconds=91)

    sweep(now=later)
    report = sweep(now=later + timedelta(seconds=60))

    assert report.went_down == 0
    assert incidents_of(heartbeat).count() == 1


def test_the_next_success_brings_it_back_up_and_resolves_the_incident(client, heartbeat):
    client.get(ping_path(heartbeat))
    sweep(now=timezone.now() + timedelta(seconds=91))

    client.get(ping_path(heartbeat))

    heartbeat = reload(heartbeat)
    assert heartbeat.status == "up"
    assert heartbeat.alert_after is not None
    incident = incidents_of(heartbeat).get()
    assert incident.status == "Resolved"
    assert incident.resolved_by == "heartbeat ping"


def test_fail_opens_an_incident_at_once_carrying_the_jobs_output(client, up_heartbeat):
    output = "pg_dump: error: connection to server failed\n" * 40  # longer than 500 characters

    client.post(ping_path(up_heartbeat, "/fail"), data=output, content_type="text/plain")

    heartbeat = reload(up_heartbeat)
    assert (heartbeat.status, heartbeat.alert_after) == ("down", None)
    incident = incidents_of(heartbeat).get()
    assert incident.cause == "Job reported failure"
    assert incident.response_content == output[:500]
    assert incident.metadata["ping_body"] == output
    assert incident.metadata["ping_id"] == Ping.objects.get().pk


def test_a_non_zero_exit_code_names_the_code_in_the_incident(client, up_heartbeat):
    client.post(ping_path(up_heartbeat, "/3"), data="disk full", content_type="text/plain")

    incident = incidents_of(up_heartbeat).get()
    assert incident.cause == "Job failed with exit code 3"
    assert (incident.response_content, incident.metadata["exit_code"]) == ("disk full", 3)


def test_a_failure_on_a_pending_heartbeat_opens_an_incident_too(client, heartbeat):
    client.get(ping_path(heartbeat, "/1"))

    assert reload(heartbeat).status == "down"
    assert incidents_of(heartbeat).count() == 1


def test_repeated_failures_keep_one_incident(client, up_heartbeat):
    client.get(ping_path(up_heartbeat, "/fail"))
    client.get(ping_path(up_heartbeat, "/2"))

    assert incidents_of(up_heartbeat).count() == 1
    assert Ping.objects.filter(heartbeat=up_heartbeat).count() == 2


def test_exit_code_zero_after_a_failure_resolves_it(client, up_heartbeat):
    client.get(ping_path(up_heartbeat, "/fail"))

    client.get(ping_path(up_heartbeat, "/0"))

    assert reload(up_heartbeat).status == "up"
    assert incidents_of(up_heartbeat).get().status == "Resolved"


def test_start_then_no_finish_raises_run_did_not_finish(client, up_heartbeat):
    client.get(ping_path(up_heartbeat, "/start"))
    started = reload(up_heartbeat)
    assert started.last_start_at is not None
    assert started.alert_after == started.last_start_at + timedelta(seconds=60 + 30)

    sweep(now=started.alert_after + timedelta(seconds=1))

    incident = incidents_of(up_heartbeat).get()
    assert incident.cause == "Run did not finish"
    assert incident.metadata["run_started_at"] is not None


def test_start_then_success_records_the_runs_duration_and_clears_the_start(client, up_heartbeat):
    client.get(ping_path(up_heartbeat, "/start"))
    started_at = reload(up_heartbeat).last_start_at

    client.get(ping_path(up_heartbeat))

    finish = Ping.objects.filter(heartbeat=up_heartbeat, kind="success").get()
    assert finish.duration == pytest.approx((finish.created_at - started_at).total_seconds())
    assert reload(up_heartbeat).last_start_at is None


def test_start_on_a_pending_heartbeat_begins_watching_it(client, heartbeat):
    client.get(ping_path(heartbeat, "/start"))

    assert reload(heartbeat).status == "up"


def test_a_paused_heartbeat_records_pings_and_changes_nothing(client, make_heartbeat):
    paused_at = timezone.now() - timedelta(hours=1)
    heartbeat = make_heartbeat(status="paused", paused_at=paused_at)

    client.post(ping_path(heartbeat, "/fail"), data="boom", content_type="text/plain")
    client.get(ping_path(heartbeat))

    after = reload(heartbeat)
    assert (after.status, after.paused_at, after.last_ping_at, after.alert_after) == ("paused", paused_at, None, None)
    assert Ping.objects.filter(heartbeat=heartbeat).count() == 2
    assert not incidents_of(heartbeat).exists()


def test_a_paused_heartbeat_is_never_swept(up_heartbeat):
    Heartbeat.objects.filter(pk=up_heartbeat.pk).update(paused_at=timezone.now())

    sweep(now=timezone.now() + timedelta(days=1))

    assert not incidents_of(up_heartbeat).exists()


def every_day_window(now):
    """A maintenance window around ``now`` (UTC), every day; near midnight it crosses it."""
    return {
        "maintenance_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "maintenance_from": (now - timedelta(minutes=30)).time().replace(microsecond=0),
        "maintenance_to": (now + timedelta(minutes=30)).time().replace(microsecond=0),
        "maintenance_timezone": "UTC",
    }


def test_a_failure_inside_a_maintenance_window_pages_nobody(client, make_heartbeat):
    now = timezone.now()
    heartbeat = make_heartbeat(
        status="up", last_ping_at=now, alert_after=now + timedelta(seconds=90), **every_day_window(now)
    )

    client.post(ping_path(heartbeat, "/fail"), data="boom", content_type="text/plain")

    assert reload(heartbeat).status == "up"
    assert not incidents_of(heartbeat).exists()
    assert Ping.objects.get(heartbeat=heartbeat).kind == "fail"


def test_an_overdue_heartbeat_inside_a_maintenance_window_waits_for_its_end(make_heartbeat):
    from datetime import time

    now = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    heartbeat = make_heartbeat(
        status="up",
        last_ping_at=now - timedelta(minutes=5),
        alert_after=now - timedelta(seconds=1),
        maintenance_days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        maintenance_from=time(11, 0),
        maintenance_to=time(13, 0),
    )

    report = sweep(now=now)

    assert report.postponed == 1
    assert reload(heartbeat).alert_after == now.replace(hour=13)
    assert not incidents_of(heartbeat).exists()
    sweep(now=now.replace(hour=13, second=1))
    assert incidents_of(heartbeat).get().cause == "Missed heartbeat"


def test_the_shown_status_says_paused_or_maintenance_over_the_stored_one(make_heartbeat):
    from heartbeats.maintenance import shown_status

    now = timezone.now()
    in_window = make_heartbeat(status="up", **every_day_window(now))
    paused = make_heartbeat(status="paused", paused_at=now)
    plain = make_heartbeat(status="down")

    assert [shown_status(hb, now=now) for hb in (in_window, paused, plain)] == ["maintenance", "paused", "down"]


def test_a_heartbeat_paused_while_down_resolves_its_incident_on_the_first_success_after_resuming(
    client, make_heartbeat
):
    heartbeat = make_heartbeat(status="up", last_ping_at=timezone.now())
    client.post(ping_path(heartbeat, "/fail"), data="boom", content_type="text/plain")
    assert incidents_of(heartbeat).filter(resolved_at__isnull=True).exists()
    # Paused, then resumed: pending, with the failure's incident still open.
    Heartbeat.objects.filter(pk=heartbeat.pk).update(status="pending", paused_at=None)

    client.get(ping_path(heartbeat))

    assert reload(heartbeat).status == "up"
    assert not incidents_of(heartbeat).filter(resolved_at__isnull=True).exists()
