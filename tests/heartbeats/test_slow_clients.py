"""Slow clients cannot freeze the web tier (issue 11, finding 5), through the real gunicorn
as `make run` starts it (config/gunicorn.conf.py: 2 workers × 4 threads here).

Each slow client is a real TCP connection on loopback that sends a byte every half
second; every loop is bounded in count and time.
"""

import socket
import threading
import time
import urllib.request
from contextlib import ExitStack, contextmanager

import pytest

from heartbeats.models import Ping
from tests.heartbeats.conftest import ping_path

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DEADLINE = 2  # PHAROS_REQUEST_BODY_TIMEOUT and PHAROS_HEADER_TIMEOUT of the server under test
TRICKLE_INTERVAL = 0.5
TRICKLE_BOUND = 60  # bytes: 30 s, far past any deadline, so a stuck server fails the test
SLOW_CLIENTS = 10  # more than the server's 8 threads


@pytest.fixture
def server(monkeypatch, request):
    monkeypatch.setenv("PHAROS_REQUEST_BODY_TIMEOUT", str(DEADLINE))
    monkeypatch.setenv("PHAROS_HEADER_TIMEOUT", str(DEADLINE))
    base = request.getfixturevalue("gunicorn")
    return base.rsplit(":", 1)[1]


class SlowClient:
    """A connection that sends ``head`` at once, then one byte of ``trickle`` per interval."""

    def __init__(self, port, head, trickle=b"x"):
        self.sock = socket.create_connection(("127.0.0.1", int(port)), timeout=30)
        self.sock.sendall(head)
        self.trickle = trickle
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._send, daemon=True)
        self.thread.start()

    def _send(self):
        for index in range(TRICKLE_BOUND):
            if self.stop.wait(TRICKLE_INTERVAL):
                return
            try:
                self.sock.sendall(self.trickle[index % len(self.trickle) :][:1])
            except OSError:
                return  # the server shut the connection: what we hope for

    def answer(self, timeout=30):
        """The bytes the server sent until it closed or went quiet; b"" if nothing."""
        self.sock.settimeout(timeout)
        received = b""
        try:
            while b"\r\n\r\n" not in received:
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                received += chunk
        except TimeoutError:
            pass
        except ConnectionResetError:
            pass  # closed while our trickle was still arriving: a reset, not a FIN
        return received

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


@contextmanager
def slow_clients(port, head, count=SLOW_CLIENTS, trickle=b"x"):
    with ExitStack() as stack:
        clients = []
        for _ in range(count):
            client = SlowClient(port, head(len(clients)), trickle)
            stack.callback(client.close)
            clients.append(client)
        yield clients


def healthcheck_status(port, timeout):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/healthcheck", timeout=timeout) as response:
        return response.status


def ping_head(path):
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n"
    ).encode()


def test_ten_slow_bodies_to_unknown_tokens_are_refused_unread_and_the_healthcheck_answers(server):
    with slow_clients(server, lambda n: ping_head(f"/api/v1/heartbeat/not-a-token-{n}")) as clients:
        # Every thread would be reading a body if the view read before looking the token up.
        assert healthcheck_status(server, timeout=10) == 200
        answers = [client.answer(timeout=10) for client in clients]

    assert all(answer.startswith(b"HTTP/1.1 404") for answer in answers), answers


def test_a_known_token_whose_body_trickles_is_answered_408_at_the_body_deadline(server, heartbeat):
    with slow_clients(server, lambda n: ping_head(ping_path(heartbeat)), count=1) as [client]:
        started = time.monotonic()
        answer = client.answer(timeout=20)
        waited = time.monotonic() - started

    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"Connection: close" in answer
    assert waited < TRICKLE_BOUND * TRICKLE_INTERVAL  # ended by the deadline, not by the client
    assert not Ping.objects.filter(heartbeat=heartbeat).exists()


def test_ten_slow_bodies_to_a_known_token_free_every_thread_by_their_deadline(server, heartbeat):
    with slow_clients(server, lambda n: ping_head(ping_path(heartbeat))) as clients:
        time.sleep(TRICKLE_INTERVAL)  # let them all take a thread first
        assert healthcheck_status(server, timeout=20) == 200
        answers = [client.answer(timeout=20) for client in clients]

    assert all(answer.startswith(b"HTTP/1.1 408") for answer in answers), answers


def test_ten_requests_whose_headers_trickle_are_dropped_at_the_header_deadline(server):
    head = b"GET /api/healthcheck HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    with slow_clients(server, lambda n: head, trickle=b"X-Slow: 1\r\n") as clients:
        time.sleep(TRICKLE_INTERVAL)
        assert healthcheck_status(server, timeout=20) == 200
        answers = [client.answer(timeout=20) for client in clients]

    # Dropped without an answer: the connection closed before the head was complete.
    assert answers == [b""] * SLOW_CLIENTS


def test_a_head_answer_carries_no_body_and_the_connection_stays_usable(server, heartbeat):
    with socket.create_connection(("127.0.0.1", int(server)), timeout=10) as sock:
        sock.sendall(f"HEAD {ping_path(heartbeat)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(1)  # byte by byte: leave whatever follows the head unread
        sock.sendall(b"GET /api/healthcheck HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        rest = b""
        while chunk := sock.recv(65536):
            rest += chunk

    assert received.startswith(b"HTTP/1.1 200")
    # The next bytes on the wire must be the second response, not the first one's "OK".
    assert rest.startswith(b"HTTP/1.1 200"), rest[:80]
