"""`make run`'s supervisor starts the whole system on the quick-start stack (SQLite and the
on-disk broker), serves the admin, restarts what dies and stops everything on SIGTERM."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.processes import stop_process, wait_for

PROJECT_DIR = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def quick_start(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'pharos.sqlite3'}",
        PHAROS_BROKER_DIR=str(tmp_path / "broker"),
        PHAROS_BEAT_SCHEDULE=str(tmp_path / "beat-schedule"),
        PHAROS_IGNORE_DOTENV="1",
        SECRET_KEY="quick-start-test",
        PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    log = open(tmp_path / "run.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "config.supervisor"], cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield proc, port, tmp_path / "run.log"
    finally:
        stop_process(proc, grace=30)
        log.close()


def children_of(pid):
    out = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def test_quick_start_serves_the_admin_with_every_process_running_and_stops_on_sigterm(quick_start):
    proc, port, log_path = quick_start

    def admin_answers():
        try:
            return httpx.get(f"http://127.0.0.1:{port}/admin/login/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(admin_answers, timeout=180, what="the admin login page")
    time.sleep(3)  # long enough for a worker that cannot start to have exited
    assert proc.poll() is None, log_path.read_text()[-3000:]
    commands = "\n".join(children_of(proc.pid))
    for expected in [
        "gunicorn",
        " beat",
        "-Q results ",
        "-Q schedule ",
        "-Q housekeeping,default ",
        "-Q alerts ",
        "-Q probe.us",
        "-Q probe.eu",
        "-Q probe.as",
    ]:
        assert expected in commands, f"{expected!r} not running:\n{commands}"
    log = log_path.read_text()
    assert "password:" in log and "createtoken" in log
    assert "created the team 'My team' with the admin" in log  # the add-monitor form has a team
    assert "restarting" not in log, log[-3000:]

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert children_of(proc.pid) == []


def test_a_process_that_dies_is_restarted(quick_start):
    proc, port, log_path = quick_start
    wait_for(lambda: "-Q probe.eu" in "\n".join(children_of(proc.pid)), timeout=180, what="the eu region worker")
    worker = next(line for line in children_of(proc.pid) if "-Q probe.eu" in line)
    os.kill(int(worker.split()[0]), signal.SIGKILL)
    wait_for(lambda: "probe.eu exited" in log_path.read_text(), timeout=20, what="the supervisor to notice")
    wait_for(
        lambda: any("-Q probe.eu" in line for line in children_of(proc.pid)),
        timeout=20,
        what="the eu worker to come back",
    )
    assert proc.poll() is None
