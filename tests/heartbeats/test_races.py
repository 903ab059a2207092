"""Concurrency: many pings at once, and sweepers racing one another, against real PostgreSQL."""

import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from alerts.models import Incident
from heartbeats.models import Heartbeat, Ping
from heartbeats.ping_sql import COALESCE_SECONDS
from heartbeats.sweep import SweepReport, handle_overdue, overdue_heartbeats, sweep
from tests.heartbeats.conftest import ping_path

pytestmark = pytest.mark.django_db(transaction=True)

PINGS = 50


def fetch(url, data=None):
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def test_fifty_concurrent_pings_to_one_heartbeat_are_all_recorded_with_one_status(gunicorn, heartbeat):
    url = gunicorn + ping_path(heartbeat)
    with ThreadPoolExecutor(max_workers=PINGS) as pool:
        statuses = list(pool.map(lambda i: fetch(url, data=f"run {i}".encode()), range(PINGS)))

    assert statuses == [200] * PINGS
    assert Ping.objects.filter(heartbeat=heartbeat).count() == PINGS
    assert {ping.body for ping in Ping.objects.filter(heartbeat=heartbeat)} == {f"run {i}" for i in range(PINGS)}
    heartbeat = Heartbeat.objects.get(pk=heartbeat.pk)
    assert heartbeat.status == "up"
    # Pings within a second of the last recorded one leave the row alone (hot-row coalescing).
    newest = max(Ping.objects.filter(heartbeat=heartbeat).values_list("created_at", flat=True))
    assert newest - timedelta(seconds=COALESCE_SECONDS) <= heartbeat.last_ping_at <= newest


def test_concurrent_failures_and_successes_open_at_most_one_incident_and_lose_no_ping(gunicorn, up_heartbeat):
    base = gunicorn + ping_path(up_heartbeat)
    urls = [base + ("/fail" if i % 2 else "") for i in range(PINGS)]
    with ThreadPoolExecutor(max_workers=PINGS) as pool:
        statuses = list(pool.map(fetch, urls))

    assert statuses == [200] * PINGS
    assert Ping.objects.filter(heartbeat=up_heartbeat).count() == PINGS
    open_incidents = Incident.objects.filter(
        source_type="heartbeat", source_id=up_heartbeat.pk, resolved_at__isnull=True
    )
    assert open_incidents.count() <= 1
    # The final status agrees with the incident: down exactly when one is open.
    assert (Heartbeat.objects.get(pk=up_heartbeat.pk).status == "down") == open_incidents.exists()


def run_in_threads(target, count):
    """Run ``target`` in ``count`` threads released together; each closes its own connection."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def worker(index):
        try:
            barrier.wait(timeout=10)
            results[index] = target()
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


def test_two_sweepers_racing_on_one_overdue_heartbeat_open_one_incident(up_heartbeat):
    later = timezone.now() + timedelta(minutes=5)
    # Both sweepers read the same overdue row before either claims it: the worst case.
    (overdue,) = overdue_heartbeats(now=later)

    def sweeper():
        report = SweepReport()
        handle_overdue(overdue, now=later, report=report)
        return report.went_down

    went_down = run_in_threads(sweeper, 2)

    assert sorted(went_down) == [0, 1]
    assert Incident.objects.filter(source_type="heartbeat", source_id=up_heartbeat.pk).count() == 1
    assert Heartbeat.objects.get(pk=up_heartbeat.pk).status == "down"


def test_whole_sweeps_racing_over_many_heartbeats_open_one_incident_each(make_heartbeat):
    now = timezone.now()
    heartbeats = [make_heartbeat(name=f"job {i}", status="up", last_ping_at=now, alert_after=now) for i in range(20)]

    reports = run_in_threads(lambda: sweep(now=now + timedelta(seconds=1)), 3)

    assert sum(report.went_down for report in reports) == 20
    ids = [heartbeat.pk for heartbeat in heartbeats]
    assert Incident.objects.filter(source_type="heartbeat", source_id__in=ids).count() == 20
