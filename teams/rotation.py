"""Rotation arithmetic: which shift covers an instant, and when shifts hand over.

Pure functions of the rotation's settings, no database. Shift ``k`` (from 0) starts at the
``k``-th handover after ``start``; shifts never end before the rotation ends.

* ``hour`` shifts are elapsed time: an 8-hour shift lasts 8 real hours, DST or not.
* ``day`` and ``week`` shifts hand over at the same wall-clock time in the calendar's
  zone, so the shift that spans a spring-forward night lasts 23 hours (a day) and the one
  spanning the autumn night 25. A wall-clock time the zone skips that day is read in the
  offset before the jump (02:30 on a 02:00→03:00 night hands over at 03:30); one that
  happens twice is its first occurrence.
"""

from datetime import UTC, datetime, timedelta, tzinfo

HOUR, DAY, WEEK = "hour", "day", "week"
DAYS_PER = {DAY: 1, WEEK: 7}


def _local_wall(moment: datetime, zone: tzinfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def handover(k: int, *, start: datetime, length: int, interval: str, zone: tzinfo) -> datetime:
    """When shift ``k`` begins (UTC)."""
    if k == 0:
        return start
    if interval == HOUR:
        return start + timedelta(hours=length * k)
    wall = _local_wall(start, zone) + timedelta(days=DAYS_PER[interval] * length * k)
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def shift_at(at: datetime, *, start: datetime, length: int, interval: str, zone: tzinfo) -> int | None:
    """The number of the shift covering ``at``, or None before the rotation starts."""
    if at < start:
        return None
    if interval == HOUR:
        return int((at - start) // timedelta(hours=length))
    span = DAYS_PER[interval] * length
    # Counting on local walls is right to within one shift; the instants settle the rest.
    guess = (_local_wall(at, zone) - _local_wall(start, zone)) // timedelta(days=span)
    k = max(0, guess)
    while k > 0 and handover(k, start=start, length=length, interval=interval, zone=zone) > at:
        k -= 1
    while handover(k + 1, start=start, length=length, interval=interval, zone=zone) <= at:
        k += 1
    return k


def handovers_between(
    begin: datetime, end: datetime, *, start: datetime, length: int, interval: str, zone: tzinfo, limit: int = 10_000
) -> list[datetime]:
    """Every handover in ``[begin, end)``, at most ``limit`` of them."""
    first = shift_at(begin, start=start, length=length, interval=interval, zone=zone)
    k = 0 if first is None else first + 1
    found = []
    if first is None and begin <= start < end:
        found.append(start)
        k = 1
    while len(found) < limit:
        moment = handover(k, start=start, length=length, interval=interval, zone=zone)
        if moment >= end:
            break
        if moment >= begin:
            found.append(moment)
        k += 1
    return found
