"""Alert latency: from an incident opening to the email and the webhook arriving.

    .venv/bin/python bench/alert_latency.py [--incidents 100] [--interval 0.05]

Runs the production path on one machine: a scratch PostgreSQL database (created from
DATABASE_URL's server, migrated, dropped at the end), Redis as the broker, a real Celery
worker process on the ``alerts`` queue, a real SMTP server (aiosmtpd) and a real HTTP
receiver on loopback. For each incident, ``alerts.incidents.open_incident`` runs as the
aggregator calls it (the transition, the outbox rows and the enqueue after commit); the
clock stops when the email reaches the SMTP server and when the webhook reaches the
receiver. Incidents are opened one every ``--interval`` seconds.

Baseline, in the same run: the same email sent directly with Django's SMTP backend and
the same JSON POSTed directly with httpx, from this process, to the same servers — the
floor any queue-based path sits on. Goal (issue #6): p99 under 2 s.

Every loop is bounded in count and time; the worker is terminated and the database
dropped whatever happens.
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

WAIT_LIMIT = 60.0  # seconds to wait for every delivery after the last incident opened


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class Arrivals:
    """Arrival times by key, recorded by the servers' threads."""

    def __init__(self):
        self.times = {}
        self.counts = {}
        self.lock = threading.Condition()

    def record(self, key):
        now = time.time()
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            self.times.setdefault(key, now)
            self.lock.notify_all()

    def wait_for(self, keys, deadline):
        with self.lock:
            while not all(key in self.times for key in keys):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.lock.wait(remaining)
        return True


class MailHandler:
    def __init__(self, arrivals):
        self.arrivals = arrivals

    async def handle_DATA(self, server, session, envelope):
        for line in envelope.content.split(b"\r\n"):
            if line.lower().startswith(b"x-pharos-incident:"):
                self.arrivals.record(line.split(b":", 1)[1].strip().decode())
                break
        return "250 OK"


