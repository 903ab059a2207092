"""What the monitor's page shows above its form.

- response time per region over 24 h, 7 d and 30 d: raw results for the last 48 h (the
  raw retention's floor in practice), hourly rollups beyond, as in monitors.response_times;
- the phases of each region's latest check as one stacked bar;
- 90 daily uptime bars from the monitor's incidents (alerts.availability's rule);
- the certificate the newest result saw;
- the last rounds, a cell per region; the monitor's incidents with their durations.

A fixed number of queries per page: each block reads its rows once.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Avg, F, Window
from django.db.models.functions import RowNumber, TruncHour
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from alerts.availability import availability_from_incidents, incident_spans
from alerts.models import Incident
from console import svg
from monitors.models import CheckResult, Monitor, ResultRollup, Round

RAW_WINDOW = timedelta(hours=48)
RANGES = (("24 h", timedelta(hours=24), timedelta(minutes=10)), ("7 d", timedelta(days=7), timedelta(hours=1)))
MONTH = ("30 d", timedelta(days=30), timedelta(hours=6))
UPTIME_DAYS = 90
ROUNDS_SHOWN = 20
INCIDENTS_SHOWN = 20
PHASES = (
    ("DNS", "name_lookup_time"),
    ("connect", "connection_time"),
    ("TLS", "tls_handshake_time"),
    ("first byte", "processing_time"),
    ("transfer", "data_transfer_time"),
)


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


@dataclass(frozen=True)
class Cell:
    outcome: str
    status_code: int | None
    response_ms: float | None
    cause: str


def hourly_response_times(monitor: Monitor, *, since: datetime, now: datetime) -> dict[str, list]:
    """``{region: [(hour, mean seconds), …]}``: raw results for the last 48 h, rollups before."""
    raw_from = max(since, now - RAW_WINDOW)
    by_region: dict[str, dict[datetime, float]] = defaultdict(dict)
    if since < raw_from:
        for region, hour, mean in ResultRollup.objects.filter(
            monitor=monitor, hour__gte=since, hour__lt=raw_from, mean_response_time__isnull=False
        ).values_list("region", "hour", "mean_response_time"):
            by_region[region][hour] = mean
    hourly = (
        CheckResult.objects.filter(monitor=monitor, scheduled_at__gte=raw_from, response_time__isnull=False)
        .annotate(hour=TruncHour("scheduled_at"))
        .order_by()
        .values_list("region", "hour")
        .annotate(mean=Avg("response_time"))
    )
    for region, hour, mean in hourly:
        by_region[region][hour] = mean
    return {region: sorted(points.items()) for region, points in by_region.items()}


def bucketed(points: list[tuple[datetime, float]], *, start: datetime, size: timedelta) -> list:
    """Mean of the points per bucket of ``size`` from ``start``, in milliseconds."""
    sums: dict[int, list[float]] = defaultdict(list)
    for at, seconds in points:
        sums[int((at - start) / size)].append(seconds)
    return [(start + size * index + size / 2, sum(v) / len(v) * 1000) for index, v in sorted(sums.items())]


def charts(monitor: Monitor, *, now: datetime) -> list[tuple[str, SafeString]]:
    drawn = []
    day_start = now - RANGES[0][1]
    raw = CheckResult.objects.filter(
        monitor=monitor, scheduled_at__gte=day_start, response_time__isnull=False
    ).values_list("region", "scheduled_at", "response_time")
    per_region: dict[str, list] = defaultdict(list)
    for region, at, seconds in raw:
        per_region[region].append((at, seconds))
    series = {region: bucketed(points, start=day_start, size=RANGES[0][2]) for region, points in per_region.items()}
    drawn.append((RANGES[0][0], svg.line_chart(series, start=day_start, end=now)))
    month_start = now - MONTH[1]
    hourly = hourly_response_times(monitor, since=month_start, now=now)
    for label, span, size in (RANGES[1], MONTH):
        start = now - span
        series = {
            region: bucketed([(at, v) for at, v in points if at >= start], start=start, size=size)
            for region, points in hourly.items()
        }
        drawn.append((label, svg.line_chart(series, start=start, end=now)))
    return drawn


def latest_by_region(monitor: Monitor) -> list[CheckResult]:
    return list(
        CheckResult.objects.filter(monitor=monitor, scheduled_at__gte=timezone.now() - RAW_WINDOW)
        .annotate(rank=Window(RowNumber(), partition_by=[F("region")], order_by=F("scheduled_at").desc()))
        .filter(rank=1)
        .order_by("region")
    )


def phases(latest: list[CheckResult]) -> list[dict]:
    rows = []
    for result in latest:
        parts = [(label, ms(getattr(result, name))) for label, name in PHASES]
        rows.append({"region": result.region, "at": result.scheduled_at, "parts": parts, "bar": svg.stacked_bar(parts)})
    return rows


def daily_uptime(monitor: Monitor, *, now: datetime) -> SafeString:
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - timedelta(days=UPTIME_DAYS - 1)
    spans = incident_spans("monitor", [monitor.pk], start=first, end=now).get(monitor.pk, [])
    days: list[tuple[str, float | None]] = []
    for index in range(UPTIME_DAYS):
        start = first + timedelta(days=index)
        end = min(start + timedelta(days=1), now)
        begin = max(start, monitor.created_at)
        label = start.strftime("%Y-%m-%d")
        if end <= begin:
            days.append((label, None))
            continue
        days.append((label, availability_from_incidents(spans, start=begin, end=end, now=now).availability))
    return svg.daily_bars(days)


def last_rounds(monitor: Monitor) -> tuple[list[str], list[dict]]:
    rounds = list(Round.objects.filter(monitor=monitor).order_by("-scheduled_at")[:ROUNDS_SHOWN])
    cells: dict[datetime, dict[str, Cell]] = defaultdict(dict)
    if rounds:
        for result in CheckResult.objects.filter(
            monitor=monitor, scheduled_at__gte=rounds[-1].scheduled_at, scheduled_at__lte=rounds[0].scheduled_at
        ).only("scheduled_at", "region", "outcome", "status_code", "response_time", "cause"):
            cells[result.scheduled_at][result.region] = Cell(
                result.outcome, result.status_code, ms(result.response_time), result.cause
            )
    regions = list(monitor.effective_regions)
    for row in rounds:
        regions += [region for region in row.regions if region not in regions]
    lines = [{"round": row, "cells": [cells[row.scheduled_at].get(region) for region in regions]} for row in rounds]
    return regions, lines


def incidents(monitor: Monitor, *, now: datetime) -> list[Incident]:
    rows = list(
        Incident.objects.for_source("monitor", monitor.pk).not_deleted().order_by("-started_at")[:INCIDENTS_SHOWN]
    )
    for row in rows:
        row.duration_text = timesince(row.started_at, row.resolved_at or now)
    return rows


def monitor_page(monitor: Monitor, *, now: datetime) -> dict:
    latest = latest_by_region(monitor)
    certificate = next(
        (
            result
            for result in sorted(latest, key=lambda r: r.scheduled_at, reverse=True)
            if result.tls_issuer or result.tls_expires_at
        ),
        None,
    )
    regions, rounds = last_rounds(monitor)
    return {
        "charts": charts(monitor, now=now),
        "phases": phases(latest),
        "phase_legend": list(zip([label for label, _ in PHASES], svg.PHASE_COLOURS, strict=True)),
        "uptime_bars": daily_uptime(monitor, now=now),
        "certificate": certificate,
        "round_regions": regions,
        "rounds": rounds,
        "incidents": incidents(monitor, now=now),
        "now": now,
    }
