"""The overdue sweep: heartbeats whose ping did not come in time go down, one incident each.

Run by the beat tick ``heartbeats.sweep`` every 2 s:

1. read the overdue heartbeats through the partial index ``heartbeat_overdue``
   (``status = 'up' AND paused_at IS NULL``, ordered by ``alert_after``) — down, paused
   and pending rows are not even in the index;
2. inside a maintenance window, postpone the deadline to the window's end instead of
   paging: if the job still has not pinged by then, it goes down then;
3. otherwise claim the flip with ``UPDATE … SET status = 'down' WHERE status = 'up' AND
   alert_after = <what we read>`` and open the incident in the same transaction. Two
   sweepers (or a sweeper and a ping) racing on one heartbeat: PostgreSQL makes the second
   UPDATE wait for the first and then re-check its WHERE, so exactly one of them claims
   the row; the other sees zero rows and moves on. The partial unique index on open
   incidents is the second guard.

One bad row never stops the sweep: its deadline is pushed forward with a logged error.
"""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from alerts.alertable import ALERTING_FIELDS, MAINTENANCE_FIELDS, alertable_values
from alerts.incidents import Alerting, IncidentFacts, open_incident
from alerts.maintenance import MaintenanceWindow
from heartbeats.models import Heartbeat, HeartbeatStatus

log = logging.getLogger(__name__)

BATCH_SIZE = 500
TIME_BUDGET = 1.5  # seconds per tick; the next tick (2 s later) picks up the rest
BAD_ROW_BACKOFF = timedelta(minutes=1)

MISSED = "Missed heartbeat"
UNFINISHED = "Run did not finish"

_OWN_FIELDS = ("id", "team_id", "name", "alert_after", "last_ping_at", "last_start_at")
_FIELDS = (*_OWN_FIELDS, *MAINTENANCE_FIELDS, *ALERTING_FIELDS)


@dataclass
class SweepReport:
    went_down: int = 0
    postponed: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Overdue:
    id: int
    team_id: int
    name: str
    alert_after: datetime
    last_ping_at: datetime | None
    last_start_at: datetime | None
    maintenance: MaintenanceWindow
    alerting: Alerting

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> "Overdue":
        values = dict(zip(_FIELDS, row, strict=True))
        maintenance, alerting = alertable_values(values)
        return cls(**{name: values[name] for name in _OWN_FIELDS}, maintenance=maintenance, alerting=alerting)


def overdue_heartbeats(*, now, limit=BATCH_SIZE):
    rows = (
        Heartbeat.objects.filter(status=HeartbeatStatus.UP, paused_at__isnull=True, alert_after__lte=now)
        .order_by("alert_after")
        .values_list(*_FIELDS)[:limit]
    )
    return [Overdue.from_row(row) for row in rows]


def sweep(*, now, batch_size=BATCH_SIZE, time_budget=TIME_BUDGET):
    """Handle every heartbeat overdue at ``now`` (within the time budget); return counts."""
    report = SweepReport()
    started = time.monotonic()
    while True:
        batch = overdue_heartbeats(now=now, limit=batch_size)
        for heartbeat in batch:
            try:
                handle_overdue(heartbeat, now=now, report=report)
            except Exception:
                report.failed += 1
                log.exception(
                    "sweeping heartbeat %s failed; retrying it in %s",
                    heartbeat.id,
                    BAD_ROW_BACKOFF,
                    extra={"heartbeat": heartbeat.id, "team": heartbeat.team_id},
                )
                _postpone(heartbeat, until=now + BAD_ROW_BACKOFF)
        if len(batch) < batch_size or time.monotonic() - started > time_budget:
            return report


def handle_overdue(heartbeat, *, now, report):
    window_closes = heartbeat.maintenance.end_of_window_around(now)
    if window_closes is not None:
        if _postpone(heartbeat, until=window_closes):
            report.postponed += 1
        return
    with transaction.atomic():
        # The claim (see the module docstring): zero rows means someone else moved it.
        claimed = Heartbeat.objects.filter(
            pk=heartbeat.id, status=HeartbeatStatus.UP, paused_at__isnull=True, alert_after=heartbeat.alert_after
        ).update(status=HeartbeatStatus.DOWN, alert_after=None)
        if not claimed:
            return
        facts = facts_for(heartbeat)
        incident = open_incident(
            team_id=heartbeat.team_id,
            source_type="heartbeat",
            source_id=heartbeat.id,
            facts=facts,
            alerting=heartbeat.alerting,
            now=now,
        )
    report.went_down += 1
    context = {"heartbeat": heartbeat.id, "team": heartbeat.team_id}
    if incident is None:
        log.info("heartbeat %s down (%s): an incident is already open", heartbeat.id, facts.cause, extra=context)
    else:
        log.info(
            "heartbeat %s down: incident %s opened (%s)",
            heartbeat.id,
            incident.pk,
            facts.cause,
            extra={**context, "incident": incident.pk},
        )


def facts_for(heartbeat):
    expected_by = _iso(heartbeat.alert_after)
    if heartbeat.last_start_at is not None:
        cause = UNFINISHED
        summary = f"The run started at {_iso(heartbeat.last_start_at)} had not finished by {expected_by}."
    else:
        cause = MISSED
        summary = f"The last ping came at {_iso(heartbeat.last_ping_at)}; the next was expected by {expected_by}."
    return IncidentFacts(
        cause=cause,
        name=heartbeat.name,
        summary=summary,
        metadata={
            "last_ping_at": _iso(heartbeat.last_ping_at),
            "run_started_at": _iso(heartbeat.last_start_at),
            "expected_by": expected_by,
        },
    )


def _postpone(heartbeat, *, until):
    # Conditional on the deadline we read: a ping that moved it meanwhile wins.
    return bool(
        Heartbeat.objects.filter(pk=heartbeat.id, status=HeartbeatStatus.UP, alert_after=heartbeat.alert_after).update(
            alert_after=until
        )
    )


def _iso(moment):
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