def start_receiver(arrivals):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                arrivals.record(json.loads(body)["data"]["id"])
            except (ValueError, KeyError, TypeError):
                pass
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def with_database(url, name):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def admin_connection(url):
    import psycopg

    parts = urlsplit(with_database(url, "postgres"))
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname="postgres",
        autocommit=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=int(os.environ.get("PHAROS_BENCH_ALERT_INCIDENTS", "100")))
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between incidents")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes of the alert worker")
    args = parser.parse_args()
    count = max(1, min(args.incidents, 2000))

    server_url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/pharos"
    redis_url = os.environ.get("PHAROS_BENCH_REDIS_URL") or "redis://127.0.0.1:6379/14"
    scratch = f"pharos_bench_alerts_{os.getpid()}"
    database_url = with_database(server_url, scratch)

    with admin_connection(server_url) as admin:
        admin.execute(f'CREATE DATABASE "{scratch}"')
    worker = None
    smtp = receiver = None
    try:
        os.environ.update(
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-secret-key",
            PHAROS_IGNORE_DOTENV="1",
            PHAROS_ALLOW_PRIVATE_TARGETS="1",
            DJANGO_SETTINGS_MODULE="config.settings",
            LOG_LEVEL="WARNING",
        )
        import redis

        redis.Redis.from_url(redis_url).delete("alerts")

        arrivals_mail, arrivals_hook = Arrivals(), Arrivals()
        from aiosmtpd.controller import Controller

        smtp = Controller(MailHandler(arrivals_mail), hostname="127.0.0.1", port=free_port())
        smtp.start()
        receiver = start_receiver(arrivals_hook)
        hook_url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        os.environ.update(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp.port))

        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)

        from django.contrib.auth import get_user_model

        from alerts.incidents import Alerting, IncidentFacts, open_incident
        from alerts.models import Channel, Notification
        from teams.models import Membership, Team

        team = Team.objects.create(name="Bench")
        user = get_user_model().objects.create_user("oncall", email="oncall@bench.example")
        Membership.objects.create(team=team, user=user, on_call=True)
        Channel.objects.create(team=team, kind="webhook", config={"url": hook_url}, secrets={"signing_secret": "bench"})

        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                "alerts",
                "-c",
                str(args.concurrency),
                "-n",
                f"alerts-bench-{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=WARNING",
            ],
            cwd=PROJECT_DIR,
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

        from django.utils import timezone

        def open_one(source_id):
            return open_incident(
                team_id=team.pk,
                source_type="monitor",
                source_id=source_id,
                facts=IncidentFacts(cause="Status 503", name="bench.example", url="https://bench.example/"),
                alerting=Alerting(email=True),
                now=timezone.now(),
            )

        # Warm-up (not counted): the worker's first task pays for imports and connections.
        warm = open_one(0)
        if not (
            arrivals_mail.wait_for([str(warm.pk)], time.monotonic() + 60)
            and arrivals_hook.wait_for([str(warm.pk)], time.monotonic() + 60)
        ):
            raise SystemExit("the alert worker delivered nothing within 60 s")

        opened = {}
        for number in range(1, count + 1):
            started = time.time()
            incident = open_one(number)
            opened[str(incident.pk)] = started
            time.sleep(args.interval)
        deadline = time.monotonic() + WAIT_LIMIT
        arrivals_mail.wait_for(list(opened), deadline)
        arrivals_hook.wait_for(list(opened), deadline)

        mail = [arrivals_mail.times[key] - opened[key] for key in opened if key in arrivals_mail.times]
        hook = [arrivals_hook.times[key] - opened[key] for key in opened if key in arrivals_hook.times]
        both = [
            max(arrivals_mail.times[k], arrivals_hook.times[k]) - opened[k]
            for k in opened
            if k in arrivals_mail.times and k in arrivals_hook.times
        ]
        duplicates = sum(c - 1 for c in arrivals_mail.counts.values()) + sum(
            c - 1 for c in arrivals_hook.counts.values()
        )
        # The servers have each message a moment before the worker records it delivered.
        settle = time.monotonic() + 10
        while Notification.objects.exclude(status="delivered").exists() and time.monotonic() < settle:
            time.sleep(0.05)
        failed = Notification.objects.exclude(status="delivered").count()

        # Baseline: the same deliveries sent directly from here, no database, no queue.
        import httpx
        from django.core.mail import EmailMultiAlternatives, get_connection

        base_mail, base_hook = [], []
        with httpx.Client(timeout=10) as client:
            for number in range(count):
                key = f"baseline-{number}"
                started = time.time()
                email = EmailMultiAlternatives(
                    "[Pharos] Down: bench.example",
                    "Cause: Status 503",
                    "bench@localhost",
                    ["oncall@bench.example"],
                    headers={"X-Pharos-Incident": key},
                    connection=get_connection("django.core.mail.backends.smtp.EmailBackend"),
                )
                email.attach_alternative("<p>Cause: Status 503</p>", "text/html")
                email.send()
                arrivals_mail.wait_for([key], time.monotonic() + 10)
                base_mail.append(arrivals_mail.times[key] - started)
                started = time.time()
                client.post(hook_url, json={"event": "incident.started", "data": {"id": key}})
                base_hook.append(arrivals_hook.times[key] - started)

        ms = 1000.0
        print(f"incidents opened: {count} count")
        print(f"emails delivered: {len(mail)} count")
        print(f"webhooks delivered: {len(hook)} count")
        print(f"duplicate deliveries: {duplicates} count")
        print(f"notifications not delivered: {failed} count")
        print(f"open to email p50: {statistics.median(mail) * ms:.1f} ms")
        print(f"open to email p99: {percentile(mail, 0.99) * ms:.1f} ms")
        print(f"open to webhook p50: {statistics.median(hook) * ms:.1f} ms")
        print(f"open to webhook p99: {percentile(hook, 0.99) * ms:.1f} ms")
        print(f"open to both p99: {percentile(both, 0.99) * ms:.1f} ms")
        print(f"open to both max: {max(both) * ms:.1f} ms")
        print(f"baseline direct SMTP send p50: {statistics.median(base_mail) * ms:.1f} ms")
        print(f"baseline direct SMTP send p99: {percentile(base_mail, 0.99) * ms:.1f} ms")
        print(f"baseline direct webhook POST p50: {statistics.median(base_hook) * ms:.1f} ms")
        print(f"baseline direct webhook POST p99: {percentile(base_hook, 0.99) * ms:.1f} ms")
        print("goal open to both p99: 2000 ms")
        met = len(both) == count and percentile(both, 0.99) < 2.0
        print("goal met: every incident reached both, p99 under 2 s" if met else "goal NOT met")
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=5)
        if receiver is not None:
            receiver.shutdown()
            receiver.server_close()
        if smtp is not None:
            smtp.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        with admin_connection(server_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


if __name__ == "__main__":
    main()
