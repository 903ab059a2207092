"""Pharos's own health: ``GET /api/healthcheck`` (is the web process up?) and
``GET /api/healthcheck?services=true`` (is the whole system working?).

The plain form answers from memory — no database, no broker — so a load balancer or a
liveness probe never takes a web process out because a dependency is slow.

The services form checks, each bounded by a short timeout:

1. the database (one ``SELECT 1``);
2. the broker (Redis PING, or the on-disk broker folder in the quick start);
3. every region: the age of its newest CheckResult. A region fails when it has active
   monitors that have existed for longer than ``ROUNDS_BEFORE_STALE`` times the fastest of
   their check frequencies (at least ``STALE_FLOOR`` seconds) and no result is that recent.
   A region with no monitors, or only brand-new ones, is healthy but says why;
4. the aggregator: how many outcome batches wait in ``results`` and how long the oldest
   has waited;
5. the rest of the pipeline (config.pipeline): the scheduler's lag (beat stopped, ticks
   late), the heartbeat sweep's lag, notifications due and undelivered, and the share of
   recent rounds that closed inconclusive for lack of results.

It answers 200 when all pass, 503 otherwise, and ``failing`` names the parts that failed
(``database``, ``broker``, ``region:eu``, ``aggregator``, ``scheduler``, ``sweep``,
``delivery``, ``rounds``). Error details go to the log, not to the response: the endpoint
is public and exception texts name hosts. The watchdog process (config.watchdog) reads
the same report.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config import broker as broker_names
from config.broker_stats import Broker, newest_checked_at
from config.pipeline import PIPELINE_CHECKS

log = logging.getLogger(__name__)

ROUNDS_BEFORE_STALE = 3
STALE_FLOOR = 30.0  # seconds
LOOKBACK_ROUNDS = 10  # how far back to search a region's newest result, in stale periods
BACKLOG_LIMIT = 10_000  # result batches waiting before the aggregator counts as failing
AGGREGATOR_LAG_LIMIT = 60.0  # seconds the oldest waiting batch may have waited
BROKER_TIMEOUT = 2.0


@require_GET
@never_cache
def healthcheck(request: HttpRequest) -> JsonResponse:
    if request.GET.get("services", "").lower() not in ("1", "true", "yes"):
        return JsonResponse({"status": "ok", "version": settings.VERSION})
    report = services_report(now=timezone.now())
    return JsonResponse(report, status=200 if not report["failing"] else 503)


def services_report(*, now: datetime) -> dict[str, Any]:
    """The checks of the services form, as a JSON-safe dict (see the module docstring)."""
    checks = {"database": check_database(), "broker": check_broker()}
    if checks["database"]["ok"]:
        try:
            checks["regions"] = check_regions(now=now)
        except Exception as error:  # noqa: BLE001 - e.g. a database not migrated yet
            log.warning("health check of the regions failed: %s", error, exc_info=True)
            connection.close_if_unusable_or_obsolete()
            checks["regions"] = {
                region: {"ok": False, "detail": f"unknown: results unreadable ({type(error).__name__})"}
                for region in settings.PHAROS_REGIONS
            }
    else:
        checks["regions"] = {
            region: {"ok": False, "detail": "unknown: the database is unavailable"}
            for region in settings.PHAROS_REGIONS
        }
    if checks["broker"]["ok"]:
        checks["aggregator"] = check_aggregator(now=now)
    else:
        checks["aggregator"] = {"ok": False, "detail": "unknown: the broker is unavailable"}
    for name, check in PIPELINE_CHECKS:
        checks[name] = _pipeline_check(name, check, now=now, database_ok=checks["database"]["ok"])

    failing = [name for name in ("database", "broker") if not checks[name]["ok"]]
    # Regions whose state is unknown only because the database is down are not named:
    # the database is the failing part, and naming every region would hide that.
    if checks["database"]["ok"]:
        failing += [f"region:{region}" for region, state in checks["regions"].items() if not state["ok"]]
    if checks["broker"]["ok"] and not checks["aggregator"]["ok"]:
        failing.append("aggregator")
    if checks["database"]["ok"]:
        failing += [name for name, _ in PIPELINE_CHECKS if not checks[name]["ok"]]
    return {"status": "failing" if failing else "ok", "failing": failing, "checks": checks}


def _pipeline_check(
    name: str, check: Callable[..., dict[str, Any]], *, now: datetime, database_ok: bool
) -> dict[str, Any]:
    if not database_ok:
        return {"ok": False, "detail": "unknown: the database is unavailable"}
    try:
        return check(now=now)
    except Exception as error:  # noqa: BLE001 - e.g. a database not migrated yet
        log.warning("health check %s failed: %s", name, error, exc_info=True)
        connection.close_if_unusable_or_obsolete()
        return {"ok": False, "detail": f"unknown: unreadable ({type(error).__name__})"}


def _timed(check: Callable[[], str]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        detail = check()
    except Exception as error:  # noqa: BLE001 - any failure of a dependency is "down"
        log.warning("health check %s failed: %s", check.__name__, error, exc_info=True)
        return {"ok": False, "detail": f"unreachable ({type(error).__name__})"}
    return {"ok": True, "detail": detail, "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def check_database() -> dict[str, Any]:
    def database() -> str:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return f"{connection.vendor} answered"

    result = _timed(database)
    if not result["ok"]:
        # A connection broken mid-request would poison the rest of it; drop it now.
        connection.close_if_unusable_or_obsolete()
    return result


def check_broker() -> dict[str, Any]:
    broker = Broker.from_settings(timeout=BROKER_TIMEOUT)
    result = _timed(broker.ping)
    result["transport"] = broker.kind
    return result


def stale_after(fastest_frequency: float, tick: float) -> float:
    """Seconds without a result after which a region with monitors counts as failing."""
    return max(STALE_FLOOR, ROUNDS_BEFORE_STALE * fastest_frequency + 2 * tick)


@dataclass
class _RegionLoad:
    """The active monitors a region checks: how many, the fastest frequency, the oldest."""

    monitors: int = 0
    fastest: int | None = None
    oldest: datetime | None = None


def check_regions(*, now: datetime) -> dict[str, Any]:
    """Per region: how old its newest result is, and whether that is too old."""
    from monitors.models import CheckResult, Monitor, MonitorStatus

    regions = list(settings.PHAROS_REGIONS)
    assigned = {region: _RegionLoad() for region in regions}
    # Monitors share a handful of region lists, so group by the list: a few rows however
    # many monitors there are. order_by() clears Meta.ordering, which would split groups.
    # Monitors inside a maintenance window are not dispatched, so they expect no results.
    groups = (
        Monitor.objects.filter(paused_at__isnull=True)
        .exclude(status__in=[MonitorStatus.PAUSED, MonitorStatus.MAINTENANCE])
        .order_by()
        .values("regions")
        .annotate(monitors=Count("id"), fastest=Min("check_frequency"), oldest=Min("created_at"))
    )
    for group in groups:
        for region in group["regions"] or regions:
            if region not in assigned:
                continue
            state = assigned[region]
            state.monitors += group["monitors"]
            state.fastest = min(filter(None, (state.fastest, group["fastest"])))
            state.oldest = min(filter(None, (state.oldest, group["oldest"])))

    any_results = None
    report: dict[str, Any] = {}
    for region in regions:
        state = assigned[region]
        fastest = state.fastest or settings.PHAROS_MIN_CHECK_FREQUENCY
        limit = stale_after(fastest, settings.PHAROS_TICK_SECONDS)
        lookback = limit * LOOKBACK_ROUNDS
        # Newest first over the checked_at index, stopping at this region's first row:
        # cheap for a live region; a dead one costs one scan of the lookback window.
        newest = (
            CheckResult.objects.filter(region=region, checked_at__gte=now - timedelta(seconds=lookback))
            .order_by("-checked_at")
            .values_list("checked_at", flat=True)
            .first()
        )
        age = max(0.0, (now - newest).total_seconds()) if newest else None
        expected = state.oldest is not None and (now - state.oldest).total_seconds() > limit
        ok = not expected or (age is not None and age <= limit)
        if age is not None:
            detail = f"last result {age:.0f} s ago"
        else:
            if any_results is None:
                any_results = CheckResult.objects.exists()
            detail = "no results yet" if not any_results else f"no result in the last {lookback:.0f} s"
        if not state.monitors:
            detail += "; no active monitors"
        elif not expected:
            detail += "; monitors are newer than one stale period"
        report[region] = {
            "ok": ok,
            "detail": detail,
            "last_result_age": None if age is None else round(age, 1),
            "stale_after": limit,
            "monitors": state.monitors,
        }
    return report


def check_aggregator(*, now: datetime) -> dict[str, Any]:
    """Batches of outcomes waiting for the aggregator, and how long the oldest has waited."""
    broker = Broker.from_settings(timeout=BROKER_TIMEOUT)
    try:
        backlog = broker.depths([broker_names.RESULTS_QUEUE])[broker_names.RESULTS_QUEUE]
        oldest = broker.oldest_message(broker_names.RESULTS_QUEUE) if backlog else None
    except Exception as error:  # noqa: BLE001
        log.warning("health check of the results queue failed: %s", error, exc_info=True)
        return {"ok": False, "detail": f"unreachable ({type(error).__name__})"}
    finished = newest_checked_at(oldest) if oldest is not None else None
    lag = max(0.0, (now - finished).total_seconds()) if finished else 0.0
    ok = backlog <= BACKLOG_LIMIT and lag <= AGGREGATOR_LAG_LIMIT
    detail = f"{backlog} batches waiting" + (f", the oldest for {lag:.0f} s" if backlog else "")
    return {"ok": ok, "detail": detail, "backlog": backlog, "lag": round(lag, 1)}
