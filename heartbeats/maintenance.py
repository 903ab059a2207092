"""Weekly maintenance windows of a heartbeat: no incidents while one is open.

The window is Better Stack's: ``maintenance_days`` (a list of "mon".."sun"),
``maintenance_from`` and ``maintenance_to`` (local times) read in
``maintenance_timezone``. A window whose ``to`` is earlier than its ``from`` crosses
midnight: it starts on a listed day and ends the next morning (so "sun" 22:00–02:00 covers
Sunday night into Monday). No days, a missing time, or from == to means no window.

monitors/maintenance.py reads windows the same way; heartbeats may not import monitors
(DESIGN.md's arrows), so the two live side by side until they move to one shared module.
This one also says when the window closes, which the sweep needs to postpone a deadline.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from heartbeats.schedule import InvalidSchedule, zone_named

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class MaintenanceWindow:
    days: tuple
    starts: time | None
    ends: time | None
    timezone: str = "UTC"

    @classmethod
    def of(cls, source):
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
        """The instant (UTC) the window containing ``now`` closes, or None outside a window."""
        if not self.is_configured:
            return None
        try:
            zone = zone_named(self.timezone)
        except InvalidSchedule:
            # A bad zone must not silence alerts: treat it as no window at all.
            return None
        local = now.astimezone(zone)
        today, clock = local.date(), local.time().replace(tzinfo=None)
        if self.starts < self.ends:
            if _day_name(today) in self.days and self.starts <= clock < self.ends:
                return _at(today, self.ends, zone, now)
            return None
        # Crosses midnight: the evening part belongs to today, the morning part to yesterday.
        if _day_name(today) in self.days and clock >= self.starts:
            return _at(today + timedelta(days=1), self.ends, zone, now)
        if _day_name(today - timedelta(days=1)) in self.days and clock < self.ends:
            return _at(today, self.ends, zone, now)
        return None

    def contains(self, now):
        return self.end_of_window_around(now) is not None


def _day_name(day):
    return DAY_NAMES[day.weekday()]


def _at(day, clock, zone, now):
    return datetime.combine(day, clock, tzinfo=zone).astimezone(now.tzinfo)


def validate_days(days):
    """Raise ValueError naming the first entry that is not one of "mon".."sun"."""
    for day in days:
        if day not in DAY_NAMES:
            raise ValueError(f"{day!r} is not one of {', '.join(DAY_NAMES)}")
    return list(days)


def shown_status(heartbeat, *, now):
    """The status to show (API, admin): paused and maintenance win over the stored status.

    The stored status stays up/down/pending through a window, so the sweep's index and the
    incident logic never have to undo a "maintenance" status when the window closes.
    """
    if heartbeat.paused_at is not None:
        return "paused"
    if MaintenanceWindow.of(heartbeat).contains(now):
        return "maintenance"
    return heartbeat.status
