"""Pings through the real server as `make run` starts it: gunicorn, config/gunicorn.conf.py,
config.wsgi (whose ping route skips the middleware), PostgreSQL."""

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from alerts.models import Incident
from heartbeats.models import Heartbeat, Ping
from tests.heartbeats.conftest import ping_path

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PROJECT = Path(__file__).resolve().parents[2]


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


def test_a_chunked_body_without_content_length_is_stored(gunicorn, heartbeat):
    import http.client
    from urllib.parse import urlsplit

    address = urlsplit(gunicorn)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        # What `some_job | curl -T - "$HEARTBEAT_URL"` sends: Transfer-Encoding: chunked.
        conn.request("POST", ping_path(heartbeat, "/1"), body=iter([b"line one\n", b"line two\n"]), encode_chunked=True)
        assert conn.getresponse().status == 200
    finally:
        conn.close()

    assert Ping.objects.get(heartbeat=heartbeat).body == "line one\nline two\n"
