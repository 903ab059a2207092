"""Cost of Pharos's own health check and metrics page, next to a baseline.

    .venv/bin/python bench/health_and_metrics.py [--monitors 2000] [--minutes 10]

Runs in a scratch PostgreSQL database (bench/_monitors_scratch.py) with ``--monitors``
monitors checked every 60 s from us, eu and as, and ``--minutes`` of their results, except
that eu stopped reporting five minutes ago: the services health check then pays its worst
case (a dead region's newest-result lookup scans the lookback window). Requests go through
Django's full middleware stack in-process (the test client), so network time is left out
of every figure, the baseline's included: a request for a URL with no route (a 404).
"""

import argparse
import logging
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _monitors_scratch import create_monitors, percentile, scratch_django  # noqa: E402

REGIONS = ("us", "eu", "as")
TOKEN = "bench-metrics-token"


def fill_results(minutes, *, now):
    from monitors.models import CheckResult, Monitor

    batch = []
    for monitor_id in Monitor.objects.values_list("id", flat=True):
        for minute in range(minutes):
            moment = now - timedelta(minutes=minute, seconds=monitor_id % 60)
            for region in REGIONS:
                if region == "eu" and minute < 5:
                    continue
                outcome = "down" if (monitor_id + minute) % 50 == 0 else "up"
                batch.append(
                    CheckResult(
                        monitor_id=monitor_id,
                        scheduled_at=moment,
                        region=region,
                        outcome=outcome,
                        checked_at=moment,
                        response_time=0.1,
                    )
                )
        if len(batch) >= 20000:
            CheckResult.objects.bulk_create(batch)
            batch = []
    CheckResult.objects.bulk_create(batch)


def timed(client, path, count, **headers):
    samples = []
    status = None
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path, HTTP_HOST="localhost", **headers)
        samples.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    return samples, status


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--monitors", type=int, default=2000)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--requests", type=int, default=40)
    options = parser.parse_args()

    with scratch_django("health", PHAROS_METRICS_TOKEN=TOKEN, ALLOWED_HOSTS="localhost"):
        from django.test import Client
        from django.utils import timezone

        now = timezone.now()
        create_monitors(options.monitors, frequency=60, regions=REGIONS, next_check_at=lambda i: now)
        from monitors.models import Monitor

        # Long-standing monitors: a region without recent results counts as failing.
        Monitor.objects.update(created_at=now - timedelta(hours=1))
        fill_results(options.minutes, now=now)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        client = Client()
        # 404s and 503s would each log a line; the log is not what is measured.
        logging.getLogger("django.request").setLevel(logging.CRITICAL)
        cheap = options.requests * 25
        timed(client, "/api/healthcheck", 20)  # warm up imports and the connection

        baseline, _ = timed(client, "/no-such-page", cheap)
        plain, plain_status = timed(client, "/api/healthcheck", cheap)
        services, services_status = timed(client, "/api/healthcheck?services=true", options.requests)
        metrics, metrics_status = timed(client, "/metrics", options.requests, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    print(
        f"# {options.monitors} monitors x {len(REGIONS)} regions, {options.minutes} min of results, eu silent for 5 min"
    )
    print(f"# statuses: plain {plain_status}, services {services_status} (eu stale), metrics {metrics_status}")
    print(f"baseline 404 p50: {statistics.median(baseline):.3f} ms")
    print(f"healthcheck plain p50: {statistics.median(plain):.3f} ms")
    print(f"healthcheck plain p99: {percentile(plain, 0.99):.3f} ms")
    print(f"healthcheck services p50: {statistics.median(services):.2f} ms")
    print(f"healthcheck services p95: {percentile(services, 0.95):.2f} ms")
    print(f"metrics scrape p50: {statistics.median(metrics):.2f} ms")
    print(f"metrics scrape p95: {percentile(metrics, 0.95):.2f} ms")


if __name__ == "__main__":
    main()
