"""What the monitor list shows beside each row, for a whole page of monitors at once.

Each figure is one query for the page, whatever its size: the last result per region (a
window function over the results since the last applied round), the hourly mean response time of the last 24 h (one GROUP BY over the
``(monitor, scheduled_at)`` index of the one-vote-per-region constraint), and the 24 h and
30 d availability (alerts.availability, one query per range).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Avg, F, Q, Window
from django.db.models.functions import RowNumber, TruncHour

from alerts.availability import availabilities_of
from monitors.models import CheckResult, Monitor

DAY = timedelta(hours=24)
MONTH = timedelta(days=30)
SPARK_HOURS = 24


@dataclass
class MonitorFigures:
    last_by_region: dict[str, tuple[str, int | None, float | None]] = field(default_factory=dict)
    hourly_ms: list[float | None] = field(default_factory=list)
    availability_day: float | None = None
    availability_month: float | None = None

    @property
    def last_response_ms(self) -> float | None:
        """The newest region's response time, in milliseconds."""
        times = [seconds for _, _, seconds in self.last_by_region.values() if seconds is not None]
        return round(times[0] * 1000, 1) if times else None


def figures_for(monitors: list[Monitor], *, now: datetime) -> dict[int, MonitorFigures]:
    """``{monitor id: MonitorFigures}`` for the monitors of one page."""
    ids = [monitor.pk for monitor in monitors]
    figures = {pk: MonitorFigures(hourly_ms=[None] * SPARK_HOURS) for pk in ids}
    if not ids:
        return figures
    newest = (
        # From the last round the monitor's state applied on (newer ones may be open): a
        # region missing there gets no dot, rather than an old one that misleads.
        CheckResult.objects.filter(monitor_id__in=ids)
        .filter(
            Q(scheduled_at__gte=F("monitor__verdict_round_at"))
            | Q(monitor__verdict_round_at__isnull=True, scheduled_at__gte=now - DAY)
        )
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("monitor_id"), F("region")], order_by=F("scheduled_at").desc())
        )
        .filter(rank=1)
        .order_by("monitor_id", "-scheduled_at", "region")
        .values_list("monitor_id", "region", "outcome", "status_code", "response_time")
    )
    for monitor_id, region, outcome, code, seconds in newest:
        figures[monitor_id].last_by_region[region] = (outcome, code, seconds)
    first_hour = (now - DAY).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    hourly = (
        CheckResult.objects.filter(monitor_id__in=ids, scheduled_at__gte=first_hour, response_time__isnull=False)
        .annotate(hour=TruncHour("scheduled_at"))
        .order_by()
        .values("monitor_id", "hour")
        .annotate(mean=Avg("response_time"))
        .values_list("monitor_id", "hour", "mean")
    )
    for monitor_id, hour, mean in hourly:
        slot = int((hour - first_hour).total_seconds() // 3600)
        if 0 <= slot < SPARK_HOURS:
            figures[monitor_id].hourly_ms[slot] = round(mean * 1000, 1)
    created = {monitor.pk: monitor.created_at for monitor in monitors}
    for attribute, span in (("availability_day", DAY), ("availability_month", MONTH)):
        ranges = availabilities_of(source_type="monitor", sources=created, start=now - span, end=now, now=now)
        for pk, figures_of_range in ranges.items():
            setattr(figures[pk], attribute, figures_of_range.availability)
    return figures


def status_since(monitor: Monitor) -> datetime | None:
    """When the monitor entered its current status, as far as its row knows."""
    return {
        "down": monitor.failing_since,
        "up": monitor.passing_since,
        "validating": monitor.passing_since,
        "paused": monitor.paused_at,
    }.get(monitor.status)
