"""A webhook receiver's answer cannot forge lines in our log: its error text is logged
escaped, on one line (config/log_safety.py), however the receiver words it."""

import io
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alerts.delivery import deliver
from alerts.models import Channel, Notification, NotificationStatus
from config.logging import protect_handler

FORGED = "2026-11-28 06:00:01,000 INFO alerts.delivery notification 1 delivered to ops"


@pytest.fixture
def lying_receiver(settings):
    """A receiver answering 502 with a body that looks like a line of our log."""
    settings.PHAROS_ALLOW_PRIVATE_TARGETS = True

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = f"upstream down\n{FORGED}\r\n\x1b[1A\x1b[2Khidden".encode()
            self.send_response(502)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def alerts_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    protect_handler(handler, json_lines=False)
    logger = logging.getLogger("alerts")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def test_a_receivers_error_text_is_logged_on_one_escaped_line(team, open_down, lying_receiver, alerts_log):
    Channel.objects.create(team=team, kind="webhook", config={"url": lying_receiver})
    incident = open_down(email=False)
    [pending] = Notification.objects.filter(incident=incident, status="pending").values_list("pk", flat=True)

    assert deliver(pending, now=incident.started_at) == NotificationStatus.PENDING

    lines = alerts_log.getvalue().splitlines()
    assert [line for line in lines if "HTTP 502" in line], lines
    assert not any(line.startswith(FORGED) for line in lines)
    assert not any("\x1b" in line or "\r" in line for line in lines)
    assert any("upstream down\\n" + FORGED in line for line in lines)
