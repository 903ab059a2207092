"""The tick: claims, phases, maintenance, publishing, concurrency."""

import base64
import json
import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.broker import RUN_BATCH_TASK
from monitors import scheduler
from monitors.models import Monitor, MonitorRequestHeader, Round
from tests.monitors.conftest import T0

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def three_regions(settings):
    settings.PHAROS_REGIONS = ["us", "eu", "as"]


def test_a_due_monitor_gets_a_round_and_its_next_check_one_period_later(make_monitor):
    monitor = make_monitor(check_frequency=60, next_check_at=T0)
    report = scheduler.tick(now=T0 + 2 * S, publish=False)
    monitor.refresh_from_db()
    assert report.monitor_ids == [monitor.pk]
    assert monitor.next_check_at == T0 + 60 * S
    round_ = Round.objects.get(monitor=monitor)
    assert round_.scheduled_at == T0
    assert round_.regions == ["us", "eu", "as"]
    # The deadline counts from dispatch: queueing slack, the check's timeout, the trip back.
    expected = T0 + 2 * S + scheduler.QUEUE_SLACK + 30 * S + scheduler.RETURN_SLACK
    assert expected <= round_.deadline < expected + 5 * S


def test_a_monitor_not_yet_due_is_left_alone(make_monitor):
    make_monitor(next_check_at=T0 + 5 * S)
    report = scheduler.tick(now=T0, publish=False)
    assert report.claimed == 0
    assert not Round.objects.exists()


def test_a_monitor_due_within_half_a_tick_leaves_with_this_tick_on_its_own_slot(make_monitor, settings):
    settings.PHAROS_TICK_SECONDS = 1.0
    soon = make_monitor(check_frequency=60, next_check_at=T0 + 0.4 * S)
    make_monitor(check_frequency=60, next_check_at=T0 + 0.6 * S)
    report = scheduler.tick(now=T0, publish=False)
    assert report.monitor_ids == [soon.pk]
    assert Round.objects.get().scheduled_at == T0 + 0.4 * S


def test_a_monitor_several_periods_late_runs_once_for_its_latest_slot_and_keeps_its_phase(make_monitor):
    monitor = make_monitor(check_frequency=60, next_check_at=T0)
    scheduler.tick(now=T0 + 200 * S, publish=False)
    monitor.refresh_from_db()
    assert list(Round.objects.values_list("scheduled_at", flat=True)) == [T0 + 180 * S]
    assert monitor.next_check_at == T0 + 240 * S


def test_a_new_monitor_starts_at_a_random_phase_within_its_frequency(make_monitor):
    monitors = [make_monitor(check_frequency=120, next_check_at=None) for _ in range(20)]
    report = scheduler.tick(now=T0, publish=False)
    assert report.scheduled_newcomers == 20
    # A phase that fell within half a tick was dispatched by this same tick: its round
    # holds the phase, and next_check_at has moved one period on.
    dispatched = dict(Round.objects.values_list("monitor_id", "scheduled_at"))
    phases = set()
    for monitor in monitors:
        monitor.refresh_from_db()
        phase = dispatched.get(monitor.pk, monitor.next_check_at)
        assert T0 <= phase <= T0 + 120 * S
        phases.add(phase)
    assert len(phases) > 1


def test_a_paused_monitor_is_not_checked(make_monitor):
    make_monitor(paused_at=T0 - S, status="paused")
    assert scheduler.tick(now=T0 + S, publish=False).claimed == 0
    assert not Round.objects.exists()


def test_a_monitor_inside_its_maintenance_window_is_not_checked_and_shows_maintenance(make_monitor):
    # Saturday 2026-11-28 12:00 UTC is 13:00 in Europe/Paris.
    monitor = make_monitor(
        maintenance_days=["sat"],
        maintenance_from=time(12, 30),
        maintenance_to=time(14, 0),
        maintenance_timezone="Europe/Paris",
    )
    report = scheduler.tick(now=T0, publish=False)
    monitor.refresh_from_db()
    assert report.in_maintenance == 1
    assert monitor.status == "maintenance"
    assert monitor.next_check_at == T0 + 30 * S
    assert not Round.objects.exists()


