"""Real servers the fault tests own: PostgreSQL and Redis on spare ports, in a temporary
folder, so stopping and restarting them disturbs nothing else on the machine; and a
loopback HTTP server that plays both the monitored target and the alert webhook.
"""

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def spare_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, *, timeout, what, interval=0.25):
    """Poll ``predicate`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def postgres_bin_dir():
    """The newest installed PostgreSQL's bin folder (Debian keeps initdb/pg_ctl off PATH)."""
    if shutil.which("pg_ctl") and shutil.which("initdb"):
        return Path(shutil.which("pg_ctl")).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """A throwaway PostgreSQL cluster: trust auth for ``postgres`` on 127.0.0.1 only.

    initdb refuses to run as root, so as root every server command runs as the
    ``postgres`` OS user, in a folder that user owns.
    """

    def __init__(self):
        self.bin = postgres_bin_dir()
        self.port = spare_port()
        self.root = Path(tempfile.mkdtemp(prefix="pharos-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, user="postgres", group="postgres")

    @property
    def url_prefix(self):
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def _run(self, *argv, timeout=60):
        command = [str(self.bin / argv[0]), *argv[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)

    def init(self):
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        return self

    def start(self):
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            # Durability is not what these tests are about; speed on a shared machine is.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start", timeout=90
        )
        return self

    def stop(self, mode="fast"):
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", timeout=90)

    def is_running(self):
        return (self.data / "postmaster.pid").exists()

    def psql(self, sql, database="postgres"):
        import psycopg

        with psycopg.connect(f"{self.url_prefix}/{database}", autocommit=True, connect_timeout=10) as connection:
            connection.execute(sql)

    def destroy(self):
        if self.is_running():
            try:
                self.stop(mode="immediate")
            except subprocess.SubprocessError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    """A throwaway redis-server with no persistence: a restart loses every key."""

    def __init__(self):
        self.port = spare_port()
        self.root = Path(tempfile.mkdtemp(prefix="pharos-redis-"))
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
                "--logfile",
                str(self.root / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, timeout=30, what=f"redis-server on port {self.port}")
        return self

    def answers(self):
        import redis

        try:
            return redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1).ping()
        except redis.RedisError:
            return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def destroy(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)


class LoopbackSite:
    """One HTTP server on 127.0.0.1 with two jobs:

    * ``/target`` — the monitored service: answers ``status`` after ``delay`` seconds and
      counts the checks in flight;
    * ``/hook`` — the alert webhook: records every delivery it receives.
    """

    def __init__(self):
        self.status = 200
        self.delay = 0.0
        self.lock = threading.Lock()
        self.in_flight = 0
        self.checks = 0
        self.deliveries = []  # (X-Pharos-Delivery header, parsed JSON body)
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if not self.path.startswith("/target"):
                    self.send_error(404)
                    return
                with site.lock:
                    site.in_flight += 1
                    site.checks += 1
                    status, delay = site.status, site.delay
                try:
                    time.sleep(delay)
                    body = b"ok" if status < 400 else b"failing on purpose"
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    with site.lock:
                        site.in_flight -= 1

            do_HEAD = do_GET

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode(errors="replace")
                with site.lock:
                    site.deliveries.append((self.headers.get("X-Pharos-Delivery"), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    @property
    def target_url(self):
        return f"http://127.0.0.1:{self.port}/target"

    @property
    def hook_url(self):
        return f"http://127.0.0.1:{self.port}/hook"

    def delivery_ids(self):
        with self.lock:
            return [delivery for delivery, _ in self.deliveries]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
