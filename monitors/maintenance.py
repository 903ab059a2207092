"""Weekly maintenance windows: no checks and no alerts while one is open.

A window is Better Stack's: ``maintenance_days`` ("mon".."sun"), ``maintenance_from`` and
``maintenance_to`` (wall-clock times) read in ``maintenance_timezone`` (IANA). A window
whose ``to`` is earlier than its ``from`` crosses midnight: it starts on a listed day and
ends the next morning, so "sun" 22:00–02:00 covers Sunday night into Monday. No days, a
missing time, or from == to means no window (the same reading as heartbeats.maintenance).

Wall-clock times are compared in the local zone, so a window keeps its local hours across
DST changes. An unknown zone never silences alerts: it reads as no window.
"""

import logging
from datetime import timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

logger = logging.getLogger(__name__)

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache(maxsize=512)
def _zone(name):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return None


def in_window(*, days, starts, ends, timezone, now):
    """True when the aware datetime ``now`` falls inside the weekly window."""
    if not days or starts is None or ends is None or starts == ends:
        return False
    zone = _zone(timezone)
    if zone is None:
        logger.warning("unknown maintenance timezone %r: treated as no window", timezone)
        return False
    local = now.astimezone(zone)
    today, clock = local.date(), local.time().replace(tzinfo=None)
    listed = {day.lower() for day in days}
    if starts < ends:
        return DAY_NAMES[today.weekday()] in listed and starts <= clock < ends
    # Crosses midnight: the evening belongs to today, the small hours to yesterday's window.
    if DAY_NAMES[today.weekday()] in listed and clock >= starts:
        return True
    yesterday = today - timedelta(days=1)
    return DAY_NAMES[yesterday.weekday()] in listed and clock < ends


def is_in_maintenance(source, *, now):
    """``in_window`` for any row with the four maintenance_* attributes (monitor, heartbeat)."""
    return in_window(
        days=source.maintenance_days,
        starts=source.maintenance_from,
        ends=source.maintenance_to,
        timezone=source.maintenance_timezone,
        now=now,
    )
