"""Heartbeats as tests need them: made through the ORM, pinged through the real URL."""

import io
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import wsgiref.util
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone

from heartbeats.models import Heartbeat
from tests.processes import stop_process, wait_for

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def make_heartbeat(team):
    def make(**fields):
        fields.setdefault("name", "nightly backup")
        fields.setdefault("period", 60)
        fields.setdefault("grace", 30)
        return Heartbeat.objects.create(team=team, **fields)

    return make


@pytest.fixture
def heartbeat(make_heartbeat):
    return make_heartbeat()


@pytest.fixture
def up_heartbeat(make_heartbeat):
    """A heartbeat whose last success came just now."""
    now = timezone.now()
    return make_heartbeat(status="up", last_ping_at=now, alert_after=now + timedelta(seconds=90))


def ping_path(heartbeat, suffix=""):
    return f"/api/v1/heartbeat/{heartbeat.token}{suffix}"


@dataclass
class Served:
    status: str
    headers: dict
    body: bytes


_django_application = None


def served_by_ping_route(path, *, method="GET", body=b"", headers=None):
    """``path`` served in this process by the WSGI application gunicorn runs in front of
    Django's (heartbeats.views.ping_route around django.core.wsgi.get_wsgi_application)."""
    from django.core.wsgi import get_wsgi_application

    from heartbeats.views import ping_route

    environ = {"PATH_INFO": path, "REQUEST_METHOD": method, "wsgi.input": io.BytesIO(body)}
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    environ.update(headers or {})
    wsgiref.util.setup_testing_defaults(environ)
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started.update(status=status, headers=dict(response_headers))

    global _django_application
    if _django_application is None:
        _django_application = get_wsgi_application()
    result = ping_route(_django_application)(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return Served(started["status"], started["headers"], content)


# A real gunicorn as `make run` starts it (config/gunicorn.conf.py), on the test database;
# tests using it need committed rows (django_db(transaction=True)).
def database_url():
    db = connection.settings_dict
    credentials = quote(db["USER"] or "postgres") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def spare_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(db):
    port = spare_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "SECRET_KEY": "test-gunicorn",
        "PHAROS_IGNORE_DOTENV": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "WEB_CONCURRENCY": "2",
        "PHAROS_WEB_THREADS": "4",
        "LOG_LEVEL": "WARNING",
    }
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--config",
        "config/gunicorn.conf.py",
    ]
    process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"

    def answers():
        try:
            urllib.request.urlopen(base + "/api/v1/heartbeat/nobody", timeout=2)
        except urllib.error.HTTPError as answer:
            return answer.code == 404
        except OSError:
            return False
        return False

    try:
        wait_for(
            answers,
            timeout=30,
            what="gunicorn to answer",
            process=process,
            output=lambda: process.stderr.read().decode(),
        )
        yield base
    finally:
        stop_process(process)
