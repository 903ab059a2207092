"""A monitor's response times over the last 24 hours, grouped by region (docs/api.md).

Raw results are kept for ``PHAROS_RESULT_RETENTION`` (at least an hour); hours whose raw
results were already pruned are filled from the hourly rollups, as one point per hour
carrying the mean response time (rollups keep no phase timings, so those are null).
"""

from datetime import datetime, timedelta
from typing import Any

from monitors.models import CheckResult, Monitor, ResultRollup
from monitors.retention import hour_of

WINDOW = timedelta(hours=24)
PHASES = ("name_lookup_time", "connection_time", "tls_handshake_time", "data_transfer_time")


def response_times(monitor: Monitor, *, now: datetime) -> list[dict[str, Any]]:
    since = now - WINDOW
    by_region: dict[str, list[dict[str, Any]]] = {region: [] for region in monitor.effective_regions}
    covered: set[tuple[str, datetime]] = set()
    results = (
        CheckResult.objects.filter(
            monitor=monitor, checked_at__gte=since, checked_at__lte=now, response_time__isnull=False
        )
        .order_by("checked_at", "region")
        .values_list("region", "checked_at", "response_time", *PHASES)
    )
    for region, checked_at, response_time, *phases in results:
        covered.add((region, hour_of(checked_at)))
        by_region.setdefault(region, []).append(
            {"at": checked_at, "response_time": response_time, **dict(zip(PHASES, phases, strict=True))}
        )
    rollups = (
        ResultRollup.objects.filter(
            monitor=monitor, hour__gte=hour_of(since), hour__lte=now, mean_response_time__isnull=False
        )
        .order_by("hour", "region")
        .values_list("region", "hour", "mean_response_time")
    )
    for region, hour, mean in rollups:
        if (region, hour) not in covered:
            by_region.setdefault(region, []).append({"at": hour, "response_time": mean, **dict.fromkeys(PHASES)})
    return [
        {"region": region, "response_times": sorted(points, key=lambda point: point["at"])}
        for region, points in by_region.items()
    ]
