"""Rotation arithmetic (teams.rotation) across daylight-saving changes.

Europe/Prague in 2026: clocks jump 02:00 → 03:00 on Sunday 29 March and fall back
03:00 → 02:00 on Sunday 25 October. A rotation that hands over "at 09:00" must do so at
09:00 on the wall clock on both sides of each change, which is 08:00Z before the spring
change and 07:00Z after it.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from teams.rotation import handover, handovers_between, shift_at

PRAGUE = ZoneInfo("Europe/Prague")


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


DAILY_AT_NINE = {"start": utc(2026, 3, 27, 8, 0), "length": 1, "interval": "day", "zone": PRAGUE}


def test_a_daily_rotation_hands_over_at_nine_on_the_wall_clock_across_the_spring_change():
    assert [handover(k, **DAILY_AT_NINE) for k in range(4)] == [
        utc(2026, 3, 27, 8),
        utc(2026, 3, 28, 8),
        utc(2026, 3, 29, 7),  # 09:00 CEST: the shift over the short night lasted 23 hours
        utc(2026, 3, 30, 7),
    ]


def test_half_past_seven_utc_on_the_change_day_is_already_the_next_shift():
    # Counting 24-hour days would still say shift 1 here, an hour after the real handover.
    assert shift_at(utc(2026, 3, 29, 6, 59), **DAILY_AT_NINE) == 1
    assert shift_at(utc(2026, 3, 29, 7, 30), **DAILY_AT_NINE) == 2


def test_a_weekly_rotation_keeps_its_monday_nine_oclock_across_the_autumn_change():
    weekly = {"start": utc(2026, 10, 19, 7, 0), "length": 1, "interval": "week", "zone": PRAGUE}

    assert handover(1, **weekly) == utc(2026, 10, 26, 8, 0)  # 09:00 CET
    assert shift_at(utc(2026, 10, 26, 7, 30), **weekly) == 0  # 08:30 local: still the first week
    assert shift_at(utc(2026, 10, 26, 8, 0), **weekly) == 1


def test_hourly_shifts_are_elapsed_time_whatever_the_clock_does():
    eight_hours = {"start": utc(2026, 3, 28, 22, 0), "length": 8, "interval": "hour", "zone": PRAGUE}

    assert [handover(k, **eight_hours) for k in range(3)] == [
        utc(2026, 3, 28, 22),
        utc(2026, 3, 29, 6),
        utc(2026, 3, 29, 14),
    ]
    assert shift_at(utc(2026, 3, 29, 5, 59), **eight_hours) == 0


def test_a_handover_time_the_clock_skips_happens_in_the_old_offset():
    at_half_past_two = {"start": utc(2026, 3, 28, 1, 30), "length": 1, "interval": "day", "zone": PRAGUE}

    # 02:30 does not exist on 29 March: the handover is at 03:30 CEST (01:30Z), then 02:30 CEST again.
    assert handover(1, **at_half_past_two) == utc(2026, 3, 29, 1, 30)
    assert handover(2, **at_half_past_two) == utc(2026, 3, 30, 0, 30)


def test_a_handover_time_the_clock_repeats_is_its_first_occurrence():
    at_half_past_two = {"start": utc(2026, 10, 24, 0, 30), "length": 1, "interval": "day", "zone": PRAGUE}

    assert handover(1, **at_half_past_two) == utc(2026, 10, 25, 0, 30)  # 02:30 CEST, not 02:30 CET


def test_before_the_rotation_starts_no_shift_covers_the_moment():
    assert shift_at(utc(2026, 3, 27, 7, 59), **DAILY_AT_NINE) is None


def test_multi_day_shifts_count_whole_shifts():
    three_days = {**DAILY_AT_NINE, "length": 3}

    assert shift_at(utc(2026, 3, 30, 6, 59), **three_days) == 0
    assert shift_at(utc(2026, 3, 30, 7, 0), **three_days) == 1


def test_the_handovers_in_a_window_are_listed_in_order():
    found = handovers_between(utc(2026, 3, 28, 0), utc(2026, 3, 31, 0), **DAILY_AT_NINE)

    assert found == [utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)]


def test_a_window_before_the_start_includes_the_start_as_a_handover():
    found = handovers_between(utc(2026, 3, 26, 0), utc(2026, 3, 28, 12), **DAILY_AT_NINE)

    assert found == [utc(2026, 3, 27, 8), utc(2026, 3, 28, 8)]


def test_shift_at_and_handover_agree_every_seven_hours_of_a_year_in_prague():
    # Every instant lies in the shift whose handover is the last one at or before it.
    for interval, length in (("day", 1), ("day", 2), ("week", 1)):
        rotation = {"start": utc(2026, 1, 5, 8, 0), "length": length, "interval": interval, "zone": PRAGUE}
        moment = rotation["start"]
        while moment < utc(2027, 1, 5, 8, 0):
            k = shift_at(moment, **rotation)
            assert handover(k, **rotation) <= moment < handover(k + 1, **rotation), (interval, moment)
            moment += timedelta(hours=7)
