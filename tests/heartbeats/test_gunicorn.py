"""Pings through the real server as `make run` starts it: gunicorn, config/gunicorn.conf.py,
config.wsgi (whose ping route skips the middleware), PostgreSQL."""

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from alerts.models import Incident
from heartbeats.models import Heartbeat, Ping
from tests.heartbeats.conftest import ping_path
from tests.processes import stop_process, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PROJECT = Path(__file__).resolve().parents[2]


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
    command = [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--config", "config/gunicorn.conf.py"]
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
        wait_for(answers, timeout=30, what="gunicorn to answer", process=process,
                 output=lambda: process.stderr.read().decode())
        yield base
    finally:
        stop_process(process)


def send(url, data=None):
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, dict(response.headers), response.read()


def test_a_ping_through_gunicorn_is_recorded_and_skips_the_middleware(gunicorn, heartbeat):
    status, headers, body = send(gunicorn + ping_path(heartbeat), data=b"backup done")

    assert (status, body) == (200, b"OK")
    assert headers["X-Pharos-Ping-Body-Limit"] == "100000"
    # XFrameOptionsMiddleware stamps every response that goes through the middleware.
    assert "X-Frame-Options" not in headers
    assert Ping.objects.get(heartbeat=heartbeat).body == "backup done"
    assert Heartbeat.objects.get(pk=heartbeat.pk).status == "up"


def test_other_pages_still_go_through_the_middleware(gunicorn):
    _, headers, _ = send(gunicorn + "/admin/login/")

    assert headers["X-Frame-Options"] == "DENY"


def test_a_failure_through_gunicorn_opens_an_incident_with_the_output(gunicorn, up_heartbeat):
    send(gunicorn + ping_path(up_heartbeat, "/2"), data=b"tar: /var/backups: No space left on device")

    incident = Incident.objects.get(source_type="heartbeat", source_id=up_heartbeat.pk)
    assert incident.cause == "Job failed with exit code 2"
    assert incident.metadata["ping_body"] == "tar: /var/backups: No space left on device"


def test_fifty_concurrent_pings_through_gunicorn_are_all_recorded(gunicorn, heartbeat):
    url = gunicorn + ping_path(heartbeat)
    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = [status for status, _, _ in pool.map(lambda i: send(url, data=f"run {i}".encode()), range(50))]

    assert statuses == [200] * 50
    assert Ping.objects.filter(heartbeat=heartbeat).count() == 50
    assert Heartbeat.objects.get(pk=heartbeat.pk).status == "up"


def test_a_chunked_body_without_content_length_is_stored(gunicorn, heartbeat):
    import http.client
    from urllib.parse import urlsplit

    address = urlsplit(gunicorn)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        # What `some_job | curl -T - "$HEARTBEAT_URL"` sends: Transfer-Encoding: chunked.
        conn.request("POST", ping_path(heartbeat, "/1"), body=iter([b"line one\n", b"line two\n"]),
                     encode_chunked=True)
        assert conn.getresponse().status == 200
    finally:
        conn.close()

    assert Ping.objects.get(heartbeat=heartbeat).body == "line one\nline two\n"
