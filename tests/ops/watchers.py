"""Loopback stand-ins for what the watchdog talks to: the operators' SMTP server (real
aiosmtpd) and an outside heartbeat service that counts the watchdog URL's calls."""

import email
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from tests.ops.servers import spare_port


class OperatorInbox:
    """A real SMTP server on 127.0.0.1 that keeps every message it accepts."""

    def __init__(self):
        self.messages = []  # email.message.Message
        self.recipients = []
        self.arrived = threading.Condition()
        self.controller = Controller(self, hostname="127.0.0.1", port=spare_port())

    async def handle_DATA(self, server, session, envelope):
        with self.arrived:
            self.messages.append(email.message_from_bytes(envelope.content))
            self.recipients.append(list(envelope.rcpt_tos))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def start(self):
        self.controller.start()
        return self

    @property
    def port(self):
        return self.controller.port

    def subjects(self):
        with self.arrived:
            return [message["Subject"] for message in self.messages]

    def wait_for_subject(self, text, *, timeout, what=""):
        """The first message whose subject contains ``text``; fails after ``timeout`` s."""
        with self.arrived:
            found = self.arrived.wait_for(
                lambda: any(text in (m["Subject"] or "") for m in self.messages), timeout=timeout
            )
            assert found, f"no mail about {text!r} within {timeout} s {what}; got {self.subjects()}"
            return next(m for m in self.messages if text in (m["Subject"] or ""))

    def wait_for_mail_naming(self, kind, condition, *, timeout, what=""):
        """The first "[Pharos] <kind>: a, b, …" message whose list names ``condition``: one
        mail may name several conditions that began (or ended) within one evaluation."""
        prefix = f"[Pharos] {kind}: "

        def names(message):
            subject = message["Subject"] or ""
            return subject.startswith(prefix) and condition in subject[len(prefix) :].split(", ")

        with self.arrived:
            found = self.arrived.wait_for(lambda: any(names(m) for m in self.messages), timeout=timeout)
            assert found, f"no {kind} mail naming {condition!r} within {timeout} s {what}; got {self.subjects()}"
            return next(m for m in self.messages if names(m))

    def stop(self):
        self.controller.stop()


class DeadMansSwitch:
    """An outside heartbeat service: counts GET /ping and remembers when each came."""

    def __init__(self):
        self.calls = []  # monotonic times
        self.lock = threading.Lock()
        switch = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                with switch.lock:
                    switch.calls.append(time.monotonic())
                self.send_response(200 if self.path == "/ping" else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ping"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def count(self):
        with self.lock:
            return len(self.calls)

    def calls_since(self, moment):
        with self.lock:
            return [at for at in self.calls if at >= moment]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
