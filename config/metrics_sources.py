"""Where the numbers on ``/metrics`` come from (see config.metrics): the database, the
broker and the shared Redis counters. Each collector returns a list of families and may
raise; config.metrics.collect() isolates them from one another.

Database queries are read-only and each is either an index range (the recent windows over
``checked_at``, the due-monitor partial index) or a GROUP BY over a small table.
"""

import json
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db.models import Count, Q

from config import broker as broker_names
from config import pipeline
from config.broker_stats import Broker, newest_checked_at
from config.metrics import COUNTER_HELP, KEY_PREFIX, Family

RECENT_WINDOW = 300  # seconds: the window of the *_recent gauges
BROKER_TIMEOUT = 2.0


def database_families(*, now):
    from alerts.models import Incident, OperatorEvent
    from heartbeats.models import Ping
    from monitors.models import CheckResult, Monitor, Round

    since = now - timedelta(seconds=RECENT_WINDOW)
    families = []

    checks = Family(
        "pharos_check_results_recent",
        "gauge",
        f"Check results recorded in the last {RECENT_WINDOW} s, by region and outcome.",
    )
    for row in (
        CheckResult.objects.filter(checked_at__gte=since).order_by().values("region", "outcome").annotate(n=Count("id"))
    ):
        checks.add(row["n"], region=row["region"], outcome=row["outcome"])
    families.append(checks)

    # Rounds by verdict over the dispatched_at index; open rounds have no verdict yet.
    rounds = Family(
        "pharos_rounds_recent",
        "gauge",
        f"Rounds dispatched in the last {RECENT_WINDOW} s, by verdict (open: not closed yet).",
    )
    for row in Round.objects.filter(dispatched_at__gte=since).order_by().values("verdict").annotate(n=Count("id")):
        rounds.add(row["n"], verdict=row["verdict"] or "open")
    families.append(rounds)

    operator = Family(
        "pharos_operator_events_recent",
        "gauge",
        f"Operator signals in the last {RECENT_WINDOW} s (inconclusive rounds, quarantines), by kind.",
    )
    for row in OperatorEvent.objects.filter(at__gte=since).order_by().values("kind").annotate(n=Count("id")):
        operator.add(row["n"], kind=row["kind"])
    families.append(operator)

    # The tick claims monitors whose next_check_at has passed; the oldest one still
    # unclaimed says how far behind the scheduler is (0 when it keeps up).
    families.append(
        Family(
            "pharos_scheduler_lag_seconds",
            "gauge",
            "How long the most overdue active monitor has waited to be dispatched.",
        ).add(pipeline.scheduler_lag(now=now))
    )
    families += pipeline_families(now=now)

    monitors = Family("pharos_monitors", "gauge", "Monitors by status.")
    for row in Monitor.objects.order_by().values("status").annotate(n=Count("id")):
        monitors.add(row["n"], status=row["status"])
    families.append(monitors)

    opened = Family("pharos_incidents_total", "counter", "Incidents opened since the start (rows kept), by source.")
    still_open = Family("pharos_incidents_open", "gauge", "Incidents not yet resolved, by source.")
    for row in (
        Incident.objects.order_by()
        .values("source_type")
        .annotate(total=Count("id"), open=Count("id", filter=Q(resolved_at__isnull=True)))
    ):
        opened.add(row["total"], source=row["source_type"])
        still_open.add(row["open"], source=row["source_type"])
    families += [opened, still_open]

    notification = _notification_model()
    if notification is not None:
        by_status = Family("pharos_notifications", "gauge", "Notifications by delivery status and kind.")
        for row in notification.objects.order_by().values("status", "kind").annotate(n=Count("id")):
            by_status.add(row["n"], status=row["status"], kind=row["kind"])
        families.append(by_status)

    pings = Family("pharos_pings_recent", "gauge", f"Heartbeat pings received in the last {RECENT_WINDOW} s, by kind.")
    for row in Ping.objects.filter(created_at__gte=since).order_by().values("kind").annotate(n=Count("id")):
        pings.add(row["n"], kind=row["kind"])
    families.append(pings)
    return families


