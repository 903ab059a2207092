"""Recording a ping: the hottest path in Pharos, and the one statement of its rules.

``plan_transition`` is the heartbeat's state machine: what one ping does to a heartbeat.
It is the only statement of those rules. ``_record_ping_locked`` applies it under the
row lock through the ORM (the portable path, SQLite's, and the reference the fast paths
are tested against in tests/heartbeats/test_differential.py).

``receive(token, ping, now=, group_commit=)`` is the door heartbeats.views uses. On
PostgreSQL its cost is constant whatever the heartbeat's history (every statement is in
heartbeats.ping_sql):

1. read the heartbeat by its (unique, indexed) token and, in the same statement, record
   the commonest pings — a success or /start of an up heartbeat on a fixed period. Most
   pings end here: one round trip;
2. otherwise decide the transition in Python (``plan_transition``: cron schedules and
   maintenance windows cannot be evaluated in SQL);
3. claim it and store the ping in one statement — an ``UPDATE … WHERE status = <what we
   read> AND last_start_at = <what we read>`` inside a CTE that feeds the ``INSERT`` of
   the ping. The row lock lasts only for that statement, so fifty pings to one heartbeat
   queue for a statement each, not for a request each.

If the claim matches no row, another ping, the sweeper or an API edit changed the
heartbeat between steps 1 and 3: we read again and re-plan (the ping is never dropped).
After a few lost races, or on SQLite (the quick start, where the IMMEDIATE transaction
mode serialises writers anyway), we take the plain path: one transaction that reads the
row FOR UPDATE, writes it and inserts the ping.

Incidents are opened or resolved only when the status changes, in the same transaction
as the claim, so a failure and its incident commit together.

Group commit. Behind gunicorn (the ping route of heartbeats.views) a success is first
handed to the worker process's writer thread (``ping_sql.PingBatcher``), which records
everything queued meanwhile with one statement and one commit and hands back whatever
that statement could not take. On the 2-core reference machine this took
PostgreSQL's share of a ping from ≈ 0.7 ms to ≈ 0.27 ms of CPU and pings spread over
10,000 heartbeats from ≈ 1,260/s to ≈ 1,900/s (bench/ping_ingest.py).
"""

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import InterfaceError, OperationalError, connection, transaction

from alerts.alertable import ALERTING_FIELDS, MAINTENANCE_FIELDS, alertable_values
from alerts.incidents import Alerting, IncidentFacts, open_incident, resolve_open_incident
from alerts.maintenance import MaintenanceWindow
from heartbeats import ping_sql
from heartbeats.models import Heartbeat, HeartbeatStatus, Ping, PingKind
from heartbeats.ping_sql import STATE_FIELDS
from heartbeats.schedule import InvalidSchedule, Schedule, deadline_after

log = logging.getLogger(__name__)

OPTIMISTIC_ATTEMPTS = 4
RESOLVED_BY = "heartbeat ping"

UP, DOWN = str(HeartbeatStatus.UP), str(HeartbeatStatus.DOWN)


@dataclass(frozen=True)
class PingData:
    """What arrived: the request's facts, already cut to the body limit."""

    kind: str
    exit_code: int | None = None
    method: str = "GET"
    remote_addr: str | None = None
    user_agent: str = ""
    body: str = ""
    body_truncated: bool = False


@dataclass(frozen=True)
class HeartbeatState:
    """The heartbeat as the hot path read it (columns: heartbeats.ping_sql.STATE_FIELDS)."""

    id: int
    team_id: int
    name: str
    status: str
    paused_at: datetime | None
    last_ping_at: datetime | None
    last_start_at: datetime | None
    updated_at: datetime
    period: int
    grace: int
    cron: str
    timezone: str
    maintenance: MaintenanceWindow
    alerting: Alerting

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> "HeartbeatState":
        values = dict(zip(STATE_FIELDS, row, strict=True))
        if isinstance(values["maintenance_days"], str):
            # Raw SQL hands jsonb over as text (Django leaves JSON decoding to the field).
            values["maintenance_days"] = json.loads(values["maintenance_days"])
        maintenance, alerting = alertable_values(values)
        own = {name: values[name] for name in STATE_FIELDS if name not in (*MAINTENANCE_FIELDS, *ALERTING_FIELDS)}
        return cls(**own, maintenance=maintenance, alerting=alerting)

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None or self.status == HeartbeatStatus.PAUSED


