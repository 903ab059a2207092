"""Regions that fail themselves: notice them, quarantine them, release them.

A region is quarantined — its DOWN votes count as ERROR — when

- one of the operator's canary targets (``PHAROS_CANARY_URLS``, monitored as ordinary
  monitors with those URLs) fails from it while another region reaches it, or
- it alone fails at least ``PHAROS_QUARANTINE_TARGETS`` distinct targets (hosts) that the
  other regions reach in the same rounds, within ``LONE_FAILURE_WINDOW`` — counted so
  that no single team can get there on its own while other teams have monitors in that
  region: each team contributes at most half the threshold (rounded up). A team whose
  targets answer one region differently (they can read ``X-Pharos-Region``) could
  otherwise blind that region for everybody. With one team in the region (a
  single-tenant Pharos) every target counts, as do canaries always.

Quarantined regions always stay a minority of ``PHAROS_REGIONS``: when most regions fail,
believe them. A quarantine ends after ``QUIET_PERIOD`` with no lone failure from the
region. Both transitions raise an OperatorEvent, never a customer incident.
"""

import logging
import math
import time
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from alerts.models import OperatorEvent
from monitors.models import LoneFailure, Monitor, RegionQuarantine

logger = logging.getLogger(__name__)

LONE_FAILURE_WINDOW = timedelta(minutes=15)
QUIET_PERIOD = timedelta(minutes=5)
_ADVISORY_KEY = zlib.crc32(b"pharos.quarantine")
_CACHE_SECONDS = 2.0


@dataclass
class _Cache:
    at: float = -1e9
    regions: frozenset[str] = frozenset()


_cache = _Cache()


def target_of(url: str) -> str:
    """The host a monitor reaches: many monitors on one host are one target."""
    parts = urlsplit(url if "://" in url else f"//{url}")
    return (parts.hostname or url)[:255]


def is_canary(url: str) -> bool:
    return url in settings.PHAROS_CANARY_URLS


def quarantined_regions(*, fresh: bool = False) -> frozenset[str]:
    """Active quarantines, cached for a couple of seconds per process (read every message)."""
    if fresh or time.monotonic() - _cache.at > _CACHE_SECONDS:
        _cache.regions = frozenset(
            RegionQuarantine.objects.filter(released_at__isnull=True).values_list("region", flat=True)
        )
        _cache.at = time.monotonic()
    return _cache.regions


def forget_cache() -> None:
    _cache.at = -1e9


def record_lone_failures(failures: Sequence[tuple[str, int, str]], *, now: datetime) -> list[str]:
    """``failures``: [(region, monitor_id, url)] from rounds just closed. Quarantines
    regions that cross a threshold; returns the regions newly quarantined."""
    if not failures:
        return []
    LoneFailure.objects.bulk_create(
        [
            LoneFailure(region=region, target=target_of(url), monitor_id=monitor_id, at=now)
            for region, monitor_id, url in failures
        ]
    )
    newly: list[str] = []
    for region in sorted({region for region, _, _ in failures}):
        details: dict[str, Any]
        canaries = sorted({url for r, _, url in failures if r == region and is_canary(url)})
        if canaries:
            reason, details = RegionQuarantine.Reason.CANARY, {"canaries": canaries}
        else:
            targets, teams = counted_lone_failures(region, since=now - LONE_FAILURE_WINDOW)
            if targets < settings.PHAROS_QUARANTINE_TARGETS:
                continue
            reason, details = RegionQuarantine.Reason.LONE_FAILURES, {"targets": targets, "teams": teams}
        if quarantine(region, reason=reason, details=details, now=now):
            newly.append(region)
    return newly


