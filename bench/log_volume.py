"""`make run`'s log volume at steady state: lines per minute, and which loggers write them.

    .venv/bin/python bench/log_volume.py [--seconds 60] [--warmup 30]

Starts the supervisor as `make run` does (python -m config.supervisor) on a scratch SQLite
database and on-disk broker in a temporary folder, with four HTTP monitors (30 s, all
regions) checking a loopback server, one of them failing (so a state change happens), and
two heartbeats. After the warm-up it counts the lines the whole system prints for
``--seconds`` and prints lines per minute, the five busiest loggers or kinds of line, and
the state-change lines of the whole run (``down``, ``up``, ``incident … opened``: what an
operator reads the log for, which must stay at INFO). Run it on two commits to compare. Everything runs on 127.0.0.1 and stops at the end.
"""

import argparse
import collections
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Django's plain format: "       web | 2026-12-05 23:30:00,123 INFO monitors.state monitor 2 down: …";
# Celery's: "    alerts | [2026-12-05 23:30:00,123: INFO/ForkPoolWorker-1] tick dispatched …".
LINE = re.compile(
    r"^\s*(?P<process>\S+) \| (?:\S+ \S+ (?P<level>[A-Z]+) (?P<logger>\S+) |\[[^\]]*: (?P<clevel>[A-Z]+)/[^\]]*\] )"
    r"(?P<message>.*)$"
)
# What a Celery line is, by its message (Celery's format names no logger).
CELERY_KINDS = (
    (re.compile(r"^Task \S+ received"), "celery task received"),
    (re.compile(r"^Task \S+ succeeded"), "celery task succeeded"),
    (re.compile(r"^Scheduler: Sending due task"), "celery beat sending"),
)
STATE_CHANGE = re.compile(r"\b(down|up|incident \d+ (opened|resolved)|opened|resolved)\b")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def target_server() -> str:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            status = 500 if self.path.startswith("/broken") else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def do_HEAD(self):  # noqa: N802
            self.do_GET()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


SEED = """
from teams.models import Team
from monitors.models import Monitor
from heartbeats.models import Heartbeat
from django.utils import timezone
team = Team.objects.get_or_create(name="bench")[0]
for number, path in enumerate(["/a", "/b", "/c", "/broken"]):
    Monitor.objects.create(team=team, url="{target}" + path, check_frequency=30,
                           regions=["us", "eu", "as"], next_check_at=timezone.now())
for number in range(2):
    Heartbeat.objects.create(team=team, name=f"job {{number}}", period=60, grace=30)
"""


def kind_of(line: str) -> str:
    """The logger of a Django line, the kind of a Celery line, else the process's name."""
    match = LINE.match(line)
    if match is None:
        return "(unformatted)"
    if match["logger"]:
        return match["logger"]
    for pattern, kind in CELERY_KINDS:
        if pattern.match(match["message"]):
            return kind
    return f"{match['process']} (celery, other)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=30.0)
    parser.add_argument("--keep", help="write every line of the run to this file")
    args = parser.parse_args()

    target = target_server()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="pharos-log-volume-") as folder:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "LOG_LEVEL")}
        env.update(
            DATABASE_URL=f"sqlite:///{folder}/pharos.sqlite3",
            PHAROS_BROKER_DIR=f"{folder}/broker",
            PHAROS_BEAT_SCHEDULE=f"{folder}/beat-schedule",
            PHAROS_IGNORE_DOTENV="1",
            PHAROS_ALLOW_PRIVATE_TARGETS="1",
            PHAROS_MIN_CHECK_FREQUENCY="30",
            SECRET_KEY="log-volume-bench",
            PORT=str(port),
            PYTHONUNBUFFERED="1",
        )
        lines: list[tuple[float, str]] = []
        proc = subprocess.Popen(
            [sys.executable, "-m", "config.supervisor"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append((time.monotonic(), line.rstrip("\n")))

        threading.Thread(target=read, daemon=True).start()
        try:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/admin/login/", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(1)
            else:
                raise SystemExit("the system did not start within 240 s")
            subprocess.run(
                [sys.executable, "manage.py", "shell", "-c", SEED.format(target=target)],
                cwd=PROJECT_DIR,
                env=env,
                check=True,
            )
            time.sleep(args.warmup)
            start = time.monotonic()
            time.sleep(args.seconds)
            end = time.monotonic()
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()

    counted = [line for at, line in lines if start <= at < end]
    if args.keep:
        Path(args.keep).write_text("\n".join(line for _, line in lines) + "\n")
    per_minute = 60.0 / (end - start)
    loggers: collections.Counter[str] = collections.Counter()
    state_changes = 0
    for line in counted:
        loggers[kind_of(line)] += 1
    for _, line in lines:
        match = LINE.match(line)
        level = match and (match["level"] or match["clevel"])
        if match and level in ("INFO", "WARNING", "ERROR") and STATE_CHANGE.search(match["message"]):
            state_changes += 1
    print(f"make run log lines per minute: {len(counted) * per_minute:.0f} lines/min")
    print(f"state-change lines in the whole run (kept at INFO): {state_changes} lines")
    for name, count in loggers.most_common(5):
        print(f"  {name}: {count * per_minute:.0f} lines/min")


if __name__ == "__main__":
    main()
