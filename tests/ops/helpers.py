"""Small helpers shared by the ops tests: rows with a given age, messages on a queue."""

import socket
from datetime import timedelta

from config import broker
from config.celery import app
from monitors.models import CheckResult, Monitor


def closed_port():
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def monitor_created(team, *, ago, now, **fields):
    """A monitor whose row says it was created ``ago`` before ``now``."""
    fields.setdefault("url", "https://example.com/")
    fields.setdefault("check_frequency", 30)
    monitor = Monitor.objects.create(team=team, **fields)
    # created_at is auto_now_add: backdate it with an UPDATE, as a migration-era row would be.
    Monitor.objects.filter(pk=monitor.pk).update(created_at=now - ago)
    monitor.refresh_from_db()
    return monitor


def result(monitor, region, *, checked_at, outcome="up"):
    return CheckResult.objects.create(
        monitor=monitor,
        region=region,
        scheduled_at=checked_at - timedelta(seconds=1),
        checked_at=checked_at,
        outcome=outcome,
    )


def send_outcomes(region, checked_at):
    """Put one batch of outcomes on the results queue of the suite's real broker."""
    body = {
        "region": region,
        "loop_lag": 0.0,
        "dropped": 0,
        "outcomes": [
            {"monitor_id": 1, "scheduled_at": checked_at, "region": region, "status": "up", "checked_at": checked_at}
        ],
    }
    with app.connection_for_write() as connection:
        app.send_task(broker.RECORD_OUTCOMES_TASK, args=[body], queue=broker.RESULTS_QUEUE, connection=connection)


def send_batch(region):
    body = {"region": region, "expires_at": "2099-01-01T00:00:00Z", "specs": []}
    with app.connection_for_write() as connection:
        app.send_task(broker.RUN_BATCH_TASK, args=[body], queue=broker.probe_queue(region), connection=connection)