def counted_lone_failures(region: str, *, since: datetime) -> tuple[int, int]:
    """``(targets, teams)``: the distinct targets that failed alone from ``region`` since
    ``since`` as the threshold counts them, and how many teams' monitors they came from.

    Each team contributes at most ``ceil(PHAROS_QUARANTINE_TARGETS / 2)`` targets while
    more than one team has active monitors checked from the region; a target several
    teams monitor counts once.
    """
    by_team: defaultdict[int, set[str]] = defaultdict(set)
    for team_id, target in (
        LoneFailure.objects.filter(region=region, at__gte=since).values_list("monitor__team_id", "target").distinct()
    ):
        by_team[team_id].add(target)
    distinct = len(set().union(*by_team.values())) if by_team else 0
    if len(teams_checked_from(region)) <= 1:
        return distinct, len(by_team)
    cap = math.ceil(settings.PHAROS_QUARANTINE_TARGETS / 2)
    return min(distinct, sum(min(cap, len(targets)) for targets in by_team.values())), len(by_team)


def teams_checked_from(region: str) -> set[int]:
    """Teams with active monitors checked from ``region`` (an empty list: every region)."""
    # A few rows however many monitors: monitors share a handful of region lists.
    pairs = Monitor.objects.filter(paused_at__isnull=True).order_by().values_list("team_id", "regions").distinct()
    return {team_id for team_id, regions in pairs if not regions or region in regions}


def _serialize_decisions() -> None:
    # Two aggregators quarantining two different regions at once could together
    # quarantine a majority; a transaction-scoped advisory lock makes them take turns.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_KEY])


def quarantine(region: str, *, reason: str, details: dict[str, Any], now: datetime) -> bool:
    """Quarantine ``region`` unless it already is or that would quarantine a majority."""
    with transaction.atomic():
        _serialize_decisions()
        active = set(RegionQuarantine.objects.filter(released_at__isnull=True).values_list("region", flat=True))
        if region in active:
            return False
        if (len(active) + 1) * 2 >= len(settings.PHAROS_REGIONS):
            logger.warning(
                "region %s fails alone but quarantining it would leave no trusted majority",
                region,
                extra={"region": region},
            )
            return False
        try:
            with transaction.atomic():
                RegionQuarantine.objects.create(region=region, reason=reason, started_at=now, details=details)
        except IntegrityError:
            return False
        OperatorEvent.objects.create(
            at=now,
            kind=OperatorEvent.Kind.REGION_QUARANTINED,
            region=region,
            message=f"Region {region} quarantined ({reason}): its DOWN votes count as errors until it recovers",
            metadata={"reason": reason, **details},
        )
    forget_cache()
    logger.warning(
        "region %s quarantined (%s) %s", region, reason, details, extra={"region": region, "reason": str(reason)}
    )
    return True


def release_recovered(*, now: datetime) -> list[str]:
    """End quarantines of regions with no lone failure for QUIET_PERIOD; returns them."""
    released: list[str] = []
    quiet_since = now - QUIET_PERIOD
    for row in RegionQuarantine.objects.filter(released_at__isnull=True, started_at__lte=quiet_since):
        if LoneFailure.objects.filter(region=row.region, at__gt=quiet_since).exists():
            continue
        if release(row, now=now, why=f"no lone failures for {QUIET_PERIOD}"):
            released.append(row.region)
    return released


def release(row: RegionQuarantine, *, now: datetime, why: str) -> bool:
    """End one quarantine (automatically, or by an operator in the admin)."""
    with transaction.atomic():
        # Conditional: another worker releasing the same row is a normal no-op.
        if not RegionQuarantine.objects.filter(pk=row.pk, released_at__isnull=True).update(released_at=now):
            return False
        OperatorEvent.objects.create(
            at=now,
            kind=OperatorEvent.Kind.REGION_RELEASED,
            region=row.region,
            message=f"Region {row.region} released from quarantine: {why}",
            metadata={"reason": row.reason},
        )
    forget_cache()
    logger.info("region %s released from quarantine: %s", row.region, why, extra={"region": row.region})
    return True


def prune_lone_failures(*, now: datetime) -> int:
    deleted: int = LoneFailure.objects.filter(at__lt=now - 2 * LONE_FAILURE_WINDOW).delete()[0]
    return deleted
