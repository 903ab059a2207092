"""Weekly maintenance windows, including ones that cross midnight and non-UTC zones."""

from datetime import UTC, datetime, time

from alerts.maintenance import in_window


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def window(days, starts, ends, zone="UTC"):
    return dict(days=days, starts=starts, ends=ends, timezone=zone)


def test_a_same_day_window_covers_its_hours_on_listed_days_only():
    w = window(["sat"], time(2, 0), time(4, 0))
    assert in_window(**w, now=utc(2026, 11, 28, 3, 0))  # a Saturday
    assert not in_window(**w, now=utc(2026, 11, 28, 4, 0))  # the end is exclusive
    assert not in_window(**w, now=utc(2026, 11, 27, 3, 0))  # a Friday


def test_a_window_across_midnight_covers_the_night_into_the_next_day():
    w = window(["sun"], time(22, 0), time(2, 0))
    assert in_window(**w, now=utc(2026, 11, 29, 23, 30))  # Sunday night
    assert in_window(**w, now=utc(2026, 11, 30, 1, 59))  # Monday small hours
    assert not in_window(**w, now=utc(2026, 11, 30, 2, 0))


def test_a_window_across_midnight_does_not_cover_the_small_hours_before_its_day():
    w = window(["sun"], time(22, 0), time(2, 0))
    assert not in_window(**w, now=utc(2026, 11, 29, 1, 0))  # Sunday 01:00 belongs to Saturday's night


def test_a_window_is_read_in_its_own_timezone():
    # 09:00–10:00 in Tokyo (UTC+9) on Monday is 00:00–01:00 UTC on Monday.
    w = window(["mon"], time(9, 0), time(10, 0), "Asia/Tokyo")
    assert in_window(**w, now=utc(2026, 11, 30, 0, 30))
    assert not in_window(**w, now=utc(2026, 11, 30, 9, 30))


def test_a_midnight_window_in_a_zone_behind_utc_belongs_to_the_local_day():
    # Friday 23:00 – Saturday 01:00 in New York (UTC-5) is Saturday 04:00–06:00 UTC.
    w = window(["fri"], time(23, 0), time(1, 0), "America/New_York")
    assert in_window(**w, now=utc(2026, 11, 28, 4, 30))
    assert in_window(**w, now=utc(2026, 11, 28, 5, 59))
    assert not in_window(**w, now=utc(2026, 11, 27, 4, 30))  # Thursday night local


def test_the_window_keeps_its_local_hours_across_a_dst_change():
    # Paris is UTC+2 in summer, UTC+1 in winter: 03:00–04:00 local moves in UTC.
    w = window(["sat"], time(3, 0), time(4, 0), "Europe/Paris")
    assert in_window(**w, now=utc(2026, 7, 4, 1, 30))
    assert in_window(**w, now=utc(2026, 11, 28, 2, 30))


def test_no_days_equal_times_or_an_unknown_zone_mean_no_window():
    now = utc(2026, 11, 28, 3, 0)
    assert not in_window(**window([], time(2, 0), time(4, 0)), now=now)
    assert not in_window(**window(["sat"], time(2, 0), time(2, 0)), now=now)
    assert not in_window(**window(["sat"], time(2, 0), time(4, 0), "Mars/Olympus"), now=now)
