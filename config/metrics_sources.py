"""Where the figures read at scrape time on ``/metrics`` come from (see config.metrics):
the database, the broker and the services health report. Each collector returns a list of
prometheus_client metric families and may raise; config.metrics.ScrapeTimeFigures isolates
them from one another.

Database queries are read-only and each is either an index range (the recent windows over
``checked_at``, the due-monitor partial index) or a GROUP BY over a small table.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import Count, Q
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from config import broker as broker_names
from config import pipeline
from config.broker_stats import Broker, newest_checked_at

RECENT_WINDOW = 300  # seconds: the window of the *_recent gauges
BROKER_TIMEOUT = 2.0


def gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    """A family of one unlabelled sample."""
    return GaugeMetricFamily(name, help_text, value=value)


def database_families(*, now: datetime) -> list[Metric]:
    from alerts.models import Incident, OperatorEvent
    from heartbeats.models import Ping
    from monitors.models import CheckResult, Monitor, Round

    since = now - timedelta(seconds=RECENT_WINDOW)
    families: list[Metric] = []

    checks = GaugeMetricFamily(
        "pharos_check_results_recent",
        f"Check results recorded in the last {RECENT_WINDOW} s, by region and outcome.",
        labels=["outcome", "region"],
    )
    for row in (
        CheckResult.objects.filter(checked_at__gte=since).order_by().values("region", "outcome").annotate(n=Count("id"))
    ):
        checks.add_metric([row["outcome"], row["region"]], row["n"])
    families.append(checks)

    # Rounds by verdict over the dispatched_at index; open rounds have no verdict yet.
    rounds = GaugeMetricFamily(
        "pharos_rounds_recent",
        f"Rounds dispatched in the last {RECENT_WINDOW} s, by verdict (open: not closed yet).",
        labels=["verdict"],
    )
    for row in Round.objects.filter(dispatched_at__gte=since).order_by().values("verdict").annotate(n=Count("id")):
        rounds.add_metric([row["verdict"] or "open"], row["n"])
    families.append(rounds)

    operator = GaugeMetricFamily(
        "pharos_operator_events_recent",
        f"Operator signals in the last {RECENT_WINDOW} s (inconclusive rounds, quarantines), by kind.",
        labels=["kind"],
    )
    for row in OperatorEvent.objects.filter(at__gte=since).order_by().values("kind").annotate(n=Count("id")):
        operator.add_metric([row["kind"]], row["n"])
    families.append(operator)

    # The tick claims monitors whose next_check_at has passed; the oldest one still
    # unclaimed says how far behind the scheduler is (0 when it keeps up).
    families.append(
        gauge(
            "pharos_scheduler_lag_seconds",
            "How long the most overdue active monitor has waited to be dispatched.",
            pipeline.scheduler_lag(now=now),
        )
    )
    families += pipeline_families(now=now)

    monitors = GaugeMetricFamily("pharos_monitors", "Monitors by status.", labels=["status"])
    for row in Monitor.objects.order_by().values("status").annotate(n=Count("id")):
        monitors.add_metric([row["status"]], row["n"])
    families.append(monitors)

    # Read from the rows kept, so a counter in name only: retention may lower it.
    opened = CounterMetricFamily(
        "pharos_incidents", "Incidents opened since the start (rows kept), by source.", labels=["source"]
    )
    still_open = GaugeMetricFamily("pharos_incidents_open", "Incidents not yet resolved, by source.", labels=["source"])
    for row in (
        Incident.objects.order_by()
        .values("source_type")
        .annotate(total=Count("id"), open=Count("id", filter=Q(resolved_at__isnull=True)))
    ):
        opened.add_metric([row["source_type"]], row["total"])
        still_open.add_metric([row["source_type"]], row["open"])
    families += [opened, still_open]

    notification = _notification_model()
    if notification is not None:
        by_status = GaugeMetricFamily(
            "pharos_notifications", "Notifications by delivery status and kind.", labels=["kind", "status"]
        )
        for row in notification.objects.order_by().values("status", "kind").annotate(n=Count("id")):
            by_status.add_metric([row["kind"], row["status"]], row["n"])
        families.append(by_status)

    pings = GaugeMetricFamily(
        "pharos_pings_recent", f"Heartbeat pings received in the last {RECENT_WINDOW} s, by kind.", labels=["kind"]
    )
    for row in Ping.objects.filter(created_at__gte=since).order_by().values("kind").annotate(n=Count("id")):
        pings.add_metric([row["kind"]], row["n"])
    families.append(pings)
    return families


def pipeline_families(*, now: datetime) -> list[Metric]:
    """The figures config.pipeline judges the pipeline by (the scheduler's is above)."""
    delivery = pipeline.delivery_figures(now=now)
    rounds = pipeline.round_figures(now=now)
    return [
        gauge(
            "pharos_heartbeat_sweep_lag_seconds",
            "How long the most overdue heartbeat has stayed up past its deadline (0: the sweep keeps up).",
            pipeline.sweep_lag(now=now),
        ),
        gauge("pharos_delivery_backlog", "Notifications due and not yet delivered.", delivery.backlog),
        gauge(
            "pharos_delivery_lag_seconds", "How long the oldest notification due has waited for delivery.", delivery.lag
        ),
        gauge(
            "pharos_rounds_inconclusive_ratio",
            f"Share of the rounds dispatched in the last {pipeline.RECENT_ROUNDS_WINDOW} s and closed that were "
            "inconclusive for lack of results.",
            rounds.inconclusive_ratio,
        ),
    ]


def health_families(*, now: datetime) -> list[Metric]:
    """The services report of /api/healthcheck?services=true, one gauge per check."""
    from config.health import services_report

    report = services_report(now=now)
    ok = GaugeMetricFamily(
        "pharos_health_check_ok",
        "Whether each part of the services health check passes (1) or fails (0); failing parts are named "
        "in /api/healthcheck?services=true.",
        labels=["check"],
    )
    names = ["database", "broker", "aggregator"] + [name for name, _ in pipeline.PIPELINE_CHECKS]
    for name in names:
        ok.add_metric([name], int(name not in report["failing"]))
    ages = GaugeMetricFamily(
        "pharos_region_last_result_age_seconds", "Age of the newest check result of each region.", labels=["region"]
    )
    for region, state in report["checks"]["regions"].items():
        ok.add_metric([f"region:{region}"], int(f"region:{region}" not in report["failing"]))
        if state.get("last_result_age") is not None:
            ages.add_metric([region], state["last_result_age"])
    return [ok, ages]


def _notification_model() -> Any:
    try:
        return apps.get_model("alerts", "Notification")
    except LookupError:
        return None


def broker_families(*, now: datetime) -> list[Metric]:
    broker = Broker.from_settings(timeout=BROKER_TIMEOUT)
    regions = list(settings.PHAROS_REGIONS)
    probe_queues = [broker_names.probe_queue(region) for region in regions]
    control_queues = [
        broker_names.SCHEDULE_QUEUE,
        broker_names.RESULTS_QUEUE,
        broker_names.ALERTS_QUEUE,
        broker_names.HOUSEKEEPING_QUEUE,
        broker_names.DEFAULT_QUEUE,
    ]
    depths = broker.depths(probe_queues + control_queues)

    per_region = GaugeMetricFamily(
        "pharos_probe_queue_depth", "Probe batches waiting for a region worker, by region.", labels=["region"]
    )
    for region, queue in zip(regions, probe_queues, strict=True):
        per_region.add_metric([region], depths[queue])
    control = GaugeMetricFamily(
        "pharos_queue_depth", "Messages waiting in the control plane's queues, by queue.", labels=["queue"]
    )
    for queue in control_queues:
        control.add_metric([queue], depths[queue])

    lag = 0.0
    if depths[broker_names.RESULTS_QUEUE]:
        finished = newest_checked_at(broker.oldest_message(broker_names.RESULTS_QUEUE))
        if finished is not None:
            lag = max(0.0, (now - finished).total_seconds())
    aggregator = gauge(
        "pharos_aggregator_lag_seconds",
        "How long the oldest batch of outcomes waiting in the results queue has waited (0 when none waits).",
        lag,
    )
    return [per_region, control, aggregator]


COLLECTORS: tuple[tuple[str, Callable[..., list[Metric]]], ...] = (
    ("database", database_families),
    ("broker", broker_families),
    ("health", health_families),
)