def test_a_window_across_midnight_in_new_york_holds_checks_in_the_small_hours_of_the_next_day(make_monitor):
    # Friday 23:00 – 01:00 in New York; Saturday 00:30 there is 05:30 UTC.
    at = datetime(2026, 11, 28, 5, 30, tzinfo=UTC)
    monitor = make_monitor(
        next_check_at=at,
        maintenance_days=["fri"],
        maintenance_from=time(23, 0),
        maintenance_to=time(1, 0),
        maintenance_timezone="America/New_York",
    )
    assert scheduler.tick(now=at, publish=False).in_maintenance == 1
    monitor.refresh_from_db()
    assert monitor.status == "maintenance"
    assert not Round.objects.exists()


def test_a_monitor_leaving_its_maintenance_window_is_checked_again_from_pending(make_monitor):
    monitor = make_monitor(
        status="maintenance",
        maintenance_days=["sat"],
        maintenance_from=time(11, 0),
        maintenance_to=time(12, 0),
        maintenance_timezone="Europe/Paris",
    )
    scheduler.tick(now=T0, publish=False)
    monitor.refresh_from_db()
    assert monitor.status == "pending"
    assert Round.objects.filter(monitor=monitor).exists()


def test_a_monitor_that_cannot_become_a_spec_is_pushed_forward_without_stopping_the_others(make_monitor):
    broken = make_monitor(monitor_type="tcp", port="not-a-port", url="db.example.com")
    healthy = make_monitor()
    report = scheduler.tick(now=T0, publish=False)
    broken.refresh_from_db()
    assert report.skipped == 1
    assert report.monitor_ids == [healthy.pk]
    assert broken.next_check_at > T0


def test_the_tick_uses_the_same_number_of_queries_for_5_or_50_due_monitors(make_monitor):
    def queries_for(count, at):
        for _ in range(count):
            monitor = make_monitor(next_check_at=at)
            MonitorRequestHeader.objects.create(monitor=monitor, name="X-Probe", value="pharos")
        with CaptureQueriesContext(connection) as context:
            report = scheduler.tick(now=at, publish=False)
        assert report.dispatched == count
        return len(context.captured_queries)

    assert queries_for(5, T0) == queries_for(50, T0 + 10 * S)


def _messages(redis_client, queue):
    messages = []
    for raw in redis_client.lrange(queue, 0, -1):
        envelope = json.loads(raw)
        body = json.loads(base64.b64decode(envelope["body"]))
        messages.append((envelope["headers"], body[0][0]))
    return messages


def test_the_tick_publishes_one_message_per_region_per_batch_with_an_expiry(make_monitor, settings, clean_redis):
    settings.PHAROS_BATCH_SIZE = 2
    monitors = [make_monitor() for _ in range(5)]
    report = scheduler.tick(now=T0)
    assert report.messages == 9
    for region in ("us", "eu", "as"):
        messages = _messages(clean_redis, f"probe.{region}")
        assert sorted(len(body["specs"]) for _, body in messages) == [1, 2, 2]
        for headers, body in messages:
            assert headers["task"] == RUN_BATCH_TASK
            assert headers["expires"] is not None
            assert headers["eta"] is None
            assert body["region"] == region
            expires_at = datetime.fromisoformat(body["expires_at"])
            assert T0 + scheduler.QUEUE_SLACK <= expires_at < T0 + scheduler.QUEUE_SLACK + 5 * S
        specs = [spec for _, body in messages for spec in body["specs"]]
        assert sorted(spec["monitor_id"] for spec in specs) == sorted(m.pk for m in monitors)
        assert {spec["region"] for spec in specs} == {region}
        assert {spec["scheduled_at"] for spec in specs} == {T0.isoformat()}


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_ticks_dispatch_disjoint_monitors(make_monitor):
    if not connection.features.has_select_for_update_skip_locked:
        pytest.skip("SKIP LOCKED needs PostgreSQL")
    team = make_monitor().team
    Monitor.objects.bulk_create(
        [
            Monitor(team=team, url=f"https://m{i}.example.com", next_check_at=T0, regions=["us", "eu", "as"])
            for i in range(400)
        ]
    )
    start = threading.Barrier(2)
    reports, errors = [], []

    def run():
        try:
            start.wait(timeout=10)
            reports.append(scheduler.tick(now=T0 + S, chunk_size=20, publish=False, budget_seconds=30))
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    first, second = (set(r.monitor_ids) for r in reports)
    assert not first & second
    assert len(first | second) == Monitor.objects.count() == 401
    assert Round.objects.count() == 401
