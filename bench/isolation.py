"""Nothing outside Pharos can blind it: the same monitors with and without outside faults.

    .venv/bin/python bench/isolation.py [--seconds 90] [--project DIR]

Runs the whole system as `make run` does (``python -m config.supervisor``: web, beat, the
scheduler, the aggregator, housekeeping, the alert sender, the watchdog and a region
worker for us, eu and as) twice in one run, each time on a fresh scratch database cloned
from one migrated template and a flushed Redis (PHAROS_BENCH_REDIS_URL, default db 11):

  clean   team A alone: 200 monitors every 5 s of a loopback target, 50 of which answer
          503 for 40 s from every region; one fast webhook channel.
  faulty  the same, plus (a) 4 more webhook channels whose receivers answer after 9 s and
          (b) team B's 120 monitors every 10 s of a target that accepts and never answers.

For team A it prints the rounds dispatched and results stored in the window (faulty as a
share of clean, goal ≥ 95 %) next to the rounds due in it and how late ticks dispatched
them (p99 and worst of dispatched_at − scheduled_at; negative: up to half a tick early),
missed outages and false incidents (goal 0 / 0), the fast channel's alert latency from
the incident opening to the receiver (p50 / p99, goal p99 < 2 s) and the deliveries made
to the slow receivers against those owed (goal: all; an alert whose incident resolved
before a slow receiver's turn came is skipped, as Pharos skips it everywhere, so neither
it nor a recovery for it is owed).

Team A's monitors all share one phase (every one is first due at the same instant), so
that the outage hits all 50 at once and their 50 alerts burst at the fast receiver. Its
rounds then come 200 at a time, every 5 s, and a window edge near one of those instants
counts or drops 200 rounds (5 %) by chance. The window used to start when the first round
appeared and last exactly 18 periods, so whether 18 or 19 rounds of every monitor fell
inside it was luck: in one run clean counted 3,800 and faulty 3,600 (94.7 %) although
the faulty scenario had dispatched every round due, none late (its worst lag −0.03 s).
The window now starts half a period after a due instant and lasts a whole number of
periods, so a round counts unless it is dispatched more than half a period late, or never.

``--project`` runs another checkout's code (e.g. an export of an older commit) with this
bench, for before/after figures. Bounded: ``--seconds`` of window plus at most 60 s of boot
and 90 s of draining per scenario; every process is stopped and the databases dropped.
"""

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _monitors_scratch import PROJECT_DIR, admin_connection, percentile, with_database  # noqa: E402

GOOD, DOWN, BAD = 200, 50, 120
PERIOD = 5  # team A's check frequency, seconds
OUTAGE_START, OUTAGE_LENGTH = 20.0, 40.0
SLOW_RECEIVERS, SLOW_ANSWER = 4, 9.0
BOOT_LIMIT, DRAIN_LIMIT = 60.0, 90.0


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Targets:
    """Every loopback server of one scenario on one asyncio loop in a thread."""

    def __init__(self):
        self.outage = False
        self.arrivals = {}  # receiver name -> [(monotonic-free wall time, delivery id)]
        self.loop = asyncio.new_event_loop()
        self.ports = {}
        self.hung = []
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def serve(self, name, handler):
        port = free_port()

        async def start():
            return await asyncio.start_server(handler, "127.0.0.1", port, backlog=4096)

        asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        self.ports[name] = port
        return f"http://127.0.0.1:{port}"

    async def _head(self, reader):
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await reader.readexactly(length) if length else b""
        return head, body

    async def monitored(self, reader, writer):
        try:
            head, _ = await self._head(reader)
            path = head.split(b" ", 2)[1].decode()
            number = int(path.rsplit("/", 1)[-1]) if path.startswith("/m/") else -1
            status = b"503 Service Unavailable" if self.outage and 0 <= number < DOWN else b"200 OK"
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    async def never_answers(self, reader, writer):
        self.hung.append(writer)  # held open, read from, never answered

    def receiver(self, name, delay):
        self.arrivals[name] = []

        async def handle(reader, writer):
            try:
                while True:
                    head, _ = await self._head(reader)
                    delivery = ""
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"x-pharos-delivery:"):
                            delivery = line.split(b":", 1)[1].strip().decode()
                    self.arrivals[name].append((time.time(), delivery))
                    if delay:
                        await asyncio.sleep(delay)
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    await writer.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        return self.serve(name, handle)

    def close(self):
        for writer in self.hung:
            with contextlib.suppress(Exception):
                self.loop.call_soon_threadsafe(writer.close)
        self.loop.call_soon_threadsafe(self.loop.stop)


