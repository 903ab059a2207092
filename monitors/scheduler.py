"""The tick: claim due monitors, record their rounds, publish one batch per region.

Every ``PHAROS_TICK_SECONDS`` beat runs ``tick``. Its steps:

1. Give monitors that have never been scheduled a random phase within their frequency, so
   ten thousand monitors created at once do not all fire on the same second.
2. In a short transaction, claim a chunk of due monitors with
   ``SELECT … FOR UPDATE SKIP LOCKED`` (two ticks running at once take disjoint rows),
   write one ``Round`` per monitor and advance ``next_check_at`` past now; commit.
3. After the commit, publish the chunk's specs to ``probe.<region>``, at most
   ``PHAROS_BATCH_SIZE`` specs a message, each message with an expiry. A lost publish
   leaves a round that closes as inconclusive at its deadline; it never pages anyone.
4. Repeat until nothing is due or the time budget is spent (the next tick continues).

Schedules live in ``next_check_at``; nothing is ever sent with a countdown or ETA.
"""

import inspect
import json
import logging
import random
import time
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as time_of_day
from types import SimpleNamespace
from typing import NamedTuple, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet

from alerts.maintenance import is_in_maintenance
from config.broker import RUN_BATCH_TASK, probe_queue
from monitors.models import Monitor, MonitorRequestHeader, MonitorStatus, Round, regions_or_all
from monitors.specs import UnbuildableMonitor, build_spec
from monitors.types import check_timeout_seconds
from probes.spec import CheckSpec, batch_message

logger = logging.getLogger(__name__)

CLAIM_CHUNK = 1000
# Time a batch may wait in its queue before a region worker must not start it any more;
# the round's deadline allows for this wait, the check's own timeout and the trip back.
QUEUE_SLACK = timedelta(seconds=10)
RETURN_SLACK = timedelta(seconds=10)


@dataclass
class TickReport:
    claimed: int = 0
    dispatched: int = 0
    in_maintenance: int = 0
    skipped: int = 0
    messages: int = 0
    scheduled_newcomers: int = 0
    # (due, dispatched) per round, for the dispatch-lag benchmark.
    lags: list[tuple[datetime, datetime]] = field(default_factory=list)
    monitor_ids: list[int] = field(default_factory=list)


class DueMonitor(SimpleNamespace):
    """A claimed monitor row: what a spec (monitors.specs.SpecSource), a round and the
    maintenance check (alerts.maintenance.WindowedSource) read.

    The tick reads plain rows, not model instances (building 10,000 instances per tick
    cost more than the query), and a SimpleNamespace is built from a row over ten times
    faster than a dataclass of these fields. The annotations are the columns the tick selects.
    """

    id: int
    team_id: int
    url: str
    monitor_type: str
    expected_status_codes: list[int]
    required_keyword: str
    http_method: str
    request_body: str
    auth_username: str
    auth_password: str
    follow_redirects: bool
    max_redirects: int
    remember_cookies: bool
    verify_ssl: bool
    ip_version: str
    port: str
    check_frequency: int
    request_timeout: int
    regions: list[str]
    ssl_expiration: int | None
    maintenance_days: list[str]
    maintenance_from: time_of_day | None
    maintenance_to: time_of_day | None
    maintenance_timezone: str
    status: str
    next_check_at: datetime
    failing_since: datetime | None

    @property
    def pk(self) -> int:
        return self.id

    @property
    def effective_regions(self) -> list[str]:
        return regions_or_all(self.regions)


DUE_FIELDS = tuple(inspect.get_annotations(DueMonitor))


class PlannedRound(NamedTuple):
    monitor_id: int
    scheduled_at: datetime
    regions: list[str]
    dispatched_at: datetime
    deadline: datetime
    is_confirmation: bool


def first_check_at(frequency: float, *, now: datetime) -> datetime:
    """A random phase within the frequency: where a new (or resumed) monitor first fires."""
    return now + timedelta(seconds=random.uniform(0, frequency))


def round_times(due: datetime, frequency: int, *, now: datetime) -> tuple[datetime, datetime]:
    """``(scheduled_at, next_check_at)`` for a monitor due at ``due``.

    A monitor more than one period late (beat was down) runs one round for the latest
    missed slot instead of replaying every one, and keeps its phase.
    """
    period = timedelta(seconds=frequency)
    if due + period > now:
        return due, due + period
    missed = (now - due) // period
    scheduled = due + missed * period
    return scheduled, scheduled + period


def round_deadline(monitor: DueMonitor, *, dispatched_at: datetime) -> datetime:
    # The same bounded timeout the spec carries (monitors.specs): the deadline waits for
    # exactly the check the region runs.
    timeout = timedelta(
        seconds=check_timeout_seconds(monitor.monitor_type, monitor.request_timeout, monitor.check_frequency)
    )
    return dispatched_at + QUEUE_SLACK + timeout + RETURN_SLACK


