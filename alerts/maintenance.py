"""Weekly maintenance windows: no checks (monitors) and no incidents (monitors, heartbeats)
while one is open. One reading of a window for every source, so a monitor and a heartbeat
with the same window are silent at the same moments.

A window is Better Stack's: ``maintenance_days`` ("mon".."sun"), ``maintenance_from`` and
``maintenance_to`` (wall-clock times) read in ``maintenance_timezone`` (IANA). A window
whose ``to`` is earlier than its ``from`` crosses midnight: it starts on a listed day and
ends the next morning, so "sun" 22:00–02:00 covers Sunday night into Monday. No days, a
missing time, or from == to means no window.

Wall-clock times are compared in the local zone, so a window keeps its local hours across
DST changes. An unknown zone never silences alerts: it reads as no window.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from config.zones import zone_or_none

logger = logging.getLogger(__name__)

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class MaintenanceWindow:
    days: tuple
    starts: time | None
    ends: time | None
    timezone: str = "UTC"

    @classmethod
    def of(cls, source):
        """The window of any row with the four maintenance_* attributes."""
        return cls(
            days=tuple(day.lower() for day in source.maintenance_days or ()),
            starts=source.maintenance_from,
            ends=source.maintenance_to,
            timezone=source.maintenance_timezone or "UTC",
        )

    @property
    def is_configured(self):
        return bool(self.days) and self.starts is not None and self.ends is not None and self.starts != self.ends

    def end_of_window_around(self, now):
        """The instant the window containing ``now`` closes, or None outside a window."""
        if not self.is_configured:
            return None
        zone = zone_or_none(self.timezone)
        if zone is None:
            logger.warning("unknown maintenance timezone %r: treated as no window", self.timezone)
            return None
        local = now.astimezone(zone)
        today, clock = local.date(), local.time().replace(tzinfo=None)
        if self.starts < self.ends:
            if _day_name(today) in self.days and self.starts <= clock < self.ends:
                return _at(today, self.ends, zone, now)
            return None
        # Crosses midnight: the evening part belongs to today, the small hours to yesterday's window.
        if _day_name(today) in self.days and clock >= self.starts:
            return _at(today + timedelta(days=1), self.ends, zone, now)
        if _day_name(today - timedelta(days=1)) in self.days and clock < self.ends:
            return _at(today, self.ends, zone, now)
        return None

    def contains(self, now):
        return self.end_of_window_around(now) is not None


def in_window(*, days, starts, ends, timezone, now):
    """True when the aware datetime ``now`` falls inside the weekly window."""
    return MaintenanceWindow(tuple(d.lower() for d in days or ()), starts, ends, timezone or "UTC").contains(now)


def is_in_maintenance(source, *, now):
    # Most sources have no window: answer without building one (the tick asks per monitor).
    if not source.maintenance_days:
        return False
    return MaintenanceWindow.of(source).contains(now)


def _day_name(day):
    return DAY_NAMES[day.weekday()]


def _at(day, clock, zone, now):
    return datetime.combine(day, clock, tzinfo=zone).astimezone(now.tzinfo)