@dataclass(frozen=True)
class Transition:
    """The heartbeat's next state after one ping, and what that means for its incident."""

    status: str
    last_start_at: datetime | None
    alert_after: datetime | None
    duration: float | None
    opens_incident_because: str | None = None
    resolves_incident: bool = False
    records_only: bool = False

    @property
    def touches_incidents(self) -> bool:
        return bool(self.opens_incident_because or self.resolves_incident)


def plan_transition(state: HeartbeatState, ping: PingData, *, now: datetime) -> Transition:
    """The pure state machine of a heartbeat receiving ``ping`` at ``now``.

    * paused: the ping is recorded, nothing else changes;
    * success: up; the next deadline counts from now; a down heartbeat's incident resolves;
    * failure: down at once with an incident — except inside a maintenance window, where it
      counts as a check-in that pages nobody;
    * start: the run is timed from now and must finish by ``deadline_after(now)``; a
      pending heartbeat is up from its first ping of any kind.
    """
    if state.is_paused:
        return Transition(
            status=state.status, last_start_at=state.last_start_at, alert_after=None, duration=None, records_only=True
        )
    was_down = state.status == DOWN
    duration = None
    if ping.kind != PingKind.START and state.last_start_at is not None:
        duration = max((now - state.last_start_at).total_seconds(), 0.0)

    if ping.kind == PingKind.START:
        if was_down:
            return Transition(status=DOWN, last_start_at=now, alert_after=None, duration=None)
        return Transition(status=UP, last_start_at=now, alert_after=_deadline(state, now), duration=None)

    if ping.kind == PingKind.FAIL:
        if state.maintenance.contains(now):
            if was_down:
                return Transition(status=DOWN, last_start_at=None, alert_after=None, duration=duration)
            return Transition(status=UP, last_start_at=None, alert_after=_deadline(state, now), duration=duration)
        return Transition(
            status=DOWN,
            last_start_at=None,
            alert_after=None,
            duration=duration,
            opens_incident_because=None if was_down else failure_cause(ping),
        )

    # Not only from down: a heartbeat paused while down comes back pending with its
    # incident still open, and its first success must resolve it. A pending heartbeat
    # that never pinged cannot have one, so its first ping skips the look.
    return Transition(
        status=UP,
        last_start_at=None,
        alert_after=_deadline(state, now),
        duration=duration,
        resolves_incident=was_down or (state.status != UP and state.last_ping_at is not None),
    )


def failure_cause(ping: PingData) -> str:
    if ping.exit_code is not None:
        return f"Job failed with exit code {ping.exit_code}"
    return "Job reported failure"


def _deadline(state: HeartbeatState, now: datetime) -> datetime:
    try:
        return deadline_after(Schedule.of(state), now)
    except InvalidSchedule:
        # A schedule that no longer parses (a time zone removed from the system, say) must
        # not lose the ping: fall back to the fixed period and say so.
        log.error(
            "heartbeat %s has an invalid schedule (cron=%r, timezone=%r); using its period",
            state.id,
            state.cron,
            state.timezone,
            extra={"heartbeat": state.id, "team": state.team_id},
        )
        return deadline_after(Schedule(period=state.period, grace=state.grace), now)