def tick(
    *,
    now: datetime | None = None,
    chunk_size: int = CLAIM_CHUNK,
    budget_seconds: float | None = None,
    publish: bool = True,
) -> TickReport:
    """Dispatch every due monitor (within ``budget_seconds``); returns a TickReport."""
    from django.utils import timezone

    now = now or timezone.now()
    budget = settings.PHAROS_TICK_SECONDS * 5 if budget_seconds is None else budget_seconds
    started = time.monotonic()

    def clock() -> datetime:
        # ``now`` decides what is due; a long tick's later chunks are dispatched later,
        # and their deadlines and message expiries must count from then.
        return now + timedelta(seconds=time.monotonic() - started)

    # Claim what falls due before the middle of the next interval: a round then leaves
    # within half a tick of its due time, early or late, instead of up to a whole tick late.
    due_by = now + timedelta(seconds=settings.PHAROS_TICK_SECONDS / 2)
    report = TickReport()
    report.scheduled_newcomers = schedule_newcomers(now=now)
    while True:
        specs, claimed = claim_due_chunk(
            now=now, due_by=due_by, dispatched_at=clock(), chunk_size=chunk_size, report=report
        )
        if specs and publish:
            report.messages += publish_specs(specs, now=clock())
        if claimed < chunk_size or time.monotonic() - started > budget:
            break
    return report


def schedule_newcomers(*, now: datetime, limit: int = 5000) -> int:
    """Monitors with no ``next_check_at`` get a random first check within their frequency."""
    newcomers = list(
        Monitor.objects.filter(paused_at__isnull=True, next_check_at__isnull=True).values_list("pk", "check_frequency")[
            :limit
        ]
    )
    if not newcomers:
        return 0
    phases = {pk: first_check_at(frequency, now=now) for pk, frequency in newcomers}
    # Conditional on IS NULL: an API write that set next_check_at meanwhile wins.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE monitors_monitor AS m SET next_check_at = v.at "
                "FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at) "
                "WHERE m.id = v.id AND m.next_check_at IS NULL",
                [list(phases), list(phases.values())],
            )
    else:
        for pk, at in phases.items():
            Monitor.objects.filter(pk=pk, next_check_at__isnull=True).update(next_check_at=at)
    return len(newcomers)


def _due_query(now: datetime) -> QuerySet:
    due = (
        Monitor.objects.filter(paused_at__isnull=True, next_check_at__lte=now)
        .order_by("next_check_at")
        .values(*DUE_FIELDS)
    )
    features = connection.features
    if features.has_select_for_update_skip_locked:
        # SKIP LOCKED: a second tick takes the next rows instead of waiting for ours, so
        # concurrent ticks dispatch disjoint monitors. OF keeps the lock off joined rows.
        return due.select_for_update(skip_locked=True, of=("self",) if features.has_select_for_update_of else ())
    # SQLite (quick start): a single writer at a time, so a plain claim is already exclusive.
    return due.select_for_update()


def claim_due_chunk(
    *,
    now: datetime,
    chunk_size: int,
    report: TickReport,
    dispatched_at: datetime | None = None,
    due_by: datetime | None = None,
) -> tuple[list[CheckSpec], int]:
    """Claim up to ``chunk_size`` monitors due by ``due_by`` (default ``now``), record
    their rounds and advance them.

    Returns ``(specs, claimed)``; the specs are to be published after this commits.
    """
    specs: list[CheckSpec] = []
    dispatched_at = dispatched_at or now
    with transaction.atomic():
        monitors = [DueMonitor(**row) for row in _due_query(due_by or now)[:chunk_size]]
        if not monitors:
            return specs, 0
        headers: defaultdict[int, list[tuple[str, str]]] = defaultdict(list)
        for monitor_id, name, value in (
            MonitorRequestHeader.objects.filter(monitor_id__in=[m.pk for m in monitors])
            .order_by("id")
            .values_list("monitor_id", "name", "value")
        ):
            headers[monitor_id].append((name, value))

        next_times: dict[int, datetime] = {}
        status_changes: dict[int, str] = {}
        rounds: list[PlannedRound] = []
        for monitor in monitors:
            due = monitor.next_check_at
            try:
                scheduled, next_at = round_times(due, monitor.check_frequency, now=now)
                next_times[monitor.pk] = next_at
                if is_in_maintenance(monitor, now=now):
                    report.in_maintenance += 1
                    if monitor.status != MonitorStatus.MAINTENANCE:
                        status_changes[monitor.pk] = MonitorStatus.MAINTENANCE
                    continue
                if monitor.status in (MonitorStatus.MAINTENANCE, MonitorStatus.PAUSED):
                    # Back from a window (or resumed): the next verdicts decide afresh.
                    status_changes[monitor.pk] = MonitorStatus.PENDING
                key = scheduled.isoformat()
                regions = monitor.effective_regions
                monitor_specs = [
                    build_spec(monitor, region=region, scheduled_at=key, headers=headers[monitor.pk])
                    for region in regions
                ]
            except (UnbuildableMonitor, ValueError, TypeError, KeyError) as error:
                # One bad row must not stop all monitoring: push it a period on and log.
                logger.error("monitor %s cannot be scheduled: %s", monitor.pk, error, extra={"monitor": monitor.pk})
                next_times[monitor.pk] = now + timedelta(seconds=max(monitor.check_frequency or 60, 10))
                report.skipped += 1
                continue
            rounds.append(
                PlannedRound(
                    monitor_id=monitor.pk,
                    scheduled_at=scheduled,
                    regions=list(regions),
                    dispatched_at=dispatched_at,
                    deadline=round_deadline(monitor, dispatched_at=dispatched_at),
                    # Failing but not yet confirmed: this round is the confirmation.
                    is_confirmation=monitor.failing_since is not None
                    and monitor.status in (MonitorStatus.PENDING, MonitorStatus.UP),
                )
            )
            specs.extend(monitor_specs)
            report.lags.append((due, dispatched_at))
            report.monitor_ids.append(monitor.pk)

        _record_rounds(rounds)
        _advance(next_times)
        for status, pks in _group(status_changes).items():
            changes: dict[str, object] = {"status": status}
            if status == MonitorStatus.PENDING:
                changes.update(failing_since=None, passing_since=None)
            Monitor.objects.filter(pk__in=pks).update(**changes)
    report.claimed += len(monitors)
    report.dispatched += len(rounds)
    return specs, len(monitors)


