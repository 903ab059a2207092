"""History that stays small: hourly rollups, then pruning of raw results and rounds.

Raw CheckResults live for ``PHAROS_RESULT_RETENTION`` seconds; ``ResultRollup`` rows (one
per monitor, region and hour: checks, failures, mean and p95 response time) outlive them
for charts and SLA. An hour is rolled up once it is over (the raw results still serve the
current one), and again during a short grace period for late results; rollups are
upserted, so recomputing an hour is harmless. An hour is
always rolled up before any of its raw results can be pruned (pruning never reaches
past the end of the last hour rolled up). Deletes go in bounded batches so one
housekeeping run never holds long locks on the results table.
"""

import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min

from monitors.models import CheckResult, ResultRollup, Round

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
PRUNE_BATCH = 5000
MAX_PRUNE_BATCHES = 200  # up to 1M rows a run: 1,000 checks/s add 300k every 5 minutes
MAX_HOURS_PER_RUN = 72
ROUND_RETENTION = timedelta(hours=6)
# A round's results can trail its hour by its deadline (a minute or so); ten minutes of
# grace covers a backlogged aggregator too.
LATE_RESULTS = timedelta(minutes=10)

# monitor_id, region, checks, failures, mean and p95 response time of one hour.
Summary = tuple[int, str, int, int, float | None, float | None]


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def hours_to_roll_up(*, now: datetime) -> list[datetime]:
    """Complete hours not rolled up yet, oldest first. The newest rolled-up hour is done
    again while results for it may still arrive (LATE_RESULTS after it ends)."""
    newest: datetime | None = ResultRollup.objects.aggregate(newest=Max("hour"))["newest"]
    if newest is None:
        oldest: datetime | None = CheckResult.objects.aggregate(oldest=Min("checked_at"))["oldest"]
        if oldest is None:
            return []
        start = hour_of(oldest)
    else:
        start = newest if newest + HOUR + LATE_RESULTS > now else newest + HOUR
    hours: list[datetime] = []
    hour = start
    while hour + HOUR <= now and len(hours) < MAX_HOURS_PER_RUN:
        hours.append(hour)
        hour += HOUR
    return hours


def roll_up_hour(hour: datetime) -> int:
    """Upsert the rollups of one hour from the raw results; returns the rows written."""
    if connection.vendor == "postgresql":
        rows = _summaries_postgresql(hour)
    else:
        rows = _summaries_portable(hour)
    rollups = [
        ResultRollup(
            monitor_id=monitor_id,
            region=region,
            hour=hour,
            checks=checks,
            failures=failures,
            mean_response_time=mean,
            p95_response_time=p95,
        )
        for monitor_id, region, checks, failures, mean, p95 in rows
    ]
    ResultRollup.objects.bulk_create(
        rollups,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["monitor", "region", "hour"],
        update_fields=["checks", "failures", "mean_response_time", "p95_response_time"],
    )
    return len(rollups)


def _summaries_postgresql(hour: datetime) -> list[Summary]:
    # percentile_cont keeps the p95 in the database: an hour at 10k monitors is millions of rows.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT monitor_id, region, count(*), count(*) FILTER (WHERE outcome = 'down'), "
            "avg(response_time), percentile_cont(0.95) WITHIN GROUP (ORDER BY response_time) "
            "FROM monitors_checkresult WHERE checked_at >= %s AND checked_at < %s "
            "GROUP BY monitor_id, region",
            [hour, hour + HOUR],
        )
        rows: list[Summary] = cursor.fetchall()
        return rows


@dataclass
class _Group:
    checks: int = 0
    failures: int = 0
    times: list[float] = field(default_factory=list)


def _summaries_portable(hour: datetime) -> list[Summary]:
    groups: defaultdict[tuple[int, str], _Group] = defaultdict(_Group)
    for monitor_id, region, outcome, response_time in CheckResult.objects.filter(
        checked_at__gte=hour, checked_at__lt=hour + HOUR
    ).values_list("monitor_id", "region", "outcome", "response_time"):
        group = groups[(monitor_id, region)]
        group.checks += 1
        group.failures += outcome == "down"
        if response_time is not None:
            group.times.append(response_time)
    return [
        (
            monitor_id,
            region,
            group.checks,
            group.failures,
            (sum(group.times) / len(group.times)) if group.times else None,
            percentile(group.times, 0.95),
        )
        for (monitor_id, region), group in groups.items()
    ]


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (what PostgreSQL's percentile_cont does)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def prune_results(*, now: datetime, rolled_up_through: datetime | None = None) -> int:
    """Delete raw results older than the retention (and already rolled up), in batches;
    returns how many went."""
    cutoff = now - timedelta(seconds=settings.PHAROS_RESULT_RETENTION)
    if rolled_up_through is not None:
        cutoff = min(cutoff, rolled_up_through)
    deleted = 0
    for _ in range(MAX_PRUNE_BATCHES):
        ids = list(CheckResult.objects.filter(checked_at__lt=cutoff).values_list("pk", flat=True)[:PRUNE_BATCH])
        if not ids:
            break
        with transaction.atomic():
            deleted += CheckResult.objects.filter(pk__in=ids).delete()[0]
    return deleted


def prune_rounds(*, now: datetime) -> int:
    """Closed rounds are only needed while their late results may still arrive."""
    cutoff = now - ROUND_RETENTION
    deleted = 0
    for _ in range(MAX_PRUNE_BATCHES):
        ids = list(
            Round.objects.filter(closed_at__isnull=False, dispatched_at__lt=cutoff).values_list("pk", flat=True)[
                :PRUNE_BATCH
            ]
        )
        if not ids:
            break
        deleted += Round.objects.filter(pk__in=ids).delete()[0]
    return deleted


def housekeep(*, now: datetime) -> dict[str, int]:
    """Roll up, then prune. Returns a summary for logs."""
    hours = hours_to_roll_up(now=now)
    rolled = sum(roll_up_hour(hour) for hour in hours)
    pruned = prune_results(now=now, rolled_up_through=hours[-1] + HOUR if hours else None)
    rounds = prune_rounds(now=now)
    summary = {"rollups": rolled, "results_pruned": pruned, "rounds_pruned": rounds}
    logger.debug("monitor housekeeping %s", summary)  # a routine sweep
    return summary
