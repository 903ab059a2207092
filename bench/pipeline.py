"""End to end: due monitors → region workers → aggregator → stored results and verdicts.

    .venv/bin/python bench/pipeline.py [--checks-per-second 1200,1500] [--seconds 30]

Every part is a real process on this machine: nginx (or a small asyncio server when nginx
is missing) as the local target on 127.0.0.1, one region worker per region (``celery -A
probes.worker worker -Q probe.<region>``), the aggregator (``celery -A config.celery
worker -Q results``), PostgreSQL (a scratch database, dropped at the end) and Redis
(PHAROS_BENCH_REDIS_URL, default db 13, flushed). This process plays beat: it runs
``monitors.scheduler.tick`` every second.

Each offered load of ``--checks-per-second`` (monitors × 3 regions every 10 s) runs in
turn with the same processes. After a 10 s warm-up it counts results stored per second
over the window, rounds closed, the verdict lag of those rounds (dispatched → closed)
and what was left queued at the end: a load is sustained when the backlog stays near 0.

Baselines of the same run: the aggregator alone (results messages queued up front, no
probes competing for the CPU), and CheckResult rows bulk-inserted straight into the
database in batches of 100 (no broker, no probes).
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _monitors_scratch import PROJECT_DIR, create_monitors, percentile, scratch_django  # noqa: E402

REGIONS = ("us", "eu", "as")
FREQUENCY = 10
WARM_UP = 10.0

NGINX_CONFIG = """
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
daemon off;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{ default_type text/plain; return 200 "ok pharos\\n"; }}
    }}
}}
"""

FALLBACK_SERVER = r"""
import asyncio, sys
async def handle(reader, writer):
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nok pharos\n")
        await writer.drain()
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=4096)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def start_target(folder):
    port = free_port()
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if binary:
        config = Path(folder) / "nginx.conf"
        config.write_text(NGINX_CONFIG.format(folder=folder, port=port))
        process = subprocess.Popen([binary, "-c", str(config), "-p", str(folder)], stderr=subprocess.DEVNULL)
        name = "nginx"
    else:
        process = subprocess.Popen([sys.executable, "-c", FALLBACK_SERVER, str(port)])
        name = "asyncio server (nginx missing)"
    wait_for_port(port)
    return process, port, name


