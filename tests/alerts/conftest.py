"""Real servers on loopback for alert delivery: an SMTP server and scriptable HTTP receivers."""

import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from alerts.incidents import Alerting, IncidentFacts, open_incident
from teams.models import Membership

T0 = datetime(2026, 11, 28, 6, 0, 0, tzinfo=UTC)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailBox:
    """aiosmtpd handler: keeps every message; refuses recipients at @rejected.example."""

    def __init__(self):
        self.messages = []
        self.arrived = threading.Condition()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@rejected.example"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.arrived:
            self.messages.append(envelope)
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1, and Django's SMTP backend pointed at it."""
    mailbox = MailBox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield mailbox
    finally:
        controller.stop()


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    """A threaded HTTP server that records requests and answers a scripted list of statuses."""

    url: str = ""
    held: int = 0  # requests that reached a slow receiver (answered or not yet)
    statuses: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count, timeout=10.0):
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.requests) >= count, timeout=timeout)
        return list(self.requests)


def _start_receiver(hold=None):
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.arrived:
                receiver.held += 1 if hold is not None else 0
                receiver.arrived.notify_all()
            if hold is not None:
                # A slow receiver: answers only once the test lets it (bounded, whatever happens).
                hold.wait(timeout=120)
            with receiver.arrived:
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.requests.append(
                    Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                receiver.arrived.notify_all()
            payload = b'{"ok": true}' if status < 400 else b'{"error": "scripted failure"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    return receiver, server


@pytest.fixture
def http_receiver(settings):
    """Start receivers on demand: ``http_receiver()`` returns a fresh one; all stop at teardown."""
    settings.PHAROS_ALLOW_PRIVATE_TARGETS = True
    servers = []

    def start(*, hold=None):
        """``hold``: a threading.Event; the receiver answers each request only once it is set."""
        receiver, server = _start_receiver(hold)
        servers.append(server)
        return receiver

    try:
        yield start
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.fixture
def sms_account(settings):
    settings.PHAROS_SMS_ACCOUNT_SID = "AC0123456789"
    settings.PHAROS_SMS_AUTH_TOKEN = "twilio-token"
    settings.PHAROS_SMS_FROM_NUMBER = "+15550000000"


@pytest.fixture
def base_url(settings):
    settings.PHAROS_BASE_URL = "http://testserver"
    return settings.PHAROS_BASE_URL


@pytest.fixture
def member(team, django_user_model):
    """Make a team member: ``member("ana", on_call=True, phone="+1555…")``."""

    def make(username, *, on_call=False, phone="", email=None):
        # No password: hashing one costs a good fraction of a second, and nobody logs in.
        user = django_user_model.objects.create_user(
            username, email=email if email is not None else f"{username}@example.com"
        )
        Membership.objects.create(team=team, user=user, on_call=on_call, phone_number=phone)
        return user

    return make


@pytest.fixture
def open_down(team):
    """Open a monitor-like incident for ``team`` at T0 (or ``now``), with the given alerting."""
    counter = iter(range(1000, 100000))

    def open_(now=T0, *, cause="Status 503", name="api.example.com", **alerting):
        return open_incident(
            team_id=team.pk,
            source_type="monitor",
            source_id=next(counter),
            facts=IncidentFacts(
                cause=cause, name=name, url="https://api.example.com/health", http_method="get", regions=["us", "eu"]
            ),
            alerting=Alerting(**alerting),
            now=now,
        )

    return open_


def database_url():
    """The URL of the database this test runs in (the test database), for worker processes."""
    from django.db import connection

    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def alert_workers(redis_url, clean_redis):
    """Start real Celery worker processes on the ``alerts`` queue: ``alert_workers(2, env={…})``.

    They share this test's database and Redis; every one is terminated at teardown.
    """
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.processes import stop_process_groups

    processes = []

    def start(count=1, *, env=None, queues="alerts"):
        base = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url,
            "SECRET_KEY": os.environ.get("SECRET_KEY", "test"),
            "PHAROS_IGNORE_DOTENV": "1",
            "PHAROS_ALLOW_PRIVATE_TARGETS": "1",
            "PHAROS_DB_CONN_MAX_AGE": "0",
            **(env or {}),
        }
        for number in range(count):
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "config",
                        "worker",
                        "-Q",
                        queues,
                        # As make run starts it: the solo pool hands ids to the asyncio sender.
                        "--pool",
                        "solo",
                        "-n",
                        f"alerts-test-{number}-{os.getpid()}@%h",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                        "--loglevel=WARNING",
                    ],
                    cwd=Path(__file__).resolve().parents[2],
                    env=base,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                )
            )
        return processes

    try:
        yield start
    finally:
        stop_process_groups(processes)
        for process in processes:
            if process.stderr:
                process.stderr.close()


def wait_until(condition, *, timeout=30.0, interval=0.05):
    """Poll ``condition`` until it is true or ``timeout`` passes; returns its last value."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
