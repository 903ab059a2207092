"""Expectations: a fixed period, or a cron calendar read in local time across DST changes."""

from datetime import UTC, datetime, time

import pytest

from alerts.maintenance import MaintenanceWindow
from heartbeats.schedule import InvalidSchedule, Schedule, deadline_after, next_due, validate_cron, validate_timezone

UTC = UTC


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_a_fixed_period_expects_the_next_ping_period_seconds_later():
    assert next_due(Schedule(period=3600, grace=300), utc(2026, 11, 28, 6, 0)) == utc(2026, 11, 28, 7, 0)


def test_the_deadline_adds_the_grace():
    assert deadline_after(Schedule(period=3600, grace=300), utc(2026, 11, 28, 6, 0)) == utc(2026, 11, 28, 7, 5)


def test_a_cron_schedule_expects_the_next_occurrence_in_utc():
    assert next_due(Schedule(period=60, grace=0, cron="*/15 * * * *"), utc(2026, 11, 28, 6, 7)) == utc(
        2026, 11, 28, 6, 15
    )


def test_a_ping_exactly_on_the_minute_expects_the_next_run_not_itself():
    assert next_due(Schedule(period=60, grace=0, cron="0 * * * *"), utc(2026, 11, 28, 6, 0)) == utc(2026, 11, 28, 7, 0)


BERLIN_2AM = Schedule(period=86400, grace=600, cron="0 2 * * *", timezone="Europe/Berlin")


def test_a_2am_berlin_job_is_expected_at_1am_utc_in_winter():
    assert next_due(BERLIN_2AM, utc(2026, 3, 27, 1, 5)) == utc(2026, 3, 28, 1, 0)


def test_on_the_spring_forward_night_the_2am_job_is_due_at_the_first_minute_that_exists():
    # 29 March 2026: Berlin's clocks jump from 02:00 CET to 03:00 CEST; 02:00 never happens.
    assert next_due(BERLIN_2AM, utc(2026, 3, 28, 1, 5)) == utc(2026, 3, 29, 1, 0)


def test_after_the_spring_change_the_2am_job_is_expected_at_midnight_utc():
    assert next_due(BERLIN_2AM, utc(2026, 3, 29, 1, 5)) == utc(2026, 3, 30, 0, 0)


def test_on_the_fall_back_night_the_2am_job_is_expected_once_at_the_first_2am():
    # 25 October 2026: 03:00 CEST becomes 02:00 CET, so 02:00 local happens twice.
    assert next_due(BERLIN_2AM, utc(2026, 10, 24, 0, 5)) == utc(2026, 10, 25, 0, 0)
    assert next_due(BERLIN_2AM, utc(2026, 10, 25, 0, 5)) == utc(2026, 10, 26, 1, 0)


def test_the_deadline_across_the_autumn_change_keeps_local_2am_plus_grace():
    assert deadline_after(BERLIN_2AM, utc(2026, 10, 25, 0, 5)) == utc(2026, 10, 26, 1, 10)


def test_a_new_york_weekday_job_skips_the_weekend():
    weekdays = Schedule(period=60, grace=0, cron="30 9 * * 1-5", timezone="America/New_York")
    # Friday 27 November 2026 09:30 EST = 14:30 UTC; the next run is Monday.
    assert next_due(weekdays, utc(2026, 11, 27, 14, 31)) == utc(2026, 11, 30, 14, 30)


@pytest.mark.parametrize("expression", ["", "bogus", "61 * * * *", "0 2 30 2 *", "* * * *"])
def test_invalid_cron_expressions_are_refused_with_a_reason(expression):
    with pytest.raises(InvalidSchedule):
        validate_cron(expression)


def test_a_valid_cron_expression_passes():
    assert validate_cron(" 0 2 * * * ") == "0 2 * * *"


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../../etc/passwd", "utc+2"])
def test_unknown_time_zones_are_refused(name):
    with pytest.raises(InvalidSchedule):
        validate_timezone(name)


def test_iana_time_zones_pass():
    assert validate_timezone("Europe/Berlin") == "Europe/Berlin"


def window(days, starts, ends, zone="UTC"):
    return MaintenanceWindow(days=tuple(days), starts=starts, ends=ends, timezone=zone)


def test_a_window_covers_its_hours_on_its_days():
    saturday_3am = utc(2026, 11, 28, 3, 0)
    assert window(["sat"], time(2), time(4)).end_of_window_around(saturday_3am) == utc(2026, 11, 28, 4, 0)
    assert not window(["sun"], time(2), time(4)).contains(saturday_3am)
    assert not window(["sat"], time(4), time(5)).contains(saturday_3am)


def test_a_window_crossing_midnight_runs_into_the_next_morning():
    sunday_night = window(["sun"], time(22), time(2))
    assert sunday_night.end_of_window_around(utc(2026, 11, 29, 23, 0)) == utc(2026, 11, 30, 2, 0)
    assert sunday_night.contains(utc(2026, 11, 30, 1, 59))  # Monday morning
    assert not sunday_night.contains(utc(2026, 11, 30, 2, 0))
    assert not sunday_night.contains(utc(2026, 11, 29, 1, 0))  # Sunday morning belongs to Saturday


def test_a_window_keeps_its_local_hours_in_its_time_zone():
    berlin = window(["sat"], time(2), time(4), "Europe/Berlin")
    assert berlin.contains(utc(2026, 11, 28, 1, 30))  # 02:30 CET
    assert not berlin.contains(utc(2026, 11, 28, 3, 30))  # 04:30 CET


def test_no_days_or_equal_times_or_an_unknown_zone_mean_no_window():
    now = utc(2026, 11, 28, 3, 0)
    assert not window([], time(2), time(4)).contains(now)
    assert not window(["sat"], time(2), time(2)).contains(now)
    assert not window(["sat"], time(2), time(4), "Mars/Olympus").contains(now)