def receive(token: str, ping: PingData, *, now: datetime, group_commit: bool = False) -> bool:
    """Store ``ping`` for the heartbeat with ``token``; False when no heartbeat has that token.

    With ``group_commit`` (the ping route behind gunicorn) a success is first offered to
    the process's writer thread (``ping_sql.batcher``); what it does not take is recorded here.

    A connection the database dropped while it sat idle (a restart) is found by the first
    statement rather than by a health check before it: CONN_HEALTH_CHECKS would spend a
    ``SELECT 1`` on each request that reuses a connection, one query in two on a ping, and
    the ping route leaves it unarmed (heartbeats.views). So when that first attempt fails
    on a connection in autocommit, we close it and record the ping once more on a new one.
    A connection that breaks after the commit but before the answer could store that ping
    twice; a duplicate is harmless where a lost ping is not.
    """
    if group_commit and ping.kind == PingKind.SUCCESS and connection.vendor == "postgresql":
        if ping_sql.batcher.record(token, ping, now=now):
            return True
    # Inside a caller's transaction (a test's) a broken connection cannot be replaced.
    may_retry = transaction.get_autocommit()
    try:
        return record_ping(token, ping, now=now) is not None
    except (InterfaceError, OperationalError) as error:
        if not may_retry:
            raise
        log.info("the database connection broke (%s); recording the ping on a new one", type(error).__name__)
        connection.close()
        return record_ping(token, ping, now=now) is not None


def record_ping(token: str, ping: PingData, *, now: datetime) -> int | None:
    """Store ``ping`` for the heartbeat with ``token``; return the Ping id, or None if unknown."""
    if connection.vendor != "postgresql":
        return _record_ping_locked(token, ping, now=now)
    row, ping_id = ping_sql.read_and_record_common_case(token, ping, now=now)
    if ping_id is not None:
        return ping_id
    for _ in range(OPTIMISTIC_ATTEMPTS):
        if row is None:
            return None
        state = HeartbeatState.from_row(row)
        transition = plan_transition(state, ping, now=now)
        if transition.touches_incidents:
            with transaction.atomic():
                ping_id = ping_sql.claim_and_insert(state, transition, ping, now=now)
                if ping_id is not None:
                    _apply_incident_work(state, transition, ping, ping_id, now=now)
        else:
            ping_id = ping_sql.claim_and_insert(state, transition, ping, now=now)
        if ping_id is not None:
            return ping_id
        row = ping_sql.read_state(token)
    return _record_ping_locked(token, ping, now=now)


def _record_ping_locked(token: str, ping: PingData, *, now: datetime) -> int | None:
    """The portable path: read, decide and write under the row lock, in one transaction."""
    with transaction.atomic():
        row = Heartbeat.objects.select_for_update().filter(token=token).values_list(*STATE_FIELDS).first()
        if row is None:
            return None
        state = HeartbeatState.from_row(row)
        transition = plan_transition(state, ping, now=now)
        if not transition.records_only:
            Heartbeat.objects.filter(pk=state.id).update(
                status=transition.status,
                last_ping_at=max(filter(None, (state.last_ping_at, now))),
                last_start_at=transition.last_start_at,
                alert_after=transition.alert_after,
            )
        saved = Ping.objects.create(
            heartbeat_id=state.id,
            created_at=now,
            kind=ping.kind,
            exit_code=ping.exit_code,
            method=ping.method[:8],
            remote_addr=ping.remote_addr,
            user_agent=ping.user_agent[:300],
            body=ping.body,
            body_truncated=ping.body_truncated,
            duration=transition.duration,
        )
        saved_id: int = saved.pk
        _apply_incident_work(state, transition, ping, saved_id, now=now)
    return saved_id


def _apply_incident_work(
    state: HeartbeatState, transition: Transition, ping: PingData, ping_id: int, *, now: datetime
) -> None:
    if transition.opens_incident_because:
        open_incident(
            team_id=state.team_id,
            source_type="heartbeat",
            source_id=state.id,
            facts=IncidentFacts(
                cause=transition.opens_incident_because,
                name=state.name,
                # The first 500 characters show in the incident; the whole stored body
                # (up to PHAROS_PING_BODY_LIMIT) travels in metadata for the responder.
                response_content=ping.body,
                metadata={
                    "ping_id": ping_id,
                    "exit_code": ping.exit_code,
                    "ping_body": ping.body,
                    "ping_body_truncated": ping.body_truncated,
                    "run_duration": transition.duration,
                },
            ),
            alerting=state.alerting,
            now=now,
        )
    elif transition.resolves_incident:
        resolve_open_incident(source_type="heartbeat", source_id=state.id, by=RESOLVED_BY, now=now)