def sleep_until(moment):
    from django.utils import timezone

    time.sleep(max(0.0, (moment - timezone.now()).total_seconds()))


def use_database(name):
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name


def seed(faulty, targets):
    from django.utils import timezone

    from alerts.models import Channel
    from monitors.models import Monitor
    from teams.models import Team

    start = timezone.now() + __import__("datetime").timedelta(seconds=5)
    good = Team.objects.create(name="Team A")
    base = targets.serve("monitored", targets.monitored)
    Monitor.objects.bulk_create(
        Monitor(
            team=good,
            url=f"{base}/m/{i}",
            check_frequency=PERIOD,
            request_timeout=5,
            recovery_period=0,
            regions=["us", "eu", "as"],
            next_check_at=start,
        )
        for i in range(GOOD)
    )
    Channel.objects.create(team=good, kind="webhook", name="fast", config={"url": targets.receiver("fast", 0) + "/"})
    if faulty:
        for n in range(SLOW_RECEIVERS):
            url = targets.receiver(f"slow{n}", SLOW_ANSWER) + "/"
            Channel.objects.create(team=good, kind="webhook", name=f"slow{n}", config={"url": url})
        other = Team.objects.create(name="Team B")
        hang = targets.serve("hang", targets.never_answers)
        Monitor.objects.bulk_create(
            Monitor(
                team=other,
                url=f"{hang}/h/{i}",
                check_frequency=10,
                request_timeout=10,
                recovery_period=0,
                regions=["us", "eu", "as"],
                next_check_at=start,
            )
            for i in range(BAD)
        )
    return good