def start(command, env, log):
    return subprocess.Popen(
        command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def baseline_insert_rate(rows):
    """Rows/s of a plain bulk INSERT of CheckResults: the database's share of the pipeline."""
    from django.utils import timezone

    from monitors.models import CheckResult, Monitor

    team = create_monitors(
        100,
        frequency=3600,
        regions=REGIONS,
        url="http://insert.invalid/{i}",
        next_check_at=timezone.now() + timedelta(days=1),
    )
    ids = list(Monitor.objects.filter(team=team, url__startswith="http://insert.invalid/").values_list("pk", flat=True))
    at = timezone.now() - timedelta(days=1)
    objects = [
        CheckResult(
            monitor_id=pk,
            scheduled_at=at + timedelta(microseconds=i),
            region="bench",
            outcome="up",
            response_time=0.001,
            checked_at=at,
        )
        for i, pk in enumerate(ids * (rows // max(len(ids), 1) + 1))
    ][:rows]
    started = time.perf_counter()
    for index in range(0, len(objects), 100):  # the aggregator's unit: one batch of 100
        CheckResult.objects.bulk_create(objects[index : index + 100])
    elapsed = time.perf_counter() - started
    Monitor.objects.filter(pk__in=ids).delete()
    return len(objects) / elapsed


def aggregator_alone_rate(messages_per_region=40, timeout=90.0):
    """Results/s the running aggregator sustains with no probes competing: results messages
    for fresh rounds are queued first, then we time how fast they turn into stored votes and
    closed rounds. Its monitors are deleted afterwards."""
    from django.utils import timezone

    from config.broker import RECORD_OUTCOMES_TASK, RESULTS_QUEUE
    from config.celery import app
    from monitors import scheduler
    from monitors.models import CheckResult, Monitor, Round
    from probes.spec import Outcome, results_message

    count = messages_per_region * 100 + 1
    now = timezone.now()
    team = create_monitors(count, frequency=3600, regions=REGIONS, url="http://alone.invalid/{i}", next_check_at=now)
    scheduler.tick(now=now, publish=False, budget_seconds=120)
    ids = list(Monitor.objects.filter(team=team, url__startswith="http://alone.invalid/").values_list("pk", flat=True))
    rounds = list(Round.objects.filter(monitor_id__in=ids).values_list("monitor_id", "scheduled_at"))
    # Warm-up: the first round's vote shows the worker is up before the clock starts.
    (first_monitor, first_at), rounds = rounds[0], rounds[1:]
    warm = Outcome(monitor_id=first_monitor, scheduled_at=first_at.isoformat(), region=REGIONS[0], status="up")
    app.send_task(RECORD_OUTCOMES_TASK, args=[results_message(region=REGIONS[0], outcomes=[warm])], queue=RESULTS_QUEUE)
    ready_by = time.monotonic() + timeout
    while not CheckResult.objects.filter(monitor_id=first_monitor).exists() and time.monotonic() < ready_by:
        time.sleep(0.1)
    with app.producer_or_acquire() as producer:
        started = time.perf_counter()
        for region in REGIONS:
            for index in range(0, len(rounds), 100):
                outcomes = [
                    Outcome(
                        monitor_id=m,
                        scheduled_at=at.isoformat(),
                        region=region,
                        status="up",
                        status_code=200,
                        response_time=0.001,
                        checked_at=now.isoformat(),
                    )
                    for m, at in rounds[index : index + 100]
                ]
                app.send_task(
                    RECORD_OUTCOMES_TASK,
                    args=[results_message(region=region, outcomes=outcomes)],
                    queue=RESULTS_QUEUE,
                    producer=producer,
                )
    open_rounds = Round.objects.filter(monitor_id__in=ids, closed_at__isnull=True).exclude(monitor_id=first_monitor)
    while open_rounds.exists() and time.perf_counter() - started < timeout:
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    stored = CheckResult.objects.filter(monitor_id__in=ids).exclude(monitor_id=first_monitor).count()
    Monitor.objects.filter(pk__in=ids).delete()
    return stored / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks-per-second", default="1200,1500", help="offered loads to measure, in turn")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window per load, after a 10 s warm-up")
    parser.add_argument("--aggregators", type=int, default=2, help="processes of the results worker")
    args = parser.parse_args()
    loads = [max(30, min(int(x), 6000)) for x in args.checks_per_second.split(",") if x.strip()][:4]
    window = max(10.0, min(args.seconds, 120.0))

    folder = tempfile.mkdtemp(prefix="pharos-pipeline-")
    processes = []
    log = open(Path(folder) / "workers.log", "wb")
    try:
        target, port, target_name = start_target(folder)
        processes.append(target)
        with scratch_django(
            "pipeline",
            PHAROS_REGIONS=",".join(REGIONS),
            PHAROS_ALLOW_PRIVATE_TARGETS="1",
            PHAROS_MIN_CHECK_FREQUENCY="10",
        ):
            workers = []
            try:
                start_workers(workers, log, aggregators=args.aggregators)
                print(
                    f"target: {target_name}; {len(REGIONS)} region workers, aggregator with {args.aggregators} processes"
                )
                print(
                    f"baseline aggregator alone (queued results, no probes running): {aggregator_alone_rate():.0f} checks/s"
                )
                print(
                    f"baseline bulk INSERT of results (no broker, no probes): {baseline_insert_rate(20000):.0f} rows/s"
                )
                for offered in loads:
                    measure_load(offered, window=window, port=port, processes=workers, log=log)
            finally:
                for process in reversed(workers):
                    stop(process)
    finally:
        for process in processes:
            stop(process)
        log.close()
        if os.environ.get("PHAROS_BENCH_KEEP_LOGS"):
            print(f"logs kept in {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


def start_workers(processes, log, *, aggregators):
    env = dict(os.environ, PHAROS_DB_CONN_MAX_AGE="600")
    env.pop("PHAROS_TEST_DB_NAME", None)
    celery = [sys.executable, "-m", "celery"]
    quiet = ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"]
    for region in REGIONS:
        processes.append(
            start(
                celery
                + [
                    "-A",
                    "probes.worker",
                    "worker",
                    "-Q",
                    f"probe.{region}",
                    "-n",
                    f"probe-{region}-{os.getpid()}@%h",
                    *quiet,
                ],
                dict(env, PHAROS_REGION=region),
                log,
            )
        )
    processes.append(
        start(
            celery
            + [
                "-A",
                "config.celery",
                "worker",
                "-Q",
                "results",
                "-c",
                str(aggregators),
                "-n",
                f"aggregator-{os.getpid()}@%h",
                *quiet,
            ],
            env,
            log,
        )
    )


def measure_load(offered, *, window, port, processes, log):
    """Run ``offered`` checks/s through the pipeline; print what was recorded and how fast."""
    import redis
    from django.db import connection
    from django.utils import timezone

    from monitors import scheduler
    from monitors.models import CheckResult, Monitor, Round

    monitors = offered * FREQUENCY // len(REGIONS)
    Monitor.objects.all().delete()
    create_monitors(
        monitors,
        frequency=FREQUENCY,
        regions=REGIONS,
        url=f"http://127.0.0.1:{port}/{{i}}",
        next_check_at=timezone.now() + timedelta(days=1),
    )
    # Phases are drawn once the rows exist, so the run starts without a burst.
    start_at = timezone.now() + timedelta(seconds=2)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE monitors_monitor SET next_check_at = %s + random() * %s * interval '1 second'",
            [start_at, FREQUENCY],
        )
    time.sleep(max(0.0, (start_at - timezone.now()).total_seconds()))

    window_start = timezone.now() + timedelta(seconds=WARM_UP)
    window_end = window_start + timedelta(seconds=window)
    stored_at_start = None
    next_tick = time.monotonic()
    while timezone.now() < window_end:
        pause = next_tick - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        next_tick += 1.0
        if stored_at_start is None and timezone.now() >= window_start:
            stored_at_start, measured_from = CheckResult.objects.count(), time.perf_counter()
        scheduler.tick(now=timezone.now())
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError("a pipeline process exited; see " + log.name)
    stored = CheckResult.objects.count() - stored_at_start
    measured = time.perf_counter() - measured_from

    closed = list(
        Round.objects.filter(closed_at__gte=window_start, closed_at__lt=window_end).values_list(
            "dispatched_at", "closed_at", "verdict"
        )
    )
    lags = [(c - d).total_seconds() for d, c, _ in closed]
    up = sum(1 for _, _, verdict in closed if verdict == "up")
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    backlog = client.llen("results")

    label = f"at {offered} checks/s offered"
    print(f"monitors {label}: {monitors} monitors")
    print(f"checks recorded {label}: {stored / measured:.0f} checks/s")
    print(f"rounds closed {label}: {len(lags) / window:.0f} rounds/s")
    print(f"rounds closed not up {label}: {len(lags) - up} rounds")
    print(f"verdict lag p50 {label}: {percentile(lags, 0.5) * 1000:.0f} ms")
    print(f"verdict lag p99 {label}: {percentile(lags, 0.99) * 1000:.0f} ms")
    print(f"results queue backlog at end {label}: {backlog} messages")
    if stored == 0:
        log.flush()
        print(Path(log.name).read_text(errors="replace")[-3000:], file=sys.stderr)
    # Let the queues drain before the next load level, bounded.
    queues = ["results", *(f"probe.{region}" for region in REGIONS)]
    drain_by = time.monotonic() + 30
    while time.monotonic() < drain_by and any(client.llen(queue) for queue in queues):
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
