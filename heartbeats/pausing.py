"""How a heartbeat is paused, resumed and rescheduled (the rule itself is alerts.pausing)."""

from datetime import datetime
from typing import Any

from alerts.pausing import SourcePausing
from heartbeats.models import Heartbeat, HeartbeatGroup, HeartbeatStatus
from heartbeats.schedule import current_alert_after

SCHEDULE_FIELDS = ("period", "grace", "cron", "timezone")


def _resumed(now: datetime) -> dict[str, Any]:
    # Like a new heartbeat, it is pending until its next ping arrives: no deadline, and a
    # run started before the pause is not waited for.
    return {"status": HeartbeatStatus.PENDING, "alert_after": None, "last_start_at": None}


def _schedule(heartbeat: Heartbeat, now: datetime) -> dict[str, Any] | None:
    """An up heartbeat's deadline under its (just edited) schedule; a pending or down one
    has none to move."""
    if heartbeat.status != HeartbeatStatus.UP or heartbeat.alert_after is None:
        return None
    return {"alert_after": current_alert_after(heartbeat)}


def _schedule_claim(heartbeat: Heartbeat) -> dict[str, Any]:
    # The deadline was computed from these: a ping or sweep that moved any of them since
    # decided the deadline itself, with the row it read.
    return {
        "status": HeartbeatStatus.UP,
        "last_ping_at": heartbeat.last_ping_at,
        "last_start_at": heartbeat.last_start_at,
    }


HEARTBEAT_PAUSING = SourcePausing(
    model=Heartbeat,
    group_model=HeartbeatGroup,
    group_field="heartbeat_group",
    resumed_fields=_resumed,
    schedule=_schedule,
    schedule_claim=_schedule_claim,
    schedule_fields=SCHEDULE_FIELDS,
)
