"""A channel's name is resolved once: the delivery connects to the address the guard vetted.

The name ``rebind.pharos.test`` stands for an attacker's DNS zone, which lives outside
this machine: the system resolver is replaced for that one name (every other name still
resolves for real) by one that answers an allowed address first and a loopback address
on every later lookup — DNS rebinding. Two real receivers listen on the same port: the
allowed one (127.0.0.2, listed in PHAROS_ALLOWED_NETWORKS) and the "internal" one
(127.0.0.1), which must never be reached.
"""

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from alerts.delivery import deliver
from alerts.models import Channel, Notification, NotificationStatus
from tests.alerts.conftest import T0
from tests.probes.rebinding import zone_resolver

pytestmark = pytest.mark.django_db

NAME = "rebind.pharos.test"


class Recorder(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append(self.headers.get("Host"))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def serve(address, port):
    server = ThreadingHTTPServer((address, port), Recorder)
    server.daemon_threads = True
    server.requests = []
    Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def allowed_and_internal():
    allowed = serve("127.0.0.2", 0)
    internal = serve("127.0.0.1", allowed.server_address[1])
    try:
        yield allowed, internal
    finally:
        for server in (allowed, internal):
            server.shutdown()
            server.server_close()


@pytest.fixture
def rebinding_name(monkeypatch):
    """Answers 127.0.0.2 for NAME on the first lookup, 127.0.0.1 afterwards."""
    return zone_resolver(monkeypatch, (NAME,), first="127.0.0.2", later="127.0.0.1")


def test_a_webhook_whose_name_rebinds_to_loopback_reaches_only_the_vetted_address(
    team, open_down, allowed_and_internal, rebinding_name, settings
):
    allowed, internal = allowed_and_internal
    settings.PHAROS_ALLOW_PRIVATE_TARGETS = False
    settings.PHAROS_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    port = allowed.server_address[1]
    Channel.objects.create(team=team, kind="webhook", config={"url": f"http://{NAME}:{port}/hook"})
    incident = open_down(email=False)
    [row] = Notification.objects.filter(incident=incident)

    assert deliver(row.pk, now=T0) == NotificationStatus.DELIVERED
    assert internal.requests == []
    # The request went to the vetted address under the name it was configured with.
    assert allowed.requests == [f"{NAME}:{port}"]
    assert rebinding_name == [NAME]  # one lookup: nothing resolved the name again


def test_a_webhook_whose_name_answers_loopback_first_is_refused_without_a_request(
    team, open_down, allowed_and_internal, monkeypatch, settings
):
    allowed, internal = allowed_and_internal
    settings.PHAROS_ALLOW_PRIVATE_TARGETS = False
    settings.PHAROS_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    zone_resolver(monkeypatch, (NAME,), first="127.0.0.1")
    port = allowed.server_address[1]
    Channel.objects.create(team=team, kind="webhook", config={"url": f"http://{NAME}:{port}/hook"})
    incident = open_down(email=False)
    [row] = Notification.objects.filter(incident=incident)

    assert deliver(row.pk, now=T0) == NotificationStatus.FAILED
    assert "loopback" in Notification.objects.get(pk=row.pk).last_error
    assert internal.requests == [] and allowed.requests == []
