"""Response-time charts of a page's ``response_times`` widgets: the average response time
per hour over the last 24 hours, drawn as inline SVG on the server (no script, no CDN).

Built with the page's snapshot (status.snapshot), so it costs two grouped queries per
render of the page — never one per visitor. Completed hours come from the hourly rollups
(``monitors.ResultRollup``, kept long after raw results are pruned); hours not rolled up
yet (the current one, and any the housekeeping has not reached) from the raw check
results, read only from the first such hour on. A group's hour is the mean over its
monitors, weighted by their checks. Heartbeats have no response time: their widgets get
no chart and show their history.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, F, FloatField, Q, Sum
from django.db.models.functions import TruncHour

from config.jsonapi.timestamps import format_timestamp
from monitors.models import CheckResult, ResultRollup
from monitors.retention import LATE_RESULTS
from status.models import ResourceType, WidgetType
from status.sources import Sources, sources_of

HOURS = 24
HOUR = timedelta(hours=1)
# The SVG's own coordinates; it scales to the width it is given, keeping this shape.
WIDTH, HEIGHT, PAD = 240.0, 60.0, 4.0
MONITOR_TYPES = (ResourceType.MONITOR, ResourceType.MONITOR_GROUP)


@dataclass(frozen=True)
class Point:
    hour: datetime
    response_time: float | None  # seconds; None when no check answered in that hour


def _hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def hourly_means(monitor_ids: set[int], *, now: datetime) -> dict[int, dict[datetime, tuple[float, int]]]:
    """``{monitor id: {hour: (sum of response times, checks)}}`` over the last ``HOURS`` hours."""
    first = _hour_of(now) - (HOURS - 1) * HOUR
    found: dict[int, dict[datetime, tuple[float, int]]] = {pk: {} for pk in monitor_ids}
    if not monitor_ids:
        return found
    rollups = (
        ResultRollup.objects.filter(
            monitor_id__in=monitor_ids, hour__gte=first, hour__lte=now, mean_response_time__isnull=False
        )
        .values("monitor_id", "hour")
        .annotate(
            total=Sum(F("mean_response_time") * F("checks"), output_field=FloatField()),
            checks=Sum("checks"),
        )
    )
    for row in rollups:
        if row["checks"]:
            found[row["monitor_id"]][row["hour"]] = (row["total"], row["checks"])
    # Raw results only after each monitor's newest rolled-up hour: usually the current hour
    # alone, so the query reads minutes of results, not a day of them. ``scheduled_at`` (a
    # round's results trail it by its deadline at most, LATE_RESULTS) lets PostgreSQL walk
    # the (monitor, scheduled_at, region) unique index instead of every monitor's recent rows.
    wanted = Q()
    for pk, hours in found.items():
        since = max(hours) + HOUR if hours else first
        wanted |= Q(monitor_id=pk, scheduled_at__gte=since - LATE_RESULTS, checked_at__gte=since)
    raw = (
        CheckResult.objects.filter(wanted, checked_at__lte=now, response_time__isnull=False)
        .annotate(at=TruncHour("checked_at", tzinfo=UTC))
        .values("monitor_id", "at")
        .annotate(total=Sum("response_time"), checks=Count("id"))
    )
    for row in raw:
        found[row["monitor_id"]].setdefault(row["at"], (row["total"], row["checks"]))
    return found


def page_charts(page: Any, resources: list[Any], *, now: datetime, zone: Any) -> dict[int, dict[str, Any]]:
    """``{resource pk: chart}`` for the ``response_times`` widgets of monitors and monitor
    groups among ``resources`` (no query at all when the page has none)."""
    charted = [
        resource
        for resource in resources
        if resource.widget_type == WidgetType.RESPONSE_TIMES and resource.resource_type in MONITOR_TYPES
    ]
    if not charted:
        return {}
    sources = sources_of(charted, team_id=page.team_id, now=now)
    return {pk: chart(points, zone=zone) for pk, points in response_points(charted, sources, now=now).items()}


def response_points(charted: list[Any], sources: dict[int, Sources], *, now: datetime) -> dict[int, list[Point]]:
    """``{resource pk: 24 hourly points}`` for ``charted`` resources (monitors, groups)."""
    means = hourly_means({pk for resource in charted for pk in sources[resource.pk].ids}, now=now)
    first = _hour_of(now) - (HOURS - 1) * HOUR
    hours = [first + index * HOUR for index in range(HOURS)]
    points = {}
    for resource in charted:
        series = []
        for hour in hours:
            parts = [means[pk][hour] for pk in sources[resource.pk].ids if hour in means[pk]]
            checks = sum(count for _, count in parts)
            series.append(Point(hour, sum(total for total, _ in parts) / checks if checks else None))
        points[resource.pk] = series
    return points


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def chart(points: list[Point], *, zone: Any) -> dict[str, Any]:
    """What the template draws for one resource: SVG coordinates, the figures for its
    label, and the points in ``index.json``'s shape (``empty`` when no hour has a figure)."""
    known = [point.response_time for point in points if point.response_time is not None]
    if not known:
        return {"empty": True, "hours": len(points), "dots": [], "segments": [], "series": _series(points)}
    low, high = min(known), max(known)
    top = high * 1.15 or 1.0
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)
    dots: list[dict[str, str]] = []
    segments: list[str] = []
    current: list[str] = []
    for index, point in enumerate(points):
        if point.response_time is None:
            # A gap is drawn as one: no line across an hour nobody measured.
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        x = PAD + index * step
        y = HEIGHT - PAD - (point.response_time / top) * (HEIGHT - 2 * PAD)
        current.append(f"{x:.1f},{y:.1f}")
        dots.append(
            {
                "x": f"{x:.1f}",
                "y": f"{y:.1f}",
                "label": f"{point.hour.astimezone(zone):%H:%M}: {_ms(point.response_time)} ms",
            }
        )
    if current:
        segments.append(" ".join(current))
    return {
        "empty": False,
        "hours": len(points),
        "dots": dots,
        # A lone point still gets its dot; a polyline needs two.
        "segments": [segment for segment in segments if " " in segment],
        "min_ms": _ms(low),
        "avg_ms": _ms(sum(known) / len(known)),
        "max_ms": _ms(high),
        "top_ms": _ms(top),
        "width": int(WIDTH),
        "height": int(HEIGHT),
        "baseline": f"{HEIGHT - PAD:.1f}",
        "series": _series(points),
    }


def _series(points: list[Point]) -> list[dict[str, Any]]:
    return [
        {
            "at": format_timestamp(point.hour),
            "response_time": None if point.response_time is None else round(point.response_time, 6),
        }
        for point in points
    ]