def start_system(project, database_url, redis_url, workdir):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHAROS_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        PYTHONPATH=str(project),
        SECRET_KEY="pharos-bench-isolation",
        PORT=str(free_port()),
        PHAROS_IGNORE_DOTENV="1",
        PHAROS_REGIONS="us,eu,as",
        PHAROS_ALLOW_PRIVATE_TARGETS="1",
        PHAROS_MIN_CHECK_FREQUENCY="1",
        PHAROS_BEAT_SCHEDULE=str(workdir / "celerybeat-schedule"),
        PHAROS_BROKER_DIR=str(workdir / "broker"),
        # 100 notifications each to four receivers answering after 9 s: ten at once to
        # each lets every owed delivery be made within the bench's bounds.
        PHAROS_ALERT_PER_DESTINATION="10",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    log = open(workdir / "pharos.log", "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "config.supervisor"],
        cwd=project,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    return process, log


def stop_system(process, log):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # anything of its session left behind
    log.close()


def scenario(name, *, faulty, project, template, server_url, redis_url, seconds):
    import redis
    from django.db.models import Q
    from django.utils import timezone

    from alerts.models import Incident, Notification
    from monitors.models import CheckResult, Monitor, Round

    database = f"{template}_{name}"
    with admin_connection(server_url) as admin:
        admin.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
    redis.Redis.from_url(redis_url).flushdb()
    targets = Targets()
    workdir = Path(tempfile.mkdtemp(prefix=f"pharos-isolation-{name}-"))
    process = log = None
    try:
        use_database(database)
        team = seed(faulty, targets)
        process, log = start_system(project, with_database(server_url, database), redis_url, workdir)
        monitors = Monitor.objects.filter(team=team)
        deadline = time.monotonic() + BOOT_LIMIT
        while not (first := Round.objects.filter(monitor__team=team).order_by("scheduled_at").first()):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{name}: no round dispatched within {BOOT_LIMIT:.0f} s; see {workdir}/pharos.log")
            time.sleep(0.5)
        # Half a period after a due instant of the (in-phase) monitors, a whole number of
        # periods long: see the module docstring.
        period = timedelta(seconds=PERIOD)
        window_start = first.scheduled_at + period / 2
        while window_start < timezone.now():
            window_start += period
        window_end = window_start + period * max(1, round(seconds / PERIOD))
        sleep_until(window_start)
        sleep_until(window_start + timedelta(seconds=OUTAGE_START))
        targets.outage = True
        outage_start = timezone.now()
        sleep_until(window_start + timedelta(seconds=OUTAGE_START + OUTAGE_LENGTH))
        targets.outage = False
        sleep_until(window_end)

        in_window = Q(dispatched_at__gte=window_start, dispatched_at__lt=window_end)
        rounds = Round.objects.filter(in_window, monitor__team=team).count()
        due = Round.objects.filter(monitor__team=team, scheduled_at__gte=window_start, scheduled_at__lt=window_end)
        lags = [
            (dispatched - scheduled).total_seconds()
            for scheduled, dispatched in due.values_list("scheduled_at", "dispatched_at")
        ]
        # Every round team A's monitors owed in the window (in phase: GOOD per period).
        owed_rounds = GOOD * round((window_end - window_start) / period)
        results = CheckResult.objects.filter(
            monitor__team=team, checked_at__gte=window_start, checked_at__lt=window_end
        ).count()
        down_ids = set(monitors.filter(url__regex=r"/m/([0-9]|[1-4][0-9])$").values_list("pk", flat=True))
        opened = Incident.objects.filter(team=team, source_type="monitor", started_at__gte=outage_start)
        caught = set(opened.filter(source_id__in=down_ids).values_list("source_id", flat=True))
        false_incidents = opened.exclude(source_id__in=down_ids).count()
        unresolved = opened.filter(source_id__in=down_ids, resolved_at__isnull=True).count()

        # Drain: give owed deliveries (to slow receivers too) time to be made.
        slow = Notification.objects.filter(incident__team=team, channel__name__startswith="slow")
        owed_rows = slow.exclude(status="skipped")
        drain_end = time.monotonic() + DRAIN_LIMIT
        while faulty and time.monotonic() < drain_end:
            made = sum(len(targets.arrivals.get(f"slow{n}", [])) for n in range(SLOW_RECEIVERS))
            if made >= owed_rows.count() and not slow.filter(status__in=["pending", "sending"]).exists():
                break
            time.sleep(1)
        latencies = []
        # Alert latency from the incident's opening (its row's insert, in the transaction
        # that writes the outbox row) to the receiver; and, for context, from the moment the
        # aggregator took up the batch of results that opened it (the row's created_at is
        # that task's clock), which adds the aggregator's work on the whole batch.
        fast = {
            pk: (opened, taken_up)
            for pk, opened, taken_up in Notification.objects.filter(
                incident__team=team, channel__name="fast", event="alert"
            ).values_list("pk", "incident__created_at", "created_at")
        }
        from_batch = []
        for arrived, delivery in targets.arrivals["fast"]:
            if delivery.isdigit() and int(delivery) in fast:
                opened, taken_up = fast[int(delivery)]
                latencies.append(arrived - opened.timestamp())
                from_batch.append(arrived - taken_up.timestamp())
        owed, skipped = owed_rows.count(), slow.filter(status="skipped").count()
        made = len({d for n in range(SLOW_RECEIVERS) for _, d in targets.arrivals.get(f"slow{n}", [])})
        return {
            "rounds": rounds,
            "owed_rounds": owed_rounds,
            "lags": lags,
            "results": results,
            "missed": len(down_ids - caught),
            "false": false_incidents,
            "unresolved": unresolved,
            "latencies": latencies,
            "from_batch": from_batch,
            "owed": owed,
            "skipped": skipped,
            "made": made,
        }
    finally:
        if process is not None:
            stop_system(process, log)
        targets.close()
        use_database(template)
        from django.db import connections

        connections.close_all()
        with admin_connection(server_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--project", type=Path, default=PROJECT_DIR, help="checkout whose code runs the system")
    parser.add_argument("--label", default="", help="prefix of the printed figures (e.g. 'main')")
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/pharos"
    redis_url = os.environ.get("PHAROS_BENCH_REDIS_URL") or "redis://127.0.0.1:6379/11"
    template = f"pharos_bench_isolation_{os.getpid()}"
    with admin_connection(server_url) as admin:
        admin.execute(f'CREATE DATABASE "{template}"')
    try:
        os.environ.update(
            DATABASE_URL=with_database(server_url, template),
            SECRET_KEY="pharos-bench-isolation",
            PHAROS_IGNORE_DOTENV="1",
            DJANGO_SETTINGS_MODULE="config.settings",
            PHAROS_ALLOW_PRIVATE_TARGETS="1",
            PHAROS_MIN_CHECK_FREQUENCY="1",
            LOG_LEVEL="WARNING",
        )
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0, interactive=False)
        connections.close_all()  # a template may have no other session
        figures = {}
        for name, faulty in (("clean", False), ("faulty", True)):
            figures[name] = scenario(
                name,
                faulty=faulty,
                project=args.project.resolve(),
                template=template,
                server_url=server_url,
                redis_url=redis_url,
                seconds=args.seconds,
            )
    finally:
        from django.db import connections

        connections.close_all()
        with admin_connection(server_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
    report(figures, args.label)


def report(figures, label):
    prefix = f"{label} " if label else ""
    clean, faulty = figures["clean"], figures["faulty"]
    for name, data in figures.items():
        print(f"{prefix}{name} rounds dispatched (team A): {data['rounds']} of {data['owed_rounds']} due")
        if data["lags"]:
            lags = data["lags"]
            print(f"{prefix}{name} dispatch lag (team A) p99: {percentile(lags, 0.99):.2f} s, worst {max(lags):.2f} s")
        print(f"{prefix}{name} results stored (team A): {data['results']}")
        print(f"{prefix}{name} missed outages (of {DOWN}): {data['missed']}")
        print(f"{prefix}{name} false incidents: {data['false']}")
        print(f"{prefix}{name} outages not resolved: {data['unresolved']}")
        if data["latencies"]:
            print(f"{prefix}{name} fast channel alert latency p50: {percentile(data['latencies'], 0.5):.2f} s")
            print(f"{prefix}{name} fast channel alert latency p99: {percentile(data['latencies'], 0.99):.2f} s")
            batch = data["from_batch"]
            print(f"{prefix}{name} fast channel latency from results batch p50: {percentile(batch, 0.5):.2f} s")
            print(f"{prefix}{name} fast channel latency from results batch p99: {percentile(batch, 0.99):.2f} s")
        print(f"{prefix}{name} fast channel alerts received: {len(data['latencies'])}")
    share = 100.0 * faulty["rounds"] / clean["rounds"] if clean["rounds"] else 0.0
    print(f"{prefix}rounds dispatched faulty vs clean: {share:.1f} %")
    share = 100.0 * faulty["results"] / clean["results"] if clean["results"] else 0.0
    print(f"{prefix}results stored faulty vs clean: {share:.1f} %")
    print(
        f"{prefix}slow receiver deliveries owed: {faulty['owed']} (alerts skipped, incident resolved first: {faulty['skipped']})"
    )
    print(f"{prefix}slow receiver deliveries made: {faulty['made']}")


if __name__ == "__main__":
    main()