K = TypeVar("K")
V = TypeVar("V", bound=Hashable)


def _group(mapping: Mapping[K, V]) -> dict[V, list[K]]:
    grouped: defaultdict[V, list[K]] = defaultdict(list)
    for key, value in mapping.items():
        grouped[value].append(key)
    return grouped


def _record_rounds(rounds: Sequence[PlannedRound]) -> None:
    """Insert the rounds; a round that already exists (the unique key) is left as it is."""
    if not rounds:
        return
    if connection.vendor == "postgresql":
        # One unnest INSERT: bulk_create spent more time building SQL than PostgreSQL did.
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO monitors_round (monitor_id, scheduled_at, regions, dispatched_at, deadline, "
                "is_confirmation, verdict, note) "
                "SELECT v.monitor_id, v.scheduled_at, v.regions::jsonb, v.dispatched_at, v.deadline, "
                "v.is_confirmation, '', '' "
                "FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::timestamptz[], %s::timestamptz[], "
                "%s::boolean[]) AS v(monitor_id, scheduled_at, regions, dispatched_at, deadline, is_confirmation) "
                "ON CONFLICT (monitor_id, scheduled_at) DO NOTHING",
                [
                    [r.monitor_id for r in rounds],
                    [r.scheduled_at for r in rounds],
                    [json.dumps(r.regions) for r in rounds],
                    [r.dispatched_at for r in rounds],
                    [r.deadline for r in rounds],
                    [r.is_confirmation for r in rounds],
                ],
            )
        return
    Round.objects.bulk_create([Round(**r._asdict()) for r in rounds], batch_size=500, ignore_conflicts=True)


def _advance(next_times: Mapping[int, datetime]) -> None:
    """Write every claimed monitor's new ``next_check_at`` in one statement."""
    if not next_times:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE monitors_monitor AS m SET next_check_at = v.next_at "
                "FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, next_at) WHERE m.id = v.id",
                [list(next_times), list(next_times.values())],
            )
        return
    Monitor.objects.bulk_update(
        [Monitor(pk=pk, next_check_at=at) for pk, at in next_times.items()], ["next_check_at"], batch_size=500
    )


def publish_specs(specs: Sequence[CheckSpec], *, now: datetime) -> int:
    """Send specs to their regions' queues in batches; returns the number of messages."""
    from config.celery import app

    expires_at = now + QUEUE_SLACK
    by_region: defaultdict[str, list[CheckSpec]] = defaultdict(list)
    for spec in specs:
        by_region[spec.region].append(spec)
    size = settings.PHAROS_BATCH_SIZE
    sent = 0
    with app.producer_or_acquire() as producer:
        for region, region_specs in by_region.items():
            for start in range(0, len(region_specs), size):
                body = batch_message(
                    region=region, specs=region_specs[start : start + size], expires_at=expires_at.isoformat()
                )
                app.send_task(
                    RUN_BATCH_TASK,
                    args=[body],
                    queue=probe_queue(region),
                    expires=expires_at,
                    producer=producer,
                    # A short argsrepr: Celery's default repr of 100 specs cost more than the publish.
                    argsrepr=f"[{len(body['specs'])} specs for {region}]",
                    kwargsrepr="{}",
                )
                sent += 1
    return sent
