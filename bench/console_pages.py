"""Cost of the console's pages at scale, next to the admin's plain changelist.

    .venv/bin/python bench/console_pages.py [--monitors 10000] [--minutes 10] [--requests 10]

Runs in a scratch PostgreSQL database (bench/_monitors_scratch.py) with ``--monitors``
monitors checked every 60 s from us, eu and as, ``--minutes`` of their results and an
incident for every tenth monitor. Requests go through Django's full middleware stack
in-process (the test client) as a logged-in superuser.

Baseline, in the same run: the monitor changelist with the console's columns switched off
(the columns of the admin before issue #14) — the floor the console's list sits on.
Figures: p50 per page and the number of SQL queries each page made.
"""

import argparse
import logging
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _monitors_scratch import create_monitors, scratch_django  # noqa: E402

REGIONS = ("us", "eu", "as")


def fill_results(minutes, *, now):
    from django.db import connection

    # One INSERT … SELECT: minutes × regions rows per monitor, 3 % of them down.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO monitors_checkresult
                (monitor_id, scheduled_at, region, outcome, cause, status_code, response_time,
                 remote_ip, tls_issuer, response_excerpt, checked_at)
            SELECT m.id, %s - make_interval(mins => g), r,
                   CASE WHEN (m.id + g) %% 33 = 0 THEN 'down' ELSE 'up' END, '', 200,
                   0.05 + (m.id %% 7) / 100.0, '', '', '', %s - make_interval(mins => g)
            FROM monitors_monitor m, generate_series(0, %s) g, unnest(ARRAY['us', 'eu', 'as']) r
            """,
            [now, now, minutes - 1],
        )
        cursor.execute("UPDATE monitors_monitor SET verdict_round_at = %s, passing_since = %s", [now, now])


def timed(client, path, count):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    samples, queries = [], 0
    for _ in range(count):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path, HTTP_HOST="localhost")
            samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        queries = len(captured.captured_queries)
    return statistics.median(samples), queries


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--monitors", type=int, default=10000)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--requests", type=int, default=10)
    options = parser.parse_args()

    with scratch_django("console", ALLOWED_HOSTS="localhost"):
        from django.contrib.admin import ModelAdmin
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client
        from django.utils import timezone

        from alerts.models import Incident
        from monitors.admin import MonitorAdmin
        from monitors.models import Monitor

        now = timezone.now()
        team = create_monitors(options.monitors, frequency=60, regions=REGIONS, next_check_at=now)
        Monitor.objects.update(created_at=now - timedelta(days=40))
        fill_results(options.minutes, now=now)
        Incident.objects.bulk_create(
            Incident(team=team, source_type="monitor", source_id=pk, started_at=now - timedelta(hours=3))
            for pk in Monitor.objects.values_list("pk", flat=True)[::10]
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        operator = get_user_model().objects.create_superuser("bench", "bench@example.com", "x" * 16)
        client = Client()
        client.force_login(operator)
        logging.getLogger("django.request").setLevel(logging.CRITICAL)
        one = Monitor.objects.order_by("pk").values_list("pk", flat=True).first()
        client.get("/admin/monitors/monitor/", HTTP_HOST="localhost")  # warm up

        console_columns = (MonitorAdmin.list_display, MonitorAdmin.get_changelist_instance)
        MonitorAdmin.list_display = ["__str__", "status", "monitor_type", "url", "check_frequency", "team"]
        MonitorAdmin.get_changelist_instance = ModelAdmin.get_changelist_instance
        baseline = timed(client, "/admin/monitors/monitor/", options.requests)
        MonitorAdmin.list_display, MonitorAdmin.get_changelist_instance = console_columns
        listing = timed(client, "/admin/monitors/monitor/", options.requests)
        overview = timed(client, "/admin/", options.requests)
        page = timed(client, f"/admin/monitors/monitor/{one}/change/", options.requests)

    print(f"# {options.monitors} monitors x {len(REGIONS)} regions, {options.minutes} min of results, 100 rows a page")
    print(f"baseline plain monitor changelist p50: {baseline[0]:.1f} ms")
    print(f"baseline plain monitor changelist queries: {baseline[1]}")
    print(f"console monitor list p50: {listing[0]:.1f} ms")
    print(f"console monitor list queries: {listing[1]}")
    print(f"console overview p50: {overview[0]:.1f} ms")
    print(f"console overview queries: {overview[1]}")
    print(f"console monitor page p50: {page[0]:.1f} ms")
    print(f"console monitor page queries: {page[1]}")


if __name__ == "__main__":
    main()
