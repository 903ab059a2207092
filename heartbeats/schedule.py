"""When a heartbeat's next ping is due, and when it goes down without one.

A heartbeat either expects a ping every ``period`` seconds, or — a Pharos addition — on a
calendar given as a cron expression read in the heartbeat's IANA ``timezone``. Cron times
are local wall-clock times: a job due at 02:00 in Europe/Berlin is due at 01:00 UTC in
winter and at 00:00 UTC in summer, and on the night the clocks jump over 02:00 it is due
at the first minute that exists (03:00). cronsim implements exactly these rules, so we
evaluate the expression on timezone-aware local datetimes and convert back to UTC.

``deadline_after(schedule, moment)`` is the one formula behind ``alert_after``:

* after a success (or a failure reported inside a maintenance window), the run after it
  must check in by ``next_due(moment) + grace``;
* after ``/start``, the started run must finish by the same instant, measured from the
  start — for a fixed period that is ``start + period + grace``, for a cron schedule the
  next scheduled run plus grace.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from cronsim import CronSim, CronSimError

from config.zones import zone_or_none

UTC = UTC


class InvalidSchedule(ValueError):
    """A cron expression or time zone that cannot be evaluated; the message says why."""


@dataclass(frozen=True)
class Schedule:
    period: int
    grace: int
    cron: str = ""
    timezone: str = "UTC"

    @classmethod
    def of(cls, heartbeat: Any) -> "Schedule":
        """From anything with the four schedule attributes: a Heartbeat, a row the ping path read."""
        return cls(
            period=heartbeat.period,
            grace=heartbeat.grace,
            cron=heartbeat.cron or "",
            timezone=heartbeat.timezone or "UTC",
        )


def next_due(schedule: Schedule, moment: datetime) -> datetime:
    """The first instant strictly after ``moment`` at which the next ping is expected (UTC)."""
    if not schedule.cron:
        return moment + timedelta(seconds=schedule.period)
    zone = zone_named(schedule.timezone)
    # cronsim's start is exclusive: a ping that arrives exactly on the minute expects the
    # *next* run, not itself.
    try:
        return next(CronSim(schedule.cron, moment.astimezone(zone))).astimezone(UTC)
    except (CronSimError, StopIteration) as error:
        # A stored expression that stopped evaluating (a cronsim upgrade, say) is the
        # caller's fallback to the fixed period, never a lost ping.
        raise InvalidSchedule(f"Invalid cron expression: {error or schedule.cron}") from None


def deadline_after(schedule: Schedule, moment: datetime) -> datetime:
    """When the heartbeat goes down if nothing more arrives after ``moment``."""
    return next_due(schedule, moment) + timedelta(seconds=schedule.grace)


def validate_cron(expression: str | None) -> str:
    """Raise InvalidSchedule unless ``expression`` is a cron expression we can evaluate."""
    expression = (expression or "").strip()
    if not expression:
        raise InvalidSchedule("Cron expression is empty.")
    try:
        next(CronSim(expression, datetime(2000, 1, 1, tzinfo=UTC)))
    except (CronSimError, StopIteration) as error:
        raise InvalidSchedule(f"Invalid cron expression: {error or expression}") from None
    return expression


def validate_timezone(name: str) -> str:
    """Raise InvalidSchedule unless ``name`` is an IANA time zone known to this system."""
    zone_named(name)
    return name


def zone_named(name: str) -> tzinfo:
    zone: tzinfo | None = zone_or_none(name)
    if zone is None:
        raise InvalidSchedule(f"Unknown time zone {name!r}.")
    return zone


def current_alert_after(heartbeat: Any) -> datetime | None:
    """The deadline an up heartbeat has under its (possibly just edited) schedule.

    Counted from the running job's ``/start`` if there is one, else from the last ping —
    the same rule the ping endpoint applies. None when it has never pinged.
    """
    since = heartbeat.last_start_at or heartbeat.last_ping_at
    if since is None:
        return None
    return deadline_after(Schedule.of(heartbeat), since)
