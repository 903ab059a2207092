"""Scheduler tick: claim + publish time at 10k and 100k due monitors, and dispatch lag.

    .venv/bin/python bench/scheduler.py [--sizes 10000,100000] [--lag-seconds 45] [--ticks 1.0,0.25]

Runs in a scratch PostgreSQL database (created on DATABASE_URL's server, dropped at the
end) and publishes to a real Redis (PHAROS_BENCH_REDIS_URL, default db 13, flushed).

1. Tick time: N monitors all due, three regions each; one ``monitors.scheduler.tick``
   claims them (FOR UPDATE SKIP LOCKED, chunks of 1,000), records their rounds, advances
   them and publishes batches of PHAROS_BATCH_SIZE specs. Printed next to the baseline of
   the same run: a bare ``SELECT`` of the same due rows into Python.
2. Dispatch lag: 10,000 monitors × 3 regions every 30 s at random phases, ticks every
   ``--ticks`` seconds for ``--lag-seconds``; lag = when the round's batch was published
   minus when the monitor was due. The baseline is the part no scheduler can beat with
   that tick interval: tick start minus due time.
"""

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _monitors_scratch import create_monitors, percentile, scratch_django  # noqa: E402

REGIONS = ("us", "eu", "as")


def reset(connection):
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE monitors_round, monitors_checkresult, monitors_monitor CASCADE")


def analyze(connection):
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE monitors_monitor")


def empty_probe_queues(client):
    for region in REGIONS:
        client.delete(f"probe.{region}")


def measure_tick(size, *, client):
    from django.db import connection
    from django.utils import timezone

    from monitors import scheduler
    from monitors.models import Monitor

    reset(connection)
    due = timezone.now()
    create_monitors(size, frequency=30, regions=REGIONS, next_check_at=due)
    analyze(connection)
    empty_probe_queues(client)
    now = timezone.now()

    started = time.perf_counter()
    rows = list(Monitor.objects.filter(paused_at__isnull=True, next_check_at__lte=now).order_by("next_check_at"))
    baseline = time.perf_counter() - started
    assert len(rows) == size

    started = time.perf_counter()
    report = scheduler.tick(now=now, budget_seconds=3600)
    elapsed = time.perf_counter() - started
    assert report.dispatched == size, report
    label = f"{size // 1000}k"
    print(f"tick claim+publish {label} due monitors: {elapsed:.3f} s")
    print(f"baseline bare SELECT of {label} due rows: {baseline:.3f} s")
    print(f"tick rate {label}: {size / elapsed:.0f} monitors/s")
    print(f"tick messages {label} x {len(REGIONS)} regions: {report.messages} messages")
    empty_probe_queues(client)


def measure_lag(tick_seconds, *, monitors, duration, client):
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from monitors import scheduler

    # The tick claims half its own interval ahead; beat would run with this setting.
    settings.PHAROS_TICK_SECONDS = tick_seconds

    reset(connection)
    create_monitors(monitors, frequency=30, regions=REGIONS, next_check_at=timezone.now() + timedelta(days=1))
    analyze(connection)
    empty_probe_queues(client)
    # Phases are drawn once the rows exist, so the first tick has no creation backlog.
    start = timezone.now() + timedelta(seconds=1)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE monitors_monitor SET next_check_at = %s + random() * interval '30 seconds'", [start])

    lags, floors, tick_times = [], [], []
    deadline = time.monotonic() + duration + 2
    next_tick = time.monotonic()
    while time.monotonic() < deadline:
        pause = next_tick - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        next_tick += tick_seconds
        began = timezone.now()
        t0 = time.perf_counter()
        report = scheduler.tick(now=began)
        tick_times.append(time.perf_counter() - t0)
        published = timezone.now()
        for due, _ in report.lags:
            lags.append((published - due).total_seconds())
            floors.append((began - due).total_seconds())
        empty_probe_queues(client)

    label = f"{monitors // 1000}k x {len(REGIONS)} regions / 30 s, tick {tick_seconds:g} s"
    print(f"rounds dispatched ({label}): {len(lags)} rounds")
    print(f"dispatch lag p50 ({label}): {percentile(lags, 0.50) * 1000:.0f} ms")
    print(f"dispatch lag p99 ({label}): {percentile(lags, 0.99) * 1000:.0f} ms")
    print(f"dispatch lag max ({label}): {max(lags) * 1000:.0f} ms")
    # The tick claims up to half a tick ahead, so some rounds leave early: |lag| is the
    # distance from the due time either way.
    print(f"dispatch |lag| p99 ({label}): {percentile([abs(v) for v in lags], 0.99) * 1000:.0f} ms")
    print(f"baseline tick-interval floor p50 ({label}): {percentile(floors, 0.50) * 1000:.0f} ms")
    print(f"baseline tick-interval floor p99 ({label}): {percentile(floors, 0.99) * 1000:.0f} ms")
    print(f"tick duration p99 ({label}): {percentile(tick_times, 0.99) * 1000:.0f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--lag-monitors", type=int, default=10000)
    parser.add_argument("--lag-seconds", type=float, default=35.0)
    parser.add_argument("--ticks", default="1.0,0.25", help="tick intervals (seconds) to measure lag at")
    args = parser.parse_args()
    sizes = [min(int(s), 200_000) for s in args.sizes.split(",") if s]
    duration = min(args.lag_seconds, 120.0)

    with scratch_django("scheduler"):
        import os

        import redis

        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        for size in sizes:
            measure_tick(size, client=client)
        for tick_seconds in (float(t) for t in args.ticks.split(",") if t):
            measure_lag(tick_seconds, monitors=min(args.lag_monitors, 100_000), duration=duration, client=client)
    return 0


if __name__ == "__main__":
    sys.exit(main())
