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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol

from config.zones import zone_or_none

logger = logging.getLogger(__name__)

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WindowedSource(Protocol):
    """A row with the four maintenance_* attributes: a model, or a row of a hot path."""

    @property
    def maintenance_days(self) -> Sequence[str] | None: ...
    @property
    def maintenance_from(self) -> time | None: ...
    @property
    def maintenance_to(self) -> time | None: ...
    @property
    def maintenance_timezone(self) -> str | None: ...


@dataclass(frozen=True)
class MaintenanceWindow:
    days: tuple[str, ...]
    starts: time | None
    ends: time | None
    timezone: str = "UTC"

    @classmethod
    def of(cls, source: WindowedSource) -> "MaintenanceWindow":
        """The window of any row with the four maintenance_* attributes."""
        return cls(
            days=tuple(day.lower() for day in source.maintenance_days or ()),
            starts=source.maintenance_from,
            ends=source.maintenance_to,
            timezone=source.maintenance_timezone or "UTC",
        )

    def end_of_window_around(self, now: datetime) -> datetime | None:
        """The instant the window containing ``now`` closes, or None outside a window."""
        starts, ends = self.starts, self.ends
        if not self.days or starts is None or ends is None or starts == ends:
            return None
        zone = zone_or_none(self.timezone)
        if zone is None:
            logger.warning("unknown maintenance timezone %r: treated as no window", self.timezone)
            return None
        local = now.astimezone(zone)
        today, clock = local.date(), local.time().replace(tzinfo=None)
        if starts < ends:
            if _day_name(today) in self.days and starts <= clock < ends:
                return _at(today, ends, zone, now)
            return None
        # Crosses midnight: the evening part belongs to today, the small hours to yesterday's window.
        if _day_name(today) in self.days and clock >= starts:
            return _at(today + timedelta(days=1), ends, zone, now)
        if _day_name(today - timedelta(days=1)) in self.days and clock < ends:
            return _at(today, ends, zone, now)
        return None

    def contains(self, now: datetime) -> bool:
        return self.end_of_window_around(now) is not None


def in_window(
    *, days: Sequence[str] | None, starts: time | None, ends: time | None, timezone: str | None, now: datetime
) -> bool:
    """True when the aware datetime ``now`` falls inside the weekly window."""
    return MaintenanceWindow(tuple(d.lower() for d in days or ()), starts, ends, timezone or "UTC").contains(now)


def is_in_maintenance(source: WindowedSource, *, now: datetime) -> bool:
    # Most sources have no window: answer without building one (the tick asks per monitor).
    if not source.maintenance_days:
        return False
    return MaintenanceWindow.of(source).contains(now)


def _day_name(day: date) -> str:
    return DAY_NAMES[day.weekday()]


def _at(day: date, clock: time, zone: tzinfo, now: datetime) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone).astimezone(now.tzinfo)
