"""Pharos says when it is blind: a late scheduler, a stalled heartbeat sweep, a delivery
backlog and rounds closing inconclusive for lack of results each make
/api/healthcheck?services=true answer 503 naming them, and show on /metrics
(config.pipeline)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Incident, Notification
from heartbeats.models import Heartbeat
from monitors.models import Monitor, Round
from monitors.withdrawal import WITHDRAWN_NOTE
from tests.ops.test_metrics import TOKEN, samples, scrape

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture(autouse=True)
def broker_is_the_suites_redis(settings, redis_url, clean_redis):
    settings.CELERY_BROKER_URL = redis_url
    settings.PHAROS_METRICS_TOKEN = TOKEN
    settings.PHAROS_WATCH_SCHEDULER_LAG = 30
    settings.PHAROS_WATCH_SWEEP_LAG = 60
    settings.PHAROS_WATCH_DELIVERY_LAG = 120
    settings.PHAROS_WATCH_INCONCLUSIVE_RATIO = 0.2


def services(client):
    response = client.get("/api/healthcheck?services=true")
    return response.status_code, response.json()


def overdue_monitor(team, *, by, now, **fields):
    return Monitor.objects.create(team=team, url="https://example.com/", next_check_at=now - by, **fields)


def overdue_heartbeat(team, *, by, now, **fields):
    return Heartbeat.objects.create(team=team, name="backup", status="up", alert_after=now - by, **fields)


def due_notification(team, *, by, now, status="pending"):
    incident = Incident.objects.create(
        team=team,
        source_type="monitor",
        source_id=Incident.objects.count() + 1,
        cause="Status 503",
        started_at=now,
        regions=["us"],
    )
    return Notification.objects.create(
        incident=incident,
        event="alert",
        step="on-call",
        recipient="user:1",
        kind="email",
        status=status,
        next_attempt_at=now - by,
        created_at=now - by,
    )


def closed_rounds(team, *, verdicts, now, note=""):
    monitor = Monitor.objects.create(team=team, url="https://rounds.example.com/")
    for index, verdict in enumerate(verdicts):
        at = now - timedelta(seconds=index + 30)
        Round.objects.create(
            monitor=monitor,
            scheduled_at=at,
            regions=["us", "eu", "as"],
            dispatched_at=at,
            deadline=at + timedelta(seconds=25),
            closed_at=at + timedelta(seconds=25),
            verdict=verdict,
            note=note,
        )


def test_a_healthy_pipeline_passes_every_check(client):
    status, body = services(client)
    assert (status, body["failing"]) == (200, [])
    for name in ("scheduler", "sweep", "delivery", "rounds"):
        assert body["checks"][name]["ok"], name


def test_a_monitor_no_tick_dispatched_for_longer_than_the_limit_names_the_scheduler(client, team, now):
    overdue_monitor(team, by=timedelta(minutes=5), now=now)
    status, body = services(client)
    assert (status, body["failing"]) == (503, ["scheduler"])
    assert body["checks"]["scheduler"]["lag"] >= 300


def test_a_monitor_due_a_moment_ago_is_a_scheduler_keeping_up(client, team, now):
    overdue_monitor(team, by=timedelta(seconds=2), now=now)
    assert services(client)[0] == 200


def test_paused_monitors_long_past_their_due_time_are_not_the_schedulers_lag(client, team, now):
    overdue_monitor(team, by=timedelta(hours=1), now=now, paused_at=now)
    assert services(client)[0] == 200


def test_a_heartbeat_still_up_long_after_its_deadline_names_the_sweep(client, team, now):
    overdue_heartbeat(team, by=timedelta(minutes=5), now=now)
    status, body = services(client)
    assert (status, body["failing"]) == (503, ["sweep"])
    assert body["checks"]["sweep"]["detail"].startswith("a heartbeat has been overdue for 3")


def test_down_and_paused_heartbeats_are_no_sweep_lag(client, team, now):
    overdue_heartbeat(team, by=timedelta(hours=1), now=now, paused_at=now)
    Heartbeat.objects.create(team=team, name="down", status="down", alert_after=None)
    assert services(client)[0] == 200


def test_notifications_due_long_ago_and_undelivered_name_the_delivery(client, team, now):
    due_notification(team, by=timedelta(minutes=10), now=now)
    due_notification(team, by=timedelta(minutes=1), now=now, status="sending")
    status, body = services(client)
    assert (status, body["failing"]) == (503, ["delivery"])
    assert (body["checks"]["delivery"]["backlog"], body["checks"]["delivery"]["lag"] >= 600) == (2, True)


def test_a_retry_scheduled_for_later_is_no_backlog(client, team, now):
    due_notification(team, by=-timedelta(minutes=10), now=now)
    assert services(client)[0] == 200


def test_many_recent_rounds_closing_inconclusive_name_the_rounds(client, team, now):
    closed_rounds(team, verdicts=["up"] * 6 + ["inconclusive"] * 4, now=now)
    status, body = services(client)
    assert (status, body["failing"]) == (503, ["rounds"])
    assert body["checks"]["rounds"]["inconclusive_ratio"] == 0.4


def test_a_few_rounds_say_nothing_about_a_share(client, team, now):
    closed_rounds(team, verdicts=["inconclusive"] * 3, now=now)
    assert services(client)[0] == 200


def test_rounds_of_monitors_paused_meanwhile_are_not_counted_inconclusive(client, team, now):
    closed_rounds(team, verdicts=["up"] * 10, now=now)
    closed_rounds(team, verdicts=["inconclusive"] * 10, now=now, note=WITHDRAWN_NOTE)
    assert services(client)[0] == 200


def test_metrics_show_the_figures_and_which_checks_fail(client, team, now):
    overdue_monitor(team, by=timedelta(minutes=5), now=now)
    overdue_heartbeat(team, by=timedelta(minutes=2), now=now)
    due_notification(team, by=timedelta(minutes=3), now=now)

    found = samples(scrape(client))

    assert found["pharos_scheduler_lag_seconds"] >= 300
    assert found["pharos_heartbeat_sweep_lag_seconds"] >= 120
    assert (found["pharos_delivery_backlog"], found["pharos_delivery_lag_seconds"] >= 180) == (1, True)
    assert found["pharos_rounds_inconclusive_ratio"] == 0
    assert found['pharos_health_check_ok{check="scheduler"}'] == 0
    assert found['pharos_health_check_ok{check="sweep"}'] == 0
    assert found['pharos_health_check_ok{check="delivery"}'] == 0
    assert found['pharos_health_check_ok{check="rounds"}'] == 1
    assert found['pharos_health_check_ok{check="database"}'] == 1
    assert found['pharos_metrics_source_up{source="health"}'] == 1
