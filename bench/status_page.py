#!/usr/bin/env python
"""A status page of 50 resources with 90 days of history under load, next to the trivial view.

1. Creates a scratch PostgreSQL database (dropped at the end) as bench/ping_ingest.py does,
   with 50 monitors up for 100 days, 300 resolved incidents spread over 90 days, and one
   page showing all 50 with ``history`` 90.
2. Starts gunicorn on loopback (config/gunicorn.conf.py), the page cache in Redis when
   REDIS_URL is set (as in production), else each worker's memory.
3. Loads, each phase bounded by ``--duration`` seconds and ``--connections`` connections:
   the trivial view (``/api/healthcheck``), then the page. While the page is under load a
   new incident opens (through alerts.incidents, as a monitor's round does) and the bench
   polls the page until its banner says so: the seconds that took.
4. Prints ``name: value unit`` lines; goals: page rate ≥ 50 % of the trivial view's,
   p99 < 100 ms, the incident shown within 30 s. The client asks for gzip as browsers do;
   a last phase asks without it (``status_page_no_gzip_*``), outside the goals.

Usage: .venv/bin/python bench/status_page.py [--duration 8] [--connections 32]
"""

import argparse
import os
import sys
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from ping_ingest import (  # noqa: E402  (this script's folder is on sys.path)
    TRIVIAL_PATH,
    bench_environment,
    create_database,
    drop_database,
    pick_client,
    run_phase,
    spare_port,
    start_gunicorn,
    stop,
    wait_until_answering,
    with_database,
)

PAGE_PATH = "/status/bench/"
RESOURCES = 50
INCIDENTS = 300
DOWN_BANNER = b"Some services are down"
SHOW_DEADLINE = 60.0


def prepare_page():
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.utils import timezone

    from alerts.models import Incident
    from monitors.models import Monitor
    from status.models import StatusPage, StatusPageResource
    from teams.models import Team

    call_command("migrate", verbosity=0, interactive=False)
    cache.clear()
    now = timezone.now()
    team = Team.objects.create(name="Bench")
    monitors = Monitor.objects.bulk_create(
        Monitor(team=team, url=f"https://service-{i}.example.com/", pronounceable_name=f"svc {i}", status="up")
        for i in range(RESOURCES)
    )
    Monitor.objects.filter(team=team).update(created_at=now - timedelta(days=100))
    Incident.objects.bulk_create(
        Incident(
            team=team,
            source_type="monitor",
            source_id=monitors[i % RESOURCES].pk,
            cause="Status 503",
            status="Resolved",
            started_at=now - timedelta(hours=7 * i + 1),
            resolved_at=now - timedelta(hours=7 * i + 1) + timedelta(minutes=5 + i % 40),
        )
        for i in range(INCIDENTS)
    )
    page = StatusPage.objects.create(team=team, company_name="Bench", subdomain="bench", history=90)
    StatusPageResource.objects.bulk_create(
        StatusPageResource(
            status_page=page, resource_type="Monitor", resource_id=monitor.pk, public_name=f"Service {n}", position=n
        )
        for n, monitor in enumerate(monitors)
    )
    return team, monitors


def open_an_incident(team, monitor):
    from django.utils import timezone

    from alerts.incidents import Alerting, IncidentFacts, open_incident

    open_incident(
        team_id=team.pk,
        source_type="monitor",
        source_id=monitor.pk,
        facts=IncidentFacts(cause="Status 503"),
        alerting=Alerting(email=False),
        now=timezone.now(),
    )


def seconds_until_shown(url):
    started = time.monotonic()
    while time.monotonic() - started < SHOW_DEADLINE:
        try:
            with urllib.request.urlopen(url, timeout=SHOW_DEADLINE) as response:
                if DOWN_BANNER in response.read():
                    return time.monotonic() - started
        except OSError as error:  # a request the loaded server did not answer in time
            print(f"# poll failed: {error}", flush=True)
        time.sleep(0.2)
    return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per phase")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--gunicorn-arg", action="append", default=[], help="extra gunicorn argument (repeatable)")
    args = parser.parse_args()

    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pharos")
    scratch = f"pharos_bench_status_{os.getpid()}"
    env = bench_environment(with_database(server_url, scratch))
    env["SECRET_KEY"] = "bench-status-page"
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    os.environ.update(env)
    client = pick_client(args.client)

    create_database(server_url, scratch)
    gunicorn = None
    try:
        team, monitors = prepare_page()
        port = spare_port()
        gunicorn = args.gunicorn = start_gunicorn(port, env, args.gunicorn_arg)
        base = f"http://127.0.0.1:{port}"
        wait_until_answering(base + TRIVIAL_PATH, gunicorn)
        print(f"client: {client}")
        print(f"cache: {'redis' if env.get('REDIS_URL') else 'per-process memory'}")

        started = time.monotonic()
        with urllib.request.urlopen(base + PAGE_PATH, timeout=SHOW_DEADLINE) as response:
            page_bytes = len(response.read())
        print(f"status_page_first_render: {1000 * (time.monotonic() - started):.0f} ms")
        print(f"status_page_size: {page_bytes} bytes")
        zipped = urllib.request.Request(base + PAGE_PATH, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(zipped, timeout=SHOW_DEADLINE) as response:
            print(f"status_page_size_gzipped: {len(response.read())} bytes")
        run_phase(client, base, [TRIVIAL_PATH, PAGE_PATH], args, label="warm-up", quiet=True)
        trivial = run_phase(client, base, [TRIVIAL_PATH], args, label="trivial view")
        loaded: dict = {}
        load = threading.Thread(
            target=lambda: loaded.update(run_phase(client, base, [PAGE_PATH], args, label="status page"))
        )
        load.start()
        time.sleep(min(2.0, args.duration / 4))
        open_an_incident(team, monitors[0])
        shown_after = seconds_until_shown(base + PAGE_PATH)
        load.join()
        # Clients that do not ask for gzip (curl without --compressed, many bots) get the
        # whole page: measured apart, the goals above are for the browsers' crowd.
        plain = run_phase(client, base, [PAGE_PATH], args, label="status page, no gzip", accept_encoding="")

        print(f"trivial_view_rate: {trivial['rate']:.0f} requests/s")
        print(f"trivial_view_latency_p99: {trivial['p99']:.1f} ms")
        print(f"status_page_rate: {loaded['rate']:.0f} requests/s")
        print(f"status_page_rate_ratio: {100 * loaded['rate'] / max(1.0, trivial['rate']):.0f} %")
        print(f"status_page_latency_p50: {loaded['p50']:.1f} ms")
        print(f"status_page_latency_p99: {loaded['p99']:.1f} ms")
        print(f"status_page_responses_other: {loaded['other']} responses")
        print(f"incident_shown_after: {shown_after:.1f} s")
        print(f"status_page_no_gzip_rate: {plain['rate']:.0f} requests/s")
        print(f"status_page_no_gzip_rate_ratio: {100 * plain['rate'] / max(1.0, trivial['rate']):.0f} %")
        print(f"status_page_no_gzip_latency_p99: {plain['p99']:.1f} ms")
    finally:
        if gunicorn is not None:
            stop(gunicorn)
        from django.db import connections

        connections.close_all()
        drop_database(server_url, scratch)


if __name__ == "__main__":
    main()
