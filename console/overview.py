"""The figures of the console's overview (the admin index).

The region and pipeline health are config.health's ``services_report`` — the very report
``/api/healthcheck?services=true`` answers — so the page and the endpoint never disagree;
the console only adds what that report has no room for: checks per minute and each
region's quarantine. Everything here is a fixed number of queries however many monitors
and heartbeats there are.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count

from alerts.models import Incident
from alerts.reached_nobody import open_incidents_that_reached_nobody_count
from config.health import services_report
from heartbeats.models import Heartbeat, HeartbeatStatus
from monitors.models import CheckResult, Monitor, MonitorStatus, RegionQuarantine

RATE_WINDOW = timedelta(minutes=5)  # checks per minute are averaged over this
OPEN_INCIDENTS_SHOWN = 50
PIPELINE_PARTS = ("aggregator", "scheduler", "sweep", "delivery", "rounds")


@dataclass(frozen=True)
class RegionHealth:
    name: str
    ok: bool
    detail: str
    checks_per_minute: float
    quarantined_since: datetime | None
    quarantine_reason: str


def status_counts(model, statuses) -> dict[str, int]:
    counted = dict(model.objects.order_by().values_list("status").annotate(n=Count("id")))
    return {status: counted.get(status, 0) for status in statuses}


def overview(*, now: datetime) -> dict:
    report = services_report(now=now)
    checks = report["checks"]
    since = now - RATE_WINDOW
    rates = dict(
        CheckResult.objects.filter(checked_at__gte=since, checked_at__lte=now)
        .order_by()
        .values_list("region")
        .annotate(n=Count("id"))
    )
    quarantines = {row.region: row for row in RegionQuarantine.objects.filter(released_at__isnull=True)}
    minutes = RATE_WINDOW.total_seconds() / 60
    regions = [
        RegionHealth(
            name=region,
            ok=state["ok"],
            detail=state["detail"],
            checks_per_minute=round(rates.get(region, 0) / minutes, 1),
            quarantined_since=quarantines[region].started_at if region in quarantines else None,
            quarantine_reason=quarantines[region].get_reason_display() if region in quarantines else "",
        )
        for region, state in checks["regions"].items()
    ]
    open_incidents = list(Incident.objects.open().not_deleted().order_by("-started_at")[:OPEN_INCIDENTS_SHOWN])
    for incident in open_incidents:
        incident.age = now - incident.started_at
    return {
        "now": now,
        "status": report["status"],
        "failing": report["failing"],
        "core": [(name, checks[name]) for name in ("database", "broker")],
        "pipeline": [(name, checks[name]) for name in PIPELINE_PARTS],
        "regions": regions,
        "monitor_counts": status_counts(Monitor, [choice for choice, _ in MonitorStatus.choices]),
        "heartbeat_counts": status_counts(Heartbeat, [choice for choice, _ in HeartbeatStatus.choices]),
        "open_incidents": open_incidents,
        # Incidents escalation could alert nobody about (alerts.reached_nobody owns the rule).
        "reached_nobody": open_incidents_that_reached_nobody_count(),
        "recovery_period_default": Monitor._meta.get_field("recovery_period").default,
        "region_names": list(settings.PHAROS_REGIONS),
    }
