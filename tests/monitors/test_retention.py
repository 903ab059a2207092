"""Retention: raw results are pruned, hourly rollups stay."""

from datetime import timedelta

import pytest

from monitors import retention
from monitors.models import CheckResult, ResultRollup, Round
from tests.monitors.conftest import T0, run_round

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def add_results(monitor, hour, *, region="us", times=(0.1, 0.2, 0.3, 0.4), failures=1):
    for index, response_time in enumerate(times):
        at = hour + timedelta(minutes=index)
        CheckResult.objects.create(
            monitor=monitor,
            scheduled_at=at,
            region=region,
            outcome="down" if index < failures else "up",
            response_time=response_time,
            checked_at=at,
        )


def test_an_hour_rolls_up_into_checks_failures_mean_and_p95(make_monitor):
    monitor = make_monitor()
    add_results(monitor, T0)
    retention.housekeep(now=T0 + 2 * H)
    rollup = ResultRollup.objects.get(monitor=monitor, region="us", hour=T0)
    assert (rollup.checks, rollup.failures) == (4, 1)
    assert rollup.mean_response_time == pytest.approx(0.25)
    assert rollup.p95_response_time == pytest.approx(0.385)


def test_rollups_are_kept_per_region(make_monitor):
    monitor = make_monitor()
    add_results(monitor, T0, region="us")
    add_results(monitor, T0, region="eu", times=(1.0,), failures=0)
    retention.housekeep(now=T0 + 2 * H)
    assert sorted(ResultRollup.objects.values_list("region", "checks")) == [("eu", 1), ("us", 4)]


def test_retention_prunes_raw_results_and_keeps_rollups(make_monitor, settings):
    settings.PHAROS_RESULT_RETENTION = 48 * 3600
    monitor = make_monitor()
    add_results(monitor, T0)
    add_results(monitor, T0 + 47 * H)
    summary = retention.housekeep(now=T0 + 49 * H)
    assert summary["results_pruned"] == 4
    assert CheckResult.objects.filter(checked_at__lt=T0 + H).count() == 0
    assert CheckResult.objects.count() == 4
    assert ResultRollup.objects.get(hour=T0).checks == 4
    assert ResultRollup.objects.get(hour=T0 + 47 * H).checks == 4


def test_an_hour_is_rolled_up_once_it_is_over(make_monitor):
    monitor = make_monitor()
    add_results(monitor, T0, times=(0.1,), failures=0)
    retention.housekeep(now=T0 + timedelta(minutes=50))
    assert not ResultRollup.objects.exists()
    retention.housekeep(now=T0 + timedelta(minutes=61))
    assert ResultRollup.objects.get(hour=T0).checks == 1


def test_late_results_for_the_newest_hour_are_counted_by_the_next_run(make_monitor):
    monitor = make_monitor()
    add_results(monitor, T0, times=(0.1,), failures=0)
    retention.housekeep(now=T0 + timedelta(minutes=61))
    add_results(monitor, T0 + timedelta(minutes=59), times=(0.3,), failures=0)
    retention.housekeep(now=T0 + timedelta(minutes=66))
    assert ResultRollup.objects.get(hour=T0).checks == 2


def test_results_not_rolled_up_yet_are_never_pruned(make_monitor, settings):
    settings.PHAROS_RESULT_RETENTION = 3600
    monitor = make_monitor()
    add_results(monitor, T0)
    # A run far later rolls up at most MAX_HOURS_PER_RUN hours from the oldest result.
    retention.prune_results(now=T0 + 10 * H, rolled_up_through=T0)
    assert CheckResult.objects.count() == 4


def test_closed_rounds_are_pruned_and_open_ones_kept(make_monitor):
    monitor = make_monitor()
    closed = run_round(monitor, now=T0)
    Round.objects.filter(pk=closed.pk).update(closed_at=T0, verdict="up")
    still_open = run_round(monitor, now=T0 + H)
    retention.housekeep(now=T0 + 8 * H)
    assert list(Round.objects.values_list("pk", flat=True)) == [still_open.pk]


def test_the_portable_percentile_matches_postgresqls_percentile_cont():
    assert retention.percentile([0.1, 0.2, 0.3, 0.4], 0.95) == pytest.approx(0.385)
    assert retention.percentile([], 0.95) is None
