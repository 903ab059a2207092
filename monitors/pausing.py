"""How a monitor is paused, resumed and scheduled (the rule itself is alerts.pausing)."""

from datetime import datetime
from typing import Any

from alerts.pausing import SourcePausing
from monitors.models import Monitor, MonitorGroup, MonitorStatus
from monitors.withdrawal import withdraw_monitors


def _resumed(now: datetime) -> dict[str, Any]:
    # Pending: the first round after a pause decides the state, as for a new monitor.
    # next_check_at NULL: the tick's schedule_newcomers phases it, unless ``_schedule``
    # (a single monitor resumed) gives it its first check at once.
    return {"status": MonitorStatus.PENDING, "failing_since": None, "passing_since": None, "next_check_at": None}


def _schedule(monitor: Monitor, now: datetime) -> dict[str, Any]:
    """A random phase within one period (the scheduler's rule), so that monitors created
    or resumed together (a script, an import) do not all fire in the same tick."""
    from monitors.scheduler import first_check_at

    return {"next_check_at": first_check_at(monitor.check_frequency, now=now)}


def _paused(ids: list[int], now: datetime) -> None:
    # Their checks already queued in the regions are not started (monitors.withdrawal).
    withdraw_monitors(ids, now=now, paused=True)


MONITOR_PAUSING = SourcePausing(
    model=Monitor,
    group_model=MonitorGroup,
    group_field="monitor_group",
    resumed_fields=_resumed,
    after_pause=_paused,
    schedule=_schedule,
    schedule_fields=("check_frequency",),
)