def pipeline_families(*, now):
    """The figures config.pipeline judges the pipeline by (the scheduler's is above)."""
    delivery = pipeline.delivery_figures(now=now)
    rounds = pipeline.round_figures(now=now)
    return [
        Family(
            "pharos_heartbeat_sweep_lag_seconds",
            "gauge",
            "How long the most overdue heartbeat has stayed up past its deadline (0: the sweep keeps up).",
        ).add(pipeline.sweep_lag(now=now)),
        Family("pharos_delivery_backlog", "gauge", "Notifications due and not yet delivered.").add(delivery.backlog),
        Family(
            "pharos_delivery_lag_seconds", "gauge", "How long the oldest notification due has waited for delivery."
        ).add(delivery.lag),
        Family(
            "pharos_rounds_inconclusive_ratio",
            "gauge",
            f"Share of the rounds dispatched in the last {pipeline.RECENT_ROUNDS_WINDOW} s and closed that were "
            "inconclusive for lack of results.",
        ).add(rounds.inconclusive_ratio),
    ]


def health_families(*, now):
    """The services report of /api/healthcheck?services=true, one gauge per check."""
    from config.health import services_report

    report = services_report(now=now)
    ok = Family(
        "pharos_health_check_ok",
        "gauge",
        "Whether each part of the services health check passes (1) or fails (0); failing parts are named "
        "in /api/healthcheck?services=true.",
    )
    names = ["database", "broker", "aggregator"] + [name for name, _ in pipeline.PIPELINE_CHECKS]
    for name in names:
        ok.add(int(name not in report["failing"]), check=name)
    ages = Family("pharos_region_last_result_age_seconds", "gauge", "Age of the newest check result of each region.")
    for region, state in report["checks"]["regions"].items():
        ok.add(int(f"region:{region}" not in report["failing"]), check=f"region:{region}")
        if state.get("last_result_age") is not None:
            ages.add(state["last_result_age"], region=region)
    return [ok, ages]


def _notification_model():
    try:
        return apps.get_model("alerts", "Notification")
    except LookupError:
        return None


def broker_families(*, now):
    broker = Broker.from_settings(timeout=BROKER_TIMEOUT)
    regions = list(settings.PHAROS_REGIONS)
    probe_queues = [broker_names.probe_queue(region) for region in regions]
    control_queues = [broker_names.RESULTS_QUEUE, broker_names.ALERTS_QUEUE, broker_names.DEFAULT_QUEUE]
    depths = broker.depths(probe_queues + control_queues)

    per_region = Family("pharos_probe_queue_depth", "gauge", "Probe batches waiting for a region worker, by region.")
    for region, queue in zip(regions, probe_queues, strict=True):
        per_region.add(depths[queue], region=region)
    control = Family("pharos_queue_depth", "gauge", "Messages waiting in the control plane's queues, by queue.")
    for queue in control_queues:
        control.add(depths[queue], queue=queue)

    lag = 0.0
    if depths[broker_names.RESULTS_QUEUE]:
        finished = newest_checked_at(broker.oldest_message(broker_names.RESULTS_QUEUE))
        if finished is not None:
            lag = max(0.0, (now - finished).total_seconds())
    aggregator = Family(
        "pharos_aggregator_lag_seconds",
        "gauge",
        "How long the oldest batch of outcomes waiting in the results queue has waited (0 when none waits).",
    ).add(lag)
    return [per_region, control, aggregator]


def counter_families(*, now):
    """The shared counters bumped with config.metrics.count(), one family per name."""
    broker = Broker.from_settings(timeout=BROKER_TIMEOUT)
    if not broker.is_redis:
        return []
    client = broker.client()
    keys = sorted(key.decode() for key in client.scan_iter(match=KEY_PREFIX + "*", count=100))
    families = []
    for key in keys:
        name = key[len(KEY_PREFIX) :]
        family = Family(
            f"pharos_{name}_total", "counter", COUNTER_HELP.get(name, f"Times {name.replace('_', ' ')} was counted.")
        )
        for field, value in sorted(client.hgetall(key).items()):
            try:
                labels = json.loads(field)
            except ValueError:
                continue
            family.add(int(value), **labels)
        families.append(family)
    return families


COLLECTORS = (
    ("database", database_families),
    ("broker", broker_families),
    ("counters", counter_families),
    ("health", health_families),
)
